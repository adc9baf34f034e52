"""The portal home page: what needs the resident's attention at a glance (issue 4)."""
import re

from app.aid.models import AidProgram, AidRecipient
from app.extensions import db
from app.letters.models import LetterRequest, LetterStatus, LetterType
from app.messages import services as messages
from tests.conftest import (make_account, make_admin, make_area, make_family, make_resident, make_village,
                            portal_login)


def tile(page, label):
    """The number shown on the tile whose label is ``label``."""
    match = re.search(r"<strong>(\d+)</strong><span>" + re.escape(label), page)
    assert match, label
    return int(match.group(1))


def test_home_counts(app, client, ctx):
    """Returned requests, ready letters, unread office replies and active aid are counted."""
    make_village()
    family = make_family(area=make_area())
    person = make_resident(family=family)
    make_account(person, "582913")
    lt = db.session.query(LetterType).filter_by(code="pengantar_umum").one()
    for status in (LetterStatus.INCOMPLETE, LetterStatus.READY, LetterStatus.READY, LetterStatus.CHECKING):
        db.session.add(LetterRequest(resident_id=person.id, letter_type=lt, purpose="x", phone="+6281234567890",
                                     status=int(status)))
    msg, _ = messages.start_conversation(person, "message", "Jalan rusak", "Mohon diperbaiki", [], "t" * 32)
    messages.reply_as_office(msg, make_admin("operator", role="Operator"), "Akan kami cek")
    pkh = AidProgram(name="PKH", target="family", funding_source="apbn", active=True)
    db.session.add_all([pkh, AidRecipient(program=pkh, family_id=family.id, card_number="K1")])
    db.session.commit()
    portal_login(client, person.nik, "582913")
    client.get("/bahasa/en")
    page = client.get("/layanan-mandiri/").get_data(as_text=True)
    assert tile(page, "Requests to fix") == 1
    assert tile(page, "Letters ready for pick-up") == 2
    assert tile(page, "Unread messages") == 1
    assert tile(page, "Active aid") == 1
