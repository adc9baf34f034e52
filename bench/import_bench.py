#!/usr/bin/env python
"""How fast is the resident import? 25,000 residents (DOMAIN.md §7 stress size) by default.

Usage::

    python bench/import_bench.py                      # SQLite (a throw-away file)
    createdb -h 127.0.0.1 -U postgres bench_import
    DATABASE_URL=postgresql://postgres@127.0.0.1/bench_import python bench/import_bench.py
    dropdb -h 127.0.0.1 -U postgres bench_import

The spreadsheet is made from the demo village generator (``generate_population``: realistic
NIKs, KK numbers, families and wilayah) and written with the export's own CSV and XLSX writers.
Each run migrates an empty database, then times (wall clock, including reading the file and
the commit):

1. CSV into the empty register (every row created: families, areas, residents),
2. the same CSV again (every row unchanged: nothing written),
3. the CSV with 10 % of the rows changed (names; updates),
4. the XLSX file, after emptying the register (created again),
5. the export of the whole register to CSV and XLSX.

PostgreSQL is used when ``DATABASE_URL`` (or ``--database-url``) points to one. The database
must be empty (no tables) and is never the one named ``test`` (the test suite's); create your
own and drop it afterwards as shown above. Target: at least 1,000 rows per second.
"""
import argparse
import io
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_rows(residents, seed):
    """Export-layout rows (lists in COLUMNS order) for the demo village of ``residents``."""
    from app.residents.demo import generate_population

    pop = generate_population(residents, seed=seed)
    rows = []
    for fam in pop.families:
        dusun, rw, rt = fam.rt
        for p in fam.members:
            rows.append([fam.address, dusun, rw, rt, p.name, fam.kk_number, p.nik, p.sex_id,
                         p.birth_place, p.birth_date, p.religion_id, p.education_id,
                         p.occupation_id, p.marital_status_id, p.family_relationship_id, 1,
                         p.father_name, p.mother_name, p.blood_type_id, "", "", p.basic_status_id])
    return rows


def csv_bytes(rows):
    from app.residents.transfer import iter_csv_chunks
    return "".join(iter_csv_chunks(iter(rows))).encode("utf-8")


def xlsx_bytes(rows):
    from app.residents.transfer import write_xlsx
    out = io.BytesIO()
    write_xlsx(out, iter(rows))
    return out.getvalue()


def check_postgres(url):
    """Refuse the test suite's database and any database that already holds tables."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if name == "test":
        sys.exit("refusing to use the database named 'test' (the test suite's); create bench_import")
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        sys.exit(f"database {name!r} is not empty ({len(tables)} tables); use a fresh one")


def empty_register(db):
    """Delete the imported rows (leaves first: the area tree restricts deleting parents)."""
    from sqlalchemy import text
    for table in ("resident", "family"):
        db.session.execute(text(f"DELETE FROM {table}"))
    for level in ("rt", "rw", "dusun"):
        db.session.execute(text(f"DELETE FROM area WHERE level = '{level}'"))
    db.session.commit()


def run(url, label, files, n_rows):
    """Migrate ``url`` and time the scenarios; returns a list of (scenario, rows, seconds)."""
    import logging

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.residents import transfer

    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(32),
                      "BALAI_DEMO": False})
    results = []

    def timed(name, func, rows=n_rows):
        start = time.perf_counter()
        outcome = func()
        seconds = time.perf_counter() - start
        results.append((f"{label}: {name}", rows, seconds))
        print(f"  {name:<38} {rows:>7,} rows {seconds:7.2f} s {rows / seconds:9,.0f} rows/s",
              flush=True)
        return outcome

    def do_import(data, expect):
        result = transfer.import_residents(data)
        if not result.ok:
            raise SystemExit(f"import failed: {[(i.row, i.column, i.code) for i in result.errors[:5]]}")
        db.session.commit()
        got = (result.created, result.updated, result.unchanged)
        if got != expect:
            raise SystemExit(f"unexpected counts {got}, expected {expect}")
        return result

    with app.app_context():
        upgrade()
        print(f"{label}:")
        changed = max(1, n_rows // 10)
        timed("CSV into an empty register", lambda: do_import(files["csv"], (n_rows, 0, 0)))
        timed("same CSV again (all unchanged)", lambda: do_import(files["csv"], (0, 0, n_rows)))
        timed("CSV with 10 % changed rows", lambda: do_import(files["changed"], (0, changed, n_rows - changed)))
        empty_register(db)
        timed("XLSX into an empty register", lambda: do_import(files["xlsx"], (n_rows, 0, 0)))
        timed("export to CSV", lambda: transfer.export_residents(io.BytesIO(), "csv"))
        timed("export to XLSX", lambda: transfer.export_residents(io.BytesIO(), "xlsx"))
        db.session.remove()
        db.engine.dispose()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="a PostgreSQL URL for the second run (default: $DATABASE_URL)")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

    start = time.perf_counter()
    rows = make_rows(args.residents, args.seed)
    n_rows = len(rows)
    changed_rows = [list(r) for r in rows]
    for r in changed_rows[::10][:max(1, n_rows // 10)]:
        r[4] = r[4] + " Baru"
    files = {"csv": csv_bytes(rows), "xlsx": xlsx_bytes(rows), "changed": csv_bytes(changed_rows)}
    print(f"{n_rows:,} residents generated in {time.perf_counter() - start:.1f} s "
          f"(CSV {len(files['csv']) / 1e6:.1f} MB, XLSX {len(files['xlsx']) / 1e6:.1f} MB); "
          f"{os.cpu_count()} CPUs\n")

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += run(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", files, n_rows)
    if args.database_url.startswith("postgresql"):
        check_postgres(args.database_url)
        results += run(args.database_url, "PostgreSQL", files, n_rows)

    print("\n| Scenario | Rows | Seconds | Rows/s |\n| --- | ---: | ---: | ---: |")
    for name, count, seconds in results:
        print(f"| {name} | {count:,} | {seconds:.2f} | {count / seconds:,.0f} |")
    slow = [name for name, count, seconds in results if "export" not in name and count / seconds < 1000]
    if slow:
        print(f"\nBelow the target of 1,000 rows/s: {', '.join(slow)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
