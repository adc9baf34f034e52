"""Program Bantuan services: what a resident receives, and the labels of codes.

The rule (DOMAIN.md §6): a resident sees every programme for which they are an individual
recipient, or their KK is (family and household targets), each programme once. A family
recipient row points at the KK, not at its head, so when the head dies or moves the other
members keep seeing the aid until an operator ends it (``ended_on``).
"""
from app.core.i18n import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.aid.models import FUNDING_SOURCES, TARGETS, AidProgram, AidRecipient
from app.core.formatting import local_today
from app.extensions import db

TARGET_LABELS = {"person": _l("Person"), "family": _l("Family"), "household": _l("Household")}
FUNDING_SOURCE_LABELS = {
    "apbn": _l("State budget (APBN)"),
    "apbd_province": _l("Provincial budget (APBD)"),
    "apbd_regency": _l("Regency budget (APBD)"),
    "dana_desa": _l("Village fund (Dana Desa)"),
    "other": _l("Other"),
}


def target_label(code):
    """Translated label of a programme target ("person", "family", "household")."""
    return TARGET_LABELS.get(code, code)


def funding_source_label(code):
    """Translated label of a funding source code (one of ``FUNDING_SOURCES``)."""
    return FUNDING_SOURCE_LABELS.get(code, code)


def target_choices():
    """``[(code, label)]`` of targets in model order (for forms)."""
    return [(code, TARGET_LABELS[code]) for code in TARGETS]


def funding_source_choices():
    """``[(code, label)]`` of funding sources in model order (for forms)."""
    return [(code, FUNDING_SOURCE_LABELS[code]) for code in FUNDING_SOURCES]


def _whose(resident):
    """SQL condition: recipient rows of the resident personally or of their KK."""
    mine = AidRecipient.resident_id == resident.id
    if resident.family_id is None:
        return mine
    return or_(mine, AidRecipient.family_id == resident.family_id)


def _recipient_active(recipient, today):
    return recipient.ended_on is None or recipient.ended_on > today


def aid_for_resident(resident):
    """Every programme the resident receives, personally or through their KK, each once.

    One query (recipient rows joined to their programme), grouped here by programme. A
    programme is "active" when it is marked active and at least one of the resident's recipient
    rows has not ended (``ended_on`` empty or after today, village time). Inactive and ended
    programmes are listed too, after the active ones, so the resident sees their history.

    Args:
        resident: the :class:`Resident` (only ``id`` and ``family_id`` are used).

    Returns:
        list of dicts, active first then by name::

            {"program_id": int, "name": str, "description": str,
             "target": str, "target_label": str,
             "funding_source": str, "funding_source_label": str,
             "start_date": date | None, "end_date": date | None,
             "card_numbers": [str, ...],   # personal card first, then the family's; no blanks
             "card_number": str,           # the same joined with ", "
             "via": ["person"] / ["family"] / ["person", "family"],
             "active": bool, "ended": bool, "ended_on": date | None}
    """
    rows = db.session.execute(
        select(AidRecipient, AidProgram).join(AidProgram, AidProgram.id == AidRecipient.program_id)
        .where(_whose(resident))
        .order_by(AidProgram.name, AidProgram.id, AidRecipient.family_id.is_not(None), AidRecipient.id)).all()
    today = local_today()
    by_program = {}
    for recipient, program in rows:
        item = by_program.get(program.id)
        if item is None:
            item = by_program[program.id] = {
                "program_id": program.id, "name": program.name, "description": program.description or "",
                "target": program.target, "target_label": target_label(program.target),
                "funding_source": program.funding_source,
                "funding_source_label": funding_source_label(program.funding_source),
                "start_date": program.start_date, "end_date": program.end_date,
                "card_numbers": [], "via": [], "program_active": bool(program.active),
                "running": False, "ended_on": None,
            }
        via = "person" if recipient.resident_id is not None else "family"
        if via not in item["via"]:
            item["via"].append(via)
        number = (recipient.card_number or "").strip()
        if number and number not in item["card_numbers"]:
            item["card_numbers"].append(number)
        if _recipient_active(recipient, today):
            item["running"] = True
        elif item["ended_on"] is None or recipient.ended_on > item["ended_on"]:
            item["ended_on"] = recipient.ended_on
    result = []
    for item in by_program.values():
        running = item.pop("running")
        program_active = item.pop("program_active")
        item["card_number"] = ", ".join(item["card_numbers"])
        item["ended"] = not running
        if running:
            item["ended_on"] = None
        item["active"] = program_active and running
        result.append(item)
    result.sort(key=lambda i: (not i["active"], i["name"].lower(), i["program_id"]))
    return result


def active_aid_count(resident):
    """Number of active programmes the resident receives, personally or via the KK (one COUNT).

    Counts each programme once, with the rule of :func:`aid_for_resident`.
    """
    today = local_today()
    return db.session.scalar(
        select(func.count(func.distinct(AidRecipient.program_id)))
        .join(AidProgram, AidProgram.id == AidRecipient.program_id)
        .where(_whose(resident), AidProgram.active.is_(True),
               or_(AidRecipient.ended_on.is_(None), AidRecipient.ended_on > today)))
