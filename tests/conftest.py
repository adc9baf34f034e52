"""Shared fixtures: one migrated database per test session, emptied after each test.

SQLite (a temporary file) by default; PostgreSQL when ``TEST_DATABASE_URL`` is set, e.g.
``TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test``. The schema always comes
from the Alembic migrations, as in production.
"""
import importlib
import itertools
import shutil
import threading
import os
import re
import warnings
from datetime import date

import pytest
from sqlalchemy import text

# Every mapper registered before any test module imports one (not ``import app.models``: that
# would bind the name ``app``, which is the app fixture here).
importlib.import_module("app.models")

from config import TestConfig

#: Tables holding test data, emptied after every test (children first).
DATA_TABLES = ("message_photo", "message_post", "message", "aid_recipient", "aid_program", "notification", "letter_request_history", "letter_request_document", "letter_request",
               "issued_letter", "letter_sequence", "resident_document", "login_throttle", "portal_account",
               "official", "resident", "family", "area", "village", "ab_user_role", "ab_user")

_serial = itertools.count(1)


def _reset_postgres(url):
    from sqlalchemy import create_engine
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The Balai app with a freshly migrated database and synced roles."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upload = tmp_path_factory.mktemp("uploads")

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_FOLDER = str(upload)
        PORTAL_ADDRESS_LIMIT = "10000 per minute"

    from flask_migrate import upgrade

    from app import create_app
    application = create_app(Config)

    def fresh_g():
        # Test clients reuse the app context a test holds open (``ctx``), and with it ``g``:
        # Flask-WTF's CSRF token and Flask-Login's user would leak between clients.
        from flask import g
        for name in list(vars(g)):
            delattr(g, name)
    application.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    with application.app_context():
        upgrade()
        application.appbuilder.sm.sync_roles()
        from app.extensions import db
        from app.letters.catalogue import seed_letter_types
        seed_letter_types()
        db.session.commit()
    return application


@pytest.fixture(autouse=True)
def _clean_db(request):
    """Empty the data tables after each test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from app.extensions import db
    with application.app_context():
        db.session.rollback()
        for table in DATA_TABLES:
            if table == "area":  # a tree with RESTRICT on the parent: leaves first
                for level in ("rt", "rw", "dusun"):
                    db.session.execute(text(f"DELETE FROM area WHERE level = '{level}'"))
            db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        application.appbuilder.sm.limiter.reset()


@pytest.fixture
def ctx(app):
    """An application context (for services and factories)."""
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


# --- browser tests (Debian's Chromium driven by Playwright; never `playwright install`) ---------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
@pytest.fixture
def live_server(app):
    """Serve the test app on a free loopback port in a thread; yields the base URL."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


# --- factories -----------------------------------------------------------------------------

def make_nik(birth=date(1990, 5, 17), sex=1, prefix="317101", serial=None):
    """A valid NIK for ``birth`` and ``sex`` (day + 40 for women: DOMAIN.md §2)."""
    day = birth.day + (40 if sex == 2 else 0)
    serial = serial if serial is not None else next(_serial)
    return f"{prefix}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def make_kk_number(issued=date(2015, 3, 2), prefix="317101", serial=None):
    serial = serial if serial is not None else next(_serial)
    return f"{prefix}{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}{serial:04d}"


def make_village(**kw):
    from app.extensions import db
    from app.residents.models import Village
    values = dict(name="Sukamaju", code="3309012001", kecamatan_name="Selo", kecamatan_code="330901",
                  regency_name="Kabupaten Boyolali", regency_code="3309", province_name="Jawa Tengah",
                  province_code="33", address="Jl. Raya Selo No. 1", phone="0276-123456",
                  service_hours="Senin-Jumat 08.00-15.00 WIB",
                  account_requirements="KK asli\nKTP-el")
    values.update(kw)
    village = Village(**values)
    db.session.add(village)
    db.session.flush()
    return village


def make_area(rt="001", rw="002", dusun="Krajan"):
    from app.extensions import db
    from app.residents.models import Area
    d = Area(level="dusun", name=dusun)
    w = Area(level="rw", name=rw, parent=d)
    t = Area(level="rt", name=rt, parent=w)
    db.session.add_all([d, w, t])
    db.session.flush()
    return t


def make_family(kk_number=None, area=None, address="Jl. Melati 3"):
    from app.extensions import db
    from app.residents.models import Family
    family = Family(kk_number=kk_number or make_kk_number(), address=address, area=area)
    db.session.add(family)
    db.session.flush()
    return family


def make_resident(name="Budi Santoso", sex=1, birth=date(1990, 5, 17), family=None, shdk=1,
                  status=1, nik=None, marital=2, **kw):
    from app.extensions import db
    from app.residents.models import Resident
    resident = Resident(nik=nik or make_nik(birth, sex), name=name, sex_id=sex, birth_place="Boyolali",
                        birth_date=birth, religion_id=1, education_id=5, occupation_id=9,
                        marital_status_id=marital, family_relationship_id=shdk if family else None,
                        blood_type_id=13, citizenship_id=1, basic_status_id=status,
                        father_name="Slamet", mother_name="Sri", family=family, **kw)
    db.session.add(resident)
    db.session.flush()
    return resident


def make_account(resident, pin="582913", must_change=False):
    """A portal account with a known PIN."""
    from app.extensions import db
    from app.portal import services
    account, _ = services.create_account(resident)
    services.set_pin(account, pin, must_change=must_change)
    db.session.commit()
    return account


# --- logging in through the real forms -------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url):
    """GET ``url`` (following redirects) and return the CSRF token of its form."""
    response = client.get(url, follow_redirects=True)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1)


def portal_login(client, nik, pin, token=None):
    """Log a resident in through the login form; returns the response (not followed)."""
    token = token or csrf_token(client, "/layanan-mandiri/masuk")
    return client.post("/layanan-mandiri/masuk", data={"nik": nik, "pin": pin, "csrf_token": token})


def make_admin(username="admin", password="Rahasia-Balai-1", role="Admin"):
    """A FAB user with ``role``; returns the user."""
    from flask import current_app
    sm = current_app.appbuilder.sm
    user = sm.add_user(username, "Test", "User", f"{username}@example.com", sm.find_role(role), password)
    assert user, "could not create user"
    return user


def admin_login(client, username="admin", password="Rahasia-Balai-1"):
    """Log an operator in through FAB's login form; returns the response."""
    token = csrf_token(client, "/login/?next=/operator/")
    return client.post("/login/?next=/operator/", data={"username": username, "password": password,
                                                       "csrf_token": token})


warnings.filterwarnings("ignore", category=DeprecationWarning, module="flask_appbuilder")
