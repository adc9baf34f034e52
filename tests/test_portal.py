"""Layanan Mandiri: login, lockout, forced PIN change, PIN rules, sessions, ownership, PDFs."""
import io
import time
from datetime import date

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.portal import services
from app.portal.models import PortalAccount
from tests.conftest import (csrf_token, make_account, make_area, make_family, make_resident,
                            make_village, portal_login)

PIN = "582913"
LOGIN = "/layanan-mandiri/masuk"


@pytest.fixture
def resident(ctx):
    """A living head of family with a portal account (PIN 582913, no forced change)."""
    make_village()
    family = make_family(area=make_area())
    person = make_resident(name="Budi Santoso", family=family)
    make_resident(name="Siti Aminah", sex=2, birth=date(1992, 1, 9), family=family, shdk=3)
    make_account(person, PIN)
    return person


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_login_and_home(client, resident):
    """The right NIK and PIN log in and the home page greets the resident by name."""
    response = portal_login(client, resident.nik, PIN)
    assert response.status_code == 302
    page = client.get("/layanan-mandiri/").get_data(as_text=True)
    assert "Budi Santoso" in page


def test_login_page_explains_how_to_get_an_account(client, resident):
    """The login page lists what to bring and the office's service hours."""
    page = client.get(LOGIN).get_data(as_text=True)
    assert "KTP-el" in page and "08.00-15.00" in page
    assert 'inputmode="numeric"' in page and '<label for="nik">' in page


@pytest.mark.parametrize("nik", ["3171011708450001aa", "317101170845000", "31710117084500011", "3171 0117 0845 0001x"])
def test_malformed_nik_is_rejected_never_cleaned(client, resident, nik):
    """A NIK with letters or the wrong length is refused as invalid, not cleaned (cases/)."""
    response = portal_login(client, nik, PIN)
    assert response.status_code == 400
    assert "16" in response.get_data(as_text=True)


def test_nik_with_letters_appended_to_a_real_nik_does_not_log_in(client, resident):
    """``<real NIK>aa`` is not cleaned to the real NIK."""
    response = portal_login(client, resident.nik + "aa", PIN)
    assert response.status_code == 400
    assert client.get("/layanan-mandiri/").status_code == 302


def test_same_message_for_unknown_nik_and_wrong_pin(client, resident):
    """Unknown NIK, wrong PIN and dead resident give the same message and status."""
    wrong_pin = portal_login(client, resident.nik, "111112")
    unknown = portal_login(client, "3171011708450099", PIN)
    assert wrong_pin.status_code == unknown.status_code == 401
    def message(r):
        text = r.get_data(as_text=True)
        return text[text.index('role="alert"'):][:300]
    assert message(wrong_pin) == message(unknown)


def test_dead_resident_cannot_log_in(client, resident):
    """A resident whose basic status is MATI gets the generic failure."""
    resident.basic_status_id = 2
    db.session.commit()
    assert portal_login(client, resident.nik, PIN).status_code == 401


def test_disabled_account_cannot_log_in(client, resident):
    """A disabled account gets the generic failure."""
    account = db.session.query(PortalAccount).one()
    account.active = False
    db.session.commit()
    assert portal_login(client, resident.nik, PIN).status_code == 401


def test_lockout_after_five_failures_even_without_cookies(app, resident):
    """5 wrong PINs, each from a fresh session, lock the NIK; the right PIN is refused too."""
    for _ in range(5):
        fresh = app.test_client()  # a new cookie jar every time
        assert portal_login(fresh, resident.nik, "111112").status_code in (401, 429)
    fresh = app.test_client()
    response = portal_login(fresh, resident.nik, PIN)
    assert response.status_code == 429
    assert "15" in response.get_data(as_text=True)  # says how long to wait


def test_lock_ends_after_the_lock_period(app, resident, monkeypatch):
    """After the lock period the right PIN works again."""
    for _ in range(5):
        portal_login(app.test_client(), resident.nik, "111112")
    later = services.utcnow() + __import__("datetime").timedelta(minutes=16)
    monkeypatch.setattr(services, "utcnow", lambda: later)
    assert portal_login(app.test_client(), resident.nik, PIN).status_code == 302


def test_unknown_nik_is_locked_too(app, resident):
    """Unknown NIKs are counted and locked like known ones (no way to tell them apart)."""
    for _ in range(5):
        portal_login(app.test_client(), "3171011708450077", "111112")
    assert portal_login(app.test_client(), "3171011708450077", "111112").status_code == 429


def test_success_resets_the_failure_count(app, resident):
    """Four failures, a success, then four more failures do not lock."""
    for _ in range(4):
        portal_login(app.test_client(), resident.nik, "111112")
    assert portal_login(app.test_client(), resident.nik, PIN).status_code == 302
    for _ in range(4):
        portal_login(app.test_client(), resident.nik, "111112")
    assert portal_login(app.test_client(), resident.nik, PIN).status_code == 302


def test_per_address_limit_counts_failures(app, resident):
    """Too many failed logins from one address get 429 with a friendly page."""
    app.config["PORTAL_ADDRESS_LIMIT"] = "3 per minute"
    try:
        client = app.test_client()
        statuses = [portal_login(client, f"31710117084500{n:02d}", "111112").status_code for n in range(10, 15)]
        assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429
    finally:
        app.config["PORTAL_ADDRESS_LIMIT"] = "10000 per minute"


def test_stale_csrf_token_shows_the_form_again(client, resident):
    """Two tabs: after logging in with one, submitting the older form is friendly, no failure counted."""
    old_token = csrf_token(client, LOGIN)
    assert portal_login(client, resident.nik, PIN).status_code == 302
    client.post("/layanan-mandiri/keluar", data={"csrf_token": csrf_token(client, "/layanan-mandiri/")})
    response = portal_login(client, resident.nik, "111112", token=old_token)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'name="csrf_token"' in page and 'role="alert"' in page
    from app.portal.models import LoginThrottle
    assert db.session.query(LoginThrottle).count() == 0


def test_forced_pin_change_blocks_everything_else(client, ctx):
    """With must_change_pin only the change-PIN page and logout are reachable."""
    make_village()
    person = make_resident(family=make_family(area=make_area()))
    make_account(person, PIN, must_change=True)
    assert portal_login(client, person.nik, PIN).headers["Location"].endswith("/layanan-mandiri/ganti-pin")
    for url in ("/layanan-mandiri/", "/layanan-mandiri/profil", "/layanan-mandiri/cetak/biodata.pdf",
                "/layanan-mandiri/cetak/kartu-keluarga.pdf"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/ganti-pin"), url
    token = csrf_token(client, "/layanan-mandiri/ganti-pin")
    response = client.post("/layanan-mandiri/ganti-pin", data={
        "csrf_token": token, "current_pin": PIN, "new_pin": "604917", "confirm_pin": "604917"})
    assert response.status_code == 302
    assert client.get("/layanan-mandiri/profil").status_code == 200


@pytest.mark.parametrize("new,confirm,reason", [
    ("582914", "582915", "confirmation"),      # cases/: confirmation mismatch
    (PIN, PIN, "current"),                     # cases/: same PIN again
    ("000000", "000000", "easy"),
    ("123456", "123456", "easy"),
    ("654321", "654321", "easy"),
    ("12345", "12345", "6 digits"),
    ("12a456", "12a456", "6 digits"),
])
def test_pin_rules(app, client, resident, new, confirm, reason):
    """A new PIN breaking a rule is refused with a reason and the old PIN stays valid."""
    portal_login(client, resident.nik, PIN)
    token = csrf_token(client, "/layanan-mandiri/ganti-pin")
    client.get("/bahasa/en")
    response = client.post("/layanan-mandiri/ganti-pin", data={
        "csrf_token": token, "current_pin": PIN, "new_pin": new, "confirm_pin": confirm})
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    db.session.expire_all()
    assert services.verify_pin(db.session.query(PortalAccount).one().pin_hash, PIN)


def test_pin_must_not_be_birth_date_in_nik(client, resident):
    """The DDMMYY of the NIK is refused as a PIN."""
    portal_login(client, resident.nik, PIN)
    client.get("/bahasa/en")
    token = csrf_token(client, "/layanan-mandiri/ganti-pin")
    ddmmyy = resident.nik[6:12]
    response = client.post("/layanan-mandiri/ganti-pin", data={
        "csrf_token": token, "current_pin": PIN, "new_pin": ddmmyy, "confirm_pin": ddmmyy})
    assert response.status_code == 400 and "birth date" in response.get_data(as_text=True)


def test_wrong_current_pin_refuses_change(client, resident):
    """The current PIN must be right to change it."""
    portal_login(client, resident.nik, PIN)
    token = csrf_token(client, "/layanan-mandiri/ganti-pin")
    response = client.post("/layanan-mandiri/ganti-pin", data={
        "csrf_token": token, "current_pin": "999990", "new_pin": "604917", "confirm_pin": "604917"})
    assert response.status_code == 400


def test_logout_ends_the_session_everywhere(app, resident):
    """Logging out on one device ends the other device's session too."""
    phone, desktop = app.test_client(), app.test_client()
    portal_login(phone, resident.nik, PIN)
    portal_login(desktop, resident.nik, PIN)
    assert desktop.get("/layanan-mandiri/").status_code == 200
    phone.post("/layanan-mandiri/keluar", data={"csrf_token": csrf_token(phone, "/layanan-mandiri/")})
    assert phone.get("/layanan-mandiri/").status_code == 302
    assert desktop.get("/layanan-mandiri/").status_code == 302


def test_idle_timeout(app, client, resident, monkeypatch):
    """After PORTAL_IDLE_TIMEOUT seconds without a request the resident must log in again."""
    portal_login(client, resident.nik, PIN)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + app.config["PORTAL_IDLE_TIMEOUT"] + 5)
    response = client.get("/layanan-mandiri/profil")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_login_starts_a_new_session(client, resident):
    """The session cookie content before login is not carried into the portal session."""
    with client.session_transaction() as sess:
        sess["planted"] = "x"
    portal_login(client, resident.nik, PIN)
    with client.session_transaction() as sess:
        assert "planted" not in sess and "portal" in sess


def test_open_redirect_is_refused(client, resident):
    """``next`` outside the portal is ignored."""
    token = csrf_token(client, LOGIN)
    response = client.post(LOGIN + "?next=https://evil.example/", data={"nik": resident.nik, "pin": PIN, "csrf_token": token})
    assert response.headers["Location"].endswith("/layanan-mandiri/")


def test_profile_shows_own_biodata_and_family(client, resident):
    """The profile lists the resident's biodata and the KK's active members."""
    portal_login(client, resident.nik, PIN)
    page = client.get("/layanan-mandiri/profil").get_data(as_text=True)
    assert resident.nik in page and "Siti Aminah" in page and resident.family.kk_number in page
    assert client.get("/layanan-mandiri/profil").headers["Cache-Control"] == "no-store"


def test_family_card_lists_only_active_members_in_order(client, ctx):
    """KK: head, spouse, children by birth date; dead and moved members left out (DOMAIN.md §1)."""
    make_village()
    family = make_family(area=make_area())
    head = make_resident(name="Kepala", family=family, birth=date(1970, 1, 1))
    make_resident(name="Anak Muda", family=family, shdk=4, birth=date(2005, 3, 3), marital=1)
    make_resident(name="Istri", sex=2, family=family, shdk=3, birth=date(1972, 2, 2))
    make_resident(name="Anak Tua", family=family, shdk=4, birth=date(2000, 4, 4), marital=1)
    make_resident(name="Almarhum", family=family, shdk=4, birth=date(1998, 4, 4), status=2, marital=1)
    make_resident(name="Pindahan", family=family, shdk=4, birth=date(1999, 4, 4), status=3, marital=1)
    make_account(head, PIN)
    portal_login(client, head.nik, PIN)
    page = client.get("/layanan-mandiri/profil").get_data(as_text=True)
    positions = [page.index(n) for n in ("Kepala", "Istri", "Anak Tua", "Anak Muda")]
    assert positions == sorted(positions)
    assert "Almarhum" not in page and "Pindahan" not in page
    text = pdf_text(client.get("/layanan-mandiri/cetak/kartu-keluarga.pdf").data)
    assert "Almarhum" not in text and "Anak Muda" in text


def test_biodata_and_family_card_pdfs(client, resident):
    """Both PDFs open and contain the resident's NIK and KK number as text."""
    portal_login(client, resident.nik, PIN)
    bio = client.get("/layanan-mandiri/cetak/biodata.pdf")
    assert bio.status_code == 200 and bio.mimetype == "application/pdf"
    assert resident.nik in pdf_text(bio.data)
    kk = client.get("/layanan-mandiri/cetak/kartu-keluarga.pdf")
    assert kk.status_code == 200 and resident.family.kk_number in pdf_text(kk.data)


def test_resident_without_family_has_no_kk(client, ctx):
    """No KK link and a 404 on the KK URL for a resident on no KK."""
    make_village()
    person = make_resident(family=None)
    make_account(person, PIN)
    portal_login(client, person.nik, PIN)
    assert "kartu-keluarga.pdf" not in client.get("/layanan-mandiri/").get_data(as_text=True)
    assert client.get("/layanan-mandiri/cetak/kartu-keluarga.pdf").status_code == 404


def test_unicode_names_print_correctly(client, ctx):
    """Names outside Latin-1 come out of the PDFs as stored (cases/)."""
    import unicodedata
    make_village()
    family = make_family(area=make_area())
    names = ["Ṣalīḥ bin ʿAbd al-Raḥmān", "Nguyễn Thị Ánh", "Ni Luh Putu Ayu Ṡri"]
    head = make_resident(name=names[0], family=family)
    make_resident(name=names[1], sex=2, family=family, shdk=3, birth=date(1991, 1, 1))
    make_resident(name=names[2], sex=2, family=family, shdk=4, birth=date(2012, 1, 1), marital=1)
    make_account(head, PIN)
    portal_login(client, head.nik, PIN)
    bio = unicodedata.normalize("NFC", pdf_text(client.get("/layanan-mandiri/cetak/biodata.pdf").data))
    assert names[0] in bio
    kk = unicodedata.normalize("NFC", pdf_text(client.get("/layanan-mandiri/cetak/kartu-keluarga.pdf").data))
    for name in names:
        assert name in " ".join(kk.split()) or name.replace(" ", "") in kk.replace(" ", "").replace("\n", "")


def test_resident_b_never_reaches_a(app, ctx):
    """B's pages and PDFs show B's data only; there is no URL that takes A's id (cases/)."""
    make_village()
    fam_a, fam_b = make_family(area=make_area()), make_family(area=make_area(rt="003"))
    a = make_resident(name="Andi Alfa", family=fam_a)
    b = make_resident(name="Bima Beta", family=fam_b, birth=date(1985, 2, 3))
    make_account(a, PIN)
    make_account(b, "604917")
    client_b = app.test_client()
    portal_login(client_b, b.nik, "604917")
    for url in ("/layanan-mandiri/", "/layanan-mandiri/profil"):
        page = client_b.get(url).get_data(as_text=True)
        assert "Andi Alfa" not in page and a.nik not in page
    for url in ("/layanan-mandiri/cetak/biodata.pdf", "/layanan-mandiri/cetak/kartu-keluarga.pdf"):
        text = pdf_text(client_b.get(url).data)
        assert a.nik not in text and "Andi Alfa" not in text and b.nik in text or fam_b.kk_number in text
    # id-like URLs do not exist in the portal
    for url in (f"/layanan-mandiri/profil/{a.id}", f"/layanan-mandiri/cetak/biodata.pdf?id={a.id}"):
        response = client_b.get(url)
        assert response.status_code == 404 or a.nik not in pdf_text(response.data)


def test_logged_out_pages_redirect_to_login(client, resident):
    """Every portal page redirects an anonymous visitor to the login."""
    for url in ("/layanan-mandiri/", "/layanan-mandiri/profil", "/layanan-mandiri/ganti-pin",
                "/layanan-mandiri/cetak/biodata.pdf", "/layanan-mandiri/cetak/kartu-keluarga.pdf",
                "/layanan-mandiri/foto"):
        response = client.get(url)
        assert response.status_code == 302 and "/layanan-mandiri/masuk" in response.headers["Location"], url


def test_pin_is_hashed_with_argon2(ctx, resident):
    """Only an Argon2id hash is stored (DOMAIN.md §4)."""
    account = db.session.query(PortalAccount).one()
    assert account.pin_hash.startswith("$argon2id$") and PIN not in account.pin_hash


def test_generated_pins_are_never_weak():
    """The generator never hands out 000000, 123456 and the like."""
    assert all(not services.is_weak_pin(services.generate_pin()) for _ in range(2000))
    assert services.is_weak_pin("000000") and services.is_weak_pin("123456") and services.is_weak_pin("654321")
    assert services.is_weak_pin("890123") and not services.is_weak_pin("582913")


def test_pin_and_full_nik_never_logged(app, client, resident, caplog):
    """Neither the PIN nor the full NIK appears in the logs of a login."""
    caplog.set_level("DEBUG")
    portal_login(client, resident.nik, "111112")
    portal_login(client, resident.nik, PIN)
    assert PIN not in caplog.text and "111112" not in caplog.text and resident.nik not in caplog.text


def test_public_page_and_language_switch(client, resident):
    """``/`` shows the village and links to both logins; English is selectable."""
    page = client.get("/").get_data(as_text=True)
    assert "Sukamaju" in page and "/layanan-mandiri/masuk" in page and "/operator/" in page
    assert "Layanan Mandiri" in page  # Indonesian by default
    client.get("/bahasa/en?next=/")
    assert "Self-service portal" in client.get("/").get_data(as_text=True)
    assert client.get("/bahasa/en?next=https://evil.example/").headers["Location"] == "/"


def test_lazy_messages_with_user_input_are_escaped(app):
    """A translated message quoting user input renders escaped in templates (no stored XSS)."""
    from flask import render_template_string

    from app.core.i18n import lazy_gettext
    with app.test_request_context():
        message = lazy_gettext("%(requirement)s: %(problem)s", requirement="<script>alert(1)</script>", problem="x")
        html = render_template_string("{{ m }}", m=message)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_nik_typed_as_markup_is_escaped_in_admin_form(app, client, ctx):
    """The NIK error quoting the typed characters does not inject markup into the operator form."""
    from tests.conftest import admin_login, make_admin
    make_admin()
    admin_login(client)
    token = csrf_token(client, "/residentview/add")
    response = client.post("/residentview/add", data={"csrf_token": token, "nik": "<b>x</b>1234567890", "name": "X"})
    page = response.get_data(as_text=True)
    assert '"<"' not in page and "&lt;" in page  # the quoted characters come out escaped
