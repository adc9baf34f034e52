"""PDF rendering for official village documents (biodata, Kartu Keluarga copy, PIN slip).

Jinja templates in ``app/templates/pdf/`` are rendered with :func:`flask.render_template`
(always in Indonesian) and converted to PDF with xhtml2pdf. The converter runs under a
:class:`~xhtml2pdf.config.resources.ResourceAccessPolicy` that lets it read only the app's
static folder (fonts) and never remote URLs, so a value that ends up as markup can neither
make the server fetch a URL nor read a local file. Images (village logo, resident photo) are
passed as ``data:`` URIs made by :func:`image_data_uri`.

Fonts: DejaVu Sans (all four faces) shipped in ``app/static/fonts/`` and embedded as a
subset, so names outside Latin-1 (``Ṣalīḥ``, ``Nguyễn``) print with the right glyphs.

Public API:

- :func:`render_pdf` -- template name + plain-dict context -> PDF bytes.
- :func:`image_data_uri` -- image file or bytes -> downscaled, upright ``data:`` URI or None.
- :func:`breakable` -- Jinja filter: lets long unbroken words wrap inside table cells.
- :func:`register_pdf_filters` -- adds the filters to ``app.jinja_env``.
- :class:`PdfRenderError`.

xhtml2pdf serialises conversions with a process-wide lock: scale with processes, not threads.
Measured on a shared 2-core machine (F4, logo and photo included): biodata 85-145 ms, KK with
4 members 165-290 ms (two layout passes for "Halaman N dari M"), 40 members about 1.3 s, PIN
slip 60-95 ms. About 30 ms of each is loading the four DejaVu faces.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import struct
import time
import warnings
from pathlib import Path
from typing import Any

import flask
import flask_babel
from markupsafe import Markup, escape
from PIL import Image, ImageOps, UnidentifiedImageError
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

__all__ = [
    "FONT_FILES",
    "MAX_IMAGE_PIXELS",
    "PAPER_SIZES_MM",
    "PdfRenderError",
    "breakable",
    "image_data_uri",
    "register_pdf_filters",
    "render_pdf",
]

log = logging.getLogger(__name__)

#: Paper sizes in millimetres, (width, height) in portrait orientation.
#: F4 (215 x 330 mm) is the village default; A4 must work too.
PAPER_SIZES_MM: dict[str, tuple[int, int]] = {"F4": (215, 330), "A4": (210, 297)}

#: The four DejaVu Sans faces, relative to the static folder, keyed by the name the
#: templates use (``pdf_fonts.regular`` ...). Source: npm ``dejavu-fonts-ttf`` 2.37.3.
FONT_FILES: dict[str, str] = {
    "regular": "fonts/DejaVuSans.ttf",
    "bold": "fonts/DejaVuSans-Bold.ttf",
    "italic": "fonts/DejaVuSans-Oblique.ttf",
    "bold_italic": "fonts/DejaVuSans-BoldOblique.ttf",
}

#: Largest image (width x height, in pixels) :func:`image_data_uri` will decode.
#: 50 M pixels admits an 8160 x 6120 (50 MP) phone photo; a decoded RGB image of this
#: size takes about 150 MB, which is the real bound on a worker.
MAX_IMAGE_PIXELS: int = 50_000_000

#: Image formats :func:`image_data_uri` opens (Pillow format names). Photos and logos
#: only; fewer decoders means fewer parsers exposed to uploaded files.
_ALLOWED_IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

# Never *raise* Pillow's process-wide limit, only lower it (other code may have set a
# lower one). Above 2x this value Pillow raises DecompressionBombError by itself.
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_IMAGE_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class PdfRenderError(RuntimeError):
    """The PDF converter failed or reported errors; the message holds no personal data."""


# --------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------


def _quiet_xhtml2pdf_logging() -> None:
    """Set the ``xhtml2pdf`` logger and all its children to ERROR.

    xhtml2pdf logs HTML fragments -- NIKs, names, addresses -- at DEBUG and WARNING.
    Children are set explicitly too, in case some configuration gave one its own level.
    """
    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("xhtml2pdf."):
            logging.getLogger(name).setLevel(logging.ERROR)


_quiet_xhtml2pdf_logging()


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def _static_dirs() -> tuple[Path, Path]:
    """Return (static folder, fonts folder) of the current app, both resolved."""
    static = flask.current_app.static_folder
    if not static:
        msg = "the Flask app has no static folder; PDF fonts live in <static>/fonts"
        raise PdfRenderError(msg)
    static_dir = Path(static).resolve()
    return static_dir, static_dir / "fonts"


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render ``template_name`` with ``context`` and return the PDF as bytes.

    Must be called inside a Flask app context (``flask.render_template`` is used; the
    templates are in the app's ``templates/`` folder, e.g. ``"pdf/biodata.html"``).
    Rendering always happens under ``flask_babel.force_locale("id")``: official
    documents are in Indonesian whatever the user's interface language.

    The context holds plain dicts and strings only (never ORM objects); every value is
    autoescaped by the templates. Missing optional values may be ``None`` (printed as
    "-" or left out). Shapes used by the shipped templates:

    Common to all templates:

    - ``paper``: ``"F4"`` (215 x 330 mm, the default when absent) or ``"A4"``
      (210 x 297 mm). Biodata and PIN slip print portrait, the KK landscape. Margins 2 cm
      (1.5 cm on the landscape KK), bottom 2.1 cm with the page footer below it.
    - ``printed_on``: str, an already formatted Indonesian date, ``"30 November 2026"``.
    - ``village``: dict ``{name, kecamatan, kabupaten, province, address, phone, email,
      logo, service_hours}``: names as plain words (``"Klaten"``; a leading
      ``"Kabupaten "``/``"Kota "``/``"Kecamatan "``/``"Desa "`` is tolerated and not
      doubled); ``logo`` a ``data:image/...`` URI from :func:`image_data_uri` or None
      (printed 2.1 cm wide at the left of the kop surat; any other value is ignored); ``service_hours`` str like
      ``"Senin-Jumat 08.00-15.00 WIB"`` or None.

    ``pdf/biodata.html``:

    - ``resident``: dict ``{nik, name, birth_place, birth_date, sex, religion, education,
      occupation, marital_status, family_relationship, blood_type, citizenship,
      father_name, mother_name, kk_number, address, rt, rw, dusun, photo}``, all str or
      None; ``birth_date`` already formatted (``"17 Agustus 1945"``); ``photo`` a
      ``data:image/...`` URI or None (printed 3 cm wide, aspect kept, at the right).

    ``pdf/family_card.html``:

    - ``family``: dict ``{kk_number, head_name, address, rt, rw, dusun, members}``;
      ``members`` a list of dicts ``{nik, name, sex, birth_place, birth_date, religion,
      education, occupation, marital_status, family_relationship, citizenship,
      father_name, mother_name}`` in the order they are to be printed (head, spouse,
      children by birth date, others). Desa/Kecamatan/Kabupaten/Provinsi come from
      ``village``.

    ``pdf/pin_slip.html``:

    - ``slip``: dict ``{name, masked_nik, pin, portal_url}``; ``masked_nik`` already
      masked by the caller (``"3309**********01"``), ``pin`` the 6-digit PIN as str.

    Added by this function (do not pass): ``pdf_fonts`` -- dict face -> absolute path of
    the TTF files, used by ``pdf/base.html`` for ``@font-face``.

    :raises ValueError: ``paper`` is neither ``"F4"`` nor ``"A4"``.
    :raises PdfRenderError: the converter raised or reported errors.
    :returns: the PDF document, bytes starting with ``%PDF-``.
    """
    context = dict(context)
    paper = context.setdefault("paper", "F4")
    if paper not in PAPER_SIZES_MM:
        msg = f"paper must be one of {sorted(PAPER_SIZES_MM)}, not {paper!r}"
        raise ValueError(msg)

    static_dir, fonts_dir = _static_dirs()
    context["pdf_fonts"] = {face: str(static_dir / rel) for face, rel in FONT_FILES.items()}

    with flask_babel.force_locale("id"):
        html = flask.render_template(template_name, **context)

    # Only our own static folder may be read (fonts), never file: paths elsewhere and
    # never anything remote; data: URIs (logo, photo) are part of the document.
    policy = ResourceAccessPolicy.server(
        base_dir=static_dir, extra_roots=(fonts_dir,), allow_remote=False
    )
    _quiet_xhtml2pdf_logging()
    out = io.BytesIO()
    started = time.perf_counter()
    try:
        status = pisa.CreatePDF(
            html, dest=out, encoding="utf-8", resource_policy=policy, raise_exception=True
        )
    except Exception as exc:
        msg = f"PDF conversion of {template_name!r} failed: {type(exc).__name__}"
        raise PdfRenderError(msg) from exc
    if status.err:
        msg = f"PDF conversion of {template_name!r} reported {status.err} error(s)"
        raise PdfRenderError(msg)
    data = out.getvalue()
    if not data.startswith(b"%PDF-"):
        msg = f"PDF conversion of {template_name!r} produced no PDF"
        raise PdfRenderError(msg)
    log.debug(
        "rendered %s: %d bytes in %.0f ms",
        template_name,
        len(data),
        (time.perf_counter() - started) * 1000,
    )
    return data


# --------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------


def image_data_uri(
    path_or_bytes: str | os.PathLike[str] | bytes | None, *, max_px: int = 600
) -> str | None:
    """Return an image as a small, upright ``data:`` URI for a PDF template, or None.

    :param path_or_bytes: a file path, or the image file's bytes. None gives None.
    :param max_px: the longest side of the result, in pixels (default 600: a 3 x 4 cm
        photo at 300 dpi needs about 354 x 472). Smaller images are not enlarged.
    :returns: ``"data:image/jpeg;base64,..."`` (or ``image/png`` when the image has
        transparency), or None when the file is missing, unreadable, not an image of an
        allowed format (JPEG, PNG, WEBP, GIF, BMP) or larger than :data:`MAX_IMAGE_PIXELS`.

    Never raises for a bad file: logs a WARNING without the path or any other personal
    data. The EXIF orientation is applied (phone photos print upright), then the image is
    re-encoded, which also drops EXIF (GPS position, camera) and other metadata.
    """
    if not isinstance(max_px, int) or max_px < 1:
        msg = f"max_px must be a positive int, not {max_px!r}"
        raise ValueError(msg)
    if path_or_bytes is None:
        return None

    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        source: Any = io.BytesIO(bytes(path_or_bytes))
    else:
        path = Path(path_or_bytes)
        if not path.is_file():
            log.warning("image_data_uri: image file not found (suffix %r)", path.suffix[:10])
            return None
        source = path

    try:
        with warnings.catch_warnings():
            # Between 1x and 2x Image.MAX_IMAGE_PIXELS Pillow only warns: make it fail.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=_ALLOWED_IMAGE_FORMATS) as im:
                # The header is read, the pixels are not: check the size before decoding.
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    log.warning(
                        "image_data_uri: image too large (%d x %d pixels)", im.width, im.height
                    )
                    return None
                if im.format == "JPEG":
                    # Let libjpeg decode at a reduced scale: much faster for big photos.
                    im.draft("RGB", (max_px, max_px))
                im.load()
                upright = ImageOps.exif_transpose(im)
            upright.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
            return _encode_data_uri(upright)
    except (
        OSError,
        ValueError,
        SyntaxError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        EOFError,
        TypeError,
        KeyError,
        IndexError,
        struct.error,
    ) as exc:
        log.warning("image_data_uri: not a usable image (%s)", type(exc).__name__)
        return None


def _has_alpha(im: Image.Image) -> bool:
    """Does the image carry transparency (alpha band or a transparent palette entry)?"""
    return im.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        im.mode in {"P", "L", "RGB"} and "transparency" in im.info
    )


def _encode_data_uri(im: Image.Image) -> str:
    """Encode as PNG (with alpha) or JPEG (quality 85) and wrap in a ``data:`` URI."""
    buf = io.BytesIO()
    if _has_alpha(im):
        im.convert("RGBA").save(buf, format="PNG", optimize=True)
        mime = "image/png"
    else:
        if im.mode != "RGB":
            im = im.convert("RGB")
        im.save(buf, format="JPEG", quality=85, optimize=True)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


# --------------------------------------------------------------------------------------
# Jinja filters
# --------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"\S+")


def breakable(text: object, every: int = 20) -> Markup:
    """Jinja filter: escape ``text`` and let words longer than ``every`` characters wrap.

    xhtml2pdf does not break a word at zero-width spaces, ``<wbr>`` or soft hyphens
    (tested with 0.2.28: a 70-character name ran out of its cell with each of them), but
    it does honour ``overflow-wrap: break-word``: such a word is split at the cell edge.
    So each run of more than ``every`` non-space characters is wrapped in
    ``<span class="brk" style="overflow-wrap: break-word">``; shorter words are left as
    they are, so ordinary names still wrap at spaces only. Browsers honour the same CSS.

    :param text: the value to print; None prints nothing. Already-safe ``Markup`` is
        escaped like any other string (this filter is for user data).
    :param every: the longest word, in characters, left without a break opportunity.
    :returns: escaped markup, safe to print with ``{{ name|breakable }}``.
    """
    if text is None:
        return Markup("")
    plain = str(text)  # str(), not escape(): Markup input is user data here too
    every = max(int(every), 1)
    parts: list[str] = []
    last = 0
    for match in _WORD_RE.finditer(plain):
        word = match.group(0)
        if len(word) <= every:
            continue
        parts.append(str(escape(plain[last : match.start()])))
        parts.append(
            '<span class="brk" style="overflow-wrap: break-word">'
            f"{escape(word)}</span>"
        )
        last = match.end()
    parts.append(str(escape(plain[last:])))
    return Markup("".join(parts))


def register_pdf_filters(app: flask.Flask) -> None:
    """Add the PDF filters (``breakable``) to ``app.jinja_env.filters``."""
    app.jinja_env.filters["breakable"] = breakable
