"""Operator side of letters: the queue, the request page and its actions, the archive, desk letters, types.

Requests are made outside any test-held app context (each request gets its own session, as in
production); data is prepared inside ``db_ctx``. Pages are asked for in English.
"""
import io
import re
from contextlib import contextmanager
from datetime import date
from html.parser import HTMLParser

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from app.letters.models import IssuedLetter, LetterRequest, LetterStatus, LetterType, ResidentDocument
from tests.conftest import (admin_login, csrf_token, make_admin, make_area, make_family, make_resident,
                            make_village)
from tests.test_query_counts import recorded_statements

PASSWORD = "Rahasia-Balai-1"
S = LetterStatus


# --- helpers ---------------------------------------------------------------------------------

@contextmanager
def db_ctx(app):
    """An app context with the session, committed at the end."""
    from app.extensions import db
    with app.app_context():
        yield db.session
        db.session.commit()


def login_as(app, role, username=None):
    """A new client logged in through FAB's form as a new user with ``role``, UI in English."""
    username = username or role.lower().replace(" ", "_")
    with db_ctx(app):
        make_admin(username=username, password=PASSWORD, role=role)
    client = app.test_client()
    response = admin_login(client, username=username, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.get("/bahasa/en")
    return client


def jpeg(size=(40, 30), colour=(200, 120, 40)):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def seed_village(app, signing_step=True):
    """The village with a Kepala Desa, a Sekretaris (a.n.) and a Kasi (u.b.); returns official ids."""
    from app.residents.models import Official
    with db_ctx(app) as session:
        make_village(letter_signing_step=signing_step)
        officials = [Official(name="Sutrisno", position="Kepala Desa", nipd="1001", is_village_head=True),
                     Official(name="Dewi Lestari", position="Sekretaris Desa", nipd="1002", may_sign_on_behalf=True),
                     Official(name="Agus Salim", position="Kasi Pelayanan", nipd="1003", may_sign_under_authority=True)]
        session.add_all(officials)
        session.flush()
        return [o.id for o in officials]


def seed_resident(app, name="Budi Santoso", rt="001", birth=date(1990, 5, 17)):
    with db_ctx(app):
        resident = make_resident(name=name, family=make_family(area=make_area(rt=rt)), birth=birth,
                                 phone="081234567890")
        return resident.id


def type_id(app, code):
    from app.extensions import db
    with app.app_context():
        return db.session.scalar(select(LetterType.id).where(LetterType.code == code))


def make_request(app, resident_id, code="domisili", to=S.CHECKING, fields=None, docs=True):
    """A portal request submitted by the resident (with one stored JPEG per requirement), moved to ``to``."""
    from app.core import storage
    from app.extensions import db
    from app.letters.models import LetterRequestDocument
    from app.letters.workflow import Actor, transition
    from app.residents.models import Resident
    from flask import current_app
    with db_ctx(app):
        resident = db.session.get(Resident, resident_id)
        lt = db.session.scalar(select(LetterType).where(LetterType.code == code))
        if fields is None:
            fields = {"since": "2010-01-05"} if code == "domisili" else {}
        req = LetterRequest(resident_id=resident.id, letter_type=lt, purpose="Melamar pekerjaan",
                            phone="+6281234567890", note="Mohon segera", field_values=fields)
        transition(req, "submit", Actor.for_resident(resident))
        if docs:
            for requirement in lt.requirements:
                data = jpeg(colour=(requirement.id * 40 % 255, 90, 160))
                doc = ResidentDocument(resident_id=resident.id, requirement_id=requirement.id, title=requirement.name,
                                       stored_name=storage.store_bytes("documents", data, "jpg"),
                                       content_type="image/jpeg", size_bytes=len(data))
                db.session.add(doc)
                db.session.flush()
                req.documents.append(LetterRequestDocument(requirement_id=requirement.id, document_id=doc.id))
        operator = current_app.appbuilder.sm.find_user(username="seed_operator") or make_admin(
            "seed_operator", role="Operator")
        boss = Actor.for_user(operator, signing_step=False)
        path = {S.CHECKING: [], S.INCOMPLETE: ["return"], S.AWAITING_SIGNATURE: ["print"],
                S.READY: ["print", "sign"], S.COLLECTED: ["print", "sign", "collect"], S.CANCELLED: ["cancel"]}[to]
        for action in path:
            transition(req, action, boss, note="Foto KTP buram" if action in ("return", "cancel") else "")
        db.session.flush()
        return req.id


def request_row(app, request_id):
    from app.extensions import db
    with app.app_context():
        req = db.session.get(LetterRequest, request_id)
        letter = req.issued_letter
        return {"status": req.status, "office_reason": req.office_reason, "origin": req.origin,
                "number": letter.letter_number if letter else None, "letter_id": letter.id if letter else None,
                "revoked": bool(letter and letter.revoked_at), "history": len(req.history),
                "documents": [link.document_id for link in req.documents]}


class _Forms(HTMLParser):
    """Collect each <form>'s action and its named inputs (value of hidden/checked/selected ones)."""

    def __init__(self):
        super().__init__()
        self.forms, self._current, self._select = [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {"action": attrs.get("action", ""), "fields": {}, "buttons": []}
            self.forms.append(self._current)
        elif self._current is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in attrs:
                return
            self._current["fields"].setdefault(attrs["name"], attrs.get("value", ""))
        elif tag == "textarea" and attrs.get("name"):
            self._current["fields"][attrs["name"]] = ""
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
        elif tag == "option" and self._select and self._select not in self._current["fields"]:
            self._current["fields"][self._select] = attrs.get("value", "")
        elif tag == "button":
            self._current["buttons"].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def forms_on(html):
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def action_buttons(html):
    """The workflow actions offered on a request page (the forms posting to an action endpoint)."""
    return [f["buttons"][0] for f in forms_on(html)
            if re.search(r"/letterrequestview/(return|print|sign|collect|cancel)/", f["action"])]


def post_action(client, request_id, action, **data):
    """Submit the action's form as rendered on the request page (CSRF token and status from it)."""
    page = client.get(f"/letterrequestview/show/{request_id}").get_data(as_text=True)
    form = next(f for f in forms_on(page) if f["buttons"] and f["buttons"][0] == action)
    return client.post(form["action"], data={**form["fields"], **data})


def flashed(client, response):
    """The page a redirect leads to (where the flash is shown)."""
    assert response.status_code == 302, response.status_code
    return client.get(response.location).get_data(as_text=True)


@pytest.fixture(autouse=True)
def _drop_added_types(app):
    """Letter types and requirements are seeded once per session: remove what a test added."""
    yield
    from app.extensions import db
    from app.letters.catalogue import LETTER_TYPES
    from app.letters.models import Requirement
    with db_ctx(app):
        for lt in db.session.scalars(select(LetterType).where(LetterType.code.not_in([t[0] for t in LETTER_TYPES]))):
            db.session.delete(lt)
        db.session.flush()
        for requirement in db.session.scalars(select(Requirement).where(Requirement.id > 12)):
            db.session.delete(requirement)


@pytest.fixture
def letters_env(app):
    """A village with officials and one resident; returns a dict of ids."""
    officials = seed_village(app)
    return {"officials": officials, "resident": seed_resident(app)}


# --- the queue -------------------------------------------------------------------------------

def test_queue_lists_newest_first_with_labels_and_filters(app, letters_env):
    """The queue shows the newest request first, translated status labels, and filters by status and type."""
    rid = letters_env["resident"]
    first = make_request(app, rid, "domisili")
    second = make_request(app, rid, "pengantar_umum", to=S.AWAITING_SIGNATURE)
    operator = login_as(app, "Operator")
    body = operator.get("/letterrequestview/list/").get_data(as_text=True)
    assert body.index(f"/letterrequestview/show/{second}") < body.index(f"/letterrequestview/show/{first}")
    assert "Being checked" in body and "Awaiting signature" in body and "Budi Santoso" in body
    assert not re.search(r"<td>\s*[0-5]\s*</td>", body)  # no bare status numbers

    def shown(url):
        page = operator.get(url).get_data(as_text=True)
        return [pk for pk in (first, second) if f"/letterrequestview/show/{pk}" in page]
    assert shown("/letterrequestview/list/?_flt_0_status=1") == [first]
    assert shown("/letterrequestview/list/?_flt_0_status=2") == [second]
    assert shown(f"/letterrequestview/list/?_flt_0_letter_type={type_id(app, 'pengantar_umum')}") == [second]
    assert shown("/letterrequestview/list/?_flt_0_resident=budi") == [first, second]
    assert shown("/letterrequestview/list/?_flt_0_resident=zzz") == []


def test_queue_is_paginated_in_sql_with_constant_queries(app, letters_env):
    """The queue issues as many SQL statements for 3 requests as for 30 and shows one page of 25."""
    rid = letters_env["resident"]
    for _ in range(3):
        make_request(app, rid, "pengantar_umum", docs=False)
    operator = login_as(app, "Operator")
    small = len(recorded_statements(app, operator, "/letterrequestview/list/"))
    for _ in range(27):
        make_request(app, rid, "pengantar_umum", docs=False)
    large = len(recorded_statements(app, operator, "/letterrequestview/list/"))
    body = operator.get("/letterrequestview/list/").get_data(as_text=True)
    assert small == large
    assert body.count("/letterrequestview/show/") == 25


# --- the request page ---------------------------------------------------------------------------

def test_show_page_has_resident_documents_history_and_operator_buttons(app, letters_env):
    """An operator sees the resident, fields, document thumbnails, history, and return/print/cancel (not sign)."""
    rid = letters_env["resident"]
    req = make_request(app, rid, "domisili")
    operator = login_as(app, "Operator")
    page = operator.get(f"/letterrequestview/show/{req}").get_data(as_text=True)
    assert "Budi Santoso" in page and f"/residentview/show/{rid}" in page
    assert "Melamar pekerjaan" in page and "Mohon segera" in page and "0812-3456-7890" in page
    assert "Tinggal di alamat ini sejak" in page and "2010" in page
    docs = request_row(app, req)["documents"]
    assert len(docs) == 3
    for doc_id in docs:
        assert f'<img src="/letterrequestview/document/{req}/{doc_id}"' in page
    assert "Surat Pengantar RT/RW" in page
    assert "Being checked" in page  # the history row of "submit"
    assert action_buttons(page) == ["return", "print", "cancel"]
    assert "Sutrisno" in page and "Dewi Lestari" in page  # signatories on the print form


def test_buttons_per_role(app, letters_env):
    """Kepala Desa sees only sign while awaiting signature; Admin sees sign and cancel; a Viewer sees no button."""
    rid = letters_env["resident"]
    checking = make_request(app, rid, "pengantar_umum", docs=False)
    awaiting = make_request(app, rid, "pengantar_umum", to=S.AWAITING_SIGNATURE, docs=False)
    ready = make_request(app, rid, "pengantar_umum", to=S.READY, docs=False)
    kades = login_as(app, "Kepala Desa", "kades")
    assert action_buttons(kades.get(f"/letterrequestview/show/{checking}").get_data(as_text=True)) == []
    assert action_buttons(kades.get(f"/letterrequestview/show/{awaiting}").get_data(as_text=True)) == ["sign"]
    operator = login_as(app, "Operator")
    assert action_buttons(operator.get(f"/letterrequestview/show/{awaiting}").get_data(as_text=True)) == ["cancel"]
    ready_page = operator.get(f"/letterrequestview/show/{ready}").get_data(as_text=True)
    assert action_buttons(ready_page) == ["collect", "cancel"]
    admin = login_as(app, "Admin")
    assert action_buttons(admin.get(f"/letterrequestview/show/{awaiting}").get_data(as_text=True)) == ["sign", "cancel"]
    viewer = login_as(app, "Viewer")
    for pk in (checking, awaiting, ready):
        page = viewer.get(f"/letterrequestview/show/{pk}")
        assert page.status_code == 200 and action_buttons(page.get_data(as_text=True)) == []


# --- actions through the real forms --------------------------------------------------------------

def test_return_needs_a_reason(app, letters_env):
    """Return with an empty reason is refused (status unchanged); with a reason the resident gets it."""
    from app.extensions import db
    from app.notifications.models import Notification
    req = make_request(app, letters_env["resident"])
    operator = login_as(app, "Operator")
    refused = post_action(operator, req, "return", reason="   ")
    assert "Please give a reason." in flashed(operator, refused)
    assert request_row(app, req)["status"] == S.CHECKING
    done = post_action(operator, req, "return", reason="Foto KTP buram, mohon unggah ulang")
    assert "returned to the resident" in flashed(operator, done)
    row = request_row(app, req)
    assert row["status"] == S.INCOMPLETE and row["office_reason"] == "Foto KTP buram, mohon unggah ulang"
    with app.app_context():
        actions = [n.params["action"] for n in db.session.scalars(select(Notification).order_by(Notification.id))]
    assert actions[-1] == "return"


def test_print_numbers_the_letter_and_the_pdf_is_stable(app, letters_env):
    """Print gives the next number, offers the PDF at once, and the PDF endpoint returns identical bytes."""
    req = make_request(app, letters_env["resident"])
    operator = login_as(app, "Operator")
    response = post_action(operator, req, "print", signing_mode="an", signatory_an=str(letters_env["officials"][1]))
    assert response.status_code == 302 and response.location.endswith(f"/letterrequestview/show/{req}#letter")
    page = flashed(operator, response)
    row = request_row(app, req)
    assert row["status"] == S.AWAITING_SIGNATURE
    assert re.fullmatch(r"400\.12\.2\.1/001/3309012001/[IVX]+/\d{4}", row["number"])
    assert f"Letter printed with number {row['number']}" in page
    assert f'href="/issuedletterview/pdf/{row["letter_id"]}"' in page and "Open the PDF" in page
    first = operator.get(f"/issuedletterview/pdf/{row['letter_id']}")
    second = operator.get(f"/issuedletterview/pdf/{row['letter_id']}")
    assert first.status_code == 200 and first.mimetype == "application/pdf" and first.data[:5] == b"%PDF-"
    assert first.data == second.data
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(first.data)).pages)
    assert row["number"] in text and "Dewi Lestari" in text and "a.n." in text


def test_sign_collect_and_cancel_through_the_forms(app, letters_env):
    """Kepala Desa signs, the operator marks collected; an office cancel needs a reason and revokes the letter."""
    rid = letters_env["resident"]
    req = make_request(app, rid, to=S.AWAITING_SIGNATURE)
    kades = login_as(app, "Kepala Desa", "kades")
    assert "ready for pick-up" in flashed(kades, post_action(kades, req, "sign"))
    assert request_row(app, req)["status"] == S.READY
    operator = login_as(app, "Operator")
    assert "Marked as collected" in flashed(operator, post_action(operator, req, "collect"))
    assert request_row(app, req)["status"] == S.COLLECTED

    other = make_request(app, rid, to=S.READY)
    assert "Please give a reason." in flashed(operator, post_action(operator, other, "cancel", reason=""))
    assert request_row(app, other)["status"] == S.READY
    assert "cancelled" in flashed(operator, post_action(operator, other, "cancel", reason="Salah data"))
    row = request_row(app, other)
    assert row["status"] == S.CANCELLED and row["revoked"]


def test_operator_signs_only_without_a_signing_step(app, letters_env):
    """With a signing step the operator's direct sign POST is refused; without one the sign button appears and works."""
    from app.extensions import db
    from app.residents.models import Village
    req = make_request(app, letters_env["resident"], to=S.AWAITING_SIGNATURE)
    operator = login_as(app, "Operator")
    token = csrf_token(operator, f"/letterrequestview/show/{req}")
    refused = operator.post(f"/letterrequestview/sign/{req}", data={"csrf_token": token})
    assert "not allowed" in flashed(operator, refused)
    assert request_row(app, req)["status"] == S.AWAITING_SIGNATURE
    with db_ctx(app):
        db.session.scalar(select(Village)).letter_signing_step = False
    page = operator.get(f"/letterrequestview/show/{req}").get_data(as_text=True)
    assert action_buttons(page) == ["sign", "cancel"]
    post_action(operator, req, "sign")
    assert request_row(app, req)["status"] == S.READY


def test_illegal_action_by_direct_post_changes_nothing(app, letters_env):
    """Collect on a request being checked (posted directly) is refused with a message; nothing changes."""
    req = make_request(app, letters_env["resident"])
    before = request_row(app, req)
    operator = login_as(app, "Operator")
    token = csrf_token(operator, f"/letterrequestview/show/{req}")
    page = flashed(operator, operator.post(f"/letterrequestview/collect/{req}", data={"csrf_token": token}))
    assert "cannot be changed that way" in page and "Being checked" in page
    assert request_row(app, req) == before


def test_stale_page_and_missing_csrf_are_refused(app, letters_env):
    """A form rendered for an older status, or posted without a CSRF token, changes nothing."""
    req = make_request(app, letters_env["resident"])
    operator = login_as(app, "Operator")
    page = operator.get(f"/letterrequestview/show/{req}").get_data(as_text=True)
    cancel_form = next(f for f in forms_on(page) if f["buttons"] == ["cancel"])
    post_action(operator, req, "return", reason="Kurang KK")
    stale = operator.post(cancel_form["action"], data={**cancel_form["fields"], "reason": "Dobel"})
    assert "changed by someone else" in flashed(operator, stale)
    assert request_row(app, req)["status"] == S.INCOMPLETE
    no_csrf = operator.post(f"/letterrequestview/cancel/{req}", data={"reason": "Dobel"})
    assert no_csrf.status_code == 400
    assert request_row(app, req)["status"] == S.INCOMPLETE


@pytest.mark.parametrize("action", ["return_request", "print_letter", "sign_letter", "collect_letter",
                                    "cancel_request"])
def test_viewer_cannot_post_actions(app, letters_env, action):
    """A Viewer posting any action endpoint gets 403 and nothing changes."""
    req = make_request(app, letters_env["resident"], to=S.AWAITING_SIGNATURE if action == "sign_letter" else S.CHECKING)
    before = request_row(app, req)
    viewer = login_as(app, "Viewer")
    token = csrf_token(viewer, "/residentview/list/")
    url = f"/letterrequestview/{action.split('_')[0]}/{req}"
    assert viewer.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert request_row(app, req) == before


def test_village_head_cannot_print_and_anonymous_is_sent_to_login(app, letters_env):
    """Kepala Desa gets 403 for print/return; an anonymous POST is redirected to the login page."""
    req = make_request(app, letters_env["resident"])
    kades = login_as(app, "Kepala Desa", "kades")
    token = csrf_token(kades, "/residentview/list/")
    for url in (f"/letterrequestview/print/{req}", f"/letterrequestview/return/{req}"):
        assert kades.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 403
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/login/")
    response = anonymous.post(f"/letterrequestview/print/{req}", data={"csrf_token": token})
    assert response.status_code == 302 and "/login/" in response.location
    for url in ("/letterrequestview/list/", "/issuedletterview/list/", "/desk-letter/", "/lettertypeview/list/",
                "/requirementview/list/"):
        assert "/login/" in anonymous.get(url).location, url
    assert request_row(app, req)["status"] == S.CHECKING


# --- documents and PDFs ----------------------------------------------------------------------------

def test_document_endpoint_checks_the_request(app, letters_env):
    """A request's document opens inline; a document of another request (or none) is 404."""
    rid = letters_env["resident"]
    mine = make_request(app, rid)
    other_resident = seed_resident(app, name="Bima", rt="009", birth=date(1980, 1, 1))
    theirs = make_request(app, other_resident)
    my_doc = request_row(app, mine)["documents"][0]
    their_doc = request_row(app, theirs)["documents"][0]
    kades = login_as(app, "Kepala Desa", "kades")
    response = kades.get(f"/letterrequestview/document/{mine}/{my_doc}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert kades.get(f"/letterrequestview/document/{mine}/{their_doc}").status_code == 404
    assert kades.get(f"/letterrequestview/document/{mine}/999999").status_code == 404
    viewer = login_as(app, "Viewer")
    assert viewer.get(f"/letterrequestview/document/{mine}/{my_doc}").status_code == 403


def test_archive_lists_filters_and_serves_pdfs_by_role(app, letters_env):
    """The archive lists issued letters, filters by type and year; Kepala Desa downloads, a Viewer cannot."""
    rid = letters_env["resident"]
    a = make_request(app, rid, "domisili", to=S.AWAITING_SIGNATURE)
    b = make_request(app, rid, "pengantar_umum", to=S.CANCELLED)
    c = make_request(app, rid, "pengantar_umum", to=S.READY, docs=False)
    numbers = {pk: request_row(app, pk)["number"] for pk in (a, c)}
    assert request_row(app, b)["number"] is None
    operator = login_as(app, "Operator")
    body = operator.get("/issuedletterview/list/").get_data(as_text=True)
    assert all(n in body for n in numbers.values()) and "Sutrisno" in body
    domisili = type_id(app, "domisili")
    by_type = operator.get(f"/issuedletterview/list/?_flt_0_letter_type={domisili}").get_data(as_text=True)
    assert numbers[a] in by_type and numbers[c] not in by_type
    year = date.today().year
    assert numbers[a] in operator.get(f"/issuedletterview/list/?_flt_0_year={year}").get_data(as_text=True)
    assert numbers[a] not in operator.get(f"/issuedletterview/list/?_flt_0_year={year - 1}").get_data(as_text=True)
    letter_id = request_row(app, a)["letter_id"]
    kades = login_as(app, "Kepala Desa", "kades")
    assert kades.get(f"/issuedletterview/pdf/{letter_id}").data[:5] == b"%PDF-"
    assert kades.get(f"/issuedletterview/show/{letter_id}").status_code == 200
    viewer = login_as(app, "Viewer")
    assert viewer.get("/issuedletterview/list/").status_code == 200
    assert viewer.get(f"/issuedletterview/pdf/{letter_id}").status_code == 403
    assert operator.get("/issuedletterview/pdf/999999").status_code == 404


# --- desk letters --------------------------------------------------------------------------------

def desk_post(client, resident_id, type_pk, **data):
    page = client.get(f"/desk-letter/new/{resident_id}?type={type_pk}").get_data(as_text=True)
    form = next(f for f in forms_on(page) if f["action"].startswith("/desk-letter/new/"))
    return client.post(form["action"], data={**form["fields"], **data})


def test_desk_search_by_nik_and_name(app, letters_env):
    """The desk finds a resident by exact NIK or by name (paginated), and explains a short NIK."""
    from app.extensions import db
    from app.residents.models import Resident
    with app.app_context():
        nik = db.session.get(Resident, letters_env["resident"]).nik
    with db_ctx(app):
        family = make_family()
        for i in range(23):
            make_resident(name=f"Warga Desk {i:02d}", family=family, shdk=3, birth=date(1980, 1, 1 + i))
    operator = login_as(app, "Operator")
    page = operator.get(f"/desk-letter/?q={nik[:6]} {nik[6:]}").get_data(as_text=True)
    assert "Budi Santoso" in page and f"/desk-letter/new/{letters_env['resident']}" in page
    assert "16 digits" in operator.get(f"/desk-letter/?q={nik[:15]}").get_data(as_text=True)
    first = operator.get("/desk-letter/?q=warga desk").get_data(as_text=True)
    assert first.count("/desk-letter/new/") == 20 and "23 living resident(s)" in first
    second = operator.get("/desk-letter/?q=warga desk&page=2").get_data(as_text=True)
    assert second.count("/desk-letter/new/") == 3


def test_desk_letter_takes_the_next_number(app, letters_env):
    """A desk letter is submitted and printed at once: origin desk, the next number, in the archive."""
    rid = letters_env["resident"]
    portal = make_request(app, rid, "pengantar_umum", to=S.AWAITING_SIGNATURE, docs=False)
    first_number = request_row(app, portal)["number"]
    operator = login_as(app, "Operator")
    types_page = operator.get(f"/desk-letter/new/{rid}").get_data(as_text=True)
    assert "Surat Keterangan Kelahiran" in types_page  # not self-service, still on offer at the desk
    response = desk_post(operator, rid, type_id(app, "keterangan_penduduk"), purpose="Syarat bank")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    desk_id = int(re.search(r"/letterrequestview/show/(\d+)", response.location).group(1))
    row = request_row(app, desk_id)
    assert row["origin"] == "desk" and row["status"] == S.AWAITING_SIGNATURE and row["documents"] == []
    assert first_number.split("/")[1] == "001" and row["number"].split("/")[1] == "002"
    page = flashed(operator, response)
    assert row["number"] in page and "Open the PDF" in page
    with app.app_context():
        from app.extensions import db
        assert db.session.scalar(select(func.count(IssuedLetter.id))) == 2


def test_desk_birth_letter_checks_fields_and_is_made_once(app, letters_env):
    """A birth letter at the desk lists every missing field at once; sent twice it is made once."""
    rid = letters_env["resident"]
    operator = login_as(app, "Operator")
    kelahiran = type_id(app, "kelahiran")
    refused = desk_post(operator, rid, kelahiran, purpose="")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Nama anak is required." in body and "Please write what the letter is for." in body
    page = operator.get(f"/desk-letter/new/{rid}?type={kelahiran}").get_data(as_text=True)
    form = next(f for f in forms_on(page) if f["action"].startswith("/desk-letter/new/"))
    data = {**form["fields"], "purpose": "Akta kelahiran", "field_child_name": "Ayu", "field_child_sex": "Perempuan",
            "field_event_date": "2026-01-02", "field_event_place": "Puskesmas Selo", "field_mother_name": "Sri",
            "field_witness_1": "Joko", "field_witness_2": "Rahmat"}
    first = operator.post(form["action"], data=data)
    second = operator.post(form["action"], data=data)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    with app.app_context():
        from app.extensions import db
        assert db.session.scalar(select(func.count(LetterRequest.id))) == 1


# --- letter types and requirements ------------------------------------------------------------------

def type_form(token, **overrides):
    data = {"csrf_token": token, "code": "keterangan_ahli_waris", "name": "Surat Keterangan Ahli Waris",
            "classification_code": "400.12.2.1", "number_pattern": "", "sequence_scope": "type",
            "validity_amount": "3", "validity_unit": "month", "paper": "F4", "about_requester": "y",
            "self_service": "y", "active": "y", "requirements": ["1", "2"], "sort_order": "20",
            "fields": '[{"key": "deceased_name", "label": "Nama pewaris", "kind": "text", "required": true}]',
            "body": "Orang tersebut di atas adalah ahli waris dari {deceased_name}."}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count_types(app, code="keterangan_ahli_waris"):
    from app.extensions import db
    with app.app_context():
        return db.session.scalar(select(func.count(LetterType.id)).where(LetterType.code == code))


@pytest.mark.parametrize("overrides,message", [
    ({"fields": '[{"key": "x", "label": "X", "kind": "text",}]'}, "This is not valid JSON (line 1"),
    ({"fields": '{"key": "x"}'}, "The fields must be a list."),
    ({"fields": '[{"key": "Bad Key", "label": "", "kind": "colour"}]'}, "the kind must be one of"),
    ({"fields": '[{"key": "need", "label": "Need", "kind": "select"}]'}, "a select needs a list of options"),
    ({"number_pattern": "{classification}/{nomor}/{year}"}, "must contain {sequence}"),
    ({"number_pattern": "{classification}/{sequence}/{year"}, "unmatched brace"),
    ({"about_requester": None}, "only letters about a single resident may be offered in the portal"),
    ({"code": "Ahli Waris"}, "lowercase letters"),
    ({"code": "domisili"}, "A letter type with this code already exists."),
    ({"classification_code": "470/1"}, "no slash"),
])
def test_letter_type_form_errors_save_nothing(app, overrides, message):
    """Invalid JSON or schema, a bad number pattern, self-service on a letter about someone else: form errors."""
    operator = login_as(app, "Operator")
    token = csrf_token(operator, "/lettertypeview/add")
    response = operator.post("/lettertypeview/add", data=type_form(token, **overrides))
    assert response.status_code == 200
    assert message.lower() in response.get_data(as_text=True).lower()
    assert count_types(app) == 0


def test_letter_type_add_edit_and_delete_rules(app, letters_env):
    """A valid type is saved (pattern empty = default); its JSON is shown for editing; a used type is not deleted."""
    operator = login_as(app, "Operator")
    token = csrf_token(operator, "/lettertypeview/add")
    response = operator.post("/lettertypeview/add", data=type_form(token))
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    from app.extensions import db
    with app.app_context():
        lt = db.session.scalar(select(LetterType).where(LetterType.code == "keterangan_ahli_waris"))
        new_id, fields, pattern = lt.id, lt.fields, lt.number_pattern
        assert [r.id for r in lt.requirements] == [1, 2] and lt.self_service and lt.validity_amount == 3
    assert fields == [{"key": "deceased_name", "label": "Nama pewaris", "kind": "text", "required": True}]
    assert pattern is None
    edit = operator.get(f"/lettertypeview/edit/{new_id}").get_data(as_text=True)
    assert "&#34;deceased_name&#34;" in edit or "&quot;deceased_name&quot;" in edit
    assert 'name="code"' not in edit  # the code is set once
    show = operator.get(f"/lettertypeview/show/{new_id}").get_data(as_text=True)
    assert "Nama pewaris" in show and "Default: {classification}/{sequence}" in show
    token = csrf_token(operator, f"/lettertypeview/edit/{new_id}")
    edited = operator.post(f"/lettertypeview/edit/{new_id}", data=type_form(
        token, code=None, name="Ahli Waris", number_pattern="{classification}/{sequence}/{year}"))
    assert edited.status_code == 302
    with app.app_context():
        lt = db.session.get(LetterType, new_id)
        assert lt.name == "Ahli Waris" and lt.number_pattern == "{classification}/{sequence}/{year}"
        assert lt.code == "keterangan_ahli_waris"

    used = type_id(app, "pengantar_umum")
    make_request(app, letters_env["resident"], "pengantar_umum", docs=False)
    deleted = operator.post(f"/lettertypeview/delete/{used}", data={"csrf_token": token}, follow_redirects=True)
    assert "has requests or issued letters" in deleted.get_data(as_text=True)
    assert type_id(app, "pengantar_umum") == used
    operator.post(f"/lettertypeview/delete/{new_id}", data={"csrf_token": token})
    assert count_types(app) == 0


def test_requirement_view_adds_and_edits(app):
    """Operators add and rename required documents; there is no delete route."""
    from app.extensions import db
    from app.letters.models import Requirement
    operator = login_as(app, "Operator")
    token = csrf_token(operator, "/requirementview/add")
    added = operator.post("/requirementview/add", data={"csrf_token": token, "name": "Surat Keterangan Sekolah"})
    assert added.status_code == 302
    with app.app_context():
        pk = db.session.scalar(select(Requirement.id).where(Requirement.name == "Surat Keterangan Sekolah"))
    edited = operator.post(f"/requirementview/edit/{pk}", data={"csrf_token": token, "name": "Surat Ket. Sekolah"})
    assert edited.status_code == 302
    assert "Surat Ket. Sekolah" in operator.get("/requirementview/list/").get_data(as_text=True)
    assert operator.post(f"/requirementview/delete/{pk}", data={"csrf_token": token}).status_code == 404


def test_menus_per_role(app, letters_env):
    """Operators see the whole Letters menu; the Kepala Desa and the Viewer only the queue and the archive."""
    operator = login_as(app, "Operator")
    body = operator.get("/letterrequestview/list/").get_data(as_text=True)
    for url in ("/letterrequestview/list/", "/desk-letter/", "/issuedletterview/list/", "/lettertypeview/list/",
                "/requirementview/list/"):
        assert f'href="{url}"' in body, url
    viewer = login_as(app, "Viewer")
    body = viewer.get("/letterrequestview/list/").get_data(as_text=True)
    assert 'href="/issuedletterview/list/"' in body and 'href="/desk-letter/"' not in body
    assert 'href="/lettertypeview/list/"' not in body
    assert viewer.get("/desk-letter/").status_code == 403 and viewer.get("/lettertypeview/list/").status_code == 403
