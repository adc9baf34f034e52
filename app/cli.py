"""The ``flask desa ...`` command group: roles, demo village, and later import/export."""
import click
from flask import current_app
from flask.cli import AppGroup

desa = AppGroup("desa", help="Balai village commands.")


@desa.command("init")
def init_command():
    """Create or update permissions and roles (idempotent)."""
    roles = current_app.appbuilder.sm.sync_roles()
    click.echo("Roles: " + ", ".join(roles))


def register(app):
    """Attach the ``desa`` command group to ``app``."""
    app.cli.add_command(desa)
