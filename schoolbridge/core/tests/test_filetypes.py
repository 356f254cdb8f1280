import pytest

from schoolbridge.core.filetypes import sniff_content_type


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
        (b"\x1a\x45\xdf\xa3\x9f", "audio/webm"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"\x00\x00\x00\x18ftypM4A ", "audio/mp4"),
        (b"MZ\x90\x00", None),  # a Windows program renamed to .pdf stays unknown
        (b"<html><script>", None),
        (b"", None),
    ],
)
def test_signatures(head: bytes, expected: str | None) -> None:
    assert sniff_content_type(head) == expected
