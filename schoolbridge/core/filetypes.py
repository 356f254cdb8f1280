"""What an uploaded file really is, from its first bytes.

The file name and the browser's content type are never trusted: every upload path (leave attachments,
notice attachments, messages and voice notes) asks this module, then checks the answer against the
types it accepts.
"""

from __future__ import annotations

HEAD_BYTES = 16  # enough for every signature below

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (.doc/.xls/.ppt)
ZIP = "application/zip"  # OOXML documents are zip archives; callers look inside to tell which
OLE = "application/x-ole-storage"


def sniff_content_type(head: bytes) -> str | None:
    """The content type the signature at the start of a file names, or None if it is none we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return ZIP
    if head.startswith(OLE_MAGIC):
        return OLE
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM, what Chrome and Firefox record
        return "audio/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if len(head) >= 12 and head[4:8] == b"ftyp":  # ISO media: what Safari records
        return "audio/mp4"
    return None
