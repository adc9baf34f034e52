"""The register's list pages stay cheap as the village grows (issue 6), and still find the right rows.

- a page is chosen by primary key first ("deferred join"): the rows and their order are those of
  a plain ORDER BY ... OFFSET;
- "starts with" on name, NIK and KK number is an index range (app/core/search.py) with the same
  answers as FAB's LIKE: case-insensitive names, numbers typed with spaces, no wildcards;
- the search form's code-table drop-downs come from a cache, and permission checks from one
  query per request.
"""
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import admin_login, make_admin, make_area, make_family, make_resident, make_village
from tests.test_query_counts import db_ctx, recorded_statements

PASSWORD = "Rahasia-Balai-1"
ROW_NAME = re.compile(r"<td>\s*((?:Warga|Ika|IKA|ika|Ikhsan|Nguy|Budi|100%|Ira_)[^<]*?)\s*</td>")


@pytest.fixture
def operator(app, client):
    with db_ctx(app):
        make_village()
        make_admin(password=PASSWORD)
    assert admin_login(client, password=PASSWORD).status_code == 302
    return client


def names(client, url):
    """The resident names listed by ``url``, in page order."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return ROW_NAME.findall(response.get_data(as_text=True))


def test_every_page_lists_the_rows_of_a_plain_order_by(app, operator):
    """Pages 0, 1 and 2 of 60 residents hold rows 1-25, 26-50 and 51-60 by name, each once."""
    with db_ctx(app):
        family = make_family(area=make_area())
        for n in (37, 5, 59, 12, 48, 1, 23, 60, 30, 44, *range(2, 5), *range(6, 12), *range(13, 23),
                  *range(24, 30), *range(31, 37), *range(38, 44), *range(45, 48), *range(49, 59)):
            make_resident(name=f"Warga {n:03d}", family=family, shdk=4 if n > 1 else 1)
    expected = [f"Warga {n:03d}" for n in range(1, 61)]
    pages = [names(operator, f"/residentview/list/?page_ResidentView={page}") for page in range(3)]
    assert pages == [expected[:25], expected[25:50], expected[50:]]
    assert names(operator, "/residentview/list/?page_ResidentView=3") == []
    descending = names(operator, "/residentview/list/?_oc_ResidentView=name&_od_ResidentView=desc")
    assert descending == expected[::-1][:25]


@pytest.fixture
def people(app):
    """Residents whose names and numbers test the prefix searches; returns {name: (nik, kk)}."""
    with db_ctx(app):
        area = make_area()
        rows = {}
        for name, nik, kk in [
            ("Ika Listyowati", "3319094101900001", "3319090101150001"),
            ("ika kecil", "3319094101900002", "3319090101150002"),
            ("IKA BESAR", "3319094101900003", "3319090101150003"),
            ("Ikhsan", "3319090101900004", "3319099101150004"),
            ("Nguyễn Văn An", "3319090101909999", "3319099901159999"),
            ("Budi", "3320090101900006", "3320090101150006"),
            ("100% Murni", "3319090101900007", "3399999999999999"),
            ("Ira_Wati", "9999999999999999", "9999999999999998"),
        ]:
            make_resident(name=name, nik=nik, family=make_family(kk_number=kk, area=area), shdk=1)
            rows[name] = (nik, kk)
    return rows


@pytest.mark.parametrize("typed, found", [
    ("ika", ["IKA BESAR", "Ika Listyowati", "ika kecil"]),
    ("IKA L", ["Ika Listyowati"]),
    ("  ika k ", ["ika kecil"]),
    ("Ik", ["IKA BESAR", "Ika Listyowati", "ika kecil", "Ikhsan"]),
    ("nguy", ["Nguyễn Văn An"]),
    ("Nguyễn", ["Nguyễn Văn An"]),
    ("100%", ["100% Murni"]),
    ("%", []),            # a wildcard in FAB's LIKE; here a character like any other
    ("I_a", []),
    ("Ira_", ["Ira_Wati"]),
    ("zzz", []),
    ("'; DROP TABLE resident; --", []),
    ("", ["Ika Listyowati", "ika kecil", "IKA BESAR", "Ikhsan", "Nguyễn Văn An", "Budi", "100% Murni",
          "Ira_Wati"]),   # an empty search filters nothing, as in FAB
    ("   ", ["Ika Listyowati", "ika kecil", "IKA BESAR", "Ikhsan", "Nguyễn Văn An", "Budi", "100% Murni",
             "Ira_Wati"]),
])
def test_name_starts_with_ignores_case_and_has_no_wildcards(operator, people, typed, found):
    from urllib.parse import urlencode
    assert sorted(names(operator, "/residentview/list/?" + urlencode({"_flt_0_name": typed}))) == sorted(found)


@pytest.mark.parametrize("typed, found", [
    ("3319094101900001", ["Ika Listyowati"]),
    ("3319 0941 0190", ["Ika Listyowati", "ika kecil", "IKA BESAR"]),
    ("3319.09-01", ["Ikhsan", "Nguyễn Văn An", "100% Murni"]),
    ("331909010190999", ["Nguyễn Văn An"]),  # ...999: the upper bound carries
    ("3319", ["Ika Listyowati", "ika kecil", "IKA BESAR", "Ikhsan", "Nguyễn Văn An", "100% Murni"]),
    ("9999", ["Ira_Wati"]),                   # only nines: no upper bound
    ("abc", []),
    ("%", []),
    (" - ", ["Ika Listyowati", "ika kecil", "IKA BESAR", "Ikhsan", "Nguyễn Văn An", "Budi", "100% Murni",
             "Ira_Wati"]),  # only separators: an empty search
    ("٣٣١٩", []),                              # Arabic-Indic digits are not NIK digits
])
def test_nik_starts_with_uses_the_digits(operator, people, typed, found):
    from urllib.parse import urlencode
    assert sorted(names(operator, "/residentview/list/?" + urlencode({"_flt_0_nik": typed}))) == sorted(found)


@pytest.mark.parametrize("typed, found", [
    ("3319 0901 0115 0002", ["ika kecil"]),
    ("33190991", ["Ikhsan"]),
    ("3319099", ["Ikhsan", "Nguyễn Văn An"]),
    ("33999", ["100% Murni"]),
    ("x", []),
])
def test_kk_number_starts_with(operator, people, typed, found):
    from urllib.parse import urlencode
    assert sorted(names(operator, "/residentview/list/?" + urlencode({"_flt_0_family": typed}))) == sorted(found)


@pytest.mark.parametrize("stored, typed", [
    ("İbrahim Kaya", "İbrahim"),   # Python lowers İ to i + a combining dot, PostgreSQL to i
    ("İBRAHİM", "İBRAHİM"),
    ("ΣΟΦΟΣ", "ΣΟΦΟΣ"),            # a final sigma: Python ς, PostgreSQL σ
    ("ÉLISE Marie", "ÉLISE"),
    ("ǅemal", "ǅemal"),
])
def test_a_name_typed_exactly_is_always_found(app, operator, stored, typed):
    """Both sides are lower-cased by the database's own lower() (found by the attack review)."""
    from urllib.parse import urlencode
    with db_ctx(app):
        make_resident(name=stored, family=make_family(area=make_area()), shdk=1)
    body = operator.get("/residentview/list/?" + urlencode({"_flt_0_name": typed})).get_data(as_text=True)
    assert stored in body


@pytest.mark.parametrize("arg", ["_flt_0_nik", "_flt_0_family"])
def test_a_number_prefix_of_thousands_of_digits_finds_nothing(operator, people, arg):
    """int() refuses more than 4,300 digits: such a prefix was a 500 (found by the attack review)."""
    response = operator.get(f"/residentview/list/?{arg}=" + "1" * 5000)
    assert response.status_code == 200
    assert names(operator, f"/residentview/list/?{arg}=" + "3" * 17) == []


def test_code_table_search_is_a_cached_drop_down_that_filters(app, operator, people):
    """The sex drop-down lists the national codes, and filtering by one works (women only)."""
    with db_ctx(app):
        make_resident(name="Ika Perempuan", sex=2, birth=date(1991, 2, 3), family=make_family(area=make_area()),
                      shdk=1)
    page = operator.get("/residentview/list/").get_data(as_text=True)
    page = page.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')
    assert re.search(r'<option[^>]*value="2"[^>]*>PEREMPUAN</option>', page)
    assert re.search(r'<option[^>]*value="89"[^>]*>', page)  # occupation codes go up to 89
    assert names(operator, "/residentview/list/?_flt_0_sex=2") == ["Ika Perempuan"]
    assert "Ika Perempuan" not in names(operator, "/residentview/list/?_flt_0_sex=1")


def test_a_list_page_asks_the_database_for_permissions_once_and_for_no_code_table(app, operator, people):
    """FAB asked once per permission check (33 on this page) and loaded seven code tables."""
    seen = recorded_statements(app, operator, "/residentview/list/?_flt_0_name=ika")
    permission_checks = [s for s in seen if "ab_permission_view" in s]
    assert len(permission_checks) <= 2, permission_checks  # the user's permissions, and the menu
    assert not [s for s in seen if "FROM ref_" in s]  # joined to residents is fine; loaded alone is not
    assert len(seen) <= 10, seen


def test_permission_checks_still_refuse_what_a_role_lacks(app, client):
    """The per-request permission set answers like FAB: a Viewer may list but not add."""
    with db_ctx(app):
        make_village()
        make_admin(username="viewer", password=PASSWORD, role="Viewer")
    assert admin_login(client, username="viewer", password=PASSWORD).status_code == 302
    assert client.get("/residentview/list/").status_code == 200
    assert client.get("/residentview/add").status_code in (302, 403)


def test_admin_permissions_come_from_the_database_roles(app, operator):
    """Admin is a database role: its answers come from the cached permission set."""
    from app.extensions import db
    from flask_appbuilder.security.sqla.models import User
    with app.test_request_context():
        sm = app.appbuilder.sm
        user = db.session.scalar(select(User).where(User.username == "admin"))
        role_ids = [role.id for role in user.roles]
        assert sm.exist_permission_on_roles("ResidentView", "can_list", role_ids)
        assert not sm.exist_permission_on_roles("ResidentView", "can_fly", role_ids)
        assert not sm.exist_permission_on_roles("NoSuchView", "can_list", role_ids)


@pytest.mark.parametrize("query", [
    "page_ResidentView=abc", "page_ResidentView=1.5", "page_ResidentView=", "page_ResidentView=-1",
    "psize_ResidentView=x", "psize_ResidentView=-1", "psize_ResidentView=0",
    "psize_ResidentView=99999999999999999999", "_oc_ResidentView=bogus&_od_ResidentView=asc",
    "_oc_ResidentView=sex&_od_ResidentView=asc", "_oc_ResidentView=__class__",
    "_oc_ResidentView=family.area.name", "_oc_ResidentView=name&_od_ResidentView=sideways",
    "_flt_1_family=3", "_flt_9_birth_date=x", "_flt_0_sex=abc", "_flt_0_sex=", "_flt_0_religion=2.0",
    "_flt_0_sex=%EF%BC%92",
])
def test_unusable_list_arguments_are_a_400_not_a_500(operator, people, query):
    """FAB answered these with a 500 (or a database error on PostgreSQL): found by the attack review."""
    response = operator.get("/residentview/list/?" + query)
    assert response.status_code == 400
    assert "Kembali dan coba lagi" in response.get_data(as_text=True)  # Indonesian, the default


@pytest.mark.parametrize("query", [
    "page_ResidentView=0", "psize_ResidentView=50", "_oc_ResidentView=birth_date&_od_ResidentView=desc",
    "_flt_0_sex=2", "_flt_1_sex=1", "_flt_0_family=3319", "_flt_3_name=ika",
])
def test_usable_list_arguments_still_work(operator, people, query):
    assert operator.get("/residentview/list/?" + query).status_code == 200


def test_a_related_list_sorts_by_its_own_columns(app, operator, people):
    """``_oc_FamilyMembersView`` on a family's page is checked against the members list's columns."""
    from app.residents.models import Family
    with app.app_context():
        from app.extensions import db
        family_id = db.session.scalar(select(Family.id).limit(1))
    url = f"/familyview/show/{family_id}?_oc_FamilyMembersView=nik&_od_FamilyMembersView=asc"
    assert operator.get(url).status_code == 200
    assert operator.get(f"/familyview/show/{family_id}?_oc_FamilyMembersView=kk_number").status_code == 400
