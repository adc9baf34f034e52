"""The ``flask desa ...`` command group: roles, demo village, and later import/export."""
import click
from flask import current_app
from flask.cli import AppGroup

desa = AppGroup("desa", help="Balai village commands.")


def sync_reference_data():
    """Migrations, roles, permissions and the shipped letter types; idempotent (never overwrites edits).

    Returns:
        tuple ``(role names, number of letter types added)``.
    """
    from flask_migrate import upgrade

    from app.extensions import db
    from app.letters.catalogue import seed_letter_types

    upgrade()  # the schema first: a fresh database needs nothing else
    roles = current_app.appbuilder.sm.sync_roles()
    added = seed_letter_types()
    db.session.commit()
    return roles, added


@desa.command("init")
def init_command():
    """Apply migrations; create or update permissions, roles and the shipped letter types (idempotent)."""
    roles, added = sync_reference_data()
    click.echo("Roles: " + ", ".join(roles))
    click.echo(f"Letter types added: {added}")


@desa.command("demo")
@click.option("--residents", type=click.IntRange(100, 100_000), default=3000, show_default=True,
              help="Number of residents (about 3.1 per family).")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Random seed: the same seed gives the same NIKs and names.")
def demo_command(residents, seed):
    """Load the demo village (Desa Regaloh, Pati). Does nothing if a village or residents exist."""
    from app.residents.demo import build_demo

    sync_reference_data()
    result = build_demo(residents=residents, seed=seed, progress=click.echo)
    _echo_result(result)


def _echo_result(result, echo=click.echo):
    """Print what :func:`app.residents.demo.build_demo` did."""
    if not result.built:
        what = f"Desa {result.village_name} already exists" if result.village_name else \
            "Residents already exist"
        echo(f"{what}: the demo village was not loaded (nothing changed).")
        return
    echo(f"Demo village Desa {result.village_name} ({result.village_code}) loaded in "
         f"{result.seconds:.1f} s:")
    echo(f"  {result.families:,} families, {result.residents:,} residents "
         f"({result.alive:,} alive, {result.dead} dead, {result.moved} moved), "
         f"{result.officials} officials")
    echo(f"  {len(result.users)} operator logins and {len(result.portal)} portal logins: "
         f"{result.accounts_file} (demo only; readable by you alone)")


def build_demo_if_empty(echo=click.echo, residents=3000):
    """Build the demo village when the resident table is empty (used by ``python run.py``).

    When a village profile exists but no residents do, nothing is built either (the demo
    never touches a village someone has set up).

    Args:
        echo: ``callable(str)`` for progress and the summary (default: print with click).
        residents: size of the demo village.

    Returns:
        bool: True when the demo was built now.
    """
    from sqlalchemy import select

    from app.extensions import db
    from app.residents.demo import build_demo
    from app.residents.models import Resident

    if db.session.scalar(select(Resident.id).limit(1)) is not None:
        return False
    result = build_demo(residents=residents, progress=echo)
    _echo_result(result, echo)
    return result.built


def register(app):
    """Attach the ``desa`` command group to ``app``."""
    app.cli.add_command(desa)


# --------------------------------------------------------------------------- import / export


def _format_from_name(path):
    """``"xlsx"`` or ``"csv"`` from a file name's extension, else a usage error."""
    suffix = str(path).lower().rsplit(".", 1)[-1]
    if suffix not in ("xlsx", "csv"):
        raise click.BadParameter("the file name must end in .xlsx or .csv", param_hint="FILE")
    return suffix


def _echo_issues(title, issues, limit, echo=click.echo):
    """Print up to ``limit`` issues; NIKs and KK numbers masked (terminal output ends up in logs)."""
    if not issues:
        return
    echo(f"{title} ({len(issues)}):")
    for issue in issues[:limit]:
        where = f"row {issue.row}, {issue.column}" if issue.row is not None else "file"
        value = f" [{issue.log_value}]" if issue.value else ""
        echo(f"  {where}{value}: {issue.message}")
    if len(issues) > limit:
        echo(f"  ... and {len(issues) - limit} more (use --report FILE for the full list)")


def _write_issue_report(path, result):
    """All errors and warnings as a CSV file (UTF-8 with BOM), values in full for the operator."""
    import csv

    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["jenis", "baris", "kolom", "nilai", "keterangan"])
        for kind, issues in (("error", result.errors), ("warning", result.warnings)):
            for issue in issues:
                writer.writerow([kind, issue.row or "", issue.column, issue.value, str(issue.message)])


@desa.command("import-residents")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Check the file and count the changes; write nothing.")
@click.option("--partial", is_flag=True,
              help="Import the KKs without errors even when other rows have errors (a KK with an "
                   "error is skipped whole). Default: nothing is written if any row has an error.")
@click.option("--report", type=click.Path(dir_okay=False, writable=True),
              help="Write every error and warning (values in full) to this CSV file.")
@click.option("--show", type=click.IntRange(0), default=50, show_default=True,
              help="How many errors and warnings to print.")
def import_residents_command(file, dry_run, partial, report, show):
    """Import residents from an XLSX or CSV FILE (OpenSID column layout; see the README).

    Residents are matched by NIK: unchanged rows are not written, changed rows update the
    resident. Exit status 1 when the file has errors (with --partial the KKs without errors
    are written all the same).
    """
    from app.extensions import db
    from app.residents.services import refresh_statistics
    from app.residents.transfer import import_residents

    _format_from_name(file)
    with click.progressbar(length=1, label="Checking rows", show_pos=True) as bar:
        state = {"done": 0}

        def progress(done, total):
            bar.length = total
            bar.update(done - state["done"])
            state["done"] = done

        try:
            result = import_residents(file, dry_run=dry_run, partial=partial, progress=progress)
        except Exception:
            db.session.rollback()
            raise
    if result.written:
        db.session.commit()
        refresh_statistics()
    else:
        db.session.rollback()

    _echo_issues("Errors", result.errors, show)
    _echo_issues("Warnings", result.warnings, show)
    if report:
        _write_issue_report(report, result)
        click.echo(f"Full report: {report}")
    verb = "would be" if dry_run else ""
    click.echo(f"{result.rows:,} rows ({result.fmt or '?'}) checked in {result.seconds:.1f} s; "
               f"{len(result.errors)} errors in {result.error_rows} rows, {len(result.warnings)} warnings.")
    if result.errors and not partial:
        click.echo("Nothing was written: fix the errors (or use --partial).")
        raise SystemExit(1)
    click.echo(f"Residents {verb + ' ' if verb else ''}created: {result.created:,}, updated: "
               f"{result.updated:,}, unchanged: {result.unchanged:,}, skipped: {result.skipped:,}.")
    click.echo(f"KKs created: {result.families_created:,}, KKs updated: {result.families_updated:,}, "
               f"areas created: {result.areas_created:,}.")
    if dry_run:
        click.echo("Dry run: nothing was written.")
    if result.errors:
        raise SystemExit(1)


@desa.command("export-residents")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def export_residents_command(file):
    """Export every resident to FILE (.xlsx or .csv), in the same columns the import reads."""
    from app.residents.transfer import export_residents

    fmt = _format_from_name(file)
    count = export_residents(file, fmt)
    click.echo(f"Exported {count:,} residents to {file}.")
