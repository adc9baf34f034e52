"""Operator side of Program Bantuan: programmes, recipients one by one, import, export, the family rule.

Requests are made outside any test-held app context (each request gets its own session, as in
production); data is prepared inside ``db_ctx``. Pages are asked for in English. The module is
skipped until ``register_aid_views`` is called from ``app/admin.py``.
"""
import csv
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select

import app.models  # noqa: F401  (every mapper registered before any is configured)
from app.aid.models import AidProgram, AidRecipient
from tests.conftest import (admin_login, csrf_token, make_account, make_admin, make_area, make_family,
                            make_nik, make_resident, make_village, portal_login)

PASSWORD = "Rahasia-Balai-1"
PIN = "582913"


@pytest.fixture(autouse=True)
def _views_registered(app):
    if "AidProgramView.list" not in app.view_functions:
        pytest.skip("AidProgramView is not registered yet: call register_aid_views in app/admin.py")


# --- helpers ---------------------------------------------------------------------------------

@contextmanager
def db_ctx(app):
    """An app context with the session, committed at the end."""
    from app.extensions import db
    with app.app_context():
        yield db.session
        db.session.commit()


def login_as(app, role="Admin", username=None):
    """A new client logged in through FAB's form as a new user with ``role``, UI in English."""
    username = username or role.lower().replace(" ", "_")
    with db_ctx(app):
        make_admin(username=username, password=PASSWORD, role=role)
    client = app.test_client()
    response = admin_login(client, username=username, password=PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.get("/bahasa/en")
    return client


def seed(app):
    """KK Santoso (head Budi, wife Siti with a portal account, son Andi), and Bima in another KK.

    Returns a dict of ids, NIKs and KK numbers.
    """
    with db_ctx(app):
        make_village()
        family = make_family(area=make_area(), address="Jl. Melati 3")
        head = make_resident(name="Budi Santoso", family=family, shdk=1)
        wife = make_resident(name="Siti Aminah", sex=2, family=family, shdk=3, birth=date(1992, 3, 4))
        son = make_resident(name="Andi Santoso", family=family, shdk=4, birth=date(2010, 6, 1))
        other_family = make_family(area=make_area(rt="009", rw="004", dusun="Kulon"), address="Jl. Mawar 9")
        bima = make_resident(name="Bima Sakti", family=other_family, shdk=1, birth=date(1980, 1, 1))
        make_account(wife, PIN)
        make_account(bima, "604917")
        return {"family": family.id, "kk": family.kk_number, "head": head.id, "head_nik": head.nik,
                "wife": wife.id, "wife_nik": wife.nik, "son": son.id, "son_nik": son.nik,
                "bima": bima.id, "bima_nik": bima.nik, "bima_family": other_family.id,
                "bima_kk": other_family.kk_number}


def make_program(app, name="PKH", target="family", source="apbn", **kw):
    with db_ctx(app) as session:
        program = AidProgram(name=name, target=target, funding_source=source, active=kw.pop("active", True),
                             start_date=kw.pop("start_date", date(2025, 1, 1)), end_date=kw.pop("end_date", None), **kw)
        session.add(program)
        session.flush()
        return program.id


def make_recipient(app, program_id, resident_id=None, family_id=None, card="", **kw):
    with db_ctx(app) as session:
        row = AidRecipient(program_id=program_id, resident_id=resident_id, family_id=family_id, card_number=card, **kw)
        session.add(row)
        session.flush()
        return row.id


def recipients(app, program_id):
    """``[(resident_id, family_id, card_number, card_name, card_nik, ended_on)]`` of a programme, by id."""
    from app.extensions import db
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(AidRecipient.resident_id, AidRecipient.family_id, AidRecipient.card_number, AidRecipient.card_name,
                   AidRecipient.card_nik, AidRecipient.ended_on)
            .where(AidRecipient.program_id == program_id).order_by(AidRecipient.id))]


def add_recipient(client, program_id, resident_id, **card):
    token = csrf_token(client, "/residentview/list/")
    return client.post(f"/aidprogramview/recipients/{program_id}/add",
                       data={"csrf_token": token, "resident_id": str(resident_id), **card})


def upload(client, program_id, data, filename):
    token = csrf_token(client, f"/aidprogramview/recipients/{program_id}/import")
    return client.post(f"/aidprogramview/recipients/{program_id}/import",
                       data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def csv_bytes(rows, bom=True, delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_bytes(rows, numbers_as_text=True):
    workbook = Workbook()
    sheet = workbook.active
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(r, c, value)
            if numbers_as_text and isinstance(value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def program_form(token, **overrides):
    data = {"csrf_token": token, "name": "BLT Dana Desa", "target": "family", "funding_source": "dana_desa",
            "start_date": "2025-01-01", "end_date": "2025-12-31", "description": "Bantuan langsung tunai",
            "active": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count_programs(app, **where):
    from app.extensions import db
    with app.app_context():
        query = select(func.count(AidProgram.id))
        for key, value in where.items():
            query = query.where(getattr(AidProgram, key) == value)
        return db.session.scalar(query)


# --- programmes ------------------------------------------------------------------------------

def test_programme_add_edit_delete_with_period_check(app):
    """A programme is added (description optional), edited and deleted; an end before the start is refused."""
    client = login_as(app)
    page = client.get("/aidprogramview/add").get_data(as_text=True)
    for label in ("Person", "Family", "Household", "State budget (APBN)", "Provincial budget (APBD)",
                  "Regency budget (APBD)", "Village fund (Dana Desa)", "Other"):
        assert label in page, label
    token = csrf_token(client, "/aidprogramview/add")
    refused = client.post("/aidprogramview/add", data=program_form(token, end_date="2024-12-31"))
    assert refused.status_code == 200
    assert "The end date cannot be before the start date." in refused.get_data(as_text=True)
    assert count_programs(app) == 0
    added = client.post("/aidprogramview/add", data=program_form(token, description=""))
    assert added.status_code == 302
    from app.extensions import db
    with app.app_context():
        program = db.session.scalar(select(AidProgram))
        assert (program.name, program.target, program.funding_source, program.start_date, program.end_date,
                program.active, program.description) == ("BLT Dana Desa", "family", "dana_desa", date(2025, 1, 1),
                                                         date(2025, 12, 31), True, "")
        pk = program.id
    listing = client.get("/aidprogramview/list/").get_data(as_text=True)
    assert "BLT Dana Desa" in listing and "Village fund (Dana Desa)" in listing and "Family" in listing
    edited = client.post(f"/aidprogramview/edit/{pk}", data=program_form(token, name="BLT DD 2025", end_date="",
                                                                          active=None))
    assert edited.status_code == 302
    assert count_programs(app, name="BLT DD 2025", active=False) == 1
    assert client.post(f"/aidprogramview/delete/{pk}", data={"csrf_token": token}).status_code == 302
    assert count_programs(app) == 0


def test_programme_with_recipients_keeps_its_kind_of_target_and_is_not_deleted(app):
    """With recipients, a programme cannot switch between person and KK targets, nor be deleted."""
    people = seed(app)
    pk = make_program(app, "PKH", "family")
    make_recipient(app, pk, family_id=people["family"], card="PKH-1")
    client = login_as(app)
    token = csrf_token(client, f"/aidprogramview/edit/{pk}")
    refused = client.post(f"/aidprogramview/edit/{pk}", data=program_form(token, name="PKH", target="person"))
    assert "its target cannot change between a person and a KK" in refused.get_data(as_text=True)
    kept = client.post(f"/aidprogramview/edit/{pk}", data=program_form(token, name="PKH", target="household"))
    assert kept.status_code == 302
    client.post(f"/aidprogramview/delete/{pk}", data={"csrf_token": token})
    assert count_programs(app) == 1 and len(recipients(app, pk)) == 1


def test_list_shows_recipients_per_programme_with_one_grouped_query(app):
    """The list shows each programme's running and ended recipients, counted by one query for the page."""
    from app.extensions import db
    people = seed(app)
    pkh = make_program(app, "PKH", "family")
    pip = make_program(app, "PIP", "person")
    make_program(app, "BPNT", "family")
    make_recipient(app, pkh, family_id=people["family"])
    make_recipient(app, pkh, family_id=people["bima_family"])
    make_recipient(app, pip, resident_id=people["son"])
    make_recipient(app, pip, resident_id=people["wife"], ended_on=date.today() - timedelta(days=3))
    client = login_as(app)
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/aidprogramview/list/")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len([s for s in statements if "aid_recipient" in s]) == 1
    cells = re.findall(r"<td>\s*([^<]*?)\s*</td>\s*</tr>", page)
    assert sorted(cells) == ["0", "1 (1 ended)", "2"], cells


# --- adding recipients one by one --------------------------------------------------------------

def test_search_by_nik_name_or_kk_number_is_paginated(app):
    """The recipient search finds living residents by NIK, name or KK number, 20 per page."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    with db_ctx(app):
        family = make_family(area=make_area(rt="003"))
        for n in range(23):
            make_resident(name=f"Warga Contoh {n:02d}", family=family, shdk=1 if n == 0 else 4,
                          birth=date(2000, 1, 1) + timedelta(days=n))
        make_resident(name="Warga Contoh Almarhum", status=2)
    client = login_as(app)
    url = f"/aidprogramview/recipients/{pk}/add"
    first = client.get(url, query_string={"q": "contoh"}).get_data(as_text=True)
    assert "23 living resident(s) found." in first and first.count("?resident=") == 20
    second = client.get(url, query_string={"q": "contoh", "page": 2}).get_data(as_text=True)
    assert second.count("?resident=") == 3 and "Almarhum" not in first + second
    by_nik = client.get(url, query_string={"q": people["wife_nik"]}).get_data(as_text=True)
    assert "Siti Aminah" in by_nik and "1 living resident(s) found." in by_nik
    spaced = " ".join(people["kk"][i:i + 4] for i in range(0, 16, 4))
    by_kk = client.get(url, query_string={"q": spaced}).get_data(as_text=True)
    assert "3 living resident(s) found." in by_kk and "Andi Santoso" in by_kk
    short = client.get(url, query_string={"q": "31"}).get_data(as_text=True)
    assert "Type at least 4 digits" in short


def test_add_person_recipient_with_card_defaults_and_refuse_duplicate(app):
    """Person target: the recipient is the resident, the card defaults to the register, a second add is refused."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    client = login_as(app)
    form = client.get(f"/aidprogramview/recipients/{pk}/add?resident={people['son']}").get_data(as_text=True)
    assert 'value="Andi Santoso"' in form and f'value="{people["son_nik"]}"' in form and "Jl. Melati 3" in form
    response = add_recipient(client, pk, people["son"], card_number="KIP-123", card_name="ANDI S.", card_nik="",
                             card_address="")
    assert response.status_code == 302
    [row] = recipients(app, pk)
    assert row[:5] == (people["son"], None, "KIP-123", "ANDI S.", people["son_nik"])
    again = add_recipient(client, pk, people["son"], card_number="KIP-999")
    assert again.status_code == 400
    assert "Andi Santoso already receives PIP (card KIP-123)." in again.get_data(as_text=True)
    search = client.get(f"/aidprogramview/recipients/{pk}/add", query_string={"q": "Andi"}).get_data(as_text=True)
    assert "Already receives it" in search
    assert len(recipients(app, pk)) == 1


def test_add_family_recipient_stores_the_kk_and_every_member_sees_it(app):
    """For a family target the recipient is the picked resident's KK; all members see it, another KK does not."""
    from app.aid.services import aid_for_resident
    from app.extensions import db
    from app.residents.models import Resident
    people = seed(app)
    pk = make_program(app, "PKH", "family")
    client = login_as(app)
    form = client.get(f"/aidprogramview/recipients/{pk}/add?resident={people['son']}").get_data(as_text=True)
    assert 'value="Budi Santoso"' in form and f'value="{people["head_nik"]}"' in form  # the card is the head's
    assert add_recipient(client, pk, people["son"], card_number="PKH-0001", card_name="BUDI SANTOSO",
                         card_nik=people["head_nik"], card_address="Jl. Melati 3").status_code == 302
    [row] = recipients(app, pk)
    assert row[:3] == (None, people["family"], "PKH-0001")
    refused = add_recipient(client, pk, people["wife"], card_number="PKH-0002")
    assert refused.status_code == 400
    assert f"The family card {people['kk']} already receives PKH" in refused.get_data(as_text=True)
    with app.app_context():
        for key in ("head", "wife", "son"):
            assert [a["name"] for a in aid_for_resident(db.session.get(Resident, people[key]))] == ["PKH"], key
        assert aid_for_resident(db.session.get(Resident, people["bima"])) == []
    show = client.get(f"/aidprogramview/show/{pk}").get_data(as_text=True)
    assert people["kk"] in show and "Budi Santoso" in show and "PKH-0001" in show


def test_bad_card_values_are_all_reported(app):
    """A bad card NIK and an over-long card number are reported together and nothing is stored."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    client = login_as(app)
    response = add_recipient(client, pk, people["son"], card_number="X" * 41, card_nik="12345")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The card number is too long" in page and "The NIK on the card must be 16 digits" in page
    assert recipients(app, pk) == []


def test_end_resume_and_remove_a_recipient(app):
    """Ending sets ended_on (the row stays), resuming clears it, removing deletes a row of this programme only."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    other = make_program(app, "KIS", "person")
    rid = make_recipient(app, pk, resident_id=people["son"], card="KIP-1")
    foreign = make_recipient(app, other, resident_id=people["son"], card="KIS-1")
    client = login_as(app)
    token = csrf_token(client, f"/aidprogramview/show/{pk}")
    response = client.post(f"/aidprogramview/recipients/{pk}/end/{rid}",
                           data={"csrf_token": token, "ended_on": "2025-06-30"})
    assert response.status_code == 302 and recipients(app, pk)[0][5] == date(2025, 6, 30)
    assert "Ended 30-06-2025" in client.get(f"/aidprogramview/show/{pk}").get_data(as_text=True)
    bad = client.post(f"/aidprogramview/recipients/{pk}/end/{rid}", data={"csrf_token": token, "ended_on": "30/06"})
    assert "is not a date" in client.get(bad.location).get_data(as_text=True)
    client.post(f"/aidprogramview/recipients/{pk}/end/{rid}", data={"csrf_token": token, "undo": "1"})
    assert recipients(app, pk)[0][5] is None
    for action in ("remove", "end"):
        assert client.post(f"/aidprogramview/recipients/{pk}/{action}/{foreign}",
                           data={"csrf_token": token}).status_code == 404
    assert client.post(f"/aidprogramview/recipients/{pk}/remove/{rid}", data={"csrf_token": token}).status_code == 302
    assert recipients(app, pk) == [] and len(recipients(app, other)) == 1


def test_recipients_on_the_programme_page_are_paginated(app):
    """A programme with 30 recipients shows 25 on the first page and 5 on the second."""
    pk = make_program(app, "PIP", "person")
    with db_ctx(app):
        make_village()
        family = make_family(area=make_area())
        ids = [make_resident(name=f"Siswa {n:02d}", family=family, shdk=1 if n == 0 else 4,
                             birth=date(2005, 1, 1) + timedelta(days=n)).id for n in range(30)]
    for rid in ids:
        make_recipient(app, pk, resident_id=rid, card=f"KIP-{rid}")
    client = login_as(app)
    first = client.get(f"/aidprogramview/show/{pk}").get_data(as_text=True)
    second = client.get(f"/aidprogramview/show/{pk}?rpage=2").get_data(as_text=True)
    assert first.count("data-recipient=") == 25 and second.count("data-recipient=") == 5
    assert "Siswa 00" in first and "Siswa 29" in second


# --- import ----------------------------------------------------------------------------------

def test_import_good_csv_for_a_person_programme(app):
    """A CSV (BOM, semicolons, extra column) with nik and card_number imports every row with register defaults."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    data = csv_bytes([["NIK", "Card Number", "card_name", "catatan"],
                      [people["son_nik"], "KIP-001", "", "kelas 9"],
                      [people["wife_nik"], "KIP-002", "SITI A.", ""]], delimiter=";")
    client = login_as(app)
    response = upload(client, pk, data, "pip.csv")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "2 recipient(s) imported into PIP." in page and "Columns not used: catatan." in page
    assert sorted(r[:5] for r in recipients(app, pk)) == sorted([
        (people["son"], None, "KIP-001", "Andi Santoso", people["son_nik"]),
        (people["wife"], None, "KIP-002", "SITI A.", people["wife_nik"])])


def test_import_good_xlsx_for_a_family_programme(app):
    """An XLSX with no_kk (text cells) or a member's nik imports the KKs, with the head as card holder."""
    people = seed(app)
    pk = make_program(app, "BPNT", "family")
    data = xlsx_bytes([["no_kk", "nik", "card_number"], [people["kk"], "", "KKS-1"], ["", people["bima_nik"], "KKS-2"]])
    client = login_as(app)
    assert upload(client, pk, data, "bpnt.xlsx").status_code == 302
    rows = recipients(app, pk)
    assert sorted(r[:5] for r in rows) == sorted([
        (None, people["family"], "KKS-1", "Budi Santoso", people["head_nik"]),
        (None, people["bima_family"], "KKS-2", "Bima Sakti", people["bima_nik"])])


def test_import_with_bad_rows_imports_nothing_and_lists_every_error(app):
    """Unknown NIK, NIK as 3.17101E+15, a duplicate, an existing recipient, no NIK: each listed, nothing written."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    make_recipient(app, pk, resident_id=people["bima"], card="KIP-OLD")
    unknown = make_nik(date(1995, 2, 2), 1, serial=9991)
    data = csv_bytes([["nik", "card_number"],
                      [people["son_nik"], "KIP-001"],
                      [unknown, "KIP-002"],
                      ["3.17101E+15", "KIP-003"],
                      [people["son_nik"], "KIP-004"],
                      [people["bima_nik"], "KIP-005"],
                      ["", "KIP-006"]])
    client = login_as(app)
    response = upload(client, pk, data, "pip.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Nothing was imported." in page and "has 5 problem(s)" in page
    issues = re.findall(r'<tr><td>(\d+)</td><td>([^<]*)</td><td class="value">([^<]*)</td><td>([^<]*)</td></tr>',
                        page)
    assert [(row, column, value) for row, column, value, _ in issues] == [
        ("3", "nik", unknown), ("4", "nik", "3.17101E+15"), ("5", "nik", people["son_nik"]),
        ("6", "nik", people["bima_nik"]), ("7", "nik", "")]
    reasons = [reason for *_, reason in issues]
    assert "No resident with this NIK in the register." in reasons[0]
    assert "changed into a number by a spreadsheet" in reasons[1]
    assert reasons[2] == "The same recipient as row 2."
    assert reasons[3] == "Already a recipient of this programme."
    assert reasons[4] == "Give the NIK."
    assert recipients(app, pk) == [(people["bima"], None, "KIP-OLD", "", "", None)]


def test_import_refuses_numbers_stored_by_a_spreadsheet_in_xlsx(app):
    """An XLSX whose NIK or KK cells are numbers is refused row by row (reported, never repaired)."""
    people = seed(app)
    pk = make_program(app, "PKH", "family")
    data = xlsx_bytes([["no_kk", "nik", "card_number"], [int(people["kk"]), None, "PKH-1"],
                       [None, float(people["son_nik"]), "PKH-2"]], numbers_as_text=False)
    client = login_as(app)
    response = upload(client, pk, data, "pkh.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The spreadsheet stored this KK number as a number" in page
    assert "The spreadsheet stored this NIK as a number" in page
    assert recipients(app, pk) == []


@pytest.mark.parametrize("data, filename, message", [
    (b"", "kosong.csv", "The file is empty."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "lama.xls", "old Excel file (.xls)"),
    (b"PK\x03\x04 broken zip", "rusak.xlsx", "could not be read"),
    (b"nik,catatan\r\n3171011705900001,x\r\n", "kolom.csv", "The column card_number is missing."),
    (b"nik,card_number\r\n", "kosong.csv", "a header but no data rows"),
])
def test_import_refuses_unreadable_or_incomplete_files(app, data, filename, message):
    """Empty, old-Excel, damaged and header-only files, and a missing column, give a clear message."""
    seed(app)
    pk = make_program(app, "PIP", "person")
    response = upload(login_as(app), pk, data, filename)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert recipients(app, pk) == []


# --- export ----------------------------------------------------------------------------------

def test_export_csv_and_xlsx_keep_numbers_as_text(app):
    """The CSV (UTF-8 with BOM) and the XLSX list every recipient; NIK and KK numbers stay 16-digit text."""
    people = seed(app)
    pk = make_program(app, "PKH", "family")
    pip = make_program(app, "PIP", "person")
    make_recipient(app, pk, family_id=people["family"], card="PKH-0001", card_name="=HYPERLINK(\"x\")")
    make_recipient(app, pk, family_id=people["bima_family"], card="PKH-0002", ended_on=date(2025, 6, 30))
    make_recipient(app, pip, resident_id=people["son"], card="KIP-1")
    client = login_as(app)
    response = client.get(f"/aidprogramview/recipients/{pk}/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["program", "target", "nik", "no_kk", "name", "card_number", "card_name", "ended_on"]
    assert sorted(rows[1:]) == sorted([
        ["PKH", "Family", people["head_nik"], people["kk"], "Budi Santoso", "PKH-0001", "'=HYPERLINK(\"x\")", ""],
        ["PKH", "Family", people["bima_nik"], people["bima_kk"], "Bima Sakti", "PKH-0002", "", "2025-06-30"]])
    response = client.get(f"/aidprogramview/recipients/{pip}/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["program", "target", "nik", "no_kk", "name", "card_number", "card_name", "ended_on"]
    assert values[1][:6] == ["PIP", "Person", people["son_nik"], people["kk"], "Andi Santoso", "KIP-1"]
    assert sheet["C2"].data_type == "s" and sheet["D2"].data_type == "s"
    assert client.get(f"/aidprogramview/recipients/{pk}/export.pdf").status_code == 404


# --- roles, anonymous, unknown ids ---------------------------------------------------------------

def test_viewer_reads_programmes_but_cannot_change_recipients(app):
    """A Viewer lists and opens programmes; adding, ending, removing, importing and exporting are refused."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    rid = make_recipient(app, pk, resident_id=people["son"], card="KIP-1")
    viewer = login_as(app, "Viewer")
    assert viewer.get("/aidprogramview/list/").status_code == 200
    show = viewer.get(f"/aidprogramview/show/{pk}").get_data(as_text=True)
    assert "KIP-1" in show and 'id="add-recipient"' not in show and "export.csv" not in show
    token = csrf_token(viewer, "/residentview/list/")
    for method, url in (("get", f"/aidprogramview/recipients/{pk}/add"),
                        ("get", f"/aidprogramview/recipients/{pk}/import"),
                        ("get", f"/aidprogramview/recipients/{pk}/export.csv"), ("get", "/aidprogramview/add"),
                        ("post", f"/aidprogramview/recipients/{pk}/end/{rid}"),
                        ("post", f"/aidprogramview/recipients/{pk}/remove/{rid}")):
        response = getattr(viewer, method)(url, data={"csrf_token": token} if method == "post" else None)
        assert response.status_code == 403, url
    assert recipients(app, pk)[0][5] is None


def test_operator_manages_recipients(app):
    """An Operator adds, imports and exports recipients."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    operator = login_as(app, "Operator")
    assert add_recipient(operator, pk, people["son"], card_number="KIP-1").status_code == 302
    data = csv_bytes([["nik", "card_number"], [people["wife_nik"], "KIP-2"]])
    assert upload(operator, pk, data, "a.csv").status_code == 302
    assert operator.get(f"/aidprogramview/recipients/{pk}/export.xlsx").status_code == 200
    assert len(recipients(app, pk)) == 2


def test_anonymous_and_unknown_programmes(app):
    """Anonymous requests go to the login form; an unknown programme or resident is a 404."""
    people = seed(app)
    pk = make_program(app, "PIP", "person")
    anonymous = app.test_client()
    for url in ("/aidprogramview/list/", f"/aidprogramview/show/{pk}", f"/aidprogramview/recipients/{pk}/add",
                f"/aidprogramview/recipients/{pk}/export.csv"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login/" in response.location, url
    client = login_as(app)
    assert client.get("/aidprogramview/show/999999").status_code == 404
    assert client.get("/aidprogramview/recipients/999999/add").status_code == 404
    assert client.get(f"/aidprogramview/recipients/{pk}/add?resident=999999").status_code == 404
    assert client.get("/aidprogramview/recipients/999999/export.csv").status_code == 404
    assert add_recipient(client, pk, 999999).status_code == 404
    assert recipients(app, pk) == [] and people


# --- the "Done when" of issue 4 (aid) -----------------------------------------------------------

def test_done_when_family_pkh_and_personal_pip_each_once(app):
    """Set up through the operator panel: Siti sees PKH (her KK) and PIP (her own) once each; Bima sees neither."""
    people = seed(app)
    client = login_as(app, "Operator")
    token = csrf_token(client, "/aidprogramview/add")
    for name, target in (("PKH", "family"), ("PIP", "person")):
        assert client.post("/aidprogramview/add", data=program_form(
            token, name=name, target=target, funding_source="apbn", end_date="")).status_code == 302
    from app.extensions import db
    with app.app_context():
        ids = dict(db.session.execute(select(AidProgram.name, AidProgram.id)).all())
    # PKH goes to the KK through the head, PIP to Siti herself.
    assert add_recipient(client, ids["PKH"], people["head"], card_number="PKH-0001").status_code == 302
    assert add_recipient(client, ids["PIP"], people["wife"], card_number="PIP-7788").status_code == 302
    siti = app.test_client()
    assert portal_login(siti, people["wife_nik"], PIN).status_code == 302
    siti.get("/bahasa/en")
    page = siti.get("/layanan-mandiri/bantuan").get_data(as_text=True)
    assert page.count("<h2>PKH</h2>") == 1 and page.count("<h2>PIP</h2>") == 1
    assert "PKH-0001" in page and "PIP-7788" in page
    bima = app.test_client()
    assert portal_login(bima, people["bima_nik"], "604917").status_code == 302
    bima.get("/bahasa/en")
    other = bima.get("/layanan-mandiri/bantuan").get_data(as_text=True)
    assert "PKH" not in other and "PIP" not in other
    # The operator pages are not reachable with a portal login.
    response = bima.get(f"/aidprogramview/show/{ids['PKH']}")
    assert response.status_code == 302 and "/login/" in response.location


def test_names_with_markup_show_as_text(app):
    """A programme, a resident and an import value holding HTML are shown escaped in pages, notices and errors."""
    people = seed(app)
    pk = make_program(app, "<script>alert(1)</script>", "person")
    with db_ctx(app) as session:
        from app.residents.models import Resident
        session.get(Resident, people["son"]).name = "<b>Andi</b>"
    client = login_as(app)
    added = add_recipient(client, pk, people["son"], card_number="<i>KIP</i>")
    pages = [client.get(added.location).get_data(as_text=True)]  # with the "was added" notice
    pages.append(add_recipient(client, pk, people["son"]).get_data(as_text=True))  # "already receives"
    pages.append(client.get(f"/aidprogramview/recipients/{pk}/add?q=andi").get_data(as_text=True))
    pages.append(client.get("/aidprogramview/list/").get_data(as_text=True))
    pages.append(upload(client, pk, csv_bytes([["nik", "card_number"], ["<img src=x onerror=alert(1)>", "x"]]),
                        "<b>x</b>.csv").get_data(as_text=True))
    for page in pages:
        assert "<script>alert(1)</script>" not in page and "<b>Andi</b>" not in page
        assert "<i>KIP</i>" not in page and "<img src=x" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0] and "&lt;b&gt;Andi&lt;/b&gt; was added" in pages[0]
    assert "&lt;b&gt;Andi&lt;/b&gt; already receives" in pages[1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[4]
