"""Operator panel (Flask-AppBuilder): secured views, roles, register forms, portal accounts.

Requests are made outside any test-held app context, so each request gets its own context
and database session, as in production. Pages are asked for in English (``/bahasa/en``).
"""
import io
import re
from contextlib import contextmanager
from datetime import date

import pytest
from flask_appbuilder import IndexView
from flask_appbuilder.baseviews import AbstractViewApi
from flask_appbuilder.security.views import AuthView
from pypdf import PdfReader
from sqlalchemy import event, func, select

from app.security import (AID_MENUS, AID_VIEWS, LETTER_MENUS, LETTER_VIEWS, MESSAGE_MENUS, MESSAGE_VIEWS,
                          REGISTER_MENUS, REGISTER_VIEWS)
from tests.conftest import (admin_login, csrf_token, make_account, make_admin, make_area, make_family,
                            make_nik, make_resident, make_village, portal_login)

LIST_URLS = ["/villageview/list/", "/areaview/list/", "/familyview/list/", "/residentview/list/",
             "/officialview/list/", "/portalaccountview/list/", "/familymembersview/list/"]
PIN_RE = re.compile(r'id="new-pin"[^>]*>\s*(\d{6})\s*<')
PASSWORD = "Rahasia-Balai-1"


@contextmanager
def db_ctx(app):
    """An app context with the session, committed at the end."""
    from app.extensions import db
    with app.app_context():
        yield db.session
        db.session.commit()


def login_as(app, client, role, username=None):
    """Create a FAB user with ``role``, log them in through the form, switch the UI to English."""
    username = username or role.lower().replace(" ", "_")
    with db_ctx(app):
        make_admin(username=username, password=PASSWORD, role=role)
    response = admin_login(client, username=username, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.get("/bahasa/en")
    return client


def resident_form(token, **overrides):
    """Form data for the resident add/edit form (code-table fields are ids)."""
    data = {"csrf_token": token, "nik": make_nik(date(1990, 5, 17), 1), "name": "Agus Salim",
            "sex": "1", "birth_place": "Boyolali", "birth_date": "1990-05-17", "religion": "1",
            "marital_status": "1", "citizenship": "1", "basic_status": "1",
            "father_name": "Slamet", "mother_name": "Sri", "phone": "", "email": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count_residents(app, **where):
    from app.residents.models import Resident
    with app.app_context():
        from app.extensions import db
        query = select(func.count(Resident.id))
        for key, value in where.items():
            query = query.where(getattr(Resident, key) == value)
        return db.session.scalar(query)


def seeded_resident(app, **kw):
    """A village, an RT, a family and a resident in it; returns (resident id, nik, family id)."""
    with db_ctx(app):
        make_village()
        family = make_family(area=make_area())
        resident = make_resident(family=family, **kw)
        return resident.id, resident.nik, family.id


def get_account(app, resident_id):
    from app.extensions import db
    from app.portal.models import PortalAccount
    with app.app_context():
        account = db.session.scalar(select(PortalAccount).where(PortalAccount.resident_id == resident_id))
        if account is not None:
            db.session.expunge(account)
        return account


def run_action(client, view, name, pk):
    token = csrf_token(client, f"/{view}/show/{pk}")
    return client.post(f"/{view}/action/{name}/{pk}", data={"csrf_token": token})


def print_slip(client, resident_id, pin):
    token = csrf_token(client, "/residentview/list/")
    return client.post("/portal-pin-slip/print", data={"csrf_token": token, "resident_id": str(resident_id),
                                                       "pin": pin})


# --- (a) secured by default (STYLE.md habit 7) -----------------------------------------------

#: Endpoints that are not FAB views of the register, each with the reason it needs no check.
PUBLIC_ENDPOINTS = {
    "static": "static files",
    "appbuilder.static": "FAB's bundled static files",
    "set_language": "language choice, no data",
    "operator_home": "redirects to the login form or to the user's own start page; no data",
    "operator_logout": "logs the current user out (POST, CSRF-checked)",
    "verify_letter": "public check behind a letter's QR code (unguessable token, 404 otherwise)",
}
#: Views that are public by design: the index (public page), FAB's login/logout and its
#: auth API, the language switch, and FAB's "back" redirect helper.
PUBLIC_VIEW_TYPES = (IndexView, AuthView)
PUBLIC_VIEWS = {"LocaleView", "UtilView", "SecurityApi"}
#: FAB's own model views (users, roles, ...) route "action"/"action_post" without a decorator
#: and check the action's permission inside; ours override "action" with @has_access.
FAB_INLINE_CHECKED = {"action", "action_post"}


def test_every_view_endpoint_checks_a_permission(app):
    """Every endpoint of a FAB view or API (ours or FAB's) has has_access/protect, bar known public ones."""
    unsecured = []
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        function = app.view_functions[endpoint]
        view = getattr(function, "__self__", None)
        if endpoint in PUBLIC_ENDPOINTS or endpoint.startswith("portal."):
            continue
        assert isinstance(view, AbstractViewApi), f"{endpoint} {rule.rule}: not a FAB view; secure or list it"
        if isinstance(view, PUBLIC_VIEW_TYPES) or type(view).__name__ in PUBLIC_VIEWS:
            continue
        method = endpoint.rsplit(".", 1)[1]
        if type(view).__module__.startswith("flask_appbuilder.") and method in FAB_INLINE_CHECKED:
            continue
        if not getattr(function, "_permission_name", None):
            unsecured.append(f"{endpoint} {rule.rule}")
    assert unsecured == []


def test_register_views_and_menus_match_security_lists(app):
    """Our registered views and menu entries are exactly those the roles in app/security.py cover."""
    from flask_appbuilder.security.views import AuthDBView
    ours = {type(v).__name__ for v in app.appbuilder.baseviews
            if type(v).__module__.startswith("app.") and not isinstance(v, (IndexView, AuthDBView))}
    assert ours == set(REGISTER_VIEWS) | set(LETTER_VIEWS) | set(MESSAGE_VIEWS) | set(AID_VIEWS)
    menu = app.appbuilder.menu.get_list()
    for category, expected in (("Register", REGISTER_MENUS), ("Letters", LETTER_MENUS),
                               ("Messages", MESSAGE_MENUS), ("Aid", AID_MENUS)):
        found = [item for item in menu if item.name == category]
        assert found, f"no {category} menu"
        assert {category, *(child.name for child in found[0].childs)} == set(expected)


# --- (b) anonymous -----------------------------------------------------------------------------

def test_anonymous_list_pages_redirect_to_login(app, client):
    """Anonymous GETs of every register list page redirect to the login form."""
    for url in LIST_URLS:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login/" in response.location, url


def test_anonymous_slip_post_redirects_to_login(app, client):
    """An anonymous POST to the PIN slip endpoint gets no PDF."""
    token = csrf_token(client, "/login/")
    response = client.post("/portal-pin-slip/print", data={"csrf_token": token, "resident_id": "1",
                                                           "pin": "123456"})
    assert response.status_code == 302 and "/login/" in response.location


# --- (c) roles ---------------------------------------------------------------------------------

def test_viewer_reads_but_cannot_change_or_act(app, client):
    """A Viewer lists and shows residents, and is refused add, edit, delete, the actions and the slip."""
    resident_id, nik, _ = seeded_resident(app)
    login_as(app, client, "Viewer")
    assert client.get("/residentview/list/").status_code == 200
    show = client.get(f"/residentview/show/{resident_id}")
    assert show.status_code == 200
    body = show.get_data(as_text=True)
    assert "create_portal_account" not in body and "Create portal account" not in body
    token = csrf_token(client, "/residentview/list/")
    assert client.get("/residentview/add").status_code == 403
    assert client.post("/residentview/add", data=resident_form(token)).status_code == 403
    assert client.post(f"/residentview/edit/{resident_id}",
                       data=resident_form(token, nik=nik, name="Changed")).status_code == 403
    assert client.post(f"/residentview/delete/{resident_id}", data={"csrf_token": token}).status_code == 403
    for name in ("create_portal_account", "reset_pin"):
        response = client.post(f"/residentview/action/{name}/{resident_id}", data={"csrf_token": token})
        assert response.status_code == 403, name
    assert client.post("/portal-pin-slip/print", data={"csrf_token": token, "resident_id": str(resident_id),
                                                       "pin": "123456"}).status_code == 403
    assert count_residents(app, name="Budi Santoso") == 1
    assert get_account(app, resident_id) is None


def test_village_head_is_read_only(app, client):
    """The Kepala Desa role reads the register but cannot add to it."""
    seeded_resident(app)
    login_as(app, client, "Kepala Desa", "kades")
    assert client.get("/familyview/list/").status_code == 200
    assert client.get("/familyview/add").status_code == 403
    assert client.get("/portalaccountview/list/").status_code == 200


def test_operator_adds_resident_and_cannot_reach_security(app, client):
    """An Operator adds a resident through the real form and is refused FAB's user and role pages."""
    _, _, family_id = seeded_resident(app)
    login_as(app, client, "Operator")
    token = csrf_token(client, "/residentview/add")
    nik = make_nik(date(1992, 1, 9), 2)
    response = client.post("/residentview/add", data=resident_form(
        token, nik=nik, name="Siti Aminah", sex="2", birth_date="1992-01-09", family=str(family_id),
        family_relationship="3", marital_status="2"))
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert count_residents(app, nik=nik, family_id=family_id) == 1
    for url in ("/users/list/", "/roles/list/", "/permissions/list/"):
        assert client.get(url).status_code == 403, url
    body = client.get("/residentview/list/").get_data(as_text=True)
    assert "/users/list/" not in body and "Siti Aminah" in body


# --- (d) validation ------------------------------------------------------------------------------

def test_invalid_nik_is_refused_on_the_form(app, client):
    """A NIK with an impossible date (29-02-2001) shows the error on the form and saves nothing."""
    seeded_resident(app)
    login_as(app, client, "Operator")
    token = csrf_token(client, "/residentview/add")
    response = client.post("/residentview/add", data=resident_form(token, nik="3171012902010001"))
    assert response.status_code == 200
    assert "29-02-2001" in response.get_data(as_text=True)
    assert count_residents(app, nik="3171012902010001") == 0


def test_duplicate_nik_and_second_head_give_form_errors(app, client):
    """A NIK already registered, and a second head for one KK, are form errors (200), not 500s."""
    _, nik, family_id = seeded_resident(app)
    login_as(app, client, "Operator")
    token = csrf_token(client, "/residentview/add")
    response = client.post("/residentview/add", data=resident_form(token, nik=nik, name="Copy"))
    assert response.status_code == 200
    assert "A resident with this NIK is already registered." in response.get_data(as_text=True)

    response = client.post("/residentview/add", data=resident_form(
        token, name="Second Head", family=str(family_id), family_relationship="1"))
    assert response.status_code == 200
    assert "already has a head of family (Budi Santoso)" in response.get_data(as_text=True)
    assert count_residents(app) == 1


def test_editing_the_head_keeps_the_head_valid(app, client):
    """Saving the existing head again is not refused as a second head; the NIK warning is flashed."""
    resident_id, nik, family_id = seeded_resident(app)
    login_as(app, client, "Operator")
    token = csrf_token(client, f"/residentview/edit/{resident_id}")
    response = client.post(f"/residentview/edit/{resident_id}", data=resident_form(
        token, nik=nik, name="Budi Santoso", birth_date="1990-05-18", family=str(family_id),
        family_relationship="1", marital_status="2"), follow_redirects=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "already has a head" not in body
    assert "Changed Row" in body or "changed" in body.lower()
    assert "17-05-1990" in body  # the birth-date warning names the date in the NIK


def test_nik_warning_is_flashed_after_save(app, client):
    """A NIK whose sex differs from the record is saved (normalised) and the warning is flashed."""
    seeded_resident(app)
    login_as(app, client, "Operator")
    token = csrf_token(client, "/residentview/add")
    male_nik = make_nik(date(1985, 3, 4), 1)
    spaced = f"{male_nik[:6]} {male_nik[6:12]} {male_nik[12:]}"
    response = client.post("/residentview/add", data=resident_form(
        token, nik=spaced, name="Rina", sex="2", birth_date="1985-03-04"), follow_redirects=True)
    assert response.status_code == 200
    assert count_residents(app, nik=male_nik) == 1
    body = response.get_data(as_text=True)
    assert "alert-warning" in body and "Rina" in body
    assert response.request.path.startswith("/residentview/show/")


def test_second_village_is_refused(app, client):
    """With a village profile in place, the add page refuses with a message instead of a form."""
    seeded_resident(app)
    login_as(app, client, "Operator")
    response = client.get("/villageview/add", follow_redirects=True)
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)
    assert response.request.path == "/villageview/list/"


def test_area_levels_and_path(app, client):
    """An RT cannot contain a dusun, an RT cannot exist twice; the list shows each area's full path."""
    with db_ctx(app):
        rt = make_area()
        rt_id = rt.id
    login_as(app, client, "Operator")
    token = csrf_token(client, "/areaview/add")
    response = client.post("/areaview/add", data={"csrf_token": token, "level": "dusun", "name": "Kulon",
                                                  "parent": str(rt_id)})
    assert response.status_code == 200
    assert "must be inside a higher level" in response.get_data(as_text=True)
    from app.extensions import db
    from app.residents.models import Area
    with app.app_context():
        rw_id = db.session.get(Area, rt_id).parent_id
    response = client.post("/areaview/add", data={"csrf_token": token, "level": "rt", "name": "001",
                                                  "parent": str(rw_id)})
    assert response.status_code == 200
    assert "This area already exists here." in response.get_data(as_text=True)
    assert "RT 001 / RW 002 / Dusun Krajan" in client.get("/areaview/list/").get_data(as_text=True)


def test_family_kk_number_checked_and_unique(app, client):
    """A KK number is validated, normalised, and refused when already registered."""
    _, _, family_id = seeded_resident(app)
    login_as(app, client, "Operator")
    token = csrf_token(client, "/familyview/add")
    response = client.post("/familyview/add", data={"csrf_token": token, "kk_number": "3171991708450001",
                                                    "address": "Jl. Mawar"})
    assert response.status_code == 200 and "3171991708450001" not in count_families_numbers(app)
    from app.residents.models import Family
    with app.app_context():
        from app.extensions import db
        existing = db.session.get(Family, family_id).kk_number
    response = client.post("/familyview/add", data={"csrf_token": token, "kk_number": existing,
                                                    "address": "Jl. Mawar"})
    assert response.status_code == 200
    assert "already registered" in response.get_data(as_text=True)
    response = client.post("/familyview/add", data={"csrf_token": token, "kk_number": "3171-0102-0315-9999",
                                                    "address": "Jl. Mawar"})
    assert response.status_code == 302
    assert "3171010203159999" in count_families_numbers(app)


def count_families_numbers(app):
    from app.extensions import db
    from app.residents.models import Family
    with app.app_context():
        return set(db.session.scalars(select(Family.kk_number)))


def test_resident_search_by_kk_number(app, client):
    """The resident list searches by a typed KK number, not a drop-down of every family."""
    _, _, family_id = seeded_resident(app)
    with db_ctx(app):
        make_resident(name="Elsewhere", family=make_family(), shdk=1)
    login_as(app, client, "Operator")
    from app.residents.models import Family
    with app.app_context():
        from app.extensions import db
        kk = db.session.get(Family, family_id).kk_number
    body = client.get(f"/residentview/list/?_flt_0_family={kk}").get_data(as_text=True)
    assert "Budi Santoso" in body and "Elsewhere" not in body
    search_form = client.get("/residentview/list/").get_data(as_text=True).replace("\\u003c", "<")
    assert f"{kk}</option" not in search_form  # a text box, not a drop-down of every KK


# --- (e) portal account creation and the PIN slip ---------------------------------------------

def test_create_portal_account_shows_pin_once_and_prints_slip(app, client):
    """The action shows a 6-digit PIN, stores only an argon2id hash, and the slip PDF holds the PIN."""
    resident_id, nik, _ = seeded_resident(app)
    login_as(app, client, "Operator")
    response = run_action(client, "residentview", "create_portal_account", resident_id)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    pin = PIN_RE.search(body).group(1)
    assert "must change it at the first login" in body

    from app.extensions import db
    from app.portal.models import PortalAccount
    with app.app_context():
        row = db.session.execute(select(PortalAccount.__table__).where(
            PortalAccount.resident_id == resident_id)).mappings().one()
    assert row["pin_hash"].startswith("$argon2id$")
    assert all(pin not in str(value) for value in row.values())
    assert row["must_change_pin"]
    assert row["created_by_id"] is not None

    slip = print_slip(client, resident_id, pin)
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(slip.data)).pages)
    assert pin in text
    assert f"{nik[:6]}********{nik[-2:]}" in text
    assert nik not in text

    wrong = f"{(int(pin) + 1) % 1000000:06d}"
    assert print_slip(client, resident_id, wrong).status_code == 404
    assert print_slip(client, resident_id, "12345x").status_code == 404
    assert print_slip(client, resident_id + 1000, pin).status_code == 404


def test_create_portal_account_refused_twice_or_for_the_dead(app, client):
    """A second account, or an account for a dead resident, is refused with a flashed reason."""
    resident_id, _, family_id = seeded_resident(app)
    with db_ctx(app):
        from app.residents.models import Family
        from app.extensions import db
        dead = make_resident(name="Almarhum", family=db.session.get(Family, family_id), shdk=4, status=2)
        dead_id = dead.id
    login_as(app, client, "Operator")
    assert run_action(client, "residentview", "create_portal_account", resident_id).status_code == 200
    again = run_action(client, "residentview", "create_portal_account", resident_id)
    assert again.status_code == 302
    assert "already has a portal account" in client.get(again.location).get_data(as_text=True)
    refused = run_action(client, "residentview", "create_portal_account", dead_id)
    assert refused.status_code == 302
    assert "Only living residents" in client.get(refused.location).get_data(as_text=True)
    assert get_account(app, dead_id) is None


def test_slip_refused_once_the_pin_was_changed(app, client):
    """A PIN the resident already replaced (no longer must_change_pin) prints no slip."""
    resident_id, _, _ = seeded_resident(app)
    with db_ctx(app):
        from app.extensions import db
        from app.residents.models import Resident
        make_account(db.session.get(Resident, resident_id), pin="582913", must_change=False)
    login_as(app, client, "Operator")
    assert print_slip(client, resident_id, "582913").status_code == 404


# --- (f) PIN reset ----------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["residentview", "portalaccountview"])
def test_reset_pin_replaces_pin_and_ends_portal_sessions(app, client, view):
    """Reset PIN (from the resident or the account) kills the old PIN and open portal sessions."""
    resident_id, nik, _ = seeded_resident(app)
    with db_ctx(app):
        from app.extensions import db
        from app.residents.models import Resident
        account_id = make_account(db.session.get(Resident, resident_id), pin="582913").id
    resident_client = app.test_client()
    assert portal_login(resident_client, nik, "582913").status_code == 302
    assert resident_client.get("/layanan-mandiri/").status_code == 200

    login_as(app, client, "Operator")
    pk = resident_id if view == "residentview" else account_id
    response = run_action(client, view, "reset_pin", pk)
    assert response.status_code == 200
    new_pin = PIN_RE.search(response.get_data(as_text=True)).group(1)

    after = resident_client.get("/layanan-mandiri/")
    assert after.status_code == 302 and "/layanan-mandiri/masuk" in after.location
    assert portal_login(app.test_client(), nik, "582913").status_code != 302
    fresh = app.test_client()
    login = portal_login(fresh, nik, new_pin)
    assert login.status_code == 302
    assert fresh.get("/layanan-mandiri/").location.endswith("/layanan-mandiri/ganti-pin")
    account = get_account(app, resident_id)
    assert account.must_change_pin and account.pin_reset_by_id is not None
    assert print_slip(client, resident_id, new_pin).status_code == 200


def test_portal_account_edit_changes_only_active(app, client):
    """The account form edits the active flag only; there is no add page."""
    resident_id, nik, _ = seeded_resident(app)
    with db_ctx(app):
        from app.extensions import db
        from app.residents.models import Resident
        account_id = make_account(db.session.get(Resident, resident_id), pin="582913").id
    login_as(app, client, "Operator")
    form = client.get(f"/portalaccountview/edit/{account_id}").get_data(as_text=True)
    fields = re.findall(r'<(?:input|select|textarea)[^>]*name="([^"]+)"', form)
    assert [f for f in fields if f != "csrf_token"] == ["active"]  # (the navbar's logout form has a token too)
    token = csrf_token(client, f"/portalaccountview/edit/{account_id}")
    response = client.post(f"/portalaccountview/edit/{account_id}",
                           data={"csrf_token": token, "must_change_pin": "y", "pin_hash": "x"})
    assert response.status_code == 302, response.get_data(as_text=True)
    account = get_account(app, resident_id)
    assert account.active is False and account.must_change_pin is False
    assert account.pin_hash.startswith("$argon2")
    assert client.get("/portalaccountview/add").status_code == 404
    assert portal_login(app.test_client(), nik, "582913").status_code != 302


# --- (g) list query count --------------------------------------------------------------------

def _list_queries(app, client, url):
    from app.extensions import db
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def _add_residents(app, how_many, start):
    with db_ctx(app):
        area = make_area(rt=f"{start:03d}")
        for i in range(how_many):
            family = make_family(area=area)
            make_resident(name=f"Warga {start + i:03d}", family=family, birth=date(1980, 1, 1 + i % 28))


@pytest.mark.parametrize("url", ["/residentview/list/", "/familyview/list/", "/portalaccountview/list/"])
def test_list_query_count_does_not_grow_with_rows(app, client, url):
    """A list page issues as many SQL statements for 5 rows as for 40 (no per-row lazy loads)."""
    login_as(app, client, "Operator")
    _add_residents(app, 5, 0)
    if "portal" in url:
        _give_accounts(app)
    small, body = _list_queries(app, client, url)
    _add_residents(app, 35, 100)
    if "portal" in url:
        _give_accounts(app)
    large, body = _list_queries(app, client, url)
    assert small == large
    if "residentview" in url:
        assert body.count("Warga ") >= 25  # a full page, paginated in SQL


def _give_accounts(app):
    from app.extensions import db
    from app.portal import services
    from app.portal.models import PortalAccount
    from app.residents.models import Resident
    with db_ctx(app):
        have = set(db.session.scalars(select(PortalAccount.resident_id)))
        for resident in db.session.scalars(select(Resident)):
            if resident.id not in have:
                services.create_account(resident)


# --- deletes and odd requests -------------------------------------------------------------------

def test_area_in_use_is_not_deleted(app, client):
    """Deleting an area that still contains other areas is refused with a message, not a 500."""
    with db_ctx(app):
        rt = make_area()
        rw_id = rt.parent_id
    login_as(app, client, "Operator")
    client.get("/areaview/list/")
    token = csrf_token(client, "/areaview/list/")
    response = client.post(f"/areaview/delete/{rw_id}", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    assert "still contains other areas or families" in response.get_data(as_text=True)
    from app.extensions import db
    from app.residents.models import Area
    with app.app_context():
        assert db.session.get(Area, rw_id) is not None


def test_unknown_action_and_get_action_are_refused(app, client):
    """An unknown action name is a 404 and actions cannot be triggered by GET."""
    resident_id, _, _ = seeded_resident(app)
    login_as(app, client, "Operator")
    assert run_action(client, "residentview", "drop_everything", resident_id).status_code == 404
    assert client.get(f"/residentview/action/create_portal_account/{resident_id}").status_code == 405
    assert get_account(app, resident_id) is None


def test_login_lands_on_the_work(app, client, ctx):
    """After logging in without ?next=, an operator lands on residents, a Kepala Desa on letters."""
    from tests.conftest import admin_login, make_admin
    make_admin("op1", role="Operator")
    assert client.get("/login/").headers["Location"].endswith("/login/?next=/operator/")
    token = csrf_token(client, "/login/?next=/operator/")
    response = client.post("/login/?next=/operator/", data={"username": "op1", "password": "Rahasia-Balai-1",
                                                            "csrf_token": token})
    assert response.headers["Location"].endswith("/operator/")
    assert client.get("/operator/").headers["Location"].endswith("/residentview/list/")
    make_admin("kd1", role="Kepala Desa")
    other = app.test_client()
    token = csrf_token(other, "/login/?next=/operator/")
    other.post("/login/?next=/operator/", data={"username": "kd1", "password": "Rahasia-Balai-1", "csrf_token": token})
    assert other.get("/operator/").headers["Location"].endswith("/letterrequestview/list/")
