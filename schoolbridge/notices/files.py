"""Checking uploaded notice attachments: the extension AND the file's first bytes must agree."""

from __future__ import annotations

import zipfile
from typing import Any

from django.utils.translation import gettext_lazy as _

from schoolbridge.core import filetypes

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

# extension -> (content type, what core.filetypes must sniff from the first bytes, for OOXML the folder
# the archive must contain)
EXTENSIONS: dict[str, tuple[str, str, str]] = {
    "jpg": (JPEG, JPEG, ""),
    "jpeg": (JPEG, JPEG, ""),
    "png": (PNG, PNG, ""),
    "gif": (GIF, GIF, ""),
    "webp": (WEBP, WEBP, ""),
    "pdf": (PDF, PDF, ""),
    "docx": (DOCX, filetypes.ZIP, "word/"),
    "xlsx": (XLSX, filetypes.ZIP, "xl/"),
    "pptx": (PPTX, filetypes.ZIP, "ppt/"),
    "doc": (DOC, filetypes.OLE, ""),
    "xls": (XLS, filetypes.OLE, ""),
    "ppt": (PPT, filetypes.OLE, ""),
}
ACCEPT = ",".join("." + ext for ext in EXTENSIONS)


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
        return None, _(
            "“%(name)s” is not an allowed type (images, PDF, Word, Excel or PowerPoint files)."
        ) % {"name": name}
    content_type, sniffed, folder = spec
    upload.seek(0)
    head = upload.read(filetypes.HEAD_BYTES)
    upload.seek(0)
    if filetypes.sniff_content_type(head) != sniffed or (folder and not _ooxml_has(upload, folder)):
        return None, _("“%(name)s” is not really a .%(ext)s file.") % {"name": name, "ext": ext}
    return content_type, None
