"""SQL statements per list page do not grow with the rows (issue 6); see bench/README.md."""
import secrets
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from tests.conftest import (admin_login, make_account, make_admin, make_area, make_family, make_resident,
                            make_village, portal_login)

PIN = "582913"
PASSWORD = "Rahasia-Balai-1"
FEW, MANY = 3, 30

PORTAL_PAGES = ["/layanan-mandiri/", "/layanan-mandiri/profil", "/layanan-mandiri/surat",
                "/layanan-mandiri/pesan", "/layanan-mandiri/pesan/terkirim", "/layanan-mandiri/bantuan",
                "/layanan-mandiri/arsip-surat", "/layanan-mandiri/notifikasi"]
OPERATOR_PAGES = ["/residentview/list/", "/familyview/list/", "/letterrequestview/list/",
                  "/office-messages/", "/issuedletterview/list/", "/aidprogramview/list/"]


@contextmanager
def db_ctx(app):
    """An app context whose session is committed at the end."""
    from app.extensions import db
    with app.app_context():
        yield db.session
        db.session.commit()


def recorded_statements(app, client, url):
    """The SQL statements (texts) one GET of ``url`` runs, after a warm-up GET."""
    from app.extensions import db
    first = client.get(url)
    assert first.status_code == 200, (url, first.status_code, first.headers.get("Location"))
    with app.app_context():
        engine = db.engine
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, (url, response.status_code)
    return seen


def statements(app, client, url):
    """The number of SQL statements one GET of ``url`` runs (after a warm-up GET)."""
    return len(recorded_statements(app, client, url))


def _letter_type():
    """The shipped general cover letter type (no extra fields)."""
    from app.extensions import db
    from app.letters.models import LetterType
    return db.session.scalar(select(LetterType).where(LetterType.code == "pengantar_umum"))


def add_rows(me, office_user_id, start, stop):
    """Add rows start..stop-1: a family, resident, request and answered message each, and as many for ``me``."""
    from app.aid.models import AidProgram, AidRecipient
    from app.extensions import db
    from app.letters.models import LetterRequest
    from app.letters.workflow import Actor, transition
    from app.messages import services as messages
    from app.notifications.services import notify
    from app.residents.models import Resident
    from flask_appbuilder.security.sqla.models import User

    me = db.session.get(Resident, me)
    office = db.session.get(User, office_user_id)
    kind = _letter_type()
    for n in range(start, stop):
        family = make_family(area=make_area(rt=f"{n + 1:03d}", dusun=f"Dusun {n}"), address=f"Jl. Mawar {n}")
        other = make_resident(name=f"Warga {n:03d}", family=family, birth=date(1980, 1, 1) + timedelta(days=n))
        make_resident(name=f"Anak {n:03d}", family=me.family, shdk=4, birth=date(2010, 1, 1) + timedelta(days=n))
        for who in (other, me):
            item = LetterRequest(resident_id=who.id, resident=who, letter_type_id=kind.id, letter_type=kind,
                                 purpose=f"Keperluan {n}", phone="+6281234567890", field_values={})
            transition(item, "submit", Actor.for_resident(who))
            if n % 3 == 0:
                transition(item, "return", Actor.for_user(office), note="Berkas kurang")
            msg, _ = messages.start_conversation(who, "message", f"Pesan {n}", "Mohon informasi.", [],
                                                 secrets.token_urlsafe(24))
            messages.reply_as_office(msg, office, "Sudah kami terima.")
        program = AidProgram(name=f"Program {n:03d}", target="person", funding_source="apbn",
                             start_date=date(2025, 1, 1), end_date=date(2030, 12, 31))
        db.session.add(program)
        db.session.flush()
        db.session.add(AidRecipient(program_id=program.id, resident_id=me.id, card_number=f"K-{n}"))
        notify(me.id, "message_reply", {"subject": f"Pesan {n}", "message_id": 0}, link="/layanan-mandiri/pesan")
    db.session.flush()


@pytest.fixture
def village(app, monkeypatch):
    """A village with the logged-in resident (head of a KK), an Admin, and room for many messages."""
    monkeypatch.setitem(app.config, "MESSAGES_PER_HOUR", 10_000)
    with db_ctx(app):
        make_village()
        family = make_family(area=make_area())
        me = make_resident(name="Budi Santoso", family=family, phone="081234567890")
        make_account(me, PIN)
        office = make_admin(password=PASSWORD)
        ids = me.id, office.id
    return ids


def clients(app):
    """A resident client and an operator client, both logged in through the real forms."""
    from app.extensions import db
    from app.residents.models import Resident
    resident = app.test_client()
    with app.app_context():
        nik = db.session.scalar(select(Resident.nik).where(Resident.name == "Budi Santoso"))
    assert portal_login(resident, nik, PIN).status_code == 302
    operator = app.test_client()
    assert admin_login(operator, password=PASSWORD).status_code == 302
    return resident, operator


def counts(app, resident, operator):
    """Statements per page, portal pages as the resident and operator pages as the admin."""
    result = {url: statements(app, resident, url) for url in PORTAL_PAGES}
    result.update({url: statements(app, operator, url) for url in OPERATOR_PAGES if _routed(app, url)})
    return result


def _routed(app, url):
    """True when ``url`` is routed in this build (a view may not be registered yet)."""
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(url)
    except Exception:  # noqa: BLE001  (a view not registered in this build)
        return False
    return True


def test_list_pages_run_as_many_queries_with_30_rows_as_with_3(app, village):
    """Every portal and operator list page runs the same number of SQL statements for 3 and 30 rows."""
    me, office = village
    with db_ctx(app):
        add_rows(me, office, 0, FEW)
    resident, operator = clients(app)
    few = counts(app, resident, operator)
    with db_ctx(app):
        add_rows(me, office, FEW, MANY)
    many = counts(app, resident, operator)
    grown = {url: (few[url], many[url]) for url in few if many[url] != few[url]}
    assert not grown, f"statements per page grew from {FEW} to {MANY} rows (url: (few, many)): {grown}"
    assert set(few) >= set(PORTAL_PAGES) | {"/residentview/list/", "/familyview/list/", "/letterrequestview/list/"}
