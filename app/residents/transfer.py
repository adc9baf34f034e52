"""Import and export of the register from and to spreadsheets (XLSX and CSV).

One row per resident, in the column layout of OpenSID's resident export (the names villages
already use), so a village can bring its register in from OpenSID or from a spreadsheet typed
from Dukcapil printouts, and take it out again::

    alamat, dusun, rw, rt, nama, no_kk, nik, sex, tempatlahir, tanggallahir, agama_id,
    pendidikan_kk_id, pekerjaan_id, status_kawin, kk_level, warganegara_id, nama_ayah,
    nama_ibu, golongan_darah_id                          (required columns)
    telepon, email, status_dasar                         (optional columns)

Import (:func:`import_residents`):

* Reading: XLSX (openpyxl, read-only) or CSV (UTF-8 with or without BOM, ``;``, ``,`` or tab
  sniffed from the header line). The format is decided by the content, never by the file
  name. Header names are case-, space- and underscore-insensitive; extra columns are ignored.
* Every row is checked (all problems of a row are collected, STYLE.md habit 3): required
  values, code columns (national id or the code's name, case-insensitive), dates, NIK and
  No. KK (:func:`app.core.nik.check_nik` / :func:`~app.core.nik.check_kk_number`, DOMAIN.md
  §2), a NIK or No. KK that a spreadsheet stored as a number (reported, never repaired),
  duplicate NIKs in the file, and one head of family per KK, counting members already in the
  register.
* Writing: all-or-nothing by default (any error: nothing is written). With ``partial=True``
  the rows of every KK that has no error are written and the other KKs are skipped whole.
  Residents are matched by NIK: a row equal to the register is counted as unchanged and not
  written, so re-running a file changes nothing; a changed row updates the resident (and
  moves them to another KK when ``no_kk`` changed). Residents not in the file are never
  touched or deleted. Dusun, RW, RT and KKs are created as needed.
* Speed: the register is preloaded with a handful of queries (NIKs, KK numbers, areas, code
  tables), rows are checked in Python and written with bulk ``insert()``/``update()``
  executemany in batches: no query per row.

The service flushes and leaves the commit to the caller (STYLE.md habit 2).

Export (:func:`export_residents`, :func:`iter_csv_chunks`): the same columns, streamed from SQL
one page of families at a time, so that an export imports back unchanged.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from app.core.i18n import lazy_gettext as _l
from sqlalchemy import insert, select, update

from app.core.codes import (BasicStatus, BloodType, Citizenship, Education, FamilyRelationship,
                            MaritalStatus, Occupation, Religion, SHDK_HEAD, STATUS_ALIVE, Sex)
from app.core.models import utcnow
from app.core.nik import check_kk_number, check_nik, mask_nik
from app.extensions import db
from app.residents.models import Area, Family, Resident

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- columns

#: Every column, in export order (OpenSID's names).
COLUMNS = ("alamat", "dusun", "rw", "rt", "nama", "no_kk", "nik", "sex", "tempatlahir",
           "tanggallahir", "agama_id", "pendidikan_kk_id", "pekerjaan_id", "status_kawin",
           "kk_level", "warganegara_id", "nama_ayah", "nama_ibu", "golongan_darah_id",
           "telepon", "email", "status_dasar")
#: Columns that may be left out of a file (when left out, the register's value is kept).
OPTIONAL_COLUMNS = ("telepon", "email", "status_dasar")
REQUIRED_COLUMNS = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)

#: Code columns -> code table (ids are the national codes: DOMAIN.md, app/core/data).
CODE_COLUMNS = {
    "sex": Sex, "agama_id": Religion, "pendidikan_kk_id": Education, "pekerjaan_id": Occupation,
    "status_kawin": MaritalStatus, "kk_level": FamilyRelationship, "warganegara_id": Citizenship,
    "golongan_darah_id": BloodType, "status_dasar": BasicStatus,
}
#: Code column -> Resident attribute.
CODE_ATTRS = {
    "sex": "sex_id", "agama_id": "religion_id", "pendidikan_kk_id": "education_id",
    "pekerjaan_id": "occupation_id", "status_kawin": "marital_status_id",
    "kk_level": "family_relationship_id", "warganegara_id": "citizenship_id",
    "golongan_darah_id": "blood_type_id", "status_dasar": "basic_status_id",
}
#: Code columns that must have a value (the others may be empty).
REQUIRED_CODES = ("sex", "agama_id", "status_kawin", "warganegara_id")
#: Text columns -> (Resident attribute, maximum length, required).
TEXT_COLUMNS = {
    "nama": ("name", 100, True), "tempatlahir": ("birth_place", 100, False),
    "nama_ayah": ("father_name", 100, False), "nama_ibu": ("mother_name", 100, False),
}
#: Other spellings of codes seen in village spreadsheets (normalised as :func:`_code_key`).
CODE_ALIASES = {
    "sex": {"L": 1, "LK": 1, "PRIA": 1, "P": 2, "PR": 2, "WANITA": 2},
    "agama_id": {"KATOLIK": 3, "BUDDHA": 5, "KONGHUCU": 6, "KHONGHUCHU": 6, "KEPERCAYAAN": 7},
    "warganegara_id": {"INDONESIA": 1},
}
#: Header spellings accepted besides the column names themselves.
HEADER_ALIASES = {
    "agama": "agama_id", "pendidikankk": "pendidikan_kk_id", "pekerjaan": "pekerjaan_id",
    "warganegara": "warganegara_id", "golongandarah": "golongan_darah_id",
    "jeniskelamin": "sex", "shdk": "kk_level", "nokk": "no_kk", "hp": "telepon",
}
#: Columns holding identity numbers (checked for spreadsheet number damage, text in exports).
NUMBER_COLUMNS = ("nik", "no_kk")
#: Columns written as text cells in XLSX exports (leading zeros).
TEXT_CELL_COLUMNS = ("no_kk", "nik", "rw", "rt", "telepon")

#: Rows searched for the header row (some exports put a title above it).
HEADER_SEARCH_ROWS = 10
#: Rows per bulk statement.
BATCH = 2000
#: Largest unpacked size of an XLSX file (a 25,000-row register is about 15 MB unpacked).
MAX_XLSX_UNPACKED = 400 * 1024 * 1024
#: Families per export page (their members are read with one query per page).
EXPORT_PAGE = 500

_SCI_RE = re.compile(r"^[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[0-9]+[.,]0+$")
_DMY_RE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YMD_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: A text starting with one of these is a formula in a spreadsheet; CSV exports prefix it
#: with an apostrophe (OWASP "CSV injection"), and the import removes that apostrophe again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Cells meaning "no value" in OpenSID exports.
_EMPTY_MARKS = {"-", "\u2013", "\u2014"}


# --------------------------------------------------------------------------- messages
# English source strings, translated in the Indonesian catalogue (the default language).

_MSG = {
    "not_spreadsheet": lambda: _l(
        "The file is neither an XLSX workbook nor a CSV text file. Save it from the spreadsheet "
        "as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8\"."),
    "old_xls": lambda: _l(
        "Old Excel files (.xls) cannot be read. Save the file as \"Excel Workbook (.xlsx)\" or "
        "\"CSV UTF-8\" and upload it again."),
    "xlsx_too_big": lambda: _l("The XLSX file is too large when unpacked."),
    "bad_xlsx": lambda: _l("The XLSX file cannot be read: it is damaged or not a workbook."),
    "not_utf8": lambda: _l(
        "The CSV file is not UTF-8 text. In the spreadsheet, save it as \"CSV UTF-8\"."),
    "no_header": lambda: _l(
        "No header row was found: one of the first rows must hold the column names (nik, nama, "
        "no_kk, ...), as in the sample file."),
    "missing_columns": lambda columns: _l(
        "Required columns are missing: %(columns)s. The header row must hold these column "
        "names (see the sample file).", columns=columns),
    "duplicate_column": lambda column: _l(
        "The column %(column)s appears twice in the header row.", column=column),
    "no_rows": lambda: _l("The file holds no resident rows."),
    "required": lambda: _l("This value is required."),
    "number_cell": lambda: _l(
        "The number was stored as a number by the spreadsheet, so digits or leading zeros may "
        "be lost. Format the column as text and enter the number again."),
    "lost_zero": lambda: _l(
        "The number has 15 digits: the spreadsheet probably dropped the leading 0 of a "
        "temporary number. Format the column as text and enter the number again."),
    "unknown_code": lambda example: _l(
        "Unknown code. Use the national code number or its name, for example %(example)s.",
        example=example),
    "bad_date": lambda: _l(
        "Not a date. Write it as DD-MM-YYYY (17-08-1945), YYYY-MM-DD, or use a date cell."),
    "unreal_date": lambda: _l("This date does not exist."),
    "future_date": lambda: _l("The date is in the future."),
    "old_date": lambda: _l("The date is before 1850."),
    "too_long": lambda limit: _l("Too long: at most %(limit)d characters.", limit=limit),
    "control": lambda: _l("The text contains control characters."),
    "rt_rw": lambda: _l("Write the RT or RW as a number of at most 3 digits, e.g. 1 or 001."),
    "duplicate_nik": lambda row: _l("This NIK is also in row %(row)d.", row=row),
    # KK numbers are not repeated in these messages (the row shows its no_kk): the messages
    # also go to terminals and report files.
    "two_heads": lambda rows: _l(
        "This KK has more than one head of family (kk_level 1): rows %(rows)s.", rows=rows),
    "head_in_register": lambda name: _l(
        "This KK already has a head of family in the register (%(name)s) who is not in this "
        "file. A KK has exactly one head: change that resident in the register first, or add "
        "them to the file.", name=name),
    "no_head": lambda: _l(
        "This KK has no head of family: exactly one member needs kk_level 1 "
        "(KEPALA KELUARGA)."),
    "head_leaves": lambda kk: _l(
        "This resident is the head of KK %(kk)s in the register and leaves it, but other "
        "members stay on that KK without a head. Give it a new head in the same file.",
        kk=kk),
    "level_without_kk": lambda: _l("kk_level is filled in, but no_kk is empty."),
    "email": lambda: _l("Not an e-mail address."),
    # Warnings
    "phone_number": lambda: _l(
        "The phone number was stored as a number by the spreadsheet: a leading 0 or + may be "
        "missing. Format the column as text."),
    "family_differs": lambda row: _l(
        "The address or dusun/RW/RT differs from row %(row)d of the same KK; the KK keeps the "
        "values of row %(row)d.", row=row),
    "skipped": lambda: _l("Not imported: another row of this KK has an error."),
}


# --------------------------------------------------------------------------- results


@dataclass
class Issue:
    """One problem found in the file.

    Attributes:
        row: the row number as the spreadsheet shows it (the header is usually row 1); None
            for a problem with the whole file.
        column: the column name (``nik``, ``tanggallahir``...), "" for the whole file.
        value: the cell as text, as found in the file (NIKs in full: the report is for the
            operator; use :attr:`log_value` in logs).
        message: a lazy translatable string (shown in the user's language).
        code: what kind of problem, for programs and tests: a key of the message table
            (``"duplicate_nik"``, ``"two_heads"``...), or ``"nik"`` / ``"no_kk"`` for a rule
            of :func:`~app.core.nik.check_nik` / :func:`~app.core.nik.check_kk_number`.
    """

    row: int | None
    column: str
    value: str
    message: object
    code: str = ""

    @property
    def log_value(self):
        """The value to write in logs: NIKs and KK numbers masked (DOMAIN.md §8)."""
        return mask_nik(self.value) if self.column in NUMBER_COLUMNS else self.value


@dataclass
class ImportResult:
    """What :func:`import_residents` found and did.

    Counts are residents unless named otherwise; in a dry run they say what an import would
    do. ``written`` is True when rows were written (flushed; the caller commits).
    """

    fmt: str = ""
    rows: int = 0
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Rows not imported in a partial import (their KK has an error).
    skipped: int = 0
    families_created: int = 0
    families_updated: int = 0
    areas_created: int = 0
    dry_run: bool = False
    partial: bool = False
    written: bool = False
    seconds: float = 0.0

    @property
    def ok(self):
        """True when the file has no errors (warnings allowed)."""
        return not self.errors

    @property
    def error_rows(self):
        """Number of rows with at least one error."""
        return len({i.row for i in self.errors if i.row is not None})

    @property
    def file_errors(self):
        """Errors about the whole file (unreadable, columns missing)."""
        return [i for i in self.errors if i.row is None]


class TransferFileError(Exception):
    """The file as a whole cannot be imported.

    Attributes:
        code: the message key (``"missing_columns"``, ``"not_utf8"``...).
        message: the lazy translatable explanation for the operator.
    """

    def __init__(self, code, *args):
        super().__init__(f"file cannot be imported: {code}")
        self.code = code
        self.message = _MSG[code](*args)


# --------------------------------------------------------------------------- reading


@dataclass
class Table:
    """A sheet as read: the canonical column -> index map and the data rows.

    ``rows`` holds ``(row number, tuple of cell values)`` for every non-empty row below the
    header; cell values are what the reader gives (str for CSV; str, int, float, datetime or
    None for XLSX).
    """

    fmt: str
    columns: dict
    rows: list


def detect_format(data):
    """Decide the format from the content: ``"xlsx"`` or ``"csv"``.

    An XLSX file is a zip archive with ``[Content_Types].xml`` and ``xl/workbook.xml``; a
    CSV file is UTF-8 text without NUL bytes. Old ``.xls`` files (OLE2) get their own message.

    Raises:
        TransferFileError: anything else.
    """
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, ValueError):
            raise TransferFileError("bad_xlsx") from None
        names = {m.filename for m in members}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise TransferFileError("not_spreadsheet")
        if sum(m.file_size for m in members) > MAX_XLSX_UNPACKED:
            raise TransferFileError("xlsx_too_big")  # a "zip bomb", or far beyond a village
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TransferFileError("old_xls")
    if b"\x00" in data[:65536]:
        raise TransferFileError("not_spreadsheet")
    return "csv"


def _header_key(value):
    """``"No KK"``, ``"no_kk"``, ``"NO-KK"`` -> ``"nokk"``."""
    text = "" if value is None else str(value)
    return re.sub(r"[\s_.\-]+", "", text).lower()


_HEADER_MAP = {**{_header_key(c): c for c in COLUMNS}, **HEADER_ALIASES}


def _find_header(rows):
    """Find the header row among the first rows; returns ``(index, {column: cell index})``.

    Raises:
        TransferFileError: no header, a column twice, or required columns missing.
    """
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapped = [_HEADER_MAP.get(_header_key(c)) for c in cells]
        if "nik" not in mapped:
            continue
        columns = {}
        for pos, name in enumerate(mapped):
            if name is None:
                continue
            if name in columns:
                raise TransferFileError("duplicate_column", name)
            columns[name] = pos
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise TransferFileError("missing_columns", ", ".join(missing))
        return index, columns
    raise TransferFileError("no_header")


def _is_blank(cells):
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _read_csv_rows(data):
    """All records of a CSV file as ``(row number, tuple)``; the row number is the record's."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TransferFileError("not_utf8") from None
    lines = [line for line in text.splitlines()[:HEADER_SEARCH_ROWS * 2] if line.strip()]
    # Sniff on the header line (the first with "nik" in it): a title above it has no separators.
    first = next((line for line in lines if "nik" in line.lower()), lines[0] if lines else "")
    delimiter = max((";", ",", "\t"), key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(number, tuple(cells)) for number, cells in enumerate(reader, start=1)]
    except csv.Error:
        raise TransferFileError("not_spreadsheet") from None


def _read_xlsx_rows(data):
    """All rows of the first worksheet that has a header, as ``(row number, tuple)``."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, zipfile, XML errors)
        raise TransferFileError("bad_xlsx") from None
    try:
        first_rows = None
        for sheet in workbook.worksheets:
            # Some writers store a wrong "used range"; without this rows would be cut off.
            sheet.reset_dimensions()
            rows = [(number, tuple(cells))
                    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)]
            first_rows = first_rows if first_rows is not None else rows
            non_empty = [cells for _, cells in rows if not _is_blank(cells)]
            if any("nik" in {_HEADER_MAP.get(_header_key(c)) for c in cells}
                   for cells in non_empty[:HEADER_SEARCH_ROWS]):
                return rows
        return first_rows or []
    except TransferFileError:
        raise
    except Exception:
        raise TransferFileError("bad_xlsx") from None
    finally:
        workbook.close()


def read_table(data, fmt=None):
    """Read a spreadsheet file into a :class:`Table`.

    Args:
        data: the file's bytes.
        fmt: ``"xlsx"`` or ``"csv"``; default: :func:`detect_format`.

    Raises:
        TransferFileError: unreadable file, no header, missing columns, no rows.
    """
    fmt = fmt or detect_format(data)
    numbered = _read_xlsx_rows(data) if fmt == "xlsx" else _read_csv_rows(data)
    numbered = [(n, cells) for n, cells in numbered if not _is_blank(cells)]
    index, columns = _find_header([cells for _, cells in numbered])
    rows = numbered[index + 1:]
    if not rows:
        raise TransferFileError("no_rows")
    return Table(fmt=fmt, columns=columns, rows=rows)


# --------------------------------------------------------------------------- cell helpers


def _display(value):
    """A cell value as the operator would recognise it (at most 80 characters)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "\u2026"


def _text(value):
    """A cell as stripped text: numbers without ``.0``, dates as ISO, the "-" mark as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return _display(value)
    text = str(value).strip()
    if text[:1] == "'" and text[1:2] in _FORMULA_START:
        return text[1:]  # written by our CSV export: the text itself, even a lone "-"
    return "" if text in _EMPTY_MARKS else text


def _code_key(value):
    """Normalise a code name for look-ups: upper case, without spaces, dashes, dots, underscores."""
    return re.sub(r"[\s\-_.]+", "", value).upper()


def _area_number(text):
    """``"1"``, ``"01"``, ``"001"`` -> ``"001"``; None when not a 1-3 digit number."""
    if text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 3:
        return f"{int(text):03d}"
    return None


def _area_key(name):
    """How area names are compared: RT/RW numbers as 3 digits, dusun names case-insensitively."""
    if name is None:
        return None
    return _area_number(name) or " ".join(name.split()).casefold()


def parse_date(value, today):
    """Read a birth date from a cell.

    Accepts ``date``/``datetime`` cells, and text as DD-MM-YYYY, DD/MM/YYYY, DD.MM.YYYY or
    YYYY-MM-DD (one-digit day and month allowed).

    Returns:
        tuple ``(date or None, problem or None)``: the problem is a message key (``"bad_date"``,
        ``"unreal_date"``, ``"future_date"``, ``"old_date"``).
    """
    if isinstance(value, datetime):
        found = value.date()
    elif isinstance(value, date):
        found = value
    elif isinstance(value, str):
        text = value.strip()
        match = _DMY_RE.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
        elif (match := _YMD_RE.match(text)):
            year, month, day = (int(g) for g in match.groups())
        else:
            return None, "bad_date"
        try:
            found = date(year, month, day)
        except ValueError:
            return None, "unreal_date"
    else:  # a number: a date serial the spreadsheet did not format as a date
        return None, "bad_date"
    if found > today:
        return None, "future_date"
    if found.year < 1850:
        return None, "old_date"
    return found, None


def _number_problem(value):
    """For a NIK or No. KK cell: a message key when a spreadsheet stored it as a number, else None.

    Detected: int or float cells, scientific notation (``3.17101E+15``), a ``.0`` tail and
    15 digits (a lost leading zero of a temporary number). Such values are never repaired.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return "number_cell"
    if not isinstance(value, str):
        return None
    text = value.strip().lstrip("'")
    if _SCI_RE.match(text) or _FLOAT_RE.match(text):
        return "number_cell"
    if len(text) == 15 and text.isascii() and text.isdigit():
        return "lost_zero"
    return None


# --------------------------------------------------------------------------- the import


@dataclass(slots=True)
class _Row:
    """One data row after parsing: resident values, family values and its problems."""

    row: int
    nik: str | None = None
    #: Normalised No. KK; "" when the resident is on no KK; None when the KK is invalid.
    kk: str | None = None
    #: SHDK id; None when empty or unknown.
    level: int | None = None
    level_unknown: bool = False
    values: dict = field(default_factory=dict)
    address: str = ""
    #: ``(dusun, rw, rt)`` names as written (None for an empty level).
    area: tuple = (None, None, None)
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    #: Excluded from a partial import.
    skipped: bool = False


class _Importer:
    """Holds the preloaded register and the rows of one import; see :func:`import_residents`."""

    def __init__(self, table, today):
        self.table = table
        self.today = today
        self.columns = table.columns
        self._kk_checks = {}
        self._load_codes()
        self._load_register()

    # -- preloading (a handful of queries)

    def _load_codes(self):
        self.codes = {}
        self.code_examples = {}
        for column, model in CODE_COLUMNS.items():
            rows = db.session.execute(select(model.id, model.name).order_by(model.id)).all()
            lookup = {str(i): i for i, _ in rows}
            lookup.update({_code_key(name): i for i, name in rows})
            lookup.update({k: v for k, v in CODE_ALIASES.get(column, {}).items() if k not in lookup})
            self.codes[column] = lookup
            self.code_examples[column] = f'{rows[0][0]} / "{rows[0][1]}"' if rows else ""

    def _load_register(self):
        s = db.session
        self.res_cols = ("id", "nik", "name", "sex_id", "birth_place", "birth_date", "religion_id",
                         "education_id", "occupation_id", "marital_status_id",
                         "family_relationship_id", "blood_type_id", "citizenship_id",
                         "basic_status_id", "father_name", "mother_name", "phone", "email",
                         "family_id")
        self.residents = {}
        self.members = defaultdict(list)  # family id -> [resident tuple]
        for r in s.execute(select(*(getattr(Resident, c) for c in self.res_cols))):
            self.residents[r.nik] = r
            if r.family_id is not None:
                self.members[r.family_id].append(r)
        self.families = {}
        self.family_by_id = {}
        for f in s.execute(select(Family.id, Family.kk_number, Family.address, Family.area_id)):
            self.families[f.kk_number] = f
            self.family_by_id[f.id] = f
        self.areas = _AreaIndex(s.execute(select(Area.id, Area.level, Area.name, Area.parent_id)).all())

    # -- one row

    def cell(self, cells, column):
        pos = self.columns.get(column)
        if pos is None or pos >= len(cells):
            return None
        return cells[pos]

    def parse(self, number, cells):
        """Parse and check one row (everything that needs no other row)."""
        row = _Row(row=number)
        err = row.errors

        def problem(column, value, message, code, bucket=err):
            bucket.append(Issue(number, column, _display(value), message, code))

        values = row.values
        for column, (attr, limit, required) in TEXT_COLUMNS.items():
            raw = self.cell(cells, column)
            text = _text(raw)
            if required and not text:
                problem(column, raw, _MSG["required"](), "required")
            elif len(text) > limit:
                problem(column, raw, _MSG["too_long"](limit), "too_long")
            elif _CONTROL_RE.search(text):
                problem(column, raw, _MSG["control"](), "control")
            values[attr] = text

        for column, model in CODE_COLUMNS.items():
            if column not in self.columns:
                continue
            raw = self.cell(cells, column)
            text = _text(raw)
            attr = CODE_ATTRS[column]
            if not text:
                if column in REQUIRED_CODES:
                    problem(column, raw, _MSG["required"](), "required")
                values[attr] = STATUS_ALIVE if column == "status_dasar" else None
                continue
            lookup = self.codes[column]
            code = lookup.get(text)  # most cells hold the id as written, or a known spelling
            if code is None:
                code = lookup.get(_code_key(text))
                if code is None and re.fullmatch(r"0*[0-9]+", text):
                    code = lookup.get(str(int(text)))
                if code is not None:
                    lookup[text] = code
            if code is None:
                problem(column, raw, _MSG["unknown_code"](self.code_examples[column]), "unknown_code")
                if column == "kk_level":
                    row.level_unknown = True
            values[attr] = code
        row.level = values.pop("family_relationship_id", None)

        raw_birth = self.cell(cells, "tanggallahir")
        birth = None
        if _text(raw_birth) == "":
            problem("tanggallahir", raw_birth, _MSG["required"](), "required")
        else:
            birth, key = parse_date(raw_birth, self.today)
            if key is not None:
                problem("tanggallahir", raw_birth, _MSG[key](), key)
        values["birth_date"] = birth

        # NIK: spreadsheet damage first (never repaired), then the Dukcapil rules.
        raw_nik = self.cell(cells, "nik")
        damage = _number_problem(raw_nik)
        if damage is not None:
            problem("nik", raw_nik, _MSG[damage](), damage)
        else:
            sex = values.get("sex_id")
            check = check_nik(_text(raw_nik).lstrip("'"), today=self.today, sex=sex, birth_date=birth)
            for message in check.errors:
                problem("nik", raw_nik, message, "nik")
            for message in check.warnings:
                problem("nik", raw_nik, message, "nik", row.warnings)
            if check.ok:
                row.nik = check.value

        raw_kk = self.cell(cells, "no_kk")
        damage = _number_problem(raw_kk)
        if damage is not None:
            problem("no_kk", raw_kk, _MSG[damage](), damage)
        elif _text(raw_kk).lstrip("'") == "":
            row.kk = ""
            if row.level is not None:
                problem("kk_level", self.cell(cells, "kk_level"), _MSG["level_without_kk"](), "level_without_kk")
        else:
            check = self.kk_check(_text(raw_kk).lstrip("'"))
            for message in check.errors:
                problem("no_kk", raw_kk, message, "no_kk")
            if check.ok:
                row.kk = check.value
        if row.kk and row.level is None and not row.level_unknown:
            problem("kk_level", self.cell(cells, "kk_level"), _MSG["required"](), "required")

        # Family values: address and area path.
        row.address = _text(self.cell(cells, "alamat"))
        if len(row.address) > 250:
            problem("alamat", self.cell(cells, "alamat"), _MSG["too_long"](250), "too_long")
        dusun = " ".join(_text(self.cell(cells, "dusun")).split()) or None
        if dusun and len(dusun) > 60:
            problem("dusun", self.cell(cells, "dusun"), _MSG["too_long"](60), "too_long")
        levels = [dusun]
        for column in ("rw", "rt"):
            raw = self.cell(cells, column)
            text = _text(raw)
            area_no = _area_number(text) if text else None
            if text and area_no is None:
                problem(column, raw, _MSG["rt_rw"](), "rt_rw")
            levels.append(area_no)
        row.area = tuple(levels)

        # Optional contact columns (left alone when the column is not in the file).
        if "telepon" in self.columns:
            raw = self.cell(cells, "telepon")
            phone = _text(raw)
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                problem("telepon", raw, _MSG["phone_number"](), "phone_number", row.warnings)
            if len(phone) > 20:
                problem("telepon", raw, _MSG["too_long"](20), "too_long")
            values["phone"] = phone or None
        if "email" in self.columns:
            raw = self.cell(cells, "email")
            email = _text(raw)
            if email and (len(email) > 120 or not _EMAIL_RE.match(email)):
                problem("email", raw, _MSG["email"](), "email")
            values["email"] = email or None
        return row

    def kk_check(self, text):
        """``check_kk_number`` once per distinct number (a KK repeats on every member's row)."""
        if text not in self._kk_checks:
            self._kk_checks[text] = check_kk_number(text, today=self.today)
        return self._kk_checks[text]

    # -- checks across rows

    def check_duplicates(self, rows):
        """Duplicate NIKs in the file: every later occurrence is an error."""
        first = {}
        for row in rows:
            if row.nik is None:
                continue
            if row.nik in first:
                row.errors.append(Issue(row.row, "nik", row.nik, _MSG["duplicate_nik"](first[row.nik]),
                                        "duplicate_nik"))
                row.nik = None
            else:
                first[row.nik] = row.row

    def check_heads(self, rows, governed=None):
        """Every KK must end up with exactly one head (kk_level 1), register members included.

        Args:
            rows: the rows that will be applied.
            governed: NIKs whose register entry the file decides (default: those of ``rows``);
                register members of a KK who are not governed stay on it as they are.

        Returns:
            list of ``(row, Issue)``.
        """
        in_file = governed if governed is not None else {r.nik for r in rows if r.nik}
        by_kk = defaultdict(list)
        for r in rows:
            if r.kk:
                by_kk[r.kk].append(r)
        problems = []
        for kk, members in by_kk.items():
            if any(r.level_unknown for r in members):
                continue  # the unknown kk_level is reported; counting heads would only guess
            heads = [r for r in members if r.level == SHDK_HEAD]
            family = self.families.get(kk)
            stay = [m for m in self.members.get(family.id, ())
                    if m.nik not in in_file] if family is not None else []
            stay_heads = [m for m in stay if m.family_relationship_id == SHDK_HEAD]
            if len(heads) > 1:
                numbers = ", ".join(str(r.row) for r in heads)
                for r in heads:
                    problems.append((r, Issue(r.row, "kk_level", str(r.level), _MSG["two_heads"](numbers),
                                                   "two_heads")))
            elif heads and stay_heads:
                name = stay_heads[0].name
                problems.append((heads[0], Issue(heads[0].row, "kk_level", str(heads[0].level),
                                                 _MSG["head_in_register"](name), "head_in_register")))
            elif not heads and not stay_heads:
                first = members[0]
                problems.append((first, Issue(first.row, "kk_level", _display(first.level),
                                              _MSG["no_head"](), "no_head")))
        # A head who leaves a KK that is not in the file must not leave members behind headless.
        for r in rows:
            old = self.residents.get(r.nik) if r.nik else None
            if old is None or old.family_id is None or old.family_relationship_id != SHDK_HEAD:
                continue
            family = self.family_by_id[old.family_id]
            if family.kk_number == r.kk or family.kk_number in by_kk:
                continue
            left = [m for m in self.members[family.id] if m.nik not in in_file]
            if left and not any(m.family_relationship_id == SHDK_HEAD for m in left):
                problems.append((r, Issue(r.row, "no_kk", r.kk or "", _MSG["head_leaves"](mask_nik(family.kk_number)),
                                            "head_leaves")))
        return problems

    # -- planning the writes

    def plan(self, rows, result):
        """Work out the families, areas and resident rows to write; fill the counts."""
        by_kk = {}
        for r in rows:
            if not r.kk:
                continue
            first = by_kk.get(r.kk)
            if first is None:
                by_kk[r.kk] = r
            elif r.level == SHDK_HEAD and first.level != SHDK_HEAD:
                by_kk[r.kk] = r
        # Family values come from the head's row (else the first row); others may differ.
        for r in rows:
            source = by_kk.get(r.kk) if r.kk else None
            if source is not None and source is not r and (r.address, _norm_path(r.area)) != (
                    source.address, _norm_path(source.area)):
                r.warnings.append(Issue(r.row, "alamat", r.address, _MSG["family_differs"](source.row),
                                     "family_differs"))

        self.new_families = []       # (kk, address, area path)
        self.family_updates = []     # (family id, address, area path)
        for kk, source in by_kk.items():
            path = source.area
            self.areas.want(path)
            family = self.families.get(kk)
            if family is None:
                self.new_families.append((kk, source.address, path))
            else:
                area_id = self.areas.find(path)
                # area_id None with a path: the area is new (planned above), so it changes.
                if (family.address != source.address or family.area_id != area_id
                        or (area_id is None and any(path))):
                    self.family_updates.append((family.id, source.address, path))
        result.families_created = len(self.new_families)
        result.families_updated = len(self.family_updates)
        result.areas_created = self.areas.planned

        self.inserts, self.updates = [], []
        for r in rows:
            target = self.families.get(r.kk) if r.kk else None
            new_family = bool(r.kk) and target is None
            values = dict(r.values, family_relationship_id=r.level if r.kk else None)
            old = self.residents.get(r.nik)
            if old is None:
                values.setdefault("basic_status_id", STATUS_ALIVE)
                self.inserts.append((r, values))
                continue
            same = (not new_family and old.family_id == (target.id if target else None)
                    and all(_same(getattr(old, k), v) for k, v in values.items()))
            if same:
                result.unchanged += 1
            else:
                self.updates.append((r, old, values))
        result.created = len(self.inserts)
        result.updated = len(self.updates)

    def write(self):
        """Write the plan: areas, families, then residents, in bulk statements (flush only)."""
        s = db.session
        self.areas.create(s)
        now = utcnow()
        kk_ids = {kk: f.id for kk, f in self.families.items()}
        family_rows = [{"kk_number": kk, "address": address, "area_id": self.areas.find(path),
                        "created_at": now, "updated_at": now}
                       for kk, address, path in self.new_families]
        for start in range(0, len(family_rows), BATCH):
            batch = family_rows[start:start + BATCH]
            ids = s.scalars(insert(Family).returning(Family.id, sort_by_parameter_order=True), batch).all()
            kk_ids.update(zip((f["kk_number"] for f in batch), ids))
        if self.family_updates:
            _bulk_update(s, Family, [{"id": fid, "address": address, "area_id": self.areas.find(path),
                                      "updated_at": now} for fid, address, path in self.family_updates])

        # A head who stops being head (or changes KK) first loses SHDK 1, so that the
        # one-head-per-KK index never sees two heads while the rows are updated one by one.
        freeing = [{"id": old.id, "family_relationship_id": None}
                   for r, old, values in self.updates
                   if old.family_relationship_id == SHDK_HEAD
                   and (values["family_relationship_id"] != SHDK_HEAD
                        or old.family_id != kk_ids.get(r.kk))]
        _bulk_update(s, Resident, freeing)
        updates = []
        for r, old, values in self.updates:
            updates.append({"id": old.id, **values, "family_id": kk_ids.get(r.kk) if r.kk else None,
                            "updated_at": now})
        _bulk_update(s, Resident, updates)
        inserts = [{"nik": r.nik, **values, "family_id": kk_ids.get(r.kk) if r.kk else None,
                    "created_at": now, "updated_at": now} for r, values in self.inserts]
        for start in range(0, len(inserts), BATCH):
            s.execute(insert(Resident), inserts[start:start + BATCH])
        s.flush()


def _same(old, new):
    """Register value vs file value ("" and None are the same for optional text)."""
    if old in ("", None) and new in ("", None):
        return True
    return old == new


def _norm_path(path):
    return tuple(_area_key(p) for p in path)


def _bulk_update(session, model, rows):
    """ORM bulk UPDATE by primary key (executemany), in batches."""
    for start in range(0, len(rows), BATCH):
        session.execute(update(model), rows[start:start + BATCH])


class _AreaIndex:
    """The area tree keyed by path ``(dusun, rw, rt)`` (normalised), with planned new nodes.

    A path names its lowest level: ``("Krajan", "001", "002")`` is RT 002 of RW 001 of Dusun
    Krajan; ``(None, "001", "002")`` an RT in a village without dusun; ``("Krajan", None,
    None)`` the dusun itself. RT/RW names are compared as 3-digit numbers, dusun names
    case-insensitively.
    """

    def __init__(self, rows):
        by_id = {r.id: r for r in rows}
        self.ids = {}
        for r in rows:
            path = {"dusun": None, "rw": None, "rt": None}
            node, depth = r, 0
            while node is not None and depth < 3:
                path[node.level] = node.name
                node = by_id.get(node.parent_id)
                depth += 1
            key = _norm_path((path["dusun"], path["rw"], path["rt"]))
            self.ids.setdefault(key, r.id)
        #: norm key -> (level, name as written, parent norm key) for nodes to create, in order.
        self.new = {}

    @property
    def planned(self):
        return len(self.new)

    @staticmethod
    def _chain(path):
        """The nodes of a path from the top: ``[(level, name, key, parent key), ...]``."""
        chain, parent = [], None
        so_far = [None, None, None]
        for i, level in enumerate(("dusun", "rw", "rt")):
            if path[i] is None:
                continue
            so_far[i] = path[i]
            key = _norm_path(tuple(so_far))
            chain.append((level, path[i], key, parent))
            parent = key
        return chain

    def want(self, path):
        """Plan the nodes of ``path`` that do not exist yet."""
        for level, name, key, parent in self._chain(path):
            if key not in self.ids and key not in self.new:
                self.new[key] = (level, name, parent)

    def find(self, path):
        """The id of the lowest node of ``path`` (None when the path is empty or not created)."""
        if not any(path):
            return None
        return self.ids.get(_norm_path(path))

    def create(self, session):
        """Insert the planned nodes level by level (parents first)."""
        for level in ("dusun", "rw", "rt"):
            batch = [(key, name, parent) for key, (lvl, name, parent) in self.new.items() if lvl == level]
            if not batch:
                continue
            ids = session.scalars(
                insert(Area).returning(Area.id, sort_by_parameter_order=True),
                [{"level": level, "name": name, "parent_id": self.ids.get(parent) if parent else None}
                 for key, name, parent in batch]).all()
            self.ids.update(zip((key for key, _, _ in batch), ids))
        self.new = {}


def _read_source(source):
    """Bytes of ``source``: bytes, a path, or a binary file object."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes()
    return source.read()


def import_residents(source, *, fmt=None, dry_run=False, partial=False, today=None, progress=None):
    """Import residents from an XLSX or CSV file (see the module docstring for the rules).

    Args:
        source: the file: bytes, a path, or a binary file object.
        fmt: ``"xlsx"`` or ``"csv"``; default: decided from the content.
        dry_run: check everything and count what would change, write nothing.
        partial: write the KKs without errors even when other rows have errors (their KKs
            are skipped whole, so a KK is never half imported). Default: all-or-nothing.
        today: reference date for "in the future" (default: today in the village's zone).
        progress: ``callable(done, total)`` called while rows are checked (every 500 rows
            and at the end), for a progress bar.

    Returns:
        ImportResult. When ``written`` is True the changes are flushed in the current
        transaction: the caller commits (or rolls back).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: a database error while writing (the caller rolls
        back; nothing is committed).
    """
    from app.core.formatting import local_today

    started = time.perf_counter()
    today = today or local_today()
    result = ImportResult(dry_run=dry_run, partial=partial)
    try:
        data = _read_source(source)
        table = read_table(data, fmt)
    except TransferFileError as problem:
        result.errors = [Issue(None, "", "", problem.message, problem.code)]
        result.seconds = time.perf_counter() - started
        return result
    result.fmt = table.fmt
    result.rows = len(table.rows)
    total = len(table.rows)
    if progress:
        progress(0, total)

    importer = _Importer(table, today)
    rows = []
    for number, cells in table.rows:
        rows.append(importer.parse(number, cells))
        if progress and len(rows) % 500 == 0:
            progress(len(rows), total)
    if progress:
        progress(total, total)

    importer.check_duplicates(rows)
    governed = {r.nik for r in rows if r.nik}
    for row, issue in importer.check_heads([r for r in rows if r.kk is not None], governed):
        row.errors.append(issue)

    if partial:
        active = _partial_rows(importer, rows)
    else:
        active = rows if not any(r.errors for r in rows) else []

    if active:
        importer.plan(active, result)  # also adds the "differs" warnings
    result.errors = sorted((i for r in rows for i in r.errors), key=lambda i: i.row)
    result.warnings = sorted((i for r in rows for i in r.warnings), key=lambda i: i.row)
    if active and not dry_run:
        importer.write()
        result.written = True
    if partial:
        result.skipped = len(rows) - len(active) - result.error_rows
    result.seconds = time.perf_counter() - started
    log.info("resident import (%s%s%s): %d rows, %d errors in %d rows, %d created, %d updated, "
             "%d unchanged, %d skipped, %.1f s", table.fmt, ", dry run" if dry_run else "",
             ", partial" if partial else "", result.rows, len(result.errors), result.error_rows,
             result.created, result.updated, result.unchanged, result.skipped, result.seconds)
    return result


def _partial_rows(importer, rows):
    """The rows a partial import may write: every KK with an error is left out whole.

    Leaving a KK out can break another (a head moving between them stays where they are), so
    the head check runs again on what is left until nothing changes.
    """
    def bad_kks(rs):
        return {r.kk for r in rs if r.errors and r.kk}

    while True:
        excluded_kks = bad_kks(rows)
        active = [r for r in rows if not r.errors and not (r.kk and r.kk in excluded_kks)]
        new = importer.check_heads(active)
        if not new:
            break
        # Each new problem is on an active row, which then drops out: the loop ends.
        for row, issue in new:
            row.errors.append(issue)
    active_ids = {id(r) for r in active}
    for r in rows:
        if not r.errors and id(r) not in active_ids:
            r.skipped = True
            r.warnings.append(Issue(r.row, "no_kk", r.kk or "", _MSG["skipped"](), "skipped"))
    return active


# --------------------------------------------------------------------------- export


def _area_paths():
    """``{area id: (dusun, rw, rt)}`` for every area (one query; areas are few)."""
    rows = db.session.execute(select(Area.id, Area.level, Area.name, Area.parent_id)).all()
    by_id = {r.id: r for r in rows}
    paths = {}
    for r in rows:
        path = {"dusun": "", "rw": "", "rt": ""}
        node, depth = r, 0
        while node is not None and depth < 3:
            path[node.level] = node.name
            node = by_id.get(node.parent_id)
            depth += 1
        paths[r.id] = (path["dusun"], path["rw"], path["rt"])
    return paths


_EXPORT_RES_COLS = (Resident.id, Resident.nik, Resident.name, Resident.sex_id, Resident.birth_place,
                    Resident.birth_date, Resident.religion_id, Resident.education_id,
                    Resident.occupation_id, Resident.marital_status_id,
                    Resident.family_relationship_id, Resident.citizenship_id, Resident.father_name,
                    Resident.mother_name, Resident.blood_type_id, Resident.phone, Resident.email,
                    Resident.basic_status_id, Resident.family_id)


def _export_row(r, family, path):
    """One resident as the list of :data:`COLUMNS` values (codes as ids, dates as ``date``)."""
    dusun, rw, rt = path if path else ("", "", "")
    return [family.address if family else "", dusun, rw, rt, r.name,
            family.kk_number if family else "", r.nik, r.sex_id, r.birth_place or "",
            r.birth_date, r.religion_id, r.education_id, r.occupation_id, r.marital_status_id,
            r.family_relationship_id if family else None, r.citizenship_id, r.father_name or "",
            r.mother_name or "", r.blood_type_id, r.phone or "", r.email or "", r.basic_status_id]


def iter_export_rows():
    """Yield every resident as a list of :data:`COLUMNS` values, KK by KK (head first).

    Families are read in keyset pages of :data:`EXPORT_PAGE` by id, their members with one
    query per page (ordered head, spouse, children by birth date: DOMAIN.md §1); residents on
    no KK come last, also in keyset pages. The whole register is never in memory at once.
    """
    s = db.session
    paths = _area_paths()
    last = 0
    while True:
        families = s.execute(select(Family.id, Family.kk_number, Family.address, Family.area_id)
                             .where(Family.id > last).order_by(Family.id).limit(EXPORT_PAGE)).all()
        if not families:
            break
        by_id = {f.id: f for f in families}
        members = s.execute(select(*_EXPORT_RES_COLS)
                            .where(Resident.family_id > last, Resident.family_id <= families[-1].id)
                            .order_by(Resident.family_id, Resident.family_relationship_id,
                                      Resident.birth_date, Resident.id)).all()
        for r in members:
            family = by_id[r.family_id]
            yield _export_row(r, family, paths.get(family.area_id))
        last = families[-1].id
    last = 0
    while True:
        loose = s.execute(select(*_EXPORT_RES_COLS)
                          .where(Resident.family_id.is_(None), Resident.id > last)
                          .order_by(Resident.id).limit(EXPORT_PAGE * 4)).all()
        if not loose:
            break
        for r in loose:
            yield _export_row(r, None, None)
        last = loose[-1].id


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value.day:02d}-{value.month:02d}-{value.year:04d}"
    text = str(value)
    # CSV injection: a spreadsheet would run a text starting with =, +, - or @ as a formula.
    return "'" + text if text[:1] in _FORMULA_START else text


def iter_csv_chunks(rows=None):
    """The CSV export as text chunks: UTF-8 BOM first, ``,`` separated, one chunk per 500 rows.

    Dates are DD-MM-YYYY, codes national ids. Text starting with ``= + - @`` gets a leading
    apostrophe (spreadsheets would run it as a formula); the import removes it again.
    """
    rows = iter_export_rows() if rows is None else rows
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for count, values in enumerate(rows, start=1):
        writer.writerow([_csv_value(v) for v in values])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(target, rows=None):
    """Write the XLSX export to ``target`` (a path or a binary file object).

    openpyxl's write-only mode streams the rows to a temporary file, so memory stays flat.
    NIK, No. KK, RW, RT and phone are text cells with number format ``@`` (leading zeros
    stay); dates are real date cells shown DD-MM-YYYY; a text that would be a formula is
    stored as text.

    Returns:
        int: number of residents written.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    rows = iter_export_rows() if rows is None else rows
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("penduduk")
    text_positions = {COLUMNS.index(c) for c in TEXT_CELL_COLUMNS}
    bold = Font(bold=True)
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for values in rows:
        out = []
        for pos, value in enumerate(values):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
                if pos in text_positions or value[:1] == "=":
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    cell.number_format = "@"
                    value = cell
            elif isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "DD-MM-YYYY"
                value = cell
            out.append(value)
        sheet.append(out)
        count += 1
    workbook.save(target)
    return count


def export_residents(target, fmt):
    """Write the whole register to ``target`` as ``"xlsx"`` or ``"csv"``.

    Args:
        target: a path, or a binary file object.
        fmt: ``"xlsx"`` or ``"csv"``.

    Returns:
        int: number of residents written.
    """
    if fmt == "xlsx":
        return write_xlsx(target)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    count = 0

    def counted():
        nonlocal count
        for values in iter_export_rows():
            count += 1
            yield values

    own = isinstance(target, (str, Path))
    fh = open(target, "wb") if own else target
    try:
        for chunk in iter_csv_chunks(counted()):
            fh.write(chunk.encode("utf-8"))
    finally:
        if own:
            fh.close()
    return count
