"""The ``flask desa ...`` command group: roles, demo village, and later import/export."""
import click
from flask import current_app
from flask.cli import AppGroup

desa = AppGroup("desa", help="Balai village commands.")


def sync_reference_data():
    """Roles, permissions and the shipped letter types; idempotent (never overwrites edits).

    Returns:
        tuple ``(role names, number of letter types added)``.
    """
    from app.extensions import db
    from app.letters.catalogue import seed_letter_types

    roles = current_app.appbuilder.sm.sync_roles()
    added = seed_letter_types()
    db.session.commit()
    return roles, added


@desa.command("init")
def init_command():
    """Create or update permissions, roles and the shipped letter types (idempotent)."""
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
