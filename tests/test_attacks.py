"""Attacks on Balai with bad input: ids, shapes, uploads, scripts, CSRF, sessions, redirects, admin.

Each test names the attack and the behaviour Balai must show. A test that fails documents a real
problem (see the report that came with this file); the others pin down what is handled well.
Portal tests hold an app context (``ctx``) like tests/test_letters.py; the admin ones prepare data
in short contexts like tests/test_letters_admin.py.
"""
import io
import re
import struct
import zipfile
import zlib
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.letters.models import IssuedLetter, LetterRequest, LetterStatus, LetterType, ResidentDocument
from app.letters.workflow import Actor, transition
from app.messages import services as messages
from app.messages.models import Message, MessagePhoto
from app.notifications.models import Notification
from app.portal.models import LoginThrottle, PortalAccount
from tests.conftest import (admin_login, csrf_token, make_account, make_admin, make_area, make_family,
                            make_resident, make_village, portal_login)

UPLOADS = Path(__file__).parent / "data" / "uploads"
PIN_A, PIN_B = "582913", "604917"
PASSWORD = "Rahasia-Balai-1"
HUGE = "99999999999999999999"
XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
LOGIN = "/layanan-mandiri/masuk"


# --- helpers ---------------------------------------------------------------------------------

def jpeg(size=(64, 48), colour=(200, 120, 40)):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_with_huge_iccp():
    """A 1x1 PNG whose iCCP chunk inflates to 64 MB (a small file, a big profile)."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    profile = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)
    idat = zlib.compress(b"\0\0\0\0")
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"iCCP", b"icc\0\0" + profile)
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def letter_type(code):
    return db.session.scalar(select(LetterType).where(LetterType.code == code))


def form_tokens(client, url):
    page = client.get(url).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    submit = re.search(r'name="submit_token" value="([^"]+)"', page)
    return csrf, submit.group(1) if submit else None


def wizard(client, type_id, files=None, **fields):
    """Post the letter wizard for ``type_id`` with fresh tokens (values may be lists)."""
    csrf, submit = form_tokens(client, f"/layanan-mandiri/surat/baru/{type_id}")
    data = {"csrf_token": csrf, "submit_token": submit, "purpose": "Melamar pekerjaan",
            "phone": "0812-3456-7890", **fields}
    for name, (content, filename) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename)
    return client.post(f"/layanan-mandiri/surat/baru/{type_id}", data=data, content_type="multipart/form-data")


def send_message(client, photos=(), **fields):
    csrf, submit = form_tokens(client, "/layanan-mandiri/pesan/baru")
    data = {"csrf_token": csrf, "submit_token": submit, "kind": "report", "subject": "Jalan rusak",
            "body": "Lubang besar di depan balai dusun.", **fields}
    if photos:
        data["photos"] = list(photos)
    return client.post("/layanan-mandiri/pesan/baru", data=data, content_type="multipart/form-data")


def upload_document(client, content, filename="scan.jpg", title="KTP", mimetype=None):
    csrf = csrf_token(client, "/layanan-mandiri/dokumen")
    file = (io.BytesIO(content), filename, mimetype) if mimetype else (io.BytesIO(content), filename)
    return client.post("/layanan-mandiri/dokumen", data={"csrf_token": csrf, "title": title, "file": file},
                       content_type="multipart/form-data")


def stored(app, area):
    folder = Path(app.config["UPLOAD_FOLDER"]) / area
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder.exists() else set()


def pdf_text(data):
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def assert_escaped(html, where):
    for payload in XSS:
        assert payload not in html, f"raw {payload!r} in {where}"


def assert_same_site(location):
    """A browser (which treats \\ like / and drops tabs/spaces) would stay on this host."""
    browserish = location.strip().replace("\\", "/").replace("\t", "").replace("\n", "")
    parts = urlsplit(urljoin("http://balai.test/x/", browserish))
    assert parts.scheme == "http" and parts.netloc == "balai.test", location


@contextmanager
def db_ctx(app):
    with app.app_context():
        yield db.session
        db.session.commit()


def operator_client(app, role="Operator", username=None):
    username = username or role.lower().replace(" ", "_")
    with db_ctx(app):
        make_admin(username=username, password=PASSWORD, role=role)
    client = app.test_client()
    assert admin_login(client, username=username, password=PASSWORD).status_code == 302
    client.get("/bahasa/en")
    return client


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def village(ctx):
    from app.residents.models import Official
    v = make_village()
    db.session.add_all([Official(name="Sutrisno", position="Kepala Desa", nipd="1001", is_village_head=True),
                        Official(name="Dewi Lestari", position="Sekretaris Desa", nipd="1002",
                                 may_sign_on_behalf=True)])
    db.session.commit()
    return v


@pytest.fixture
def alice(village):
    person = make_resident(name="Andi Alfa", family=make_family(area=make_area()), phone="081234567890")
    make_account(person, PIN_A)
    return person


@pytest.fixture
def bob(village):
    person = make_resident(name="Bima Beta", family=make_family(area=make_area(rt="009")), birth=date(1980, 1, 1))
    make_account(person, PIN_B)
    return person


@pytest.fixture
def operator(ctx):
    return make_admin("operator", role="Operator")


@pytest.fixture
def client_a(app, alice):
    client = app.test_client()
    assert portal_login(client, alice.nik, PIN_A).status_code == 302
    client.get("/bahasa/en")
    return client


@pytest.fixture
def client_b(app, bob):
    client = app.test_client()
    assert portal_login(client, bob.nik, PIN_B).status_code == 302
    client.get("/bahasa/en")
    return client


@pytest.fixture
def a_things(app, alice, operator, client_a):
    """Alice's request (printed), document, issued letter, notification, message and photo ids."""
    real = (UPLOADS / "real.jpg").read_bytes()
    response = wizard(client_a, letter_type("domisili").id,
                      {"upload_1": (real, "a.jpg"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")},
                      field_since="2010-01-05")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    req = db.session.scalar(select(LetterRequest).where(LetterRequest.resident_id == alice.id))
    transition(req, "print", Actor.for_user(operator, signing_step=False))
    db.session.commit()
    assert send_message(client_a, photos=[(io.BytesIO(real), "real.jpg")]).status_code == 302
    message = db.session.scalar(select(Message).where(Message.resident_id == alice.id))
    return {"request": req.id, "document": req.documents[0].document_id, "letter": req.issued_letter.id,
            "notification": db.session.scalar(select(Notification.id).where(Notification.resident_id == alice.id)),
            "message": message.id, "photo": db.session.scalar(select(MessagePhoto.id))}


# --- ids -------------------------------------------------------------------------------------

def test_b_gets_404_for_every_id_of_a(a_things, client_b):
    """Resident B on every portal URL with one of A's ids (GET and POST): 404, never 200/403."""
    t = a_things
    for url in (f"/layanan-mandiri/surat/{t['request']}", f"/layanan-mandiri/surat/{t['request']}/ubah",
                f"/layanan-mandiri/dokumen/{t['document']}", f"/layanan-mandiri/arsip-surat/{t['letter']}.pdf",
                f"/layanan-mandiri/notifikasi/{t['notification']}", f"/layanan-mandiri/pesan/{t['message']}",
                f"/layanan-mandiri/pesan/foto/{t['photo']}"):
        assert client_b.get(url).status_code == 404, url
    token = csrf_token(client_b, "/layanan-mandiri/dokumen")
    for url in (f"/layanan-mandiri/surat/{t['request']}/batal", f"/layanan-mandiri/surat/{t['request']}/ubah",
                f"/layanan-mandiri/dokumen/{t['document']}/hapus", f"/layanan-mandiri/pesan/{t['message']}/balas"):
        assert client_b.post(url, data={"csrf_token": token, "body": "hi"}).status_code == 404, url
    assert db.session.get(ResidentDocument, t["document"]) is not None
    assert len(db.session.get(Message, t["message"]).posts) == 1


@pytest.mark.parametrize("url", [
    "/layanan-mandiri/surat/{id}", "/layanan-mandiri/surat/{id}/ubah", "/layanan-mandiri/dokumen/{id}",
    "/layanan-mandiri/arsip-surat/{id}.pdf", "/layanan-mandiri/notifikasi/{id}", "/layanan-mandiri/pesan/{id}",
    "/layanan-mandiri/pesan/foto/{id}", "/layanan-mandiri/surat/baru/{id}"])
def test_huge_ids_on_portal_urls_are_404(client_a, url):
    """An id beyond 64 bits (99999999999999999999) in a portal URL: 404, never a 500."""
    response = client_a.get(url.format(id=HUGE))
    assert response.status_code == 404, response.status_code


@pytest.mark.parametrize("url", [
    "/layanan-mandiri/surat/{id}/batal", "/layanan-mandiri/dokumen/{id}/hapus", "/layanan-mandiri/pesan/{id}/balas"])
def test_huge_ids_on_portal_posts_are_404(client_a, url):
    """POST to an action with a 20-digit id: 404, never a 500."""
    token = csrf_token(client_a, "/layanan-mandiri/dokumen")
    assert client_a.post(url.format(id=HUGE), data={"csrf_token": token, "body": "x"}).status_code == 404


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "%00", "1%20", "０"])
def test_zero_negative_and_non_numeric_ids_are_404(client_a, value):
    """Ids 0, -1, text, decimals and full-width digits in portal URLs: 404 (a NUL byte: 400)."""
    for url in (f"/layanan-mandiri/surat/{value}", f"/layanan-mandiri/dokumen/{value}",
                f"/layanan-mandiri/pesan/{value}", f"/layanan-mandiri/pesan/foto/{value}"):
        assert client_a.get(url).status_code == (400 if value == "%00" else 404), url


@pytest.mark.parametrize("url", ["/layanan-mandiri/surat", "/layanan-mandiri/pesan", "/layanan-mandiri/pesan/terkirim",
                                 "/layanan-mandiri/notifikasi"])
def test_huge_page_number_is_not_a_500(client_a, url):
    """?halaman=99999999999999999999 on a portal list: an (empty) page or 404, never a 500."""
    response = client_a.get(f"{url}?halaman={HUGE}")
    assert response.status_code in (200, 404), response.status_code


def test_bad_page_numbers_fall_back_to_page_one(client_a):
    """?halaman=-5, 0, abc, 1e9: the first page (200)."""
    for value in ("-5", "0", "abc", "", "1e9"):
        assert client_a.get(f"/layanan-mandiri/surat?halaman={value}").status_code == 200, value


@pytest.mark.parametrize("url", ["/letterrequestview/show/{id}", "/issuedletterview/show/{id}",
                                 "/issuedletterview/pdf/{id}", "/residentview/show/{id}", "/familyview/show/{id}",
                                 "/office-messages/show/{id}", "/letterrequestview/document/{id}/{id}",
                                 "/desk-letter/new/{id}"])
def test_huge_ids_on_admin_urls_are_404(app, village, url):
    """An operator opening an admin page with a 20-digit id: 404 (or FAB's not-found redirect), never 500."""
    client = operator_client(app)
    response = client.get(url.format(id=HUGE))
    assert response.status_code in (302, 404), response.status_code


def test_huge_id_admin_actions_are_not_500(app, village):
    """An operator POSTing a workflow action for a 20-digit request id: 404 or a redirect, never 500."""
    client = operator_client(app)
    token = csrf_token(client, "/residentview/add")
    for action in ("return", "print", "sign", "collect", "cancel"):
        response = client.post(f"/letterrequestview/{action}/{HUGE}", data={"csrf_token": token, "note": "x"})
        assert response.status_code in (302, 404), (action, response.status_code)


# --- wrong shapes ----------------------------------------------------------------------------

def test_doc_of_another_resident_and_junk_doc_ids_are_refused(a_things, client_b, bob):
    """doc_<req> = A's document id, a huge id, text or a negative id: 400 with an error, nothing stored."""
    lt = letter_type("keterangan_penduduk")
    for value in (str(a_things["document"]), HUGE, "abc", "-1", "١"):
        response = wizard(client_b, lt.id, doc_2=value, doc_3=value)
        assert response.status_code == 400, (value, response.status_code)
    assert db.session.scalar(select(func.count(LetterRequest.id)).where(LetterRequest.resident_id == bob.id)) == 0


def test_upload_for_a_requirement_not_in_the_type_is_ignored(app, client_a, alice):
    """upload_<id> for a requirement the type does not have: not stored, the request has no extra document."""
    before = stored(app, "documents")
    response = wizard(client_a, letter_type("pengantar_umum").id, {"upload_9": (jpeg(), "ijazah.jpg")})
    assert response.status_code == 302
    req = db.session.scalar(select(LetterRequest))
    assert req.documents == [] and stored(app, "documents") == before


def test_fields_sent_as_lists_and_extra_fields(client_a, alice):
    """purpose and field values sent twice, extra unknown fields: one request, first value kept, extras dropped."""
    response = wizard(client_a, letter_type("pengantar_umum").id, purpose=["Satu", "Dua"], field_evil="x",
                      resident_id="1", status="5")
    assert response.status_code == 302
    req = db.session.scalar(select(LetterRequest))
    assert req.purpose == "Satu" and req.field_values == {} and req.status == LetterStatus.CHECKING
    assert req.resident_id == alice.id


@pytest.mark.parametrize("fields", [
    {"field_since": "2023-02-31"}, {"field_since": "31-02-2023"}, {"field_since": "kemarin"},
    {"field_since": "9999999-01-01"}, {"field_since": ""}])
def test_bad_dates_are_refused(client_a, fields):
    """A required date field with 31 February, a DD-MM date, text or nothing: 400, nothing stored."""
    real = jpeg()
    files = {"upload_1": (real, "a.jpg"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")}
    assert wizard(client_a, letter_type("domisili").id, files, **fields).status_code == 400
    assert db.session.scalar(select(func.count(LetterRequest.id))) == 0


@pytest.mark.parametrize("value", ["satu juta", "1,5", "-300", "١٢٣", "１２３", "1e6", "9" * 16])
def test_bad_numbers_are_refused(client_a, value):
    """A number field with words, decimals, a minus, Arabic-Indic/full-width digits or 16 digits: 400."""
    real = jpeg()
    files = {"upload_1": (real, "a.jpg"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")}
    response = wizard(client_a, letter_type("penghasilan_ortu").id, files, field_student_number="123",
                      field_school="SD 1", field_father_income=value, field_mother_income="0")
    assert response.status_code == 400, value


def test_select_value_not_in_options_is_refused(client_a):
    """A select field with a value that is not one of its options: 400."""
    real = jpeg()
    files = {"upload_1": (real, "a.jpg"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")}
    response = wizard(client_a, letter_type("tidak_mampu").id, files, field_need="<script>alert(1)</script>")
    assert response.status_code == 400
    assert_escaped(response.get_data(as_text=True), "wizard error page")


def test_ten_thousand_characters_are_refused_with_a_message(client_a):
    """A 10,000-character purpose, note, field, subject and body: 400 with a message, nothing stored."""
    long = "A" * 10_000
    assert wizard(client_a, letter_type("pengantar_umum").id, purpose=long).status_code == 400
    assert wizard(client_a, letter_type("pengantar_umum").id, note=long).status_code == 400
    assert send_message(client_a, subject=long).status_code == 400
    assert send_message(client_a, body=long).status_code == 400
    assert db.session.scalar(select(func.count(LetterRequest.id))) == 0
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_missing_fields_are_refused_not_500(client_a):
    """A wizard POST without purpose/phone, a message without kind/subject/body: 400, not 500."""
    lt = letter_type("pengantar_umum")
    csrf, submit = form_tokens(client_a, f"/layanan-mandiri/surat/baru/{lt.id}")
    response = client_a.post(f"/layanan-mandiri/surat/baru/{lt.id}", data={"csrf_token": csrf, "submit_token": submit})
    assert response.status_code == 400
    csrf, submit = form_tokens(client_a, "/layanan-mandiri/pesan/baru")
    response = client_a.post("/layanan-mandiri/pesan/baru", data={"csrf_token": csrf, "submit_token": submit})
    assert response.status_code == 400
    response = client_a.post("/layanan-mandiri/pesan/baru", data={"csrf_token": csrf})
    assert response.status_code == 400


def test_unknown_message_kind_is_refused(client_a):
    """kind=admin (not message/report): 400, nothing stored."""
    assert send_message(client_a, kind="admin").status_code == 400
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_nul_and_control_characters_in_text_are_not_a_500(client_a):
    """NUL bytes and control characters in a message and in a letter purpose: refused or cleaned, never a 500."""
    nasty = "Halo\x00dunia\x1b[31m\x07\x0b"
    response = send_message(client_a, subject="Sub\x00ject", body=nasty)
    assert response.status_code in (302, 400), response.status_code
    response = wizard(client_a, letter_type("pengantar_umum").id, purpose=nasty)
    assert response.status_code in (302, 400), response.status_code


def test_nul_in_stored_text_does_not_survive(client_a):
    """A NUL byte in a message body is not stored as-is (PostgreSQL refuses NUL in text: a 500 there)."""
    send_message(client_a, body="Halo\x00dunia")
    stored_bodies = [p.body for m in db.session.scalars(select(Message)) for p in m.posts]
    assert all("\x00" not in body for body in stored_bodies), stored_bodies


def test_control_characters_in_purpose_print_a_pdf(app, client_a, operator):
    """Emoji, RTL text and control characters in a purpose and a field: the operator can still print; PDF has the text."""
    purpose = "Daftar sekolah 🎓 \u202eabc\u202c مرحبا \x0b\x1b end"
    real = jpeg()
    files = {"upload_1": (real, "a.jpg"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")}
    response = wizard(client_a, letter_type("domisili").id, files, purpose=purpose, field_since="2010-01-05",
                      field_origin_address="Jl. 😀 \u200f\u202e")
    assert response.status_code in (302, 400)
    req = db.session.scalar(select(LetterRequest))
    if req is None:
        return  # refused at the door: fine
    transition(req, "print", Actor.for_user(operator, signing_step=False))
    db.session.commit()
    assert "Daftar sekolah" in pdf_text(client_a.get(f"/layanan-mandiri/arsip-surat/{req.issued_letter.id}.pdf").data)


def test_emoji_and_rtl_are_stored_and_shown(client_a):
    """Emoji and Arabic in a message: stored exactly and shown back on the sent page."""
    assert send_message(client_a, subject="Lampu mati 💡 مرحبا", body="Tolong 🙏").status_code == 302
    assert "Lampu mati 💡 مرحبا" in client_a.get("/layanan-mandiri/pesan/terkirim").get_data(as_text=True)


# --- login -----------------------------------------------------------------------------------

@pytest.mark.parametrize("nik", ["{nik}aa", "{nik}0", "{nik15}", "x{nik15}", "{arabic}", "{fullwidth}",
                                 "{nik15} ", "{nik}\x00", "' OR 1=1 --", "{nik}" * 100])
def test_malformed_niks_never_log_in(app, alice, nik):
    """NIK with letters, 15/17 digits, Arabic-Indic or full-width digits, NUL, SQL: 400, not logged in, not counted."""
    arabic = alice.nik.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    fullwidth = alice.nik.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    value = nik.format(nik=alice.nik, nik15=alice.nik[:15], arabic=arabic, fullwidth=fullwidth)
    client = app.test_client()
    response = portal_login(client, value, PIN_A)
    assert response.status_code == 400
    assert client.get("/layanan-mandiri/").status_code == 302
    assert db.session.scalar(select(func.count(LoginThrottle.id))) == 0


def test_nik_with_surrounding_spaces_logs_in(app, alice):
    """A real NIK with leading/trailing spaces (a phone keyboard habit): logged in (only spaces are removed)."""
    assert portal_login(app.test_client(), f"  {alice.nik} ", PIN_A).status_code == 302


@pytest.mark.parametrize("pin", ["58291a", "5829134", "58291", "5" * 5000, "٥٨٢٩١٣", "582 913"])
def test_malformed_pins_never_log_in(app, alice, pin):
    """PIN with letters, 5/7 digits, 5000 characters, Arabic-Indic digits, inner space: 400, not logged in."""
    client = app.test_client()
    assert portal_login(client, alice.nik, pin).status_code == 400
    assert client.get("/layanan-mandiri/").status_code == 302


def test_forwarded_for_does_not_reset_the_nik_lock(app, alice):
    """Five wrong PINs, each from a new session with a different X-Forwarded-For: NIK locked, right PIN refused."""
    for n in range(5):
        client = app.test_client()
        token = csrf_token(client, LOGIN)
        client.post(LOGIN, data={"nik": alice.nik, "pin": "111112", "csrf_token": token},
                    headers={"X-Forwarded-For": f"10.0.0.{n}", "X-Real-IP": f"10.0.1.{n}"})
    client = app.test_client()
    token = csrf_token(client, LOGIN)
    response = client.post(LOGIN, data={"nik": alice.nik, "pin": PIN_A, "csrf_token": token},
                           headers={"X-Forwarded-For": "192.168.7.7"})
    assert response.status_code == 429
    assert client.get("/layanan-mandiri/").status_code == 302


def test_login_without_csrf_token_is_refused(app, alice):
    """A login POST without a CSRF token or with another session's token: not logged in, no failure counted."""
    other = app.test_client()
    foreign = csrf_token(other, LOGIN)
    for data in ({"nik": alice.nik, "pin": PIN_A}, {"nik": alice.nik, "pin": PIN_A, "csrf_token": foreign}):
        client = app.test_client()
        client.get(LOGIN)
        response = client.post(LOGIN, data=data)
        assert response.status_code == 400
        assert client.get("/layanan-mandiri/").status_code == 302
    assert db.session.scalar(select(func.count(LoginThrottle.id))) == 0


# --- CSRF ------------------------------------------------------------------------------------

def test_portal_posts_without_or_with_foreign_csrf_change_nothing(app, a_things, client_a, client_b):
    """Cancel, delete, reply, read-all, logout and a new message without a token or with B's token: nothing happens."""
    t = a_things
    foreign = csrf_token(client_b, "/layanan-mandiri/dokumen")
    urls = [f"/layanan-mandiri/surat/{t['request']}/batal", f"/layanan-mandiri/pesan/{t['message']}/balas",
            "/layanan-mandiri/notifikasi/baca-semua", "/layanan-mandiri/keluar"]
    for token in (None, foreign):
        for url in urls:
            data = {"body": "balasan"} if token is None else {"body": "balasan", "csrf_token": token}
            response = client_a.post(url, data=data)
            assert response.status_code in (302, 400), (url, response.status_code)
    db.session.expire_all()
    assert len(db.session.get(Message, t["message"]).posts) == 1
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_not(None))) == 0
    assert client_a.get("/layanan-mandiri/").status_code == 200  # still logged in


def test_portal_logout_via_get_is_not_possible(client_a):
    """GET /layanan-mandiri/keluar (an <img> on another site): 405, still logged in."""
    assert client_a.get("/layanan-mandiri/keluar").status_code == 405
    assert client_a.get("/layanan-mandiri/").status_code == 200


def test_operator_logout_via_get_is_not_possible(app, village):
    """GET /logout/ from an <img> on another site must not log the operator out (logout needs a POST with CSRF)."""
    client = operator_client(app)
    client.get("/logout/")
    assert client.get("/residentview/list/").status_code == 200


def test_admin_delete_via_get_deletes_nothing(app, village):
    """GET /residentview/delete/<id> (a link on another site): the resident is not deleted."""
    from app.residents.models import Resident
    with db_ctx(app):
        rid = make_resident(name="Korban Link").id
    client = operator_client(app, role="Admin", username="boss")
    client.get(f"/residentview/delete/{rid}")
    with app.app_context():
        assert db.session.get(Resident, rid) is not None


def test_admin_posts_without_csrf_are_refused(app, village):
    """Operator POSTs without a CSRF token (add resident, letter action, import check): refused, nothing stored."""
    from app.residents.models import Resident
    client = operator_client(app)
    client.post("/residentview/add", data={"nik": "3171011705900001", "name": "Tanpa Token"})
    response = client.post("/register-transfer/check", data={"file": (io.BytesIO(b"nik;nama\n"), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Resident.id)).where(Resident.name == "Tanpa Token")) == 0


# --- double submits --------------------------------------------------------------------------

def test_same_wizard_form_twice_makes_one_request(client_a):
    """The same letter form (same submit token) posted twice: one request, the second lands on it."""
    lt = letter_type("pengantar_umum")
    csrf, submit = form_tokens(client_a, f"/layanan-mandiri/surat/baru/{lt.id}")
    data = {"csrf_token": csrf, "submit_token": submit, "purpose": "x", "phone": "081234567890"}
    first = client_a.post(f"/layanan-mandiri/surat/baru/{lt.id}", data=data)
    second = client_a.post(f"/layanan-mandiri/surat/baru/{lt.id}", data=data)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert db.session.scalar(select(func.count(LetterRequest.id))) == 1


def test_same_message_form_twice_makes_one_message(client_a):
    """The same message form posted twice: one conversation."""
    csrf, submit = form_tokens(client_a, "/layanan-mandiri/pesan/baru")
    data = {"csrf_token": csrf, "submit_token": submit, "kind": "message", "subject": "s", "body": "b"}
    assert client_a.post("/layanan-mandiri/pesan/baru", data=data).status_code == 302
    assert client_a.post("/layanan-mandiri/pesan/baru", data=data).status_code == 302
    assert db.session.scalar(select(func.count(Message.id))) == 1


def test_b_replaying_a_s_wizard_token_gets_nothing_of_a(app, client_a, client_b, alice, bob):
    """B posts the wizard with A's submit token: B gets their own request or a refusal, never A's request page."""
    lt = letter_type("pengantar_umum")
    csrf, submit = form_tokens(client_a, f"/layanan-mandiri/surat/baru/{lt.id}")
    client_a.post(f"/layanan-mandiri/surat/baru/{lt.id}",
                  data={"csrf_token": csrf, "submit_token": submit, "purpose": "x", "phone": "081234567890"})
    a_request = db.session.scalar(select(LetterRequest.id))
    csrf_b, _ = form_tokens(client_b, f"/layanan-mandiri/surat/baru/{lt.id}")
    response = client_b.post(f"/layanan-mandiri/surat/baru/{lt.id}",
                             data={"csrf_token": csrf_b, "submit_token": submit, "purpose": "y", "phone": "081234567890"})
    assert response.status_code in (302, 400, 409), response.status_code
    assert not (response.location or "").endswith(f"/surat/{a_request}")


def test_a_request_cannot_be_cancelled_twice(client_a):
    """Cancel posted twice: the second is refused with a message, one history entry for the cancel."""
    lt = letter_type("pengantar_umum")
    wizard(client_a, lt.id)
    req = db.session.scalar(select(LetterRequest))
    token = csrf_token(client_a, f"/layanan-mandiri/surat/{req.id}")
    assert client_a.post(f"/layanan-mandiri/surat/{req.id}/batal", data={"csrf_token": token}).status_code == 302
    assert client_a.post(f"/layanan-mandiri/surat/{req.id}/batal", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert [h.action for h in req.history].count("cancel_own") == 1


# --- uploads ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, filename, mimetype", [
    ("php as jpg", (UPLOADS / "x.php.jpg").read_bytes(), "x.php.jpg", None),
    ("php", (UPLOADS / "alert.php").read_bytes(), "alert.php", None),
    ("bomb", (UPLOADS / "bomb.png").read_bytes(), "bomb.png", None),
    ("gif as pdf", (UPLOADS / "not-a-pdf.pdf").read_bytes(), "not-a-pdf.pdf", None),
    ("empty", b"", "empty.jpg", None),
    ("truncated jpeg", jpeg((400, 300))[:600], "half.jpg", None),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", "image/svg+xml"),
    ("html as png", b"<html><script>alert(1)</script></html>", "x.png", "image/png"),
    ("gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "x.gif", None),
    ("11 MB", b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024) + b"\n%%EOF", "big.pdf", None),
])
def test_bad_documents_are_refused_and_nothing_stored(app, client_a, name, content, filename, mimetype):
    """PHP, bombs, fake PDFs, empty, truncated, SVG, HTML, GIF and 11 MB files on Dokumen Saya: 400, nothing stored."""
    before = stored(app, "documents")
    response = upload_document(client_a, content, filename, mimetype=mimetype)
    assert response.status_code == 400, name
    assert "The document was saved" not in response.get_data(as_text=True)
    assert stored(app, "documents") == before
    assert db.session.scalar(select(func.count(ResidentDocument.id))) == 0


def test_png_with_huge_iccp_profile_is_refused_quickly(app, client_a):
    """A 1x1 PNG with a 64 MB compressed ICC profile: refused (or stored without it), never a 500."""
    response = upload_document(client_a, png_with_huge_iccp(), "icc.png")
    assert response.status_code in (302, 400)
    for name in stored(app, "documents"):
        assert (Path(app.config["UPLOAD_FOLDER"]) / "documents" / name).stat().st_size < 1024 * 1024


def test_pdf_that_is_only_a_header_and_eof_is_refused(app, client_a):
    """A "PDF" that is just "%PDF-" and "%%EOF" (nothing the office can open): refused as not a PDF."""
    response = upload_document(client_a, b"%PDF-\n%%EOF", "kosong.pdf")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(ResidentDocument.id))) == 0


def test_real_photo_named_pdf_is_judged_by_content(app, client_a):
    """A real JPEG named ktp.pdf sent as application/pdf: the content decides (accepted as a JPEG), not the name."""
    response = upload_document(client_a, jpeg(), "ktp.pdf", mimetype="application/pdf")
    assert response.status_code == 302, response.status_code
    doc = db.session.scalar(select(ResidentDocument))
    assert doc.content_type == "image/jpeg"


def test_pdf_named_jpg_is_stored_as_pdf(app, client_a):
    """A real PDF named photo.jpg sent as image/jpeg: stored and served as application/pdf."""
    from pypdf import PdfWriter
    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    data = out.getvalue()
    assert upload_document(client_a, data, "photo.jpg", mimetype="image/jpeg").status_code == 302
    doc = db.session.scalar(select(ResidentDocument))
    served = client_a.get(f"/layanan-mandiri/dokumen/{doc.id}")
    assert served.mimetype == "application/pdf" and served.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("filename", ["../../../etc/passwd.jpg", "..\\..\\win.ini.jpg", "a\x00.php.jpg",
                                      "<script>.jpg", "/abs/path.jpg", "x" * 500 + ".jpg"])
def test_hostile_filenames_never_reach_the_disk(app, client_a, filename):
    """Path traversal, NUL, markup and 500-char file names: a random stored name, nothing outside the folder."""
    response = upload_document(client_a, jpeg(), filename)
    assert response.status_code in (302, 400)
    for name in stored(app, "documents"):
        assert re.fullmatch(r"[0-9a-f]{32}\.(jpg|png|pdf)", name), name
    assert_escaped(client_a.get("/layanan-mandiri/dokumen").get_data(as_text=True), "documents page")


def test_request_over_max_content_length_is_a_friendly_413(app, client_a):
    """A 33 MB upload (over MAX_CONTENT_LENGTH 32 MB): a friendly 413 page, not a crash or a bare error."""
    csrf = csrf_token(client_a, "/layanan-mandiri/dokumen")
    big = b"\xff\xd8\xff" + b"0" * (33 * 1024 * 1024)
    response = client_a.post("/layanan-mandiri/dokumen", data={"csrf_token": csrf, "title": "x",
                                                               "file": (io.BytesIO(big), "big.jpg")},
                             content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "too large" in page.lower() and "<html" in page.lower()


def test_bad_photos_on_messages_are_refused(app, client_a):
    """A PHP-as-JPEG, a bomb and a PDF attached to a message: 400, no photo stored, no message."""
    before = stored(app, messages.PHOTO_AREA)
    for name in ("x.php.jpg", "bomb.png", "not-a-pdf.pdf"):
        response = send_message(client_a, photos=[(io.BytesIO((UPLOADS / name).read_bytes()), name)])
        assert response.status_code == 400, name
    assert stored(app, messages.PHOTO_AREA) == before
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_bad_upload_in_the_wizard_is_refused(app, client_a):
    """The wizard with upload_<id> = bomb.png and a 31-02 date: 400 listing both problems, nothing stored."""
    bomb = (UPLOADS / "bomb.png").read_bytes()
    real = jpeg()
    before = stored(app, "documents")
    response = wizard(client_a, letter_type("domisili").id,
                      {"upload_1": (bomb, "bomb.png"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")},
                      field_since="2023-02-31")
    assert response.status_code == 400
    assert stored(app, "documents") == before


# --- scripts ---------------------------------------------------------------------------------

def test_scripts_in_letter_fields_are_escaped_everywhere(app, client_a, alice, operator):
    """Scripts in purpose, note, fields and document title: escaped on portal pages, admin pages and notifications."""
    real = jpeg()
    files = {"upload_1": (real, "a.jpg"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")}
    response = wizard(client_a, letter_type("domisili").id, files, purpose=XSS[0], note=XSS[1],
                      field_since="2010-01-05", field_origin_address=XSS[1])
    assert response.status_code == 302
    upload_document(client_a, jpeg(), "x.jpg", title=XSS[1])
    req = db.session.scalar(select(LetterRequest))
    for url in (f"/layanan-mandiri/surat/{req.id}", "/layanan-mandiri/surat", "/layanan-mandiri/dokumen",
                f"/layanan-mandiri/surat/baru/{req.letter_type_id}"):
        assert_escaped(client_a.get(url).get_data(as_text=True), url)
    transition(req, "return", Actor.for_user(operator, signing_step=False), note=XSS[0] + XSS[1])
    db.session.commit()
    for url in ("/layanan-mandiri/notifikasi", f"/layanan-mandiri/surat/{req.id}",
                f"/layanan-mandiri/surat/{req.id}/ubah", "/layanan-mandiri/"):
        assert_escaped(client_a.get(url).get_data(as_text=True), url)
    office = app.test_client()
    admin_login(office, username="operator")
    for url in ("/letterrequestview/list/", f"/letterrequestview/show/{req.id}"):
        page = office.get(url).get_data(as_text=True)
        assert_escaped(page, url)


def test_script_in_resident_name_is_escaped_in_admin_portal_and_pdf(app, ctx):
    """A resident named <script>… by an operator: escaped in admin list/show, the portal and the PDFs."""
    make_village()
    person = make_resident(name=XSS[0] + XSS[1], family=make_family(area=make_area()))
    make_account(person, PIN_A)
    make_admin("boss", role="Admin")
    db.session.commit()
    resident = app.test_client()
    portal_login(resident, person.nik, PIN_A)
    for url in ("/layanan-mandiri/", "/layanan-mandiri/profil"):
        assert_escaped(resident.get(url).get_data(as_text=True), url)
    bio = resident.get("/layanan-mandiri/cetak/biodata.pdf")
    assert bio.status_code == 200 and "alert(1)" in pdf_text(bio.data)
    office = app.test_client()
    admin_login(office, username="boss")
    for url in ("/residentview/list/", f"/residentview/show/{person.id}", f"/familyview/show/{person.family_id}",
                "/portalaccountview/list/", "/familymembersview/list/"):
        response = office.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.get_data(as_text=True), url)


def test_template_and_format_strings_are_printed_as_typed(app, client_a, operator):
    """{{7*7}}, {village}, %(x)s and %s in a purpose, field and office reason: printed as typed, never evaluated."""
    tricky = "{{7*7}} {village} %(note)s %s %d {0.__class__}"
    real = jpeg()
    files = {"upload_1": (real, "a.jpg"), "upload_2": (real, "b.jpg"), "upload_3": (real, "c.jpg")}
    response = wizard(client_a, letter_type("domisili").id, files, purpose=tricky, field_since="2010-01-05",
                      field_origin_address=tricky)
    assert response.status_code == 302
    req = db.session.scalar(select(LetterRequest))
    page = client_a.get(f"/layanan-mandiri/surat/{req.id}").get_data(as_text=True)
    assert "{{7*7}}" in page and "49" not in page.replace(str(req.id), "")
    transition(req, "return", Actor.for_user(operator, signing_step=False), note=tricky)
    db.session.commit()
    notes = client_a.get("/layanan-mandiri/notifikasi")
    assert notes.status_code == 200 and "%(note)s %s %d" in notes.get_data(as_text=True)
    assert send_message(client_a, subject=tricky, body=tricky).status_code == 302
    assert "%(note)s" in client_a.get("/layanan-mandiri/pesan/terkirim").get_data(as_text=True)


def test_script_in_office_reply_and_subject_is_escaped_in_notifications(app, client_a, alice, operator):
    """Message subject <script>… answered by the office: the reply notification shows it escaped."""
    assert send_message(client_a, subject=XSS[0], body=XSS[1]).status_code == 302
    message = db.session.scalar(select(Message))
    messages.reply_as_office(message, operator, XSS[1])
    db.session.commit()
    for url in ("/layanan-mandiri/notifikasi", "/layanan-mandiri/pesan", f"/layanan-mandiri/pesan/{message.id}",
                "/layanan-mandiri/"):
        assert_escaped(client_a.get(url).get_data(as_text=True), url)


# --- sessions --------------------------------------------------------------------------------

def _cookie(client):
    return client.get_cookie("session").value


def _replay(app, cookie):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def test_old_cookie_dies_after_pin_reset(app, client_a, alice):
    """A portal cookie from before an operator's PIN reset no longer opens the portal."""
    from app.portal import services
    cookie = _cookie(client_a)
    account = db.session.scalar(select(PortalAccount).where(PortalAccount.resident_id == alice.id))
    services.reset_pin(account) if hasattr(services, "reset_pin") else services.set_pin(account, "603817", must_change=True)
    db.session.commit()
    assert _replay(app, cookie).get("/layanan-mandiri/profil").status_code == 302


def test_old_cookie_dies_after_logout(app, client_a):
    """A copy of the portal cookie taken before logout no longer opens the portal."""
    cookie = _cookie(client_a)
    client_a.post("/layanan-mandiri/keluar", data={"csrf_token": csrf_token(client_a, "/layanan-mandiri/")})
    assert _replay(app, cookie).get("/layanan-mandiri/profil").status_code == 302


def test_cookie_dies_when_account_disabled_or_resident_dead(app, client_a, alice):
    """The live portal cookie stops working when the account is disabled, and when the resident is marked dead."""
    account = db.session.scalar(select(PortalAccount).where(PortalAccount.resident_id == alice.id))
    cookie = _cookie(client_a)
    account.active = False
    db.session.commit()
    assert _replay(app, cookie).get("/layanan-mandiri/profil").status_code == 302
    account.active = True
    alice.basic_status_id = 2
    db.session.commit()
    assert _replay(app, cookie).get("/layanan-mandiri/profil").status_code == 302


def test_forged_or_tampered_cookie_is_ignored(app, client_a, bob):
    """A session cookie edited by hand (another account id) or signed with a guessed key: not logged in."""
    from flask.sessions import SecureCookieSessionInterface
    from flask import Flask
    fake = Flask("x")
    fake.secret_key = "guessed-secret-key-123456"
    forged = SecureCookieSessionInterface().get_signing_serializer(fake).dumps(
        {"portal": {"id": 1, "epoch": 0, "seen": 9e12}})
    assert _replay(app, forged).get("/layanan-mandiri/profil").status_code == 302
    cookie = _cookie(client_a)
    tampered = cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB")
    assert _replay(app, tampered).get("/layanan-mandiri/profil").status_code == 302


def test_portal_cookie_does_not_open_admin_pages(app, client_a):
    """A resident's portal session on admin pages: sent to the operator login, nothing shown."""
    for url in ("/residentview/list/", "/letterrequestview/list/", "/register-transfer/", "/office-messages/",
                "/issuedletterview/list/", "/operator/"):
        response = client_a.get(url)
        assert response.status_code in (302, 403), url
        assert "/login" in response.headers.get("Location", "/login"), url


def test_operator_session_does_not_open_the_portal(app, village):
    """An operator's FAB session on portal pages: sent to the resident login, never a resident's page."""
    client = operator_client(app)
    for url in ("/layanan-mandiri/", "/layanan-mandiri/profil", "/layanan-mandiri/cetak/biodata.pdf"):
        response = client.get(url)
        assert response.status_code == 302 and LOGIN in response.headers["Location"], url


def test_portal_login_in_an_operator_browser_ends_the_operator_session(app, village, alice):
    """An operator's browser used for a resident's portal login: the FAB session is dropped, not mixed with the resident's."""
    client = operator_client(app)
    portal_login(client, alice.nik, PIN_A)
    assert client.get("/layanan-mandiri/").status_code == 200
    response = client.get("/residentview/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- open redirects --------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
                                    "/layanan-mandiri/../\\evil.example", "https:/evil.example",
                                    "/layanan-mandiri/\\\\evil.example", "javascript:alert(1)",
                                    "/layanan-mandiri//evil.example", " //evil.example", "\t//evil.example"])
def test_portal_login_next_never_leaves_the_site(app, alice, target):
    """?next= pointing off-site (scheme, //, backslashes, javascript:) on the portal login: stays on the portal."""
    client = app.test_client()
    token = csrf_token(client, LOGIN)
    response = client.post(LOGIN, query_string={"next": target},
                           data={"nik": alice.nik, "pin": PIN_A, "csrf_token": token})
    assert_same_site(response.headers["Location"])


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
                                    "https:/evil.example", "javascript:alert(1)", "///evil.example",
                                    "/%5Cevil.example", " //evil.example"])
def test_language_switch_next_never_leaves_the_site(client, target):
    """/bahasa/en?next=<off-site>: redirects inside the site."""
    response = client.get("/bahasa/en", query_string={"next": target})
    assert_same_site(response.headers["Location"])


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/",
                                    "https:/evil.example", "javascript:alert(1)", "///evil.example"])
def test_operator_login_next_never_leaves_the_site(app, village, target):
    """/login/?next=<off-site>: after a good login the operator stays on the site."""
    with db_ctx(app):
        make_admin("redir", role="Operator")
    client = app.test_client()
    token = csrf_token(client, "/login/")
    response = client.post("/login/", query_string={"next": target},
                           data={"username": "redir", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert_same_site(response.headers["Location"])


def test_notification_link_cannot_leave_the_portal(app, client_a, alice):
    """A notification whose stored link is off-site or a protocol-relative URL: opening it stays in the portal."""
    from app.notifications.services import notify
    ids = [notify(alice.id, "x", {}, link=link).id for link in
           ("https://evil.example/", "//evil.example/layanan-mandiri/", "/layanan-mandiri/\\..\\evil", "/\\evil")]
    db.session.commit()
    for note_id in ids:
        assert_same_site(client_a.get(f"/layanan-mandiri/notifikasi/{note_id}").headers["Location"])


# --- verification page -----------------------------------------------------------------------

@pytest.mark.parametrize("token", ["x", "a" * 15, "a" * 65, "a" * 5000, "' OR '1'='1' --aaaaaaaa",
                                   "%' OR 1=1 --aaaaaaaaaaa", "../../etc/passwd/aaaaaa", "%00aaaaaaaaaaaaaaaaaaa",
                                   "<script>alert(1)</script>"])
def test_verification_with_bad_tokens_is_404(client, village, token):
    """/verifikasi/ with too short/long, SQL-ish, traversal, NUL or markup tokens: 404 (NUL: 400), no details."""
    response = client.get("/verifikasi/" + token)
    assert response.status_code == (400 if "%00" in token else 404)
    assert_escaped(response.get_data(as_text=True), "verify 404")


def test_verification_shows_revoked_letters_as_revoked(app, a_things, operator):
    """A cancelled (revoked) letter's QR link: page says revoked, shows no full NIK or address."""
    letter = db.session.get(IssuedLetter, a_things["letter"])
    req = db.session.get(LetterRequest, a_things["request"])
    transition(req, "cancel", Actor.for_user(operator, signing_step=False), note="salah")
    db.session.commit()
    page = app.test_client().get(f"/verifikasi/{letter.verify_token}").get_data(as_text=True)
    assert letter.resident.nik not in page and "Jl. Melati" not in page
    assert re.search(r"revoked|dicabut|dibatalkan|tidak berlaku", page, re.I)


def test_verification_token_is_case_sensitive(app, a_things):
    """The verification token with its case flipped (a guess): 404."""
    letter = db.session.get(IssuedLetter, a_things["letter"])
    flipped = letter.verify_token.swapcase()
    if flipped != letter.verify_token:
        assert app.test_client().get(f"/verifikasi/{flipped}").status_code == 404


# --- admin roles and import -----------------------------------------------------------------

def _portal_request(app, code="pengantar_umum"):
    from app.residents.models import Resident
    with db_ctx(app):
        resident = db.session.scalar(select(Resident))
        lt = db.session.scalar(select(LetterType).where(LetterType.code == code))
        req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="x", phone="+6281234567890")
        transition(req, "submit", Actor.for_resident(resident))
        db.session.flush()
        return req.id


@pytest.mark.parametrize("role", ["Viewer", "Kepala Desa"])
def test_readers_cannot_post_operator_actions_or_import(app, role):
    """A Viewer or Kepala Desa POSTing print/return/cancel, a resident edit, or an import: refused, nothing changes."""
    from app.residents.models import Resident
    with db_ctx(app):
        make_village()
        from app.residents.models import Official
        db.session.add(Official(name="Sutrisno", position="Kepala Desa", nipd="1001", is_village_head=True))
        rid = make_resident(name="Tetap Sama", family=make_family(area=make_area())).id
    request_id = _portal_request(app)
    client = operator_client(app, role=role)
    token = csrf_token(client, "/letterrequestview/list/")
    for action in ("print", "return", "cancel"):
        response = client.post(f"/letterrequestview/{action}/{request_id}", data={"csrf_token": token, "note": "x"})
        assert response.status_code in (302, 403), (action, response.status_code)
    client.post(f"/residentview/edit/{rid}", data={"csrf_token": token, "name": "Diubah"})
    client.post(f"/residentview/delete/{rid}", data={"csrf_token": token})
    response = client.post("/register-transfer/check", data={"csrf_token": token,
                                                             "file": (io.BytesIO(b"NIK;Nama\n"), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 403)
    assert client.post("/register-transfer/import", data={"csrf_token": token}).status_code in (302, 403)
    with app.app_context():
        assert db.session.get(LetterRequest, request_id).status == LetterStatus.CHECKING
        assert db.session.get(Resident, rid).name == "Tetap Sama"


def test_json_login_api_is_not_exposed(app, village):
    """POST /api/v1/security/login (FAB's JWT API, outside the login form's rate limit and CSRF): not available."""
    with db_ctx(app):
        make_admin("apiuser", role="Admin")
    response = app.test_client().post("/api/v1/security/login",
                                      json={"username": "apiuser", "password": PASSWORD, "provider": "db"})
    assert response.status_code == 404, (response.status_code, response.get_data(as_text=True)[:200])


def _csv(rows):
    return ("\n".join(";".join(r) for r in rows) + "\n").encode()


def test_import_with_formulas_is_neutralised_on_export(app, village):
    """Import a CSV whose name/address cells are formulas (=HYPERLINK, +cmd, @SUM): the CSV export never starts a cell with them."""
    client = operator_client(app, role="Admin", username="boss")
    sample = client.get("/register-transfer/sample/csv").data.decode("utf-8-sig")
    lines = sample.splitlines()
    header, first = lines[0], lines[1]
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    head = header.split(delimiter)
    cells = first.split(delimiter)
    name_col = next(i for i, h in enumerate(head) if h.strip().lower() in ("nama", "name", "nama lengkap"))
    cells[name_col] = '=HYPERLINK("http://evil.example","x")'
    data = (header + "\n" + delimiter.join(cells) + "\n").encode()
    token = csrf_token(client, "/register-transfer/")
    report = client.post("/register-transfer/check", data={"csrf_token": token, "file": (io.BytesIO(data), "f.csv")},
                         content_type="multipart/form-data")
    assert report.status_code in (200, 302)
    assert_escaped(report.get_data(as_text=True), "import report")
    import_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', report.get_data(as_text=True))
    client.post("/register-transfer/import", data={"csrf_token": import_token.group(1) if import_token else token,
                                                   "partial": "1"})
    exported = client.get("/register-transfer/export/csv").get_data(as_text=True)
    for line in exported.splitlines()[1:]:
        for cell in line.split(";"):
            assert not cell.strip('"').startswith(("=", "+", "@")), cell


def test_import_of_a_zip_bomb_named_xlsx_is_refused_quickly(app, village):
    """A .xlsx that is a zip bomb (420 MB of zeros in a 400 KB file): refused with a message, no 500, no memory blow-up."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(420):
                member.write(chunk)
    client = operator_client(app, role="Admin", username="boss")
    token = csrf_token(client, "/register-transfer/")
    response = client.post("/register-transfer/check",
                           data={"csrf_token": token, "file": (io.BytesIO(buffer.getvalue()), "penduduk.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert client.get(response.location).status_code == 200


def test_import_of_a_21_mb_file_is_refused(app, village):
    """A 21 MB CSV on the import page (limit 20 MB): refused with a message, not a 500."""
    client = operator_client(app, role="Admin", username="boss")
    token = csrf_token(client, "/register-transfer/")
    big = b"NIK;Nama\n" + b"3171011705900001;Budi\n" * (21 * 1024 * 1024 // 22 + 1)
    response = client.post("/register-transfer/check", data={"csrf_token": token, "file": (io.BytesIO(big), "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 413)
    if response.status_code == 302:
        assert "too large" in client.get(response.location).get_data(as_text=True).lower()


def test_import_of_binary_junk_is_refused(app, village):
    """An .xlsx that is random bytes, an old .xls and a PNG: refused with a message, no 500."""
    client = operator_client(app, role="Admin", username="boss")
    token = csrf_token(client, "/register-transfer/")
    for content, name in ((b"PK\x03\x04garbage", "a.xlsx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.xls"),
                          ((UPLOADS / "real.jpg").read_bytes(), "a.csv")):
        response = client.post("/register-transfer/check",
                               data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                               content_type="multipart/form-data")
        assert response.status_code in (200, 302), (name, response.status_code)


def test_desk_letter_with_huge_and_bad_type_is_not_500(app, village):
    """The desk-letter form with ?type=<20 digits>, ?type=abc and a POST with a huge type: no 500."""
    with db_ctx(app):
        rid = make_resident(name="Meja", family=make_family(area=make_area())).id
    client = operator_client(app)
    with app.app_context():
        type_pk = db.session.scalar(select(LetterType.id).where(LetterType.code == "pengantar_umum"))
    for query in (f"?type={HUGE}", "?type=abc", "?type=-1"):
        assert client.get(f"/desk-letter/new/{rid}{query}").status_code in (200, 302, 404), query
    token = csrf_token(client, f"/desk-letter/new/{rid}?type={type_pk}")
    response = client.post(f"/desk-letter/new/{rid}?type={HUGE}", data={"csrf_token": token, "type": HUGE})
    assert response.status_code in (200, 302, 400, 404)


def _resident_form(token, **overrides):
    from tests.conftest import make_nik
    data = {"csrf_token": token, "nik": make_nik(date(1990, 5, 17), 1), "name": "Agus Salim",
            "sex": "1", "birth_place": "Boyolali", "birth_date": "1990-05-17", "religion": "1",
            "marital_status": "1", "citizenship": "1", "basic_status": "1",
            "father_name": "Slamet", "mother_name": "Sri", "phone": "", "email": ""}
    data.update(overrides)
    return data


@pytest.mark.parametrize("overrides", [
    {"name": "A" * 10_000}, {"name": "Budi\x00Santoso"}, {"birth_date": "1990-02-31"}, {"birth_date": "kemarin"},
    {"nik": "٣١٧١٠١١٧٠٥٩٠٠٠٠١"}, {"nik": " 3171011705900001 "}, {"sex": "abc"}, {"religion": HUGE},
    {"name": ["Satu", "Dua"]}])
def test_admin_resident_form_with_bad_values_is_not_500(app, village, overrides):
    """The resident add form with 10,000-char or NUL names, 31-02 dates, non-ASCII NIKs, junk or huge code ids: a form error (NUL: 400), never 500."""
    from app.residents.models import Resident
    client = operator_client(app, role="Admin", username="boss")
    token = csrf_token(client, "/residentview/add")
    response = client.post("/residentview/add", data=_resident_form(token, **overrides))
    assert response.status_code in (200, 302, 400), response.status_code
    with app.app_context():
        names = db.session.scalars(select(Resident.name)).all()
    assert all(len(n) <= 100 and "\x00" not in n for n in names), [n[:20] for n in names]


def test_ten_thousand_character_reply_is_refused(a_things, client_a):
    """A 10,000-character reply to one's own conversation: 400 with a message, nothing stored."""
    token = csrf_token(client_a, f"/layanan-mandiri/pesan/{a_things['message']}")
    response = client_a.post(f"/layanan-mandiri/pesan/{a_things['message']}/balas",
                             data={"csrf_token": token, "body": "A" * 10_000})
    assert response.status_code == 400
    assert len(db.session.get(Message, a_things["message"]).posts) == 1


def test_script_in_aid_programme_is_escaped_on_the_portal(app, client_a, alice):
    """An aid programme and card named <script>… by an operator: shown as text on the resident's aid page."""
    from app.aid.models import AidProgram, AidRecipient
    prog = AidProgram(name=XSS[0], target="resident", funding_source="apbn", active=True,
                      start_date=date(2025, 1, 1), end_date=date(2030, 12, 31), description=XSS[1])
    db.session.add(prog)
    db.session.flush()
    db.session.add(AidRecipient(program=prog, resident_id=alice.id, card_number=XSS[1][:40], card_name=XSS[1]))
    db.session.commit()
    page = client_a.get("/layanan-mandiri/bantuan")
    assert page.status_code == 200
    assert_escaped(page.get_data(as_text=True), "aid page")


def test_operator_login_with_nul_or_huge_username_is_not_500(app, village):
    """FAB login with a NUL byte or 10,000 characters in the username/password: the login form again (no 500; PostgreSQL refuses NUL)."""
    for username, password in (("admin\x00", "x"), ("a" * 10_000, "b" * 10_000), ("admin", "pass\x00word")):
        client = app.test_client()
        token = csrf_token(client, "/login/")
        response = client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code in (200, 302, 400), response.status_code
        assert client.get("/residentview/list/").status_code == 302


@pytest.mark.parametrize("url", [
    "/residentview/list/?_flt_0_name=%00", "/residentview/list/?_flt_0_name=" + "a" * 10_000,
    "/letterrequestview/list/?q=%00", f"/letterrequestview/list/?q={HUGE}",
    f"/residentview/list/?page_ResidentView={HUGE}", "/office-messages/?q=%00",
    f"/office-messages/?page={HUGE}", f"/issuedletterview/list/?page_IssuedLetterView={HUGE}",
    f"/letterrequestview/list/?page={HUGE}"])
def test_admin_list_filters_with_nul_and_huge_values_are_not_500(app, village, url):
    """Admin list search with a NUL byte, a 20-digit page or 10,000 characters in a filter: a list page, never 500."""
    client = operator_client(app)
    response = client.get(url)
    assert response.status_code in (200, 302, 400, 404), response.status_code
