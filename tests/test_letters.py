"""Letter requests: the transitions table, the portal wizard, uploads, numbering, PDFs, ownership."""
import io
import re
import threading
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.letters import numbering
from app.letters.models import (IssuedLetter, LetterRequest, LetterStatus, LetterType, ResidentDocument)
from app.letters.workflow import TRANSITIONS, Actor, TransitionError, transition
from app.notifications.models import Notification
from tests.conftest import (csrf_token, make_account, make_admin, make_area, make_family, make_resident,
                            make_village, portal_login)

UPLOADS = Path(__file__).parent / "data" / "uploads"
PIN = "582913"


def pdf_text(data):
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def jpeg_bytes(size=(800, 600), orientation=None, quality=90, noise=False):
    image = Image.new("RGB", size, (200, 120, 40))
    if noise:
        image = Image.effect_noise(size, 80).convert("RGB")
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def village(ctx):
    v = make_village()
    from app.residents.models import Official
    db.session.add_all([
        Official(name="Sutrisno", position="Kepala Desa", nipd="1001", is_village_head=True),
        Official(name="Dewi Lestari", position="Sekretaris Desa", nipd="1002", may_sign_on_behalf=True),
        Official(name="Agus Salim", position="Kasi Pelayanan", nipd="1003", may_sign_under_authority=True)])
    db.session.commit()
    return v


@pytest.fixture
def resident(village):
    family = make_family(area=make_area())
    person = make_resident(name="Budi Santoso", family=family, phone="081234567890")
    make_account(person, PIN)
    return person


@pytest.fixture
def operator(ctx):
    return make_admin("operator", role="Operator")


@pytest.fixture
def kades(ctx):
    return make_admin("kades", role="Kepala Desa")


def letter_type(code):
    return db.session.scalar(select(LetterType).where(LetterType.code == code))


def wizard_post(client, type_id, files=None, **fields):
    token = csrf_token(client, f"/layanan-mandiri/surat/baru/{type_id}")
    page = client.get(f"/layanan-mandiri/surat/baru/{type_id}").get_data(as_text=True)
    submit = re.search(r'name="submit_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "submit_token": submit, "purpose": "Melamar pekerjaan",
            "phone": "0812-3456-7890", **fields}
    for name, (content, filename) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename)
    return client.post(f"/layanan-mandiri/surat/baru/{type_id}", data=data, content_type="multipart/form-data"), data


def domisili_files():
    real = (UPLOADS / "real.jpg").read_bytes()
    return {"upload_1": (real, "pengantar.jpg"), "upload_2": (real, "kk.jpg"), "upload_3": (real, "ktp.jpg")}


# --- the table -------------------------------------------------------------------------------

def test_every_status_has_an_entry_in_the_table():
    """STYLE habit 4: every status appears in the transitions table."""
    assert set(TRANSITIONS) == {None, *LetterStatus}


@pytest.mark.parametrize("status", list(LetterStatus))
def test_every_illegal_move_is_refused(ctx, resident, operator, status):
    """Any action not in the table for a status raises TransitionError and writes nothing."""
    all_actions = {a for moves in TRANSITIONS.values() for a in moves}
    lt = letter_type("pengantar_umum")
    req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="x", phone="+6281234567890", status=int(status))
    db.session.add(req)
    db.session.commit()
    boss = Actor(roles=frozenset({"operator", "village_head", "resident"}), user=operator, resident=resident)
    for action in sorted(all_actions - set(TRANSITIONS[status])):
        with pytest.raises(TransitionError):
            transition(req, action, boss, note="reason")
        db.session.rollback()
        assert db.session.get(LetterRequest, req.id).status == int(status)


def test_roles_are_enforced(ctx, resident, operator, kades):
    """A resident cannot print; an operator cannot sign where the village has a signing step."""
    lt = letter_type("pengantar_umum")
    req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="x", phone="+6281234567890")
    transition(req, "submit", Actor.for_resident(resident))
    db.session.commit()
    with pytest.raises(TransitionError):
        transition(req, "print", Actor.for_resident(resident))
    db.session.rollback()
    transition(req, "print", Actor.for_user(operator))
    db.session.commit()
    with pytest.raises(TransitionError):
        transition(req, "sign", Actor.for_user(operator, signing_step=True))
    db.session.rollback()
    transition(req, "sign", Actor.for_user(kades))
    db.session.commit()
    assert req.status == LetterStatus.READY


def test_operator_signs_when_the_village_has_no_signing_step(ctx, resident, operator):
    """With letter_signing_step off the operator marks printed letters as signed."""
    lt = letter_type("pengantar_umum")
    req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="x", phone="+6281234567890")
    transition(req, "submit", Actor.for_resident(resident))
    transition(req, "print", Actor.for_user(operator))
    transition(req, "sign", Actor.for_user(operator, signing_step=False))
    assert req.status == LetterStatus.READY


def test_return_and_office_cancel_need_a_reason(ctx, resident, operator):
    """Returning or cancelling by the office without a reason is refused."""
    lt = letter_type("pengantar_umum")
    req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="x", phone="+6281234567890")
    transition(req, "submit", Actor.for_resident(resident))
    db.session.commit()
    for action in ("return", "cancel"):
        with pytest.raises(TransitionError):
            transition(req, action, Actor.for_user(operator), note="   ")
        db.session.rollback()


def test_stale_page_cannot_move_twice(ctx, resident, operator):
    """Two operators printing the same request: the second gets a clear error, one letter exists."""
    lt = letter_type("pengantar_umum")
    req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="x", phone="+6281234567890")
    transition(req, "submit", Actor.for_resident(resident))
    db.session.commit()
    transition(req, "print", Actor.for_user(operator))
    db.session.commit()
    stale = db.session.get(LetterRequest, req.id)
    db.session.expunge(stale)  # the second operator's copy, loaded before the first printed
    stale.status = int(LetterStatus.CHECKING)
    with pytest.raises(TransitionError):
        transition(stale, "print", Actor.for_user(operator))
    db.session.rollback()
    assert db.session.query(IssuedLetter).count() == 1


# --- the whole flow --------------------------------------------------------------------------

def test_whole_flow_with_notifications_and_verification(app, client, resident, operator, kades):
    """Request, return with reason, fix and resend, print, sign, collect; notified at each step."""
    portal_login(client, resident.nik, PIN)
    lt = letter_type("domisili")
    response, _ = wizard_post(client, lt.id, domisili_files(), field_since="2010-01-05")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    req = db.session.scalar(select(LetterRequest))
    assert req.status == LetterStatus.CHECKING and req.phone == "+6281234567890"
    assert len(req.documents) == 3

    transition(req, "return", Actor.for_user(operator), note="Foto KTP buram, mohon unggah ulang")
    db.session.commit()
    page = client.get(f"/layanan-mandiri/surat/{req.id}").get_data(as_text=True)
    assert "Foto KTP buram" in page

    token = csrf_token(client, f"/layanan-mandiri/surat/{req.id}/ubah")
    data = {"csrf_token": token, "purpose": "Melamar pekerjaan", "phone": "0812 3456 7890", "field_since": "2010-01-05",
            "doc_1": str(req.documents[0].document_id), "doc_2": str(req.documents[1].document_id),
            "upload_3": (io.BytesIO(jpeg_bytes(orientation=6)), "ktp-baru.jpg")}
    response = client.post(f"/layanan-mandiri/surat/{req.id}/ubah", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    req = db.session.get(LetterRequest, req.id)
    assert req.status == LetterStatus.CHECKING

    transition(req, "print", Actor.for_user(operator))
    db.session.commit()
    transition(req, "sign", Actor.for_user(kades))
    db.session.commit()
    letter = req.issued_letter
    assert re.fullmatch(r"400\.12\.2\.1/001/3309012001/[IVX]+/\d{4}", letter.letter_number)

    pdf = client.get(f"/layanan-mandiri/arsip-surat/{letter.id}.pdf")
    assert pdf.status_code == 200
    text = pdf_text(pdf.data)
    assert letter.letter_number in text and resident.nik in text and "Sutrisno" in text
    assert client.get(f"/layanan-mandiri/arsip-surat/{letter.id}.pdf").data == pdf.data  # stored once

    transition(req, "collect", Actor.for_user(operator))
    db.session.commit()
    notes = db.session.scalars(select(Notification).where(Notification.resident_id == resident.id)
                               .order_by(Notification.id)).all()
    assert [n.params["action"] for n in notes] == ["submit", "return", "resubmit", "print", "sign", "collect"]
    page = client.get("/layanan-mandiri/notifikasi").get_data(as_text=True)
    assert "menunggu tanda tangan Kepala Desa" in page and "siap diambil" in page

    verify = client.get(f"/verifikasi/{letter.verify_token}")
    assert verify.status_code == 200
    body = verify.get_data(as_text=True)
    assert letter.letter_number in body and resident.nik not in body and resident.nik[:6] in body
    assert client.get("/verifikasi/" + "x" * 32).status_code == 404


def test_wizard_shows_all_errors_and_saves_nothing(client, resident):
    """Missing documents, field, purpose and a bad phone are all reported at once; nothing stored."""
    portal_login(client, resident.nik, PIN)
    lt = letter_type("domisili")
    response, _ = wizard_post(client, lt.id, purpose="", phone="12", field_since="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert page.count("<li>") >= 5
    assert db.session.query(LetterRequest).count() == 0 and db.session.query(ResidentDocument).count() == 0


def test_double_submit_creates_one_request(client, resident):
    """The same form posted twice (double click, refresh) gives one request."""
    portal_login(client, resident.nik, PIN)
    lt = letter_type("pengantar_umum")
    first, data = wizard_post(client, lt.id)
    assert first.status_code == 302
    second = client.post(f"/layanan-mandiri/surat/baru/{lt.id}", data=data)
    assert second.status_code == 302 and second.headers["Location"] == first.headers["Location"]
    assert db.session.query(LetterRequest).count() == 1


def test_type_without_requirements_is_offered_and_requestable(client, resident):
    """A self-service type with zero requirements is listed and can be requested (cases/)."""
    portal_login(client, resident.nik, PIN)
    lt = letter_type("pengantar_umum")
    assert not lt.requirements
    assert lt.name in client.get("/layanan-mandiri/surat/baru").get_data(as_text=True)
    assert wizard_post(client, lt.id)[0].status_code == 302


def test_birth_letter_is_not_self_service(client, resident):
    """Letters about someone else are not offered in the portal and their URL is 404."""
    portal_login(client, resident.nik, PIN)
    lt = letter_type("kelahiran")
    assert lt.name not in client.get("/layanan-mandiri/surat/baru").get_data(as_text=True)
    assert client.get(f"/layanan-mandiri/surat/baru/{lt.id}").status_code == 404


def test_unmarried_letter_needs_belum_kawin(client, resident):
    """A married resident cannot request a 'belum menikah' letter."""
    portal_login(client, resident.nik, PIN)
    lt = letter_type("belum_menikah")
    response, _ = wizard_post(client, lt.id, domisili_files())
    assert response.status_code == 400 and "Belum Kawin" in response.get_data(as_text=True)


def test_resident_cancels_own_request(client, resident):
    """The resident can cancel while the request is being checked."""
    portal_login(client, resident.nik, PIN)
    wizard_post(client, letter_type("pengantar_umum").id)
    req = db.session.scalar(select(LetterRequest))
    token = csrf_token(client, f"/layanan-mandiri/surat/{req.id}")
    client.post(f"/layanan-mandiri/surat/{req.id}/batal", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(LetterRequest, req.id).status == LetterStatus.CANCELLED


# --- uploads (cases/uploads) -----------------------------------------------------------------

@pytest.mark.parametrize("name,expect", [
    ("x.php.jpg", "JPEG"), ("alert.php", "JPEG"), ("bomb.png", "large"), ("not-a-pdf.pdf", "PDF"),
])
def test_bad_uploads_are_refused_and_nothing_stored(app, client, resident, name, expect):
    """PHP named as image, a bomb and a fake PDF are refused with a clear message; nothing stored."""
    portal_login(client, resident.nik, PIN)
    client.get("/bahasa/en")
    folder = Path(app.config["UPLOAD_FOLDER"]) / "documents"
    before = set(folder.iterdir()) if folder.exists() else set()
    token = csrf_token(client, "/layanan-mandiri/dokumen")
    response = client.post("/layanan-mandiri/dokumen", content_type="multipart/form-data", data={
        "csrf_token": token, "title": "KTP", "file": (io.BytesIO((UPLOADS / name).read_bytes()), name)})
    assert response.status_code == 400
    assert expect in response.get_data(as_text=True)
    assert "saved" not in response.get_data(as_text=True).lower()
    assert db.session.query(ResidentDocument).count() == 0
    assert (set(folder.iterdir()) if folder.exists() else set()) == before


def test_oversized_upload_is_refused(app, client, resident):
    """A file over the per-file limit is refused with the limit in the message."""
    portal_login(client, resident.nik, PIN)
    client.get("/bahasa/en")
    app.config["DOCUMENT_MAX_BYTES"] = 100_000
    try:
        token = csrf_token(client, "/layanan-mandiri/dokumen")
        response = client.post("/layanan-mandiri/dokumen", content_type="multipart/form-data", data={
            "csrf_token": token, "title": "Foto", "file": (io.BytesIO(b"\xff\xd8" + b"0" * 200_000), "big.jpg")})
        assert response.status_code == 400 and "too large" in response.get_data(as_text=True)
    finally:
        app.config["DOCUMENT_MAX_BYTES"] = 10 * 1024 * 1024


def test_real_photo_is_stored_upright_small_and_without_exif(app, client, resident):
    """A portrait phone photo (EXIF orientation 6) is stored upright, at most 1600 px, EXIF gone."""
    portal_login(client, resident.nik, PIN)
    token = csrf_token(client, "/layanan-mandiri/dokumen")
    photo = jpeg_bytes(size=(4000, 3000), orientation=6)
    response = client.post("/layanan-mandiri/dokumen", content_type="multipart/form-data", data={
        "csrf_token": token, "title": "KTP", "file": (io.BytesIO(photo), "IMG_0001.JPG")})
    assert response.status_code == 302
    doc = db.session.scalar(select(ResidentDocument))
    shown = client.get(f"/layanan-mandiri/dokumen/{doc.id}")
    image = Image.open(io.BytesIO(shown.data))
    assert image.size == (1200, 1600) and not image.getexif()
    assert "IMG_0001" not in doc.stored_name


def test_real_jpg_case_is_accepted_and_listed(client, resident):
    """cases/uploads/real.jpg is accepted, listed and viewable by its owner."""
    portal_login(client, resident.nik, PIN)
    token = csrf_token(client, "/layanan-mandiri/dokumen")
    client.post("/layanan-mandiri/dokumen", content_type="multipart/form-data", data={
        "csrf_token": token, "title": "Pas foto", "file": (io.BytesIO((UPLOADS / "real.jpg").read_bytes()), "real.jpg")})
    assert "Pas foto" in client.get("/layanan-mandiri/dokumen").get_data(as_text=True)
    doc = db.session.scalar(select(ResidentDocument))
    assert client.get(f"/layanan-mandiri/dokumen/{doc.id}").mimetype == "image/jpeg"


def test_document_of_a_request_in_process_cannot_be_deleted(client, resident):
    """A document attached to a request being checked stays."""
    portal_login(client, resident.nik, PIN)
    wizard_post(client, letter_type("domisili").id, domisili_files(), field_since="2010-01-05")
    doc = db.session.scalars(select(ResidentDocument)).first()
    token = csrf_token(client, "/layanan-mandiri/dokumen")
    client.post(f"/layanan-mandiri/dokumen/{doc.id}/hapus", data={"csrf_token": token})
    assert db.session.get(ResidentDocument, doc.id) is not None


# --- ownership -------------------------------------------------------------------------------

def test_resident_b_gets_404_for_everything_of_a(app, resident, operator):
    """B asks for A's request, cancel, edit, document, letter PDF and notification by id: 404 (cases/)."""
    client_a = app.test_client()
    portal_login(client_a, resident.nik, PIN)
    wizard_post(client_a, letter_type("domisili").id, domisili_files(), field_since="2010-01-05")
    req = db.session.scalar(select(LetterRequest))
    transition(req, "print", Actor.for_user(operator))
    db.session.commit()
    doc_id = req.documents[0].document_id
    note_id = db.session.scalar(select(Notification.id))
    b = make_resident(name="Bima", family=make_family(area=make_area(rt="009")), birth=date(1980, 1, 1))
    make_account(b, "604917")
    client_b = app.test_client()
    portal_login(client_b, b.nik, "604917")
    for url in (f"/layanan-mandiri/surat/{req.id}", f"/layanan-mandiri/surat/{req.id}/ubah",
                f"/layanan-mandiri/dokumen/{doc_id}", f"/layanan-mandiri/arsip-surat/{req.issued_letter.id}.pdf",
                f"/layanan-mandiri/notifikasi/{note_id}"):
        assert client_b.get(url).status_code == 404, url
    token = csrf_token(client_b, "/layanan-mandiri/dokumen")
    for url in (f"/layanan-mandiri/surat/{req.id}/batal", f"/layanan-mandiri/dokumen/{doc_id}/hapus"):
        assert client_b.post(url, data={"csrf_token": token}).status_code == 404, url
    # B cannot attach A's document to B's own request either.
    response, _ = wizard_post(client_b, letter_type("keterangan_penduduk").id, doc_2=str(doc_id), doc_3=str(doc_id))
    assert response.status_code == 400
    anonymous = app.test_client()
    assert anonymous.get(f"/layanan-mandiri/surat/{req.id}").status_code == 302


# --- numbering -------------------------------------------------------------------------------

def test_number_pattern_and_yearly_restart(ctx, resident, operator):
    """Sequences count per scope and restart each year; cancelled numbers are never reused."""
    lt = letter_type("pengantar_umum")
    numbers = []
    for today in (date(2025, 8, 1), date(2025, 8, 2), date(2026, 1, 1)):
        req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="x", phone="+6281234567890")
        transition(req, "submit", Actor.for_resident(resident))
        transition(req, "print", Actor.for_user(operator), issue_options={"today": today})
        transition(req, "cancel", Actor.for_user(operator), note="salah cetak")
        db.session.commit()
        numbers.append(req.issued_letter.letter_number)
    assert numbers == ["400.12.2.1/001/3309012001/VIII/2025", "400.12.2.1/002/3309012001/VIII/2025",
                       "400.12.2.1/001/3309012001/I/2026"]
    assert db.session.scalar(select(IssuedLetter).where(IssuedLetter.letter_number == numbers[0])).revoked_at


def test_pattern_validation():
    """Unknown placeholders and a pattern without {sequence} are refused."""
    assert numbering.pattern_errors("{classification}/{sequence}/{year}") == []
    assert len(numbering.pattern_errors("{classification}/{nomor}/{year}")) == 2
    assert numbering.format_number("", classification="470", sequence=7, village_code="3309012001",
                                   issued_on=date(2025, 8, 17)) == "470/007/3309012001/VIII/2025"


@pytest.mark.skipif("not config.getoption('--co') and not __import__('os').environ.get('TEST_DATABASE_URL')",
                    reason="concurrency needs PostgreSQL (TEST_DATABASE_URL)")
def test_concurrent_printing_gets_consecutive_numbers(app, ctx):
    """Eight transactions taking numbers at once on PostgreSQL get 1..8, no duplicates."""
    barrier = threading.Barrier(8)
    results, errors = [], []

    def take():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                value = numbering.next_sequence("code:test", 2030)
                results.append(value)
                db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
                db.session.rollback()
    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and sorted(results) == list(range(1, 9))
