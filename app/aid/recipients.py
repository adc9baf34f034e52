"""Aid recipients: counts, search, add/end, spreadsheet import and export (DOMAIN.md §6).

Plain functions used by the operator view (app/aid/admin.py) and reusable from the CLI: they
flush and leave the commit to the caller (STYLE.md habit 2) and gather every problem (habit 3).
For a person target the recipient is a resident; for a family or household target it is the
KK (``family_id``), so the aid stays with the family when its head dies or moves.
"""
import csv
import io
import logging

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.aid import services
from app.aid.models import AidRecipient
from app.core.codes import SHDK_HEAD, STATUS_ALIVE
from app.core.formatting import local_today
from app.core.i18n import lazy_gettext as _l
from app.core.nik import check_kk_number, check_nik, normalize_number
from app.extensions import db
from app.residents.models import Family, Resident

log = logging.getLogger(__name__)

#: Limits of the card fields (the model's column sizes).
MAX_CARD_NUMBER, MAX_CARD_NAME, MAX_CARD_ADDRESS = 40, 100, 250
#: Rows per page of a programme's recipients and of the resident search.
RECIPIENTS_PER_PAGE = 25
SEARCH_PER_PAGE = 20
#: The most rows one import file may hold (a village's programme is a few hundred).
MAX_IMPORT_ROWS = 10000
#: Columns of the export, in order.
EXPORT_COLUMNS = ("program", "target", "nik", "no_kk", "name", "card_number", "card_name", "ended_on")


def is_family_target(target):
    """True for targets whose recipient is a KK (family, household), False for a person."""
    return target in ("family", "household")


class RecipientError(ValueError):
    """A recipient cannot be added; ``errors`` lists every reason (translatable)."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


# --- counts and lists -----------------------------------------------------------------------

def recipient_counts(program_ids):
    """Recipients per programme, in one grouped query.

    Returns:
        dict ``{program_id: {"active": int, "ended": int}}``; a recipient has ended when
        ``ended_on`` is today or earlier (village time). Programmes without recipients are absent.
    """
    if not program_ids:
        return {}
    ended = and_(AidRecipient.ended_on.is_not(None), AidRecipient.ended_on <= local_today())
    rows = db.session.execute(
        select(AidRecipient.program_id, func.count(AidRecipient.id),
               func.sum(case((ended, 1), else_=0)))
        .where(AidRecipient.program_id.in_(list(program_ids))).group_by(AidRecipient.program_id)).all()
    return {pid: {"active": total - int(n_ended or 0), "ended": int(n_ended or 0)} for pid, total, n_ended in rows}


def _recipient_rows(program):
    """SELECT of a programme's recipients with who they are, as plain columns (no per-row query).

    Columns: the AidRecipient, the person's name and NIK (person target), the KK number (the
    recipient KK, or the person's KK), and the name and NIK of the KK's head.
    """
    person, head = aliased(Resident), aliased(Resident)
    family = aliased(Family)
    return (select(AidRecipient, person.name.label("person_name"), person.nik.label("person_nik"),
                   family.kk_number.label("kk_number"), head.name.label("head_name"), head.nik.label("head_nik"))
            .outerjoin(person, person.id == AidRecipient.resident_id)
            .outerjoin(family, family.id == func.coalesce(AidRecipient.family_id, person.family_id))
            .outerjoin(head, and_(head.family_id == family.id, head.family_relationship_id == SHDK_HEAD))
            .where(AidRecipient.program_id == program.id)), person, head


def _row_dict(row, today):
    recipient = row[0]
    is_family = recipient.family_id is not None
    return {
        "recipient": recipient, "id": recipient.id, "is_family": is_family,
        "name": (row.head_name or "") if is_family else (row.person_name or ""),
        "nik": (row.head_nik or "") if is_family else (row.person_nik or ""),
        "kk_number": row.kk_number or "",
        "ended": recipient.ended_on is not None and recipient.ended_on <= today,
    }


def recipient_page(program, page=1, per_page=RECIPIENTS_PER_PAGE):
    """One page of a programme's recipients: running first, then by name. Two queries.

    Returns:
        tuple ``(rows, total)``; rows are dicts ``{"recipient", "id", "is_family", "name", "nik",
        "kk_number", "ended"}`` (for a KK: the head's name and NIK).
    """
    stmt, person, head = _recipient_rows(program)
    total = db.session.scalar(select(func.count(AidRecipient.id)).where(AidRecipient.program_id == program.id))
    today = local_today()
    ended = and_(AidRecipient.ended_on.is_not(None), AidRecipient.ended_on <= today)
    rows = db.session.execute(
        stmt.order_by(case((ended, 1), else_=0), func.coalesce(person.name, head.name), AidRecipient.id)
        .offset((max(1, page) - 1) * per_page).limit(per_page)).all()
    return [_row_dict(row, today) for row in rows], total


def search_residents(program, query, page=1, per_page=SEARCH_PER_PAGE):
    """Living residents matching ``query``, for picking a recipient (paginated in SQL, two queries).

    Digits (spaces, dots and dashes allowed) match the start of a NIK or of a KK number, at
    least 4 of them; anything else matches a part of the name, at least 2 characters.

    Returns:
        tuple ``(rows, total, error)``: rows are dicts ``{"id", "nik", "name", "birth_date",
        "kk_number", "address", "has_family", "already"}`` where ``already`` says the resident
        (person target) or their KK (family target) is a recipient of ``program`` already;
        ``error`` is a message when the query is too short (rows empty then).
    """
    text = (query or "").strip()[:100]
    digits = normalize_number(text)
    if digits.isascii() and digits.isdigit():
        if len(digits) < 4:
            return [], 0, _l("Type at least 4 digits of a NIK or KK number, or a name.")
        match = or_(Resident.nik.startswith(digits, autoescape=True),
                    Family.kk_number.startswith(digits, autoescape=True))
        order = (Family.kk_number, Resident.family_relationship_id, Resident.name, Resident.id)
    else:
        if len(text) < 2:
            return [], 0, _l("Type at least 2 letters of the name.")
        match = Resident.name.icontains(text, autoescape=True)
        order = (Resident.name, Resident.id)
    if is_family_target(program.target):
        already = exists().where(AidRecipient.program_id == program.id, AidRecipient.family_id == Resident.family_id)
    else:
        already = exists().where(AidRecipient.program_id == program.id, AidRecipient.resident_id == Resident.id)
    base = (select(Resident.id, Resident.nik, Resident.name, Resident.birth_date, Resident.family_id,
                   Family.kk_number, Family.address, already.label("already"))
            .outerjoin(Family, Family.id == Resident.family_id)
            .where(Resident.basic_status_id == STATUS_ALIVE, match))
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.session.execute(base.order_by(*order).offset((max(1, page) - 1) * per_page).limit(per_page)).all()
    return [{"id": r.id, "nik": r.nik, "name": r.name, "birth_date": r.birth_date, "kk_number": r.kk_number or "",
             "address": r.address or "", "has_family": r.family_id is not None, "already": bool(r.already)}
            for r in rows], total, None


# --- adding, ending, removing ---------------------------------------------------------------

def _head_of(family_id):
    if family_id is None:
        return None
    return db.session.scalar(select(Resident).where(Resident.family_id == family_id,
                                                    Resident.family_relationship_id == SHDK_HEAD).limit(1))


def _register_address(family):
    """The KK's address with its area, as on the register (``Jl. Melati 3, RT 001 / RW 002 / ...``)."""
    if family is None:
        return ""
    parts = [p for p in ((family.address or "").strip(), str(family.area) if family.area else "") if p]
    return ", ".join(parts)[:MAX_CARD_ADDRESS]


def card_defaults(program, resident):
    """The card identity as the register has it: the resident, or for a KK its head.

    Returns:
        dict ``{"card_name", "card_nik", "card_address"}`` (strings, within the column sizes).
    """
    holder = resident
    if is_family_target(program.target):
        holder = _head_of(resident.family_id) or resident
    return {"card_name": (holder.name or "")[:MAX_CARD_NAME], "card_nik": holder.nik or "",
            "card_address": _register_address(resident.family)}


def _existing(program, resident_id=None, family_id=None):
    query = select(AidRecipient).where(AidRecipient.program_id == program.id)
    query = query.where(AidRecipient.resident_id == resident_id) if resident_id is not None \
        else query.where(AidRecipient.family_id == family_id)
    return db.session.scalar(query.limit(1))


def _card_errors(card_number, card_name, card_nik, card_address):
    errors = []
    if len(card_number) > MAX_CARD_NUMBER:
        errors.append(_l("The card number is too long (at most %(n)d characters).", n=MAX_CARD_NUMBER))
    if len(card_name) > MAX_CARD_NAME:
        errors.append(_l("The name on the card is too long (at most %(n)d characters).", n=MAX_CARD_NAME))
    if card_nik and not (len(card_nik) == 16 and card_nik.isascii() and card_nik.isdigit()):
        errors.append(_l("The NIK on the card must be 16 digits (or empty)."))
    if len(card_address) > MAX_CARD_ADDRESS:
        errors.append(_l("The address on the card is too long (at most %(n)d characters).", n=MAX_CARD_ADDRESS))
    return errors


def add_recipient(program, resident, card_number="", card_name="", card_nik="", card_address=""):
    """Add ``resident`` (person target) or the resident's KK (family/household target) to ``program``.

    Empty card name, NIK and address take the register's values (:func:`card_defaults`).

    Args:
        program: the :class:`AidProgram`.
        resident: the living :class:`Resident` the operator picked.
        card_number, card_name, card_nik, card_address: as printed on the card (stripped here;
            the NIK's spaces, dots and dashes are removed).

    Returns:
        AidRecipient (flushed; the caller commits).

    Raises:
        RecipientError: every reason it cannot be added (not living, no KK for a family
            programme, already a recipient, card fields too long or a bad card NIK).
    """
    card_number, card_name, card_address = ((v or "").strip() for v in (card_number, card_name, card_address))
    card_nik = normalize_number((card_nik or "").strip())
    errors = []
    family_target = is_family_target(program.target)
    if resident.basic_status_id != STATUS_ALIVE:
        errors.append(_l("%(name)s is not a living resident of the village.", name=resident.name))
    if family_target and resident.family_id is None:
        errors.append(_l("%(name)s has no family card (KK) in the register, and this programme is given to a KK.",
                         name=resident.name))
    elif family_target:
        other = _existing(program, family_id=resident.family_id)
        if other is not None:
            errors.append(_l("The family card %(kk)s already receives %(program)s (card %(card)s).",
                             kk=resident.family.kk_number, program=program.name, card=other.card_number or "-"))
    else:
        other = _existing(program, resident_id=resident.id)
        if other is not None:
            errors.append(_l("%(name)s already receives %(program)s (card %(card)s).", name=resident.name,
                             program=program.name, card=other.card_number or "-"))
    errors += _card_errors(card_number, card_name, card_nik, card_address)
    if errors:
        raise RecipientError(errors)
    defaults = card_defaults(program, resident)
    recipient = AidRecipient(program_id=program.id, card_number=card_number,
                             card_name=card_name or defaults["card_name"], card_nik=card_nik or defaults["card_nik"],
                             card_address=card_address or defaults["card_address"],
                             resident_id=None if family_target else resident.id,
                             family_id=resident.family_id if family_target else None)
    db.session.add(recipient)
    try:
        db.session.flush()
    except IntegrityError:  # added by someone else at the same moment; the caller rolls back
        raise RecipientError([_l("This recipient was just added by someone else.")]) from None
    return recipient


def end_recipient(recipient, ended_on):
    """End the aid for ``recipient`` on ``ended_on`` (a date), or resume it with None (flushed)."""
    recipient.ended_on = ended_on
    db.session.flush()


# --- import ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportIssue:
    """One problem in an import file: spreadsheet row (1 = header), column name, value, reason."""

    row: int
    column: str
    value: str
    message: str


#: Header names accepted for each import column (compared lower-case, spaces and dashes as _).
IMPORT_HEADERS = {"nik": "nik", "no_kk": "no_kk", "nokk": "no_kk", "kk": "no_kk", "kk_number": "no_kk",
                  "card_number": "card_number", "no_kartu": "card_number", "card_name": "card_name",
                  "nama_kartu": "card_name"}
_SCIENTIFIC = re.compile(r"^[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$")
_DECIMAL = re.compile(r"^[0-9]+[.,][0-9]+$")


class _Number:
    """A cell that a spreadsheet stored as a number (keeps how it looked, for the report)."""

    def __init__(self, value):
        self.value = value

    def __str__(self):
        if isinstance(self.value, float) and self.value.is_integer() and abs(self.value) < 1e15:
            return str(int(self.value))
        return str(self.value)


def _header_key(value):
    text = re.sub(r"[\s\-.]+", "_", str(value or "").strip().lower())
    return IMPORT_HEADERS.get(text, text)


def read_sheet(data):
    """The rows of an uploaded CSV or XLSX file (the format is decided by the content).

    XLSX: the first worksheet, values as stored; numbers come back as :class:`_Number`. CSV:
    UTF-8 (with or without BOM), else Windows-1252; ``,``, ``;`` or tab, sniffed from the header.

    Returns:
        tuple ``(rows, error)``: rows is a list of ``(row_number, [cell, ...])`` without empty
        rows, cells being ``str`` (stripped) or :class:`_Number`; error is a message when the
        file cannot be read (rows empty then).
    """
    if not data:
        return [], _l("The file is empty.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:4] == b"\xd0\xcf\x11\xe0":
        return [], _l("This is an old Excel file (.xls). Save it as Excel workbook (.xlsx) or CSV and upload it again.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return [], _l("The file is neither a CSV text file nor an XLSX workbook.")
    if "\x00" in text:
        return [], _l("The file is neither a CSV text file nor an XLSX workbook.")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    rows = []
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        cells = [c.strip() for c in cells]
        if any(cells):
            rows.append((number, cells))
        if len(rows) > MAX_IMPORT_ROWS + 1:
            break
    return rows, None


def _read_xlsx(data):
    from openpyxl import load_workbook
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign zip
        log.info("aid import: unreadable XLSX (%s)", type(exc).__name__)
        return [], _l("The XLSX file could not be read. Open it in a spreadsheet and save it again as .xlsx.")
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = []
            for value in values:
                if value is None:
                    cells.append("")
                elif isinstance(value, bool):
                    cells.append(str(value))
                elif isinstance(value, (int, float)):
                    cells.append(_Number(value))
                elif isinstance(value, (date, datetime)):
                    cells.append(value.isoformat())
                else:
                    cells.append(str(value).strip())
            if any(str(c) for c in cells):
                rows.append((number, cells))
            if len(rows) > MAX_IMPORT_ROWS + 1:
                break
    finally:
        workbook.close()
    return rows, None


def _number_problem(value, kind):
    """Why a NIK / KK cell cannot be used as written, or None (the normalised digits are fine).

    Spreadsheet numbers are reported, never repaired: past 15 digits the last ones are lost.
    """
    if isinstance(value, _Number):
        return _l("The spreadsheet stored this %(what)s as a number (%(value)s), so its last digits may be lost. "
                  "Format the column as text and type the number again.",
                  what=_l("NIK") if kind == "nik" else _l("KK number"), value=str(value))
    if _SCIENTIFIC.match(value) or _DECIMAL.match(value):
        return _l("This %(what)s was changed into a number by a spreadsheet (%(value)s): its last digits are lost. "
                  "Format the column as text and type the number again.",
                  what=_l("NIK") if kind == "nik" else _l("KK number"), value=value)
    check = check_nik(value) if kind == "nik" else check_kk_number(value)
    if not check.ok:
        return " ".join(str(e) for e in check.errors)
    return None


def _text_cell(value, column, row, issues, limit):
    """A card number / name cell as text; numbers and over-long values become issues."""
    if isinstance(value, _Number):
        if isinstance(value.value, float) and not value.value.is_integer() or abs(value.value) >= 1e15:
            issues.append(ImportIssue(row, column, str(value), str(_l(
                "The spreadsheet stored this as a number, so its last digits may be lost. Format the column as "
                "text and type it again."))))
            return ""
        value = str(value)
    if len(value) > limit:
        issues.append(ImportIssue(row, column, value[:60], str(_l("Too long (at most %(n)d characters).", n=limit))))
    return value


def _chunks(values, size=500):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def check_import(program, rows):
    """Check every row of an import file against the register and the programme.

    Args:
        program: the :class:`AidProgram`.
        rows: from :func:`read_sheet`; the first row is the header.

    Returns:
        tuple ``(plan, issues, ignored)``: plan is a list of dicts of AidRecipient values (one per
        data row, empty when there are issues), issues a list of :class:`ImportIssue` (all of
        them), ignored the header names that are not import columns. A handful of queries in
        total (lookups in chunks of 500), whatever the number of rows.
    """
    issues = []
    if not rows:
        return [], [ImportIssue(1, "", "", str(_l("The file has no rows.")))], []
    header_row, header = rows[0]
    keys = [_header_key(h) for h in header]
    columns, ignored = {}, []
    for index, key in enumerate(keys):
        if key in columns:
            issues.append(ImportIssue(header_row, str(header[index]), str(header[index]),
                                      str(_l("This column appears twice."))))
        elif key in IMPORT_HEADERS.values():
            columns[key] = index
        elif str(header[index]).strip():
            ignored.append(str(header[index]).strip())
    family_target = is_family_target(program.target)
    if "card_number" not in columns:
        issues.append(ImportIssue(header_row, "card_number", "", str(_l("The column card_number is missing."))))
    if "nik" not in columns and (not family_target or "no_kk" not in columns):
        issues.append(ImportIssue(header_row, "nik", "", str(
            _l("The column no_kk or nik is missing.") if family_target else _l("The column nik is missing."))))
    data_rows = rows[1:]
    if len(data_rows) > MAX_IMPORT_ROWS:
        issues.append(ImportIssue(header_row, "", "", str(_l("The file has more than %(n)d rows.", n=MAX_IMPORT_ROWS))))
    if issues:
        return [], issues, ignored
    if not data_rows:
        return [], [ImportIssue(header_row, "", "", str(_l("The file has a header but no data rows.")))], ignored

    def cell(cells, key):
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    # Pass 1: the cells of each row, with the format of NIK and KK number checked.
    parsed = []
    for number, cells in data_rows:
        row = {"row": number}
        before = len(issues)
        for key in ("nik", "no_kk"):
            raw = cell(cells, key)
            text = str(raw).strip() if not isinstance(raw, _Number) else raw
            if isinstance(text, str) and not text:
                row[key] = ""
                continue
            problem = _number_problem(text, key)
            if problem:
                issues.append(ImportIssue(number, key, str(raw), str(problem)))
                row[key] = None
            else:
                row[key] = normalize_number(text)
        row["card_number"] = _text_cell(cell(cells, "card_number"), "card_number", number, issues, MAX_CARD_NUMBER)
        row["card_name"] = _text_cell(cell(cells, "card_name"), "card_name", number, issues, MAX_CARD_NAME)
        if row["nik"] == "" and (not family_target or row["no_kk"] == ""):
            issues.append(ImportIssue(number, "nik", "", str(
                _l("Give the NIK or the KK number.") if family_target else _l("Give the NIK."))))
        if len(issues) == before:
            parsed.append(row)

    # Lookups: every NIK and KK number of the file, in chunks.
    niks = {r["nik"] for r in parsed if r["nik"]}
    kks = {r["no_kk"] for r in parsed if r["no_kk"]}
    residents = {}
    for chunk in _chunks(niks):
        for res in db.session.execute(select(Resident.id, Resident.nik, Resident.name, Resident.family_id,
                                             Resident.basic_status_id).where(Resident.nik.in_(chunk))):
            residents[res.nik] = res
    families = {}
    for chunk in _chunks(kks):
        for fam in db.session.execute(select(Family.id, Family.kk_number).where(Family.kk_number.in_(chunk))):
            families[fam.kk_number] = fam.id
    family_ids = {res.family_id for res in residents.values() if res.family_id} | set(families.values())
    kk_of, address_of, heads = {}, {}, {}
    for chunk in _chunks(family_ids):
        for fam in db.session.scalars(select(Family).where(Family.id.in_(chunk))):
            kk_of[fam.id] = fam.kk_number
            address_of[fam.id] = _register_address(fam)
        for head in db.session.execute(select(Resident.family_id, Resident.name, Resident.nik).where(
                Resident.family_id.in_(chunk), Resident.family_relationship_id == SHDK_HEAD)):
            heads[head.family_id] = head
    taken = {(r.resident_id, r.family_id) for r in db.session.execute(
        select(AidRecipient.resident_id, AidRecipient.family_id).where(AidRecipient.program_id == program.id))}
    taken_residents = {rid for rid, _ in taken if rid is not None}
    taken_families = {fid for _, fid in taken if fid is not None}

    # Pass 2: who each row is, and duplicates.
    plan, seen = [], {}
    for row in parsed:
        number = row["row"]
        resident = residents.get(row["nik"]) if row["nik"] else None
        if row["nik"] and resident is None:
            issues.append(ImportIssue(number, "nik", row["nik"], str(_l("No resident with this NIK in the register."))))
            continue
        family_id = None
        if row["no_kk"]:
            family_id = families.get(row["no_kk"])
            if family_id is None:
                issues.append(ImportIssue(number, "no_kk", row["no_kk"],
                                          str(_l("No family card with this KK number in the register."))))
                continue
            if resident is not None and resident.family_id != family_id:
                issues.append(ImportIssue(number, "nik", row["nik"], str(_l(
                    "This resident is not a member of KK %(kk)s.", kk=row["no_kk"]))))
                continue
        if resident is not None and not family_target and resident.basic_status_id != STATUS_ALIVE:
            issues.append(ImportIssue(number, "nik", row["nik"],
                                      str(_l("This resident is not living in the village."))))
            continue
        if family_target:
            family_id = family_id or resident.family_id
            if family_id is None:
                issues.append(ImportIssue(number, "nik", row["nik"], str(_l(
                    "This resident has no family card (KK) in the register, and this programme is given to a KK."))))
                continue
            key, value, column = ("family", family_id), row["no_kk"] or row["nik"], "no_kk" if row["no_kk"] else "nik"
            duplicate = family_id in taken_families
        else:
            key, value, column = ("person", resident.id), row["nik"], "nik"
            duplicate = resident.id in taken_residents
        if key in seen:
            issues.append(ImportIssue(number, column, value,
                                      str(_l("The same recipient as row %(row)d.", row=seen[key]))))
            continue
        seen[key] = number
        if duplicate:
            issues.append(ImportIssue(number, column, value, str(_l("Already a recipient of this programme."))))
            continue
        if family_target:
            head = heads.get(family_id)
            name, nik = (head.name, head.nik) if head else ((resident.name, resident.nik) if resident else ("", ""))
            plan.append({"family_id": family_id, "resident_id": None, "card_nik": nik,
                         "card_name": row["card_name"] or name[:MAX_CARD_NAME],
                         "card_address": address_of.get(family_id, ""), "card_number": row["card_number"]})
        else:
            plan.append({"resident_id": resident.id, "family_id": None, "card_nik": resident.nik,
                         "card_name": row["card_name"] or resident.name[:MAX_CARD_NAME],
                         "card_address": address_of.get(resident.family_id, ""), "card_number": row["card_number"]})
    issues.sort(key=lambda i: (i.row, i.column))
    return ([] if issues else plan), issues, ignored


def import_recipients(program, data):
    """Import recipients of ``program`` from a CSV or XLSX file, all or nothing.

    Returns:
        tuple ``(added, issues, ignored)``: the number of recipients added (flushed; the caller
        commits), every :class:`ImportIssue` (nothing is added when there is one), and the
        ignored header names.
    """
    rows, error = read_sheet(data)
    if error:
        return 0, [ImportIssue(0, "", "", str(error))], []
    plan, issues, ignored = check_import(program, rows)
    if issues:
        return 0, issues, ignored
    db.session.add_all(AidRecipient(program_id=program.id, **values) for values in plan)
    db.session.flush()
    return len(plan), [], ignored


# --- export ---------------------------------------------------------------------------------

def export_rows(program):
    """Every recipient of ``program`` as plain values in :data:`EXPORT_COLUMNS` order (one query).

    ``nik`` and ``name`` are the resident's, or for a KK its head's; ``no_kk`` is the recipient KK
    or the resident's KK; ``ended_on`` is a date or None.
    """
    stmt, person, head = _recipient_rows(program)
    target = str(services.target_label(program.target))
    today = local_today()
    out = []
    for row in db.session.execute(stmt.order_by(func.coalesce(person.name, head.name), AidRecipient.id)):
        item = _row_dict(row, today)
        recipient = item["recipient"]
        out.append([program.name, target, item["nik"], item["kk_number"], item["name"], recipient.card_number,
                    recipient.card_name, recipient.ended_on])
    return out


def _no_formula(value):
    """A text cell that a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(program):
    """The recipients as CSV bytes: UTF-8 with BOM (Excel reads it as UTF-8), ``\\r\\n`` lines."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for values in export_rows(program):
        values[-1] = values[-1].isoformat() if values[-1] else ""
        writer.writerow([_no_formula(v) for v in values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_xlsx(program):
    """The recipients as an XLSX workbook (bytes); NIK, KK and card numbers are text cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Penerima"[:31]
    sheet.append(EXPORT_COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, values in enumerate(export_rows(program), start=2):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(number, column)
            if isinstance(value, date):
                cell.value = value
                cell.number_format = "yyyy-mm-dd"
            else:
                cell.value = "" if value is None else str(value)
                cell.data_type = "s"  # never a formula, never a number
                cell.number_format = "@"
    for letter, width in zip("ABCDEFGH", (24, 12, 19, 19, 28, 20, 28, 12)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- the view -------------------------------------------------------------------------------
