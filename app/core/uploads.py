"""Checking and normalising uploaded files (JPEG, PNG, PDF), decided by content, never by name.

Images are opened with Pillow under a pixel limit (decompression bombs are refused before
decoding), turned upright (EXIF orientation), downscaled to ``UPLOAD_IMAGE_MAX_PX`` and
re-encoded, which drops EXIF and GPS. PDFs must start with the PDF signature and end with an
EOF marker. STACK_NOTES.md "Pillow"; cases/uploads.
"""
import io
import warnings
from dataclasses import dataclass

from flask import current_app
from app.core.i18n import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

#: Largest image accepted, in pixels (width x height), checked before decoding.
MAX_PIXELS = 50_000_000


class UploadError(ValueError):
    """The file is refused; ``message`` is a translatable explanation for the user."""

    def __init__(self, message):
        # The message is translated when shown, not here (there may be no request yet).
        super().__init__(getattr(message, "_args", (message,))[0])
        self.message = message


@dataclass(frozen=True)
class CleanFile:
    """An accepted upload: the bytes to store, their type, and the file extension."""

    data: bytes
    content_type: str
    extension: str


def max_bytes():
    """The per-file limit in bytes (``DOCUMENT_MAX_BYTES``, default 10 MB)."""
    return current_app.config.get("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)


def read_limited(stream, limit):
    """Read at most ``limit`` bytes from ``stream``.

    Raises:
        UploadError: the file is empty or larger than ``limit``.
    """
    data = stream.read(limit + 1)
    if not data:
        raise UploadError(_l("The file is empty."))
    if len(data) > limit:
        raise UploadError(_l("The file is too large. The limit is %(mb)d MB per file.", mb=limit // (1024 * 1024)))
    return data


def _clean_pdf(data):
    """Accept a PDF that pypdf can open and that has at least one page."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise UploadError(_l("This file is not a valid PDF."))
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UploadError(_l("This PDF is protected by a password. Upload it without the password."))
        if len(reader.pages) < 1:
            raise UploadError(_l("This PDF has no pages."))
    except UploadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        raise UploadError(_l("This file is not a valid PDF.")) from None
    return CleanFile(data, "application/pdf", "pdf")


def _clean_image(data, max_px):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ("JPEG", "PNG"):
                    raise UploadError(_l("Only JPEG and PNG images and PDF files are accepted."))
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise UploadError(_l("The image is too large (%(w)d x %(h)d pixels).", w=width, h=height))
                image.load()
                upright = ImageOps.exif_transpose(image)
                keep_png = image.format == "PNG"
                if upright.mode not in ("RGB", "L") and not keep_png:
                    upright = upright.convert("RGB")
                upright.thumbnail((max_px, max_px))
                out = io.BytesIO()
                if keep_png:
                    upright.save(out, format="PNG", optimize=True)
                    return CleanFile(out.getvalue(), "image/png", "png")
                upright.save(out, format="JPEG", quality=85, optimize=True)
                return CleanFile(out.getvalue(), "image/jpeg", "jpg")
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(_l("The image is too large (too many pixels).")) from None
    except UnidentifiedImageError:
        raise UploadError(_l("Only JPEG and PNG images and PDF files are accepted.")) from None
    except (OSError, ValueError, SyntaxError):
        raise UploadError(_l("The image is damaged and cannot be read.")) from None


def clean_upload(file_storage):
    """Validate and normalise one uploaded file.

    Args:
        file_storage: a ``werkzeug.datastructures.FileStorage``.

    Returns:
        CleanFile: bytes to store (images re-encoded), content type, extension.

    Raises:
        UploadError: empty, too large, not JPEG/PNG/PDF by content, damaged, or a bomb.
    """
    data = read_limited(file_storage.stream, max_bytes())
    if data.startswith(b"%PDF-"):
        return _clean_pdf(data)
    try:
        return _clean_image(data, current_app.config.get("UPLOAD_IMAGE_MAX_PX", 1600))
    except UploadError:
        # The content decides; the name only picks the clearer message for a fake PDF.
        claims_pdf = (file_storage.filename or "").lower().endswith(".pdf") or file_storage.mimetype == "application/pdf"
        if claims_pdf:
            raise UploadError(_l("This file is not a valid PDF.")) from None
        raise
