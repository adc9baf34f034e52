"""Tests of the PDF layer: app/core/pdf.py and the templates in app/templates/pdf/.

The module is loaded from its file, and the Flask app is a bare one built here, so these tests
do not depend on the ``app`` package (its factory, models or extensions).
"""

from __future__ import annotations

import base64
import importlib.util
import io
import logging
import re
import socket
import sys
import unicodedata
from pathlib import Path

import flask
import flask_babel
import jinja2
import pytest
from markupsafe import Markup
from PIL import Image, ImageFont
from pypdf import PdfReader

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "app"
FONT_REGULAR = APP_DIR / "static" / "fonts" / "DejaVuSans.ttf"

MM = 72 / 25.4  # points per millimetre

_spec = importlib.util.spec_from_file_location("balai_pdf_under_test", APP_DIR / "core" / "pdf.py")
pdf = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = pdf
_spec.loader.exec_module(pdf)

NAMES_OUTSIDE_LATIN1 = [
    "Ṣalīḥ bin ʿAbd al-Raḥmān",
    "Nguyễn Thị Ánh",
    "Ni Luh Putu Ayu Ṡri",
]
LONG_NAME = "Raden" + "Mas" * 18 + "Wicaksono" + "Jo"  # 70 characters, no space
assert len(LONG_NAME) == 70

# Test-only templates, served before the app's own folder.
TEST_TEMPLATES = {
    "pdf_test/resources.html": """{% extends "pdf/base.html" %}
{% block content %}
<p>Sumber luar:</p>
<img src="http://example.com/x.png">
<img src="https://example.com/y.png">
<img src="file:///etc/passwd">
<img src="/etc/passwd">
<img src="file://{{ outside_png }}">
<img src="{{ outside_png }}">
<div style="background-image: url('http://example.com/bg.png')">latar</div>
<p>SELESAI</p>
{% endblock %}""",
    "pdf_test/locale.html": """{% extends "pdf/base.html" %}
{% block content %}<p>LOCALE={{ probe_locale() }}</p>{% endblock %}""",
}


# --------------------------------------------------------------------------------------
# Fixtures and helpers (named pdf_*: tests/conftest.py owns "app" and "ctx", the real app)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_app():
    """A bare Flask app whose templates/static are the repo's app/ folders."""
    application = flask.Flask("app", root_path=str(APP_DIR))
    application.config["BABEL_DEFAULT_LOCALE"] = "en"
    flask_babel.Babel(application, locale_selector=lambda: "en")
    pdf.register_pdf_filters(application)
    application.jinja_env.globals["probe_locale"] = lambda: str(flask_babel.get_locale())
    application.jinja_loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader(TEST_TEMPLATES), application.jinja_loader]
    )
    return application


@pytest.fixture
def pdf_ctx(pdf_app):
    """An app context of the bare app (render_pdf needs one)."""
    with pdf_app.app_context():
        yield


def _png_bytes(size=(120, 120), color=(10, 120, 60, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, color).save(buf, "PNG")
    return buf.getvalue()


def _village(**overrides):
    data = {
        "name": "Sukamaju",
        "kecamatan": "Klaten Tengah",
        "kabupaten": "Klaten",
        "province": "Jawa Tengah",
        "address": "Jl. Raya Sukamaju No. 1, Klaten 57411",
        "phone": "(0272) 321456",
        "email": "pemdes@sukamaju.desa.id",
        "logo": None,
        "service_hours": "Senin-Jumat 08.00-15.00 WIB",
    }
    data.update(overrides)
    return data


def _resident(**overrides):
    data = {
        "nik": "3310011708450001",
        "name": "Budi Santoso",
        "birth_place": "Klaten",
        "birth_date": "17 Agustus 1945",
        "sex": "Laki-laki",
        "religion": "Islam",
        "education": "Tamat SD / Sederajat",
        "occupation": "Petani/Pekebun",
        "marital_status": "Kawin",
        "family_relationship": "Kepala Keluarga",
        "blood_type": "O",
        "citizenship": "WNI",
        "father_name": "Karto Diharjo",
        "mother_name": "Sainem",
        "kk_number": "3310012301080003",
        "address": "Jl. Melati No. 17",
        "rt": "001",
        "rw": "004",
        "dusun": "Krajan",
        "photo": None,
    }
    data.update(overrides)
    return data


def _member(nik, name, relationship="Anak", **overrides):
    data = {
        "nik": nik,
        "name": name,
        "sex": "Perempuan",
        "birth_place": "Klaten",
        "birth_date": "1 Januari 1980",
        "religion": "Islam",
        "education": "SLTA / Sederajat",
        "occupation": "Petani/Pekebun",
        "marital_status": "Belum Kawin",
        "family_relationship": relationship,
        "citizenship": "WNI",
        "father_name": "Karto Diharjo",
        "mother_name": "Sainem",
    }
    data.update(overrides)
    return data


def _family(members=None):
    if members is None:
        members = [
            _member("3310011708450001", "Budi Santoso", "Kepala Keluarga", sex="Laki-laki"),
            _member("3310015203500002", "Siti Aminah", "Istri"),
            _member("3310014101800003", "Dewi Lestari", "Anak"),
        ]
    return {
        "kk_number": "3310012301080003",
        "head_name": members[0]["name"] if members else None,
        "address": "Jl. Melati No. 17",
        "rt": "001",
        "rw": "004",
        "dusun": "Krajan",
        "members": members,
    }


def _slip(**overrides):
    data = {
        "name": "Budi Santoso",
        "masked_nik": "3310**********01",
        "pin": "482913",
        "portal_url": "https://sukamaju.desa.id/layanan",
    }
    data.update(overrides)
    return data


def _render(template, paper="F4", **extra) -> bytes:
    context = {"village": _village(), "paper": paper, "printed_on": "30 November 2026"}
    context.update(extra)
    return pdf.render_pdf(template, context)


def _text(data: bytes) -> str:
    """All text of the PDF, NFC-normalised."""
    reader = PdfReader(io.BytesIO(data))
    return unicodedata.normalize("NFC", "\n".join(p.extract_text() for p in reader.pages))


def _squash(text: str) -> str:
    """Text without any whitespace (a word wrapped over two lines compares equal)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def _chunks(data: bytes, page: int = 0):
    """Text pieces of a page as (text, x, y, font size); x, y in points from the bottom left."""
    out = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            out.append((text.strip(), x, y, size * tm[0] * cm[0]))

    PdfReader(io.BytesIO(data)).pages[page].extract_text(visitor_text=visit)
    return out


def _image_xobjects(data: bytes) -> int:
    count = 0
    for page in PdfReader(io.BytesIO(data)).pages:
        count += len(list(page.images))
    return count


def _decode_data_uri(uri: str) -> Image.Image:
    header, b64 = uri.split(",", 1)
    assert header.startswith("data:image/") and header.endswith(";base64")
    return Image.open(io.BytesIO(base64.b64decode(b64)))


# --------------------------------------------------------------------------------------
# The three documents
# --------------------------------------------------------------------------------------


def test_biodata_renders_with_nik(pdf_ctx):
    """Biodata renders, opens with pypdf and shows NIK, No. KK and every label."""
    data = _render("pdf/biodata.html", resident=_resident())
    assert data.startswith(b"%PDF-")
    text = _text(data)
    for expected in (
        "BIODATA PENDUDUK", "3310011708450001", "3310012301080003", "Budi Santoso",
        "Klaten, 17 Agustus 1945", "Hubungan dalam Keluarga", "Golongan Darah",
        "RT 001 / RW 004, Dusun Krajan", "PEMERINTAH KABUPATEN KLATEN",
        "KECAMATAN KLATEN TENGAH", "DESA SUKAMAJU", "30 November 2026",
    ):
        assert expected in text, expected


def test_family_card_renders_with_all_niks(pdf_ctx):
    """KK renders with its number, header and every member's NIK and name."""
    family = _family()
    data = _render("pdf/family_card.html", family=family)
    text = _text(data)
    assert "KARTU KELUARGA" in text
    assert "No. 3310012301080003" in text
    assert "Jawa Tengah" in text
    for member in family["members"]:
        assert member["nik"] in text
        assert _squash(member["name"]) in _squash(text)


def test_pin_slip_renders_masked_nik_and_pin(pdf_ctx):
    """PIN slip shows the masked NIK, the PIN, the portal address and the warnings."""
    data = _render("pdf/pin_slip.html", slip=_slip())
    text = _text(data)
    assert "3310**********01" in text
    assert "482913" in text
    assert "https://sukamaju.desa.id/layanan" in text
    assert "Masukkan NIK dan PIN" in text
    assert "Anda wajib mengganti PIN saat pertama kali masuk" in text
    assert "Jangan berikan PIN kepada siapa pun, termasuk petugas desa" in text
    assert "Senin-Jumat 08.00-15.00 WIB" in text


def test_missing_optional_values_print_dash_not_none(pdf_ctx):
    """None values print as "-" (never "None") and an empty family still renders."""
    resident = _resident(blood_type=None, dusun=None, rw=None, photo=None, father_name="")
    text = _text(_render("pdf/biodata.html", resident=resident))
    assert "None" not in text
    assert "RT 001" in text
    village = _village(phone=None, email=None, logo=None, service_hours=None)
    text = _text(
        _render("pdf/family_card.html", family=_family(members=[]), village=village)
    )
    assert "None" not in text
    assert "Tidak ada anggota keluarga aktif." in text


# --------------------------------------------------------------------------------------
# Fonts and names
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES_OUTSIDE_LATIN1)
def test_names_outside_latin1_are_printed_exactly(pdf_ctx, name):
    """Names outside Latin-1 come out of the PDF text exactly, in all three documents."""
    nfc = unicodedata.normalize("NFC", name)
    biodata = _text(_render("pdf/biodata.html", resident=_resident(name=name)))
    assert nfc in biodata
    kk = _render("pdf/family_card.html",
                 family=_family([_member("3310011708450001", name, "Kepala Keluarga")]))
    assert _squash(nfc) in _squash(_text(kk))
    slip = _text(_render("pdf/pin_slip.html", slip=_slip(name=name)))
    assert nfc in slip


def test_dejavu_fonts_are_embedded(pdf_ctx):
    """Every font that draws text is an embedded DejaVu Sans subset (regular and bold)."""
    data = _render("pdf/biodata.html", resident=_resident(name=NAMES_OUTSIDE_LATIN1[0]))
    page = PdfReader(io.BytesIO(data)).pages[0]
    used = {font for _text, font in _font_names_used(page)}
    assert used, "no text found"
    assert all("DejaVuSans" in f for f in used), used
    fonts = page["/Resources"]["/Font"]
    embedded = {}
    for ref in fonts.values():
        font = ref.get_object()
        base = str(font["/BaseFont"])
        if "DejaVu" not in base:
            continue
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        embedded[base] = "/FontFile2" in descriptor
    assert embedded and all(embedded.values()), embedded
    assert any(b.endswith("DejaVuSans-Bold") for b in embedded)


def _font_names_used(page):
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip() and font is not None:
            found.append((text, str(font.get("/BaseFont"))))

    page.extract_text(visitor_text=visit)
    return found


def test_font_files_and_license_are_shipped():
    """All four DejaVu Sans faces and the licence are in app/static/fonts."""
    fonts = APP_DIR / "static" / "fonts"
    for name in pdf.FONT_FILES.values():
        path = APP_DIR / "static" / name
        assert path.is_file() and path.read_bytes()[:4] == b"\x00\x01\x00\x00", name
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# Long words wrap inside their cells
# --------------------------------------------------------------------------------------


def _text_width(text: str, size: float) -> float:
    """Width in points of ``text`` in DejaVu Sans at ``size`` points."""
    font = ImageFont.truetype(str(FONT_REGULAR), size=1000)
    return font.getlength(text) * size / 1000


@pytest.mark.parametrize("paper", ["F4", "A4"])
def test_long_unbroken_name_stays_inside_its_cell(pdf_ctx, paper):
    """A 70-character name without spaces is wrapped inside the KK name column, complete."""
    members = [
        _member("3310015203500002", "Budi Santoso", "Kepala Keluarga"),
        _member("3310011708450001", LONG_NAME, "Anak"),
    ]
    data = _render("pdf/family_card.html", paper=paper, family=_family(members))
    chunks = _chunks(data)
    nik_x = min(x for text, x, _y, _s in chunks if text == "3310011708450001")
    name_pieces = [(t, x, s) for t, x, _y, s in chunks if t and t in LONG_NAME and len(t) > 3]
    # Complete: the pieces put together give the whole name, in order.
    assert "".join(t for t, _x, _s in name_pieces) == LONG_NAME
    assert len(name_pieces) > 1, "the name was not wrapped"
    # Inside: every piece ends left of the NIK column's text.
    for text, x, size in name_pieces:
        assert x + _text_width(text, size) < nik_x, (text, x, nik_x)


def test_long_unbroken_name_stays_inside_the_page_in_biodata(pdf_ctx):
    """In the biodata the 70-character name wraps before the photo column and the margin."""
    photo = pdf.image_data_uri(_png_bytes((300, 400), (200, 200, 200, 255)))
    data = _render("pdf/biodata.html", resident=_resident(name=LONG_NAME, photo=photo))
    page_w = float(PdfReader(io.BytesIO(data)).pages[0].mediabox.width)
    pieces = [(t, x, s) for t, x, _y, s in _chunks(data) if t in LONG_NAME and len(t) > 3]
    assert "".join(t for t, _x, _s in pieces) == LONG_NAME
    photo_left = page_w - 20 * MM - 30 * MM  # photo is 3 cm wide at the right margin
    for text, x, size in pieces:
        assert x + _text_width(text, size) <= photo_left, (text, x)


def test_breakable_filter():
    """breakable escapes, marks only long words, and returns Markup."""
    assert pdf.breakable(None) == ""
    assert pdf.breakable("Budi Santoso") == "Budi Santoso"
    out = pdf.breakable("Budi " + "x" * 25, every=20)
    assert isinstance(out, Markup)
    assert out == 'Budi <span class="brk" style="overflow-wrap: break-word">' + "x" * 25 + "</span>"
    out = pdf.breakable("<b>A&B</b>" + "y" * 30)
    assert "<b>" not in out and "&lt;b&gt;A&amp;B&lt;/b&gt;" in out
    # Markup input is user data too: escaped, not trusted.
    assert "&lt;i&gt;" in pdf.breakable(Markup("<i>x</i>"))


# --------------------------------------------------------------------------------------
# Escaping and resource access
# --------------------------------------------------------------------------------------


def test_markup_in_a_name_is_printed_as_text(pdf_ctx):
    """<script> and <b> in a name are escaped in the HTML and printed literally in the PDF."""
    name = "<script>alert(1)</script> <b>Budi</b> & Co"
    context = {"village": _village(), "paper": "F4", "printed_on": "1 Mei 2026",
               "resident": _resident(name=name), "pdf_fonts": {}}
    html = flask.render_template("pdf/biodata.html", **context)
    assert "<script>" not in html and "<b>Budi" not in html
    assert "&lt;script&gt;" in html
    for template, extra in (
        ("pdf/biodata.html", {"resident": _resident(name=name)}),
        ("pdf/family_card.html", {"family": _family([_member("3310011708450001", name)])}),
        ("pdf/pin_slip.html", {"slip": _slip(name=name)}),
    ):
        text = _text(_render(template, **extra))
        assert _squash(name) in _squash(text), template


def test_remote_and_local_resources_are_not_fetched(pdf_ctx, monkeypatch, tmp_path):
    """http(s) and file: resources outside static/ are neither fetched nor embedded."""
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png_bytes())
    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(("network", args[:2]))
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)

    real_open = open

    def spy_open(file, *args, **kwargs):
        resolved = str(Path(file).resolve()) if isinstance(file, str | Path) else ""
        if resolved in {"/etc/passwd", str(outside.resolve())}:
            attempts.append(("open", resolved))
        return real_open(file, *args, **kwargs)

    import xhtml2pdf.files

    monkeypatch.setattr(xhtml2pdf.files, "open", spy_open, raising=False)
    monkeypatch.setattr("builtins.open", spy_open)

    # Control: a data: URI logo is embedded, so "no image" below means something.
    logo = pdf.image_data_uri(_png_bytes())
    data = _render("pdf_test/resources.html", village=_village(logo=logo),
                   outside_png=str(outside))
    assert "SELESAI" in _text(data)
    assert attempts == []
    assert _image_xobjects(data) == 1  # the logo only


def test_data_uri_logo_and_photo_are_embedded(pdf_ctx):
    """Logo and photo given as data: URIs are embedded (two images in the biodata)."""
    logo = pdf.image_data_uri(_png_bytes())
    photo = pdf.image_data_uri(_png_bytes((300, 400), (90, 90, 160, 255)))
    data = _render("pdf/biodata.html", village=_village(logo=logo),
                   resident=_resident(photo=photo))
    assert _image_xobjects(data) == 2


def test_non_data_uri_logo_is_ignored(pdf_ctx):
    """A logo value that is not a data:image URI is not used as an image source."""
    data = _render("pdf/biodata.html", village=_village(logo="file:///etc/passwd"),
                   resident=_resident(photo="http://example.com/p.jpg"))
    assert _image_xobjects(data) == 0


# --------------------------------------------------------------------------------------
# Page sizes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "extra", "landscape"),
    [
        ("pdf/biodata.html", {"resident": _resident()}, False),
        ("pdf/family_card.html", {"family": _family()}, True),
        ("pdf/pin_slip.html", {"slip": _slip()}, False),
    ],
)
@pytest.mark.parametrize(("paper", "size_mm"), [("F4", (215, 330)), ("A4", (210, 297))])
def test_page_size(pdf_ctx, template, extra, landscape, paper, size_mm):
    """F4 is 215 x 330 mm, A4 210 x 297 mm; the KK is landscape, the others portrait."""
    data = _render(template, paper=paper, **extra)
    for page in PdfReader(io.BytesIO(data)).pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        expected_w, expected_h = size_mm if not landscape else size_mm[::-1]
        assert width == pytest.approx(expected_w * MM, abs=0.5)
        assert height == pytest.approx(expected_h * MM, abs=0.5)


def test_paper_defaults_to_f4_and_rejects_others(pdf_ctx):
    """Without paper the document is F4; an unknown paper is a ValueError."""
    context = {"village": _village(), "printed_on": "1 Mei 2026", "resident": _resident()}
    page = PdfReader(io.BytesIO(pdf.render_pdf("pdf/biodata.html", context))).pages[0]
    assert float(page.mediabox.height) == pytest.approx(330 * MM, abs=0.5)
    with pytest.raises(ValueError, match="paper"):
        pdf.render_pdf("pdf/biodata.html", context | {"paper": "Letter"})


def test_long_family_repeats_header_on_every_page(pdf_ctx):
    """A KK with many members spans pages, each with the table header and the page count."""
    members = [_member(f"331001010180{i:04d}", f"Anggota Nomor {i}") for i in range(1, 41)]
    data = _render("pdf/family_card.html", family=_family(members))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 1
    for number, page in enumerate(reader.pages, 1):
        text = page.extract_text()
        assert "NIK" in text and "Nama Lengkap" in text
        assert f"Halaman {number} dari {len(reader.pages)}" in text
    text = _text(data)
    assert all(m["nik"] in text for m in members)


# --------------------------------------------------------------------------------------
# Locale, logging, errors
# --------------------------------------------------------------------------------------


def test_rendered_in_indonesian_whatever_the_user_locale(pdf_app):
    """render_pdf forces the "id" locale even when the request's locale is "en"."""
    with pdf_app.test_request_context("/"):
        assert str(flask_babel.get_locale()) == "en"
        text = _text(_render("pdf_test/locale.html"))
        assert "LOCALE=id" in text
        assert str(flask_babel.get_locale()) == "en"


def test_xhtml2pdf_logs_nothing_below_error(pdf_ctx, caplog):
    """The xhtml2pdf loggers are at ERROR: no record of a render holds the NIK."""
    caplog.set_level(logging.DEBUG)
    _render("pdf/biodata.html", resident=_resident())
    _render("pdf_test/resources.html", outside_png="/nonexistent/x.png")
    assert logging.getLogger("xhtml2pdf").level == logging.ERROR
    assert logging.getLogger("xhtml2pdf.files").getEffectiveLevel() >= logging.ERROR
    xhtml2pdf_records = [r for r in caplog.records if r.name.startswith("xhtml2pdf")]
    assert xhtml2pdf_records == []
    assert not any("3310011708450001" in r.getMessage() for r in caplog.records)


def test_pisa_errors_raise_pdf_render_error(pdf_ctx, monkeypatch):
    """A converter that reports errors or raises gives PdfRenderError."""

    class Status:
        err = 2

    monkeypatch.setattr(pdf.pisa, "CreatePDF", lambda *a, **k: Status())
    with pytest.raises(pdf.PdfRenderError, match="2 error"):
        _render("pdf/pin_slip.html", slip=_slip())

    def boom(*a, **k):
        raise RuntimeError("boom 482913")

    monkeypatch.setattr(pdf.pisa, "CreatePDF", boom)
    with pytest.raises(pdf.PdfRenderError) as info:
        _render("pdf/pin_slip.html", slip=_slip())
    assert "482913" not in str(info.value)
    assert issubclass(pdf.PdfRenderError, RuntimeError)


# --------------------------------------------------------------------------------------
# image_data_uri
# --------------------------------------------------------------------------------------


def _exif_rotated_jpeg(tmp_path: Path) -> Path:
    """A 1600 x 1200 JPEG stored sideways, with EXIF orientation 6 (rotate 90 CW to view).

    Stored left half red, right half blue: viewed upright, red is at the top.
    """
    im = Image.new("RGB", (1600, 1200), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 800, 1200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "TestCam"  # Make
    path = tmp_path / "Foto KTP 3310011708450001.jpg"
    im.save(path, "JPEG", exif=exif.tobytes(), quality=90)
    return path


def test_image_data_uri_applies_exif_orientation(tmp_path):
    """A portrait photo stored sideways with EXIF orientation 6 comes out upright."""
    path = _exif_rotated_jpeg(tmp_path)
    with Image.open(path) as original:
        assert original.size == (1600, 1200)
    uri = pdf.image_data_uri(path)
    assert uri.startswith("data:image/jpeg;base64,")
    im = _decode_data_uri(uri)
    assert im.size == (450, 600)  # upright portrait, long side max_px
    top = im.getpixel((225, 20))
    bottom = im.getpixel((225, 580))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom
    assert not im.getexif()  # orientation, camera (and GPS) dropped
    # Same from bytes, with another size.
    assert _decode_data_uri(pdf.image_data_uri(path.read_bytes(), max_px=200)).size == (150, 200)


def test_image_data_uri_keeps_alpha_as_png_and_does_not_enlarge():
    """Transparent images become PNG; small images keep their size."""
    uri = pdf.image_data_uri(_png_bytes((120, 80), (0, 0, 0, 0)))
    assert uri.startswith("data:image/png;base64,")
    im = _decode_data_uri(uri)
    assert im.size == (120, 80) and im.mode == "RGBA"


def test_image_data_uri_returns_none_for_bad_input(tmp_path, caplog, monkeypatch):
    """Missing, non-image, truncated, unsupported or oversized input gives None, logged safely."""
    # Alembic's fileConfig (run by the session app fixture of conftest) disables existing loggers.
    monkeypatch.setattr(logging.getLogger(pdf.__name__), "disabled", False)
    caplog.set_level(logging.WARNING)
    missing = tmp_path / "Budi 3310011708450001.jpg"
    assert pdf.image_data_uri(missing) is None
    assert pdf.image_data_uri(None) is None
    assert pdf.image_data_uri(b"not an image at all") is None
    assert pdf.image_data_uri(b"") is None
    jpeg = io.BytesIO()
    Image.new("RGB", (400, 400), (1, 2, 3)).save(jpeg, "JPEG")
    assert pdf.image_data_uri(jpeg.getvalue()[:300]) is None  # truncated
    tiff = io.BytesIO()
    Image.new("RGB", (10, 10)).save(tiff, "TIFF")
    assert pdf.image_data_uri(tiff.getvalue()) is None  # format not allowed
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 100 M pixels, a few KB
    assert len(bomb.getvalue()) < 100_000
    assert pdf.image_data_uri(bomb.getvalue()) is None
    svg = tmp_path / "logo.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert pdf.image_data_uri(svg) is None
    messages = [r.getMessage() for r in caplog.records if r.name == pdf.__name__]
    assert len(messages) >= 6
    assert all("3310011708450001" not in m and "Budi" not in m for m in messages)
    with pytest.raises(ValueError):
        pdf.image_data_uri(b"x", max_px=0)


def test_kop_does_not_double_region_prefixes(pdf_ctx):
    """Kop lines add KABUPATEN/KECAMATAN/DESA once, and keep KOTA for a city."""
    village = _village(kabupaten="Kota Batu", kecamatan="Kecamatan Bumiaji", name="Desa Sumberbrantas")
    text = _text(_render("pdf/pin_slip.html", village=village, slip=_slip()))
    assert "PEMERINTAH KOTA BATU" in text
    assert "KECAMATAN BUMIAJI" in text and "KECAMATAN KECAMATAN" not in text
    assert "DESA SUMBERBRANTAS" in text and "DESA DESA" not in text
    assert "KABUPATEN KOTA" not in text
