"""Program Bantuan in the portal: the family-target rule, each programme once, ownership, query count."""
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from app.aid import services
from app.aid.models import AidProgram, AidRecipient
from app.core.codes import STATUS_DEAD
from app.extensions import db
from tests.conftest import make_account, make_area, make_family, make_resident, make_village, portal_login

PIN = "582913"


def program(name, target, source="apbn", active=True, **kw):
    item = AidProgram(name=name, target=target, funding_source=source, active=active,
                      start_date=kw.pop("start_date", date(2025, 1, 1)), end_date=kw.pop("end_date", date(2026, 12, 31)),
                      **kw)
    db.session.add(item)
    db.session.flush()
    return item


def recipient(prog, resident=None, family=None, card="", **kw):
    row = AidRecipient(program=prog, resident_id=resident.id if resident else None,
                       family_id=family.id if family else None, card_number=card, **kw)
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def household(ctx):
    """KK Santoso: head Budi, wife Siti (has an account), son Andi. KK gets PKH, Siti gets PIP."""
    make_village()
    family = make_family(area=make_area())
    head = make_resident(name="Budi Santoso", family=family, shdk=1)
    wife = make_resident(name="Siti Aminah", sex=2, family=family, shdk=3, birth=date(1992, 3, 4))
    son = make_resident(name="Andi Santoso", family=family, shdk=4, birth=date(2010, 6, 1))
    make_account(wife, PIN)
    make_account(head, "604917")
    pkh = program("PKH", "family")
    pip = program("PIP", "person", "apbn")
    recipient(pkh, family=family, card="PKH-0001", card_name="BUDI SANTOSO")
    recipient(pip, resident=wife, card="PIP-7788")
    db.session.commit()
    return {"family": family, "head": head, "wife": wife, "son": son, "pkh": pkh, "pip": pip}


@pytest.fixture
def stranger(ctx):
    person = make_resident(name="Bima Sakti", family=make_family(area=make_area(rt="009")), birth=date(1980, 1, 1))
    make_account(person, "715028")
    return person


def login(app, person, pin):
    client = app.test_client()
    assert portal_login(client, person.nik, pin).status_code == 302
    client.get("/bahasa/en")
    return client


def names(rows):
    return [r["name"] for r in rows]


def test_family_aid_and_personal_aid_each_once(app, household):
    """cases/ "family aid": the wife sees PKH (via the KK) and PIP (personally), once each."""
    from flask_babel import force_locale
    with force_locale("en"):
        rows = services.aid_for_resident(household["wife"])
        by_name = {r["name"]: r for r in rows}
        assert str(by_name["PIP"]["target_label"]) == "Person"
    assert sorted(names(rows)) == ["PIP", "PKH"]
    assert by_name["PKH"]["via"] == ["family"] and by_name["PKH"]["card_number"] == "PKH-0001"
    assert by_name["PIP"]["via"] == ["person"]
    assert all(r["active"] and not r["ended"] for r in rows)
    page = login(app, household["wife"], PIN).get("/layanan-mandiri/bantuan").get_data(as_text=True)
    assert page.count("<h2>PKH</h2>") == 1 and page.count("<h2>PIP</h2>") == 1
    assert "PKH-0001" in page and "PIP-7788" in page and "State budget (APBN)" in page
    assert services.active_aid_count(household["wife"]) == 2
    assert names(services.aid_for_resident(household["son"])) == ["PKH"]


def test_programme_received_both_ways_is_listed_once(app, household):
    """Individually and through the KK in the same programme: one row with both card numbers."""
    bpnt = program("BPNT", "family", "apbn")
    recipient(bpnt, family=household["family"], card="BPNT-KK")
    recipient(bpnt, resident=household["wife"], card="BPNT-SITI")
    db.session.commit()
    rows = [r for r in services.aid_for_resident(household["wife"]) if r["name"] == "BPNT"]
    assert len(rows) == 1
    assert rows[0]["card_numbers"] == ["BPNT-SITI", "BPNT-KK"] and rows[0]["via"] == ["person", "family"]
    assert services.active_aid_count(household["wife"]) == 3
    page = login(app, household["wife"], PIN).get("/layanan-mandiri/bantuan").get_data(as_text=True)
    assert page.count("<h2>BPNT</h2>") == 1 and "BPNT-SITI, BPNT-KK" in page
    assert "Personally and through your family (KK)" in page


def test_another_family_sees_neither(app, household, stranger):
    """A resident of another KK sees no programme and gets the empty state."""
    assert services.aid_for_resident(stranger) == [] and services.active_aid_count(stranger) == 0
    page = login(app, stranger, "715028").get("/layanan-mandiri/bantuan").get_data(as_text=True)
    assert "PKH" not in page and "PIP" not in page and "not recorded as a recipient" in page


def test_resident_without_a_family_sees_only_personal_aid(app, household):
    """A resident with no KK gets their personal aid only (no family condition on NULL)."""
    loner = make_resident(name="Tanpa KK", birth=date(1970, 2, 2))
    recipient(household["pip"], resident=loner, card="PIP-LONE")
    db.session.commit()
    assert [(r["name"], r["card_number"]) for r in services.aid_for_resident(loner)] == [("PIP", "PIP-LONE")]


def test_aid_stays_with_the_family_after_the_head_dies(app, household):
    """The head of the recipient KK dies: the wife and son still see PKH, as active."""
    household["head"].basic_status_id = STATUS_DEAD
    db.session.commit()
    for person in (household["wife"], household["son"]):
        pkh = [r for r in services.aid_for_resident(person) if r["name"] == "PKH"]
        assert len(pkh) == 1 and pkh[0]["active"], person.name
    page = login(app, household["wife"], PIN).get("/layanan-mandiri/bantuan").get_data(as_text=True)
    assert "<h2>PKH</h2>" in page


def test_ended_recipient_and_inactive_programme_are_shown_as_not_active(app, household):
    """An ended recipient row and a programme switched off are listed, marked, and not counted."""
    blt = program("BLT Dana Desa", "family", "dana_desa")
    recipient(blt, family=household["family"], card="BLT-1", ended_on=date.today() - timedelta(days=3))
    household["pip"].active = False
    db.session.commit()
    rows = {r["name"]: r for r in services.aid_for_resident(household["wife"])}
    assert rows["BLT Dana Desa"]["ended"] and not rows["BLT Dana Desa"]["active"]
    assert not rows["PIP"]["active"] and not rows["PIP"]["ended"]
    assert rows["PKH"]["active"]
    assert names(services.aid_for_resident(household["wife"]))[0] == "PKH"  # active first
    assert services.active_aid_count(household["wife"]) == 1
    page = login(app, household["wife"], PIN).get("/layanan-mandiri/bantuan").get_data(as_text=True)
    assert "Ended" in page and "Not active" in page and "Village fund (Dana Desa)" in page


def test_recipient_ending_in_the_future_is_still_active(ctx, household):
    """An end date set ahead of time keeps the aid active until that day."""
    db.session.get(AidRecipient, household["pkh"].recipients.first().id).ended_on = date.today() + timedelta(days=30)
    db.session.commit()
    assert {r["name"]: r["active"] for r in services.aid_for_resident(household["wife"])}["PKH"]


def test_aid_urls_reveal_nothing_of_others(app, household, stranger):
    """There are no ids in aid URLs: /bantuan/<id> is 404; logged out is sent to the login page."""
    client = login(app, stranger, "715028")
    for url in (f"/layanan-mandiri/bantuan/{household['pkh'].id}", f"/layanan-mandiri/bantuan/{household['pip'].id}",
                "/layanan-mandiri/bantuan?resident_id=%d" % household["wife"].id):
        response = client.get(url)
        assert response.status_code == 404 or "PKH" not in response.get_data(as_text=True), url
    assert client.get(f"/layanan-mandiri/bantuan/{household['pkh'].id}").status_code == 404
    response = app.test_client().get("/layanan-mandiri/bantuan")
    assert response.status_code == 302 and "/layanan-mandiri/masuk" in response.headers["Location"]


def test_labels():
    """Every target and funding source code has a label; unknown codes are shown as they are."""
    from app.aid.models import FUNDING_SOURCES, TARGETS
    assert set(services.TARGET_LABELS) == set(TARGETS)
    assert set(services.FUNDING_SOURCE_LABELS) == set(FUNDING_SOURCES)
    assert services.target_label("xyz") == "xyz" and services.funding_source_label("xyz") == "xyz"


def test_aid_page_uses_a_constant_number_of_queries(app, household):
    """The Bantuan page issues as many SQL statements for 10 programmes as for 1."""
    client = login(app, household["wife"], PIN)
    db.session.query(AidRecipient).delete()
    db.session.commit()
    recipient(household["pkh"], family=household["family"], card="K-0")
    db.session.commit()

    def count():
        statements = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = client.get("/layanan-mandiri/bantuan")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(statements), response.get_data(as_text=True)

    one, _ = count()
    for i in range(1, 10):
        prog = program(f"Program {i}", "person" if i % 2 else "family")
        recipient(prog, resident=household["wife"] if i % 2 else None,
                  family=None if i % 2 else household["family"], card=f"K-{i}")
    db.session.commit()
    ten, page = count()
    assert one == ten and page.count('class="aid-card') == 10
