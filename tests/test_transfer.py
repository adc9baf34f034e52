"""Import and export of the register (app/residents/transfer.py, transfer_admin.py, the CLI).

The files are made from the demo village (``generate_population``, or ``build_demo`` and an
export) and then messed up the way real village spreadsheets are. Assertions use the issue
``code`` (message key) or English text under ``force_locale("en")``, so they hold whatever
the Indonesian catalogue says.
"""
import csv
import io
from contextlib import contextmanager
from datetime import date, datetime

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, text

from app.residents import transfer
from app.residents.demo import build_demo, generate_population
from tests.conftest import (DATA_TABLES, admin_login, csrf_token, make_admin, make_area,
                            make_family, make_kk_number, make_nik, make_resident)

N = 300
PASSWORD = "Rahasia-Balai-1"


# --- building files ---------------------------------------------------------------------------

def population_rows(n=N, seed=7):
    """The demo generator's village as import rows (dicts keyed by column; codes as ids)."""
    pop = generate_population(n, seed=seed)
    rows = []
    for fam in pop.families:
        dusun, rw, rt = fam.rt
        for p in fam.members:
            rows.append({
                "alamat": fam.address, "dusun": dusun, "rw": rw, "rt": rt, "nama": p.name,
                "no_kk": fam.kk_number, "nik": p.nik, "sex": p.sex_id, "tempatlahir": p.birth_place,
                "tanggallahir": p.birth_date, "agama_id": p.religion_id,
                "pendidikan_kk_id": p.education_id, "pekerjaan_id": p.occupation_id,
                "status_kawin": p.marital_status_id, "kk_level": p.family_relationship_id,
                "warganegara_id": 1, "nama_ayah": p.father_name, "nama_ibu": p.mother_name,
                "golongan_darah_id": p.blood_type_id, "telepon": "", "email": "",
                "status_dasar": p.basic_status_id})
    return rows


def to_csv(rows, *, delimiter=",", bom=True, header=None):
    """CSV bytes; dates written DD-MM-YYYY unless already text."""
    header = header or list(transfer.COLUMNS)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        values = []
        for column in transfer.COLUMNS:
            value = row.get(column, "")
            if isinstance(value, date):
                value = f"{value:%d-%m-%Y}"
            values.append("" if value is None else value)
        writer.writerow(values)
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def to_xlsx(rows, header=None):
    """XLSX bytes; values stored as given (str, int, float or date cells)."""
    wb = Workbook()
    ws = wb.active
    ws.append(header or list(transfer.COLUMNS))
    for row in rows:
        ws.append([row.get(c) for c in transfer.COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def family_starts(rows, min_size=2):
    """Indexes of the first row (the head) of each family with at least ``min_size`` members."""
    sizes = {}
    for i, row in enumerate(rows):
        sizes.setdefault(row["no_kk"], []).append(i)
    return [idx[0] for idx in sizes.values() if len(idx) >= min_size]


def messy(rows):
    """Realistic mess that is NOT an error: mixed dates, code names, odd header, RT "2"."""
    rows = [dict(r) for r in rows]
    sexes = {1: "laki-laki", 2: "PEREMPUAN"}
    for i, r in enumerate(rows):
        born = r["tanggallahir"]
        r["tanggallahir"] = (f"{born:%d-%m-%Y}", f"{born:%d/%m/%Y}", born.isoformat())[i % 3]
        if i % 4 == 0:
            r["sex"] = sexes[r["sex"]]
        if i % 5 == 0 and r["agama_id"] == 1:
            r["agama_id"] = "Islam"
        if i % 3 == 0 and r["kk_level"] == 1:
            r["kk_level"] = "KEPALA KELUARGA"
        if i % 7 == 0 and r["status_kawin"] == 2:
            r["status_kawin"] = "kawin"
        r["rt"] = str(int(r["rt"]))
    return rows


MESSY_HEADER = ["Alamat", "Dusun", "RW", "RT", "Nama", "No KK", "NIK", "Sex", "Tempat Lahir",
                "Tanggal Lahir", "Agama_ID", "pendidikan_kk_id", "PEKERJAAN_ID", "status kawin",
                "kk_level", "warganegara_id", "nama_ayah", "nama_ibu", "golongan_darah_id",
                "telepon", "email", "status_dasar"]


def broken(rows):
    """Put one of each error class into distinct families; returns ``(rows, {class: row no})``.

    Row numbers are the spreadsheet's: the header is row 1, data row ``i`` is row ``i + 2``.
    """
    rows = [dict(r) for r in rows]
    two, nohead = family_starts(rows, 2)[10:12]
    others = [i for i in family_starts(rows, 1) if i not in (two, nohead)]
    a, b, c, d, dup_src, dup = others[1], others[3], others[5], others[7], others[14], others[16]
    rows[a]["nik"] = rows[a]["nik"] + "aa"
    nik = rows[b]["nik"]
    rows[b]["nik"] = nik[:6] + "290201" + nik[12:]
    rows[c]["nik"] = rows[c]["nik"][:12] + "0000"
    rows[d]["nik"] = "3.31814E+15"
    rows[two + 1]["kk_level"] = 1
    rows[nohead]["kk_level"] = 4
    rows[dup]["nik"] = rows[dup_src]["nik"]
    where = {"letters": a + 2, "feb29": b + 2, "serial": c + 2, "float": d + 2,
             "two_heads": (two + 2, two + 3), "no_head": nohead + 2, "duplicate": dup + 2,
             "duplicate_of": dup_src + 2}
    return rows, where


# --- helpers ----------------------------------------------------------------------------------

def count(model):
    from app.extensions import db
    return db.session.scalar(select(func.count()).select_from(model))


def by_code(result):
    """``{code: [(row, column), ...]}`` of the errors."""
    found = {}
    for issue in result.errors:
        found.setdefault(issue.code, []).append((issue.row, issue.column))
    return found


def english(issue):
    with force_locale("en"):
        return str(issue.message)


def empty_register():
    """Delete every data row (as the conftest does after a test)."""
    from app.extensions import db
    db.session.rollback()
    for table in DATA_TABLES:
        if table == "area":  # a tree with RESTRICT on the parent: leaves first
            for level in ("rt", "rw", "dusun"):
                db.session.execute(text(f"DELETE FROM area WHERE level = '{level}'"))
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


def do_import(data, **kw):
    """Import and commit when written (as the CLI and the page do)."""
    from app.extensions import db
    result = transfer.import_residents(data, **kw)
    if result.written:
        db.session.commit()
    else:
        db.session.rollback()
    return result


def export_bytes(fmt):
    out = io.BytesIO()
    transfer.export_residents(out, fmt)
    return out.getvalue()


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """The app's instance folder in a temporary directory (build_demo writes logins there)."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


@pytest.fixture
def demo(ctx, instance):
    """The demo village (N residents) built in the test database."""
    assert build_demo(residents=N, seed=42).built


# --- the messy file of the issue ---------------------------------------------------------------

def test_messy_file_reports_every_error_class_and_writes_nothing(ctx):
    """Each error class of the messy file is reported with row, column and reason; nothing is written."""
    from app.residents.models import Family, Resident
    rows, where = broken(messy(population_rows()))
    data = to_csv(rows, delimiter=";", bom=True, header=MESSY_HEADER + ["keterangan"])
    result = do_import(data)
    assert result.fmt == "csv" and result.rows == len(rows)
    assert not result.written and count(Resident) == 0 and count(Family) == 0
    codes = by_code(result)

    nik_errors = {}
    for issue in result.errors:
        if issue.code == "nik":
            nik_errors[issue.row] = nik_errors.get(issue.row, "") + english(issue)
    assert "contains \"a\"" in nik_errors[where["letters"]]
    assert "29-02-2001" in nik_errors[where["feb29"]] and "not a real date" in nik_errors[where["feb29"]]
    assert "0000" in nik_errors[where["serial"]]
    assert (where["float"], "nik") in codes["number_cell"]
    assert set(codes["two_heads"]) == {(where["two_heads"][0], "kk_level"), (where["two_heads"][1], "kk_level")}
    assert codes["no_head"] == [(where["no_head"], "kk_level")]
    assert codes["duplicate_nik"] == [(where["duplicate"], "nik")]
    dup = next(i for i in result.errors if i.code == "duplicate_nik")
    assert f"row {where['duplicate_of']}" in english(dup)
    # Only the planted errors: the mess (dates, names, BOM, ";", header spelling) is accepted.
    assert {i.code for i in result.errors} == {"nik", "number_cell", "two_heads", "no_head", "duplicate_nik"}
    assert result.error_rows == 8
    float_issue = next(i for i in result.errors if i.code == "number_cell")
    assert float_issue.value == "3.31814E+15"
    assert "format the column as text" in english(float_issue).lower()


def test_fixed_messy_file_imports_and_residents_can_log_in(ctx):
    """The messy file without its errors imports completely; an imported resident gets a portal account and logs in."""
    from app.core.codes import STATUS_ALIVE
    from app.extensions import db
    from app.portal import services
    from app.residents.models import Area, Family, Resident
    rows = messy(population_rows())
    result = do_import(to_csv(rows, delimiter=";", header=MESSY_HEADER))
    assert result.ok and result.written
    assert (result.created, result.updated, result.unchanged) == (len(rows), 0, 0)
    assert count(Resident) == len(rows)
    assert count(Family) == result.families_created == len({r["no_kk"] for r in rows})
    assert result.areas_created == count(Area) > 0
    # RT "2" was stored as "002" under its RW and dusun.
    rt = db.session.scalars(select(Area).where(Area.level == "rt")).first()
    assert len(rt.name) == 3 and rt.parent.level == "rw" and rt.parent.parent.level == "dusun"
    alive = db.session.scalars(select(Resident).where(Resident.basic_status_id == STATUS_ALIVE)
                               .order_by(Resident.id)).first()
    account, pin = services.create_account(alive)
    db.session.commit()
    login = services.authenticate(alive.nik, pin)
    assert login.account is not None and login.account.id == account.id


def test_heads_are_exactly_one_per_family_after_import(ctx):
    """Every imported KK has exactly one head (the partial unique index and the services agree)."""
    from app.extensions import db
    from app.residents.models import Family, Resident
    do_import(to_csv(population_rows(120)))
    heads = db.session.execute(select(Family.id, func.count(Resident.id)).outerjoin(
        Resident, (Resident.family_id == Family.id) & (Resident.family_relationship_id == 1))
        .group_by(Family.id)).all()
    assert heads and all(n == 1 for _, n in heads)


# --- more error classes ------------------------------------------------------------------------

def test_missing_required_column_is_one_clear_error(ctx):
    """A file without required columns gives one file error naming them, and no row errors."""
    rows = population_rows(100)
    header = [c for c in transfer.COLUMNS if c not in ("tanggallahir", "kk_level")]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    result = do_import(out.getvalue().encode())
    assert [i.code for i in result.errors] == ["missing_columns"]
    assert result.errors[0].row is None
    assert "tanggallahir, kk_level" in english(result.errors[0])


@pytest.mark.parametrize("data,code", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old_xls"),
    (b"\x89PNG\r\n\x1a\n\0\0\0", "not_spreadsheet"),
    ("nik;nama\n".encode("utf-16"), "not_spreadsheet"),
    ("nama;nik\nBudi;1\n".encode(), "missing_columns"),
    ("alamat,nama\nx,y\n".encode(), "no_header"),
    (b"PK\x03\x04broken", "bad_xlsx"),
])
def test_unreadable_files_are_refused(ctx, data, code):
    """Old .xls, images, UTF-16, missing header and a broken zip each get their own file error."""
    result = do_import(data)
    assert [i.code for i in result.errors] == [code]


def test_csv_must_be_utf8(ctx):
    """A CSV in a Windows code page is refused with a hint to save as CSV UTF-8."""
    data = to_csv(population_rows(100), bom=False).replace(b"Dukuh", "Dukuh \u00e9".encode("cp1252"))
    result = do_import(data)
    assert [i.code for i in result.errors] == ["not_utf8"]


def test_row_level_errors(ctx):
    """Unknown codes, bad and future dates, missing values, bad RT, e-mail and long names are row errors."""
    rows = population_rows(100)
    rows[0]["agama_id"] = "PASTAFARI"
    rows[1]["tanggallahir"] = "31-04-1990"
    rows[2]["tanggallahir"] = "1990/31/12"
    rows[3]["tanggallahir"] = date(2099, 1, 1)
    rows[4]["nama"] = "  "
    rows[5]["rt"] = "RT satu"
    rows[6]["email"] = "budi(at)mail"
    rows[7]["nama"] = "A" * 101
    rows[8]["sex"] = "X"
    rows[9]["kk_level"] = ""
    result = do_import(to_csv(rows))
    found = {(i.row, i.column, i.code) for i in result.errors}
    assert {(2, "agama_id", "unknown_code"), (3, "tanggallahir", "unreal_date"),
            (4, "tanggallahir", "bad_date"), (5, "tanggallahir", "future_date"),
            (6, "nama", "required"), (7, "rt", "rt_rw"), (8, "email", "email"),
            (9, "nama", "too_long"), (10, "sex", "unknown_code"),
            (11, "kk_level", "required")} <= found
    unknown = next(i for i in result.errors if i.code == "unknown_code")
    assert '"ISLAM"' in english(unknown) and unknown.value == "PASTAFARI"


def test_numbers_stored_as_numbers_are_reported_never_fixed(ctx):
    """NIK/KK as int or float cells, '.0' tails and 15 digits are reported, not repaired."""
    from app.residents.models import Resident
    rows = population_rows(100)
    singles = family_starts(rows, 1)
    i1, i2, i3, i4 = singles[1], singles[2], singles[3], singles[4]
    rows[i1]["nik"] = int(rows[i1]["nik"])
    rows[i2]["nik"] = float(rows[i2]["nik"])
    rows[i3]["no_kk"] = int(rows[i3]["no_kk"])
    rows[i4]["nik"] = rows[i4]["nik"] + ".0"
    result = do_import(to_xlsx(rows))
    found = {(i.row, i.column, i.code) for i in result.errors}
    assert {(i1 + 2, "nik", "number_cell"), (i2 + 2, "nik", "number_cell"),
            (i3 + 2, "no_kk", "number_cell"), (i4 + 2, "nik", "number_cell")} <= found
    assert count(Resident) == 0
    rows = population_rows(100)
    rows[i1]["nik"] = rows[i1]["nik"][1:]  # 15 digits, like a temporary NIK that lost its 0
    result = do_import(to_csv(rows))
    assert (i1 + 2, "nik", "lost_zero") in {(i.row, i.column, i.code) for i in result.errors}


def test_leading_zeros_of_temporary_numbers_are_kept(ctx):
    """A temporary NIK and KK (starting with 0) in text cells are stored with their zeros."""
    from app.extensions import db
    from app.residents.models import Family, Resident
    rows = population_rows(100)
    i = family_starts(rows, 1)[0]
    kk = rows[i]["no_kk"]
    for r in rows:
        if r["no_kk"] == kk:
            r["no_kk"] = "0331814200500007"
    rows[i]["nik"] = "0331814200500008"
    assert do_import(to_xlsx(rows)).written
    assert db.session.scalar(select(Resident.nik).where(Resident.nik == "0331814200500008"))
    assert db.session.scalar(select(Family.id).where(Family.kk_number == "0331814200500007"))


def test_nik_warnings_do_not_block(ctx):
    """A NIK whose birth date differs from the record gives a warning, and the row is imported."""
    rows = population_rows(100)
    rows[0]["tanggallahir"] = date(1950, 1, 2)
    result = do_import(to_csv(rows))
    assert result.written and result.created == len(rows)
    assert [(w.row, w.column, w.code) for w in result.warnings] == [(2, "nik", "nik")]
    assert "differs" in english(result.warnings[0])


def test_head_already_in_register_counts(ctx):
    """A file adding a second head to a KK whose head is in the register (not in the file) is refused."""
    from app.extensions import db
    from app.residents.models import Resident
    family = make_family(area=make_area())
    make_resident(family=family, shdk=1)
    db.session.commit()
    rows = population_rows(100)
    i = family_starts(rows, 1)[0]
    kk = rows[i]["no_kk"]
    for r in rows:
        if r["no_kk"] == kk:
            r["no_kk"] = family.kk_number
    before = count(Resident)
    result = do_import(to_csv(rows))
    assert (i + 2, "kk_level", "head_in_register") in {(e.row, e.column, e.code) for e in result.errors}
    assert count(Resident) == before


def test_head_leaving_a_family_needs_a_new_head(ctx):
    """Moving a registered head to another KK is refused when the old KK keeps members without a head."""
    family = make_family(area=make_area())
    head = make_resident(family=family, shdk=1, name="Kepala Lama")
    make_resident(family=family, shdk=3, sex=2, name="Istri", birth=date(1992, 3, 4))
    rows = population_rows(100)
    rows.append(dict(rows[0], nik=head.nik, nama=head.name, sex=1, tanggallahir=head.birth_date,
                     no_kk=make_kk_number(), kk_level=1))
    result = do_import(to_csv(rows))
    assert (len(rows) + 1, "no_kk", "head_leaves") in {(e.row, e.column, e.code) for e in result.errors}


def test_level_without_kk_is_an_error_and_no_kk_is_allowed(ctx):
    """A resident on no KK imports without kk_level; kk_level without no_kk is an error."""
    from app.extensions import db
    from app.residents.models import Resident
    rows = population_rows(100)
    loner = dict(rows[0], nik=make_nik(date(2000, 1, 2), 1, prefix="331814"), no_kk="", kk_level="",
                 tanggallahir=date(2000, 1, 2), sex=1)
    wrong = dict(loner, nik=make_nik(date(2000, 1, 3), 1, prefix="331814"), tanggallahir=date(2000, 1, 3),
                 kk_level=4)
    result = do_import(to_csv(rows + [loner, wrong]))
    assert [(e.row, e.code) for e in result.errors] == [(len(rows) + 3, "level_without_kk")]
    result = do_import(to_csv(rows + [loner]))
    assert result.written
    stored = db.session.scalar(select(Resident).where(Resident.nik == loner["nik"]))
    assert stored.family_id is None and stored.family_relationship_id is None


# --- re-runs, updates, partial, dry run ----------------------------------------------------------

def test_rerun_changes_nothing(ctx):
    """Importing the same file twice: the second run counts every row as unchanged and writes nothing."""
    from app.extensions import db
    from app.residents.models import Resident
    data = to_csv(messy(population_rows()), delimiter=";", header=MESSY_HEADER)
    first = do_import(data)
    assert first.created == N
    stamp = db.session.scalar(select(func.max(Resident.updated_at)))
    again = do_import(data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, N)
    assert (again.families_created, again.families_updated, again.areas_created) == (0, 0, 0)
    assert db.session.scalar(select(func.max(Resident.updated_at))) == stamp


def test_changed_row_updates_and_moves_to_another_kk(ctx):
    """A changed name updates the resident; a changed no_kk moves them; a head swap respects the one-head index."""
    from app.extensions import db
    from app.residents.models import Family, Resident
    rows = population_rows()
    do_import(to_csv(rows))
    fams = family_starts(rows, 3)
    h = fams[0]
    # 1. rename one resident
    rows[h + 2]["nama"] = "Nama Baru Sekali"
    # 2. move the third member of another family to a new KK, as its head
    m = fams[1] + 2
    rows[m]["no_kk"] = make_kk_number(prefix="331814")
    rows[m]["kk_level"] = 1
    # 3. swap head and spouse in a third family
    s = fams[2]
    rows[s]["kk_level"], rows[s + 1]["kk_level"] = 2, 1
    result = do_import(to_csv(rows))
    assert result.ok, [(e.row, e.code) for e in result.errors]
    assert (result.created, result.updated, result.unchanged) == (0, 4, N - 4)
    assert result.families_created == 1
    assert db.session.scalar(select(Resident.name).where(Resident.nik == rows[h + 2]["nik"])) == "Nama Baru Sekali"
    moved = db.session.scalar(select(Resident).where(Resident.nik == rows[m]["nik"]))
    assert moved.family.kk_number == rows[m]["no_kk"] and moved.family_relationship_id == 1
    new_head = db.session.scalar(select(Resident).where(Resident.nik == rows[s + 1]["nik"]))
    assert new_head.family_relationship_id == 1
    assert db.session.scalar(select(func.count(Resident.id)).join(Family).where(
        Family.kk_number == rows[s]["no_kk"], Resident.family_relationship_id == 1)) == 1


def test_dry_run_writes_nothing_but_counts(ctx):
    """A dry run says what would be created and writes nothing."""
    from app.residents.models import Resident
    result = do_import(to_csv(population_rows()), dry_run=True)
    assert result.ok and not result.written and result.created == N and result.families_created > 0
    assert count(Resident) == 0


def test_partial_import_skips_whole_families_with_errors(ctx):
    """--partial writes every KK without errors and skips each KK with an error completely."""
    from app.extensions import db
    from app.residents.models import Family, Resident
    rows, where = broken(population_rows())
    result = do_import(to_csv(rows), partial=True)
    assert result.written
    bad_rows = {where["letters"], where["feb29"], where["serial"], where["float"], where["duplicate"],
                *where["two_heads"], where["no_head"]}
    bad_kks = {rows[r - 2]["no_kk"] for r in bad_rows}
    expected = [r for r in rows if r["no_kk"] not in bad_kks]
    assert result.created == count(Resident) == len(expected)
    assert result.skipped == len(rows) - len(expected) - result.error_rows
    stored_kks = set(db.session.scalars(select(Family.kk_number)))
    assert stored_kks == {r["no_kk"] for r in expected}
    assert {w.code for w in result.warnings} >= {"skipped"}


def test_family_values_come_from_the_head_row(ctx):
    """When members of one KK give different addresses, the head's row wins and the others get a warning."""
    from app.extensions import db
    from app.residents.models import Family
    rows = population_rows(100)
    i = family_starts(rows, 2)[0]
    rows[i + 1]["alamat"] = "Jl. Lain 9"
    result = do_import(to_csv(rows))
    assert result.written
    assert [(w.row, w.code) for w in result.warnings] == [(i + 3, "family_differs")]
    assert db.session.scalar(select(Family.address).where(Family.kk_number == rows[i]["no_kk"])) == rows[i]["alamat"]


# --- export and the round trip ------------------------------------------------------------------

def test_round_trip_csv(demo):
    """Export CSV, import it back: nothing changes; into an empty register: the same export again."""
    from app.residents.models import Resident
    exported = export_bytes("csv")
    assert exported.startswith(b"\xef\xbb\xbf")
    again = do_import(exported)
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, N)
    empty_register()
    fresh = do_import(exported)
    assert fresh.created == N == count(Resident)
    assert export_bytes("csv") == exported


def test_round_trip_xlsx(demo):
    """Export XLSX, import it back: nothing changes; into an empty register: the same data."""
    csv_before = export_bytes("csv")
    exported = export_bytes("xlsx")
    again = do_import(exported)
    assert again.ok and again.fmt == "xlsx" and (again.created, again.updated, again.unchanged) == (0, 0, N)
    empty_register()
    assert do_import(exported).created == N
    assert export_bytes("csv") == csv_before


def test_xlsx_export_keeps_numbers_as_text(demo):
    """NIK, No. KK, RT and RW are text cells (format "@"); birth dates are date cells."""
    wb = load_workbook(io.BytesIO(export_bytes("xlsx")))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert tuple(header) == transfer.COLUMNS
    row = ws[2]
    for column in ("nik", "no_kk", "rt", "rw"):
        cell = row[header.index(column)]
        assert cell.data_type == "s" and cell.number_format == "@" and isinstance(cell.value, str)
    assert len(row[header.index("nik")].value) == 16
    assert isinstance(row[header.index("tanggallahir")].value, datetime)
    assert ws.max_row == N + 1


def test_exports_neutralise_formulas(ctx):
    """A name starting with "=" is plain text in XLSX and prefixed with ' in CSV, and imports back unchanged."""
    from app.extensions import db
    from app.residents.models import Resident
    family = make_family(area=make_area())
    make_resident(family=family, name="=HYPERLINK(\"http://x\")", phone="+6281234567890")
    db.session.commit()
    csv_text = export_bytes("csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text and "'+6281234567890" in csv_text
    cell = load_workbook(io.BytesIO(export_bytes("xlsx"))).active["E2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    for fmt in ("csv", "xlsx"):
        result = do_import(export_bytes(fmt))
        assert result.unchanged == 1, [(e.column, e.code) for e in result.errors]
    assert db.session.scalar(select(Resident.phone)) == "+6281234567890"


def test_export_streams_in_pages(demo, monkeypatch):
    """The export reads families in keyset pages (a page size of 50 gives the same file)."""
    whole = export_bytes("csv")
    monkeypatch.setattr(transfer, "EXPORT_PAGE", 50)
    assert export_bytes("csv") == whole


# --- the command line ---------------------------------------------------------------------------

def test_cli_import_and_export(app, tmp_path):
    """`desa import-residents` checks, refuses a file with errors (exit 1), imports, and `export-residents` writes the file."""
    runner = app.test_cli_runner()
    bad, _ = broken(population_rows())
    bad_file = tmp_path / "bad.csv"
    bad_file.write_bytes(to_csv(bad))
    out = runner.invoke(args=["desa", "import-residents", str(bad_file), "--report", str(tmp_path / "r.csv")])
    assert out.exit_code == 1 and "Nothing was written" in out.output
    assert "********" in out.output  # NIKs masked on the terminal
    report = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    assert report.count("\n") > 8
    good = tmp_path / "good.xlsx"
    good.write_bytes(to_xlsx(population_rows()))
    out = runner.invoke(args=["desa", "import-residents", str(good), "--dry-run"])
    assert out.exit_code == 0 and "Dry run" in out.output
    out = runner.invoke(args=["desa", "import-residents", str(good)])
    assert out.exit_code == 0 and f"created: {N}" in out.output
    out = runner.invoke(args=["desa", "export-residents", str(tmp_path / "out.csv")])
    assert out.exit_code == 0 and f"Exported {N}" in out.output
    assert (tmp_path / "out.csv").read_bytes().count(b"\n") == N + 1
    out = runner.invoke(args=["desa", "export-residents", str(tmp_path / "out.txt")])
    assert out.exit_code != 0


# --- the operator panel --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(app):
    """An app with RegisterTransferView registered (a second app until app/admin.py registers it)."""
    from app import create_app
    from app.residents.transfer_admin import register_transfer_views
    if any(type(v).__name__ == "RegisterTransferView" for v in app.appbuilder.baseviews):
        return app
    other = create_app(dict(app.config))
    with other.app_context():
        register_transfer_views(other.appbuilder)
        other.appbuilder.sm.sync_roles()
    return other


@contextmanager
def web_ctx(web):
    from app.extensions import db
    with web.app_context():
        yield db.session
        db.session.commit()


@pytest.fixture
def operator(app, web):
    """A client logged in as an Admin user, UI in English."""
    client = web.test_client()
    with web_ctx(web):
        make_admin(username="importer", password=PASSWORD, role="Admin")
    assert admin_login(client, username="importer", password=PASSWORD).status_code == 302
    client.get("/bahasa/en")
    return client


def upload(client, data, name="penduduk.csv"):
    token = csrf_token(client, "/register-transfer/")
    return client.post("/register-transfer/check", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def form_token(html):
    import re
    match = re.search(r'name="token" value="([^"]+)"', html)
    return match.group(1) if match else None


def web_count(web, model):
    with web.app_context():
        return count(model)


def test_page_needs_login(app, web):
    """Anonymous users are sent to the login page; the page and export need FAB permissions."""
    client = web.test_client()
    for url in ("/register-transfer/", "/register-transfer/export/csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/register-transfer/check").status_code in (302, 400)


def test_page_shows_upload_form_and_exports(operator):
    """The page has the upload form with the size limit, the note that it may take a while, and export buttons."""
    html = operator.get("/register-transfer/").get_data(as_text=True)
    assert 'type="file"' in html and "20 MB" in html and "take a while" in html
    assert "/register-transfer/export/xlsx" in html and "/register-transfer/export/csv" in html


def test_upload_check_then_import(operator, web):
    """Check shows the dry-run report with an Import button; Import writes the residents."""
    from app.residents.models import Resident
    response = upload(operator, to_xlsx(messy(population_rows())), "penduduk.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="count-created">300<' in html
    assert web_count(web, Resident) == 0
    token = form_token(html)
    response = operator.post("/register-transfer/import",
                             data={"csrf_token": csrf_token(operator, "/register-transfer/"), "token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The import is done" in html
    assert web_count(web, Resident) == N
    # The stored file is gone: a second click cannot import it again.
    response = operator.post("/register-transfer/import",
                             data={"csrf_token": csrf_token(operator, "/register-transfer/"), "token": token})
    assert response.status_code == 302


def test_report_lists_errors_escaped(operator, web):
    """The error table shows row, column, value and reason; values from the file are escaped."""
    from app.residents.models import Resident
    rows, where = broken(population_rows())
    rows[0]["nik"] = "<script>alert(1)</script>"
    html = upload(operator, to_csv(rows, delimiter=";"), "<b>x.csv").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>x" not in html and "&lt;b&gt;x.csv" in html
    assert '"<"' not in html and "&#34;&lt;&#34;" in html  # the reason quotes the file's characters
    assert f"<td>{where['no_head']}</td>" in html and "has no head of family" in html
    assert "3.31814E+15" in html and "Format the column as text" in html
    assert "Import the KKs without errors" in html
    # A partial import from the report page writes the good families.
    response = operator.post("/register-transfer/import", data={
        "csrf_token": csrf_token(operator, "/register-transfer/"), "token": form_token(html), "partial": "1"})
    assert response.status_code == 200 and 0 < web_count(web, Resident) < N


def test_upload_refuses_other_files_and_large_ones(operator, web):
    """Files that are not XLSX/CSV by content, and files over IMPORT_MAX_BYTES, are refused with a message."""
    response = upload(operator, b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "penduduk.csv")
    assert response.status_code == 302
    assert "neither an XLSX workbook nor a CSV" in operator.get("/register-transfer/").get_data(as_text=True)
    web.config["IMPORT_MAX_BYTES"] = 1024
    try:
        response = upload(operator, to_csv(population_rows()))
    finally:
        web.config.pop("IMPORT_MAX_BYTES")
    assert response.status_code == 302
    assert "too large" in operator.get("/register-transfer/").get_data(as_text=True)


def test_import_token_belongs_to_the_session(operator, web):
    """A token from another operator's session cannot import the stored file."""
    from app.residents.models import Resident
    token = form_token(upload(operator, to_csv(population_rows())).get_data(as_text=True))
    other = web.test_client()
    with web_ctx(web):
        make_admin(username="other", password=PASSWORD, role="Admin")
    admin_login(other, username="other", password=PASSWORD)
    response = other.post("/register-transfer/import",
                          data={"csrf_token": csrf_token(other, "/register-transfer/"), "token": token})
    assert response.status_code == 302 and web_count(web, Resident) == 0


def test_export_downloads(operator, web):
    """The export buttons download the register as CSV (BOM, comma) and XLSX, never cached."""
    with web_ctx(web):
        family = make_family(area=make_area())
        make_resident(family=family)
    response = operator.get("/register-transfer/export/csv")
    body = response.get_data()
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"] and response.headers["Cache-Control"] == "no-store"
    assert body.startswith(b"\xef\xbb\xbfalamat,dusun,rw,rt,nama,no_kk,nik") and body.count(b"\n") == 2
    response = operator.get("/register-transfer/export/xlsx")
    assert response.status_code == 200 and response.get_data()[:2] == b"PK"
    assert load_workbook(io.BytesIO(response.get_data())).active.max_row == 2
    assert operator.get("/register-transfer/export/pdf").status_code == 404


def test_sample_files_import_cleanly(ctx):
    """docs/sample-import.csv and .xlsx pass the check and import."""
    from app.residents.transfer_admin import SAMPLE_DIR
    for fmt in ("csv", "xlsx"):
        result = do_import((SAMPLE_DIR / f"sample-import.{fmt}").read_bytes(), dry_run=True)
        assert result.ok and 10 <= result.created <= 20, [(e.row, e.column, e.code) for e in result.errors]


def test_sample_download_and_permission_names(operator, web):
    """The page offers the sample files; the view's permissions are can_index, can_import and can_export."""
    response = operator.get("/register-transfer/sample/xlsx")
    assert response.status_code == 200 and response.get_data()[:2] == b"PK"
    assert operator.get("/register-transfer/sample/exe").status_code == 404
    with web.app_context():
        sm = web.appbuilder.sm
        names = {pv.permission.name for pv in sm.get_all_permissions_views()
                 if pv.view_menu.name == "RegisterTransferView"} if hasattr(sm, "get_all_permissions_views") else None
        if names is None:
            from flask_appbuilder.security.sqla.models import PermissionView, ViewMenu
            from app.extensions import db
            names = {pv.permission.name for pv in db.session.scalars(
                select(PermissionView).join(ViewMenu).where(ViewMenu.name == "RegisterTransferView"))}
    assert names == {"can_index", "can_import", "can_export"}
