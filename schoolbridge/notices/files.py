"""Checking uploaded notice attachments: the extension AND the file's first bytes must agree."""

from __future__ import annotations

import zipfile
from typing import Any

from django.utils.translation import gettext_lazy as _

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5

JPEG = "image/jpeg"
PNG = "image/png"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"

# extension -> (content type, family of magic bytes, for OOXML the folder the archive must contain)
EXTENSIONS: dict[str, tuple[str, str, str]] = {
    "jpg": (JPEG, "jpeg", ""),
    "jpeg": (JPEG, "jpeg", ""),
    "png": (PNG, "png", ""),
    "gif": (GIF, "gif", ""),
    "webp": (WEBP, "webp", ""),
    "pdf": (PDF, "pdf", ""),
    "docx": (DOCX, "zip", "word/"),
    "xlsx": (XLSX, "zip", "xl/"),
    "pptx": (PPTX, "zip", "ppt/"),
    "doc": (DOC, "ole", ""),
    "xls": (XLS, "ole", ""),
    "ppt": (PPT, "ole", ""),
}
ACCEPT = ",".join("." + ext for ext in EXTENSIONS)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def magic_family(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    return None


def _ooxml_has(upload: Any, folder: str) -> bool:
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)
    return "[Content_Types].xml" in names and any(n.startswith(folder) for n in names)


def check_upload(upload: Any) -> tuple[str | None, Any]:
    """(content type, None) for an acceptable file, or (None, error message)."""
    name = str(getattr(upload, "name", "") or "")
    size = int(getattr(upload, "size", 0) or 0)
    if size > MAX_ATTACHMENT_BYTES:
        return None, _("“%(name)s” is larger than 10 MB.") % {"name": name}
    if size == 0:
        return None, _("“%(name)s” is empty.") % {"name": name}
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    spec = EXTENSIONS.get(ext)
    if spec is None:
        return None, _("“%(name)s” is not an allowed type (images, PDF, Word, Excel or PowerPoint files).") % {
            "name": name
        }
    content_type, family, folder = spec
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if magic_family(head) != family or (folder and not _ooxml_has(upload, folder)):
        return None, _("“%(name)s” is not really a .%(ext)s file.") % {"name": name, "ext": ext}
    return content_type, None
