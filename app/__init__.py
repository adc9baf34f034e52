"""Balai: village information system. ``create_app`` is the only entry point.

Nothing runs at import time: no database access, no view registration, no config reading.
The schema comes from migrations (``flask db upgrade``), demo data from ``flask desa demo``.
"""
import logging

from flask import Flask

from config import BASE_DIR, INSTANCE_DIR, Config

#: Values of SECRET_KEY that must never reach production.
_KNOWN_BAD_SECRETS = {"", "changeme", "secret", "dev", "\2\1thisismyscretkey\1\2\\e\\y\\y\\h"}


class ConfigError(RuntimeError):
    """The configuration cannot run safely (e.g. SECRET_KEY missing outside debug/tests)."""


def _check_secret_key(app):
    """Refuse to start without a real SECRET_KEY unless DEBUG or TESTING (STYLE.md habit 9).

    Raises:
        ConfigError: when SECRET_KEY is missing or a well-known default.
    """
    key = app.config.get("SECRET_KEY") or ""
    if key in _KNOWN_BAD_SECRETS or len(key) < 16:
        if app.debug or app.testing:
            app.config["SECRET_KEY"] = key if len(key) >= 16 else "insecure-debug-key-" + "x" * 16
            return
        raise ConfigError(
            "SECRET_KEY is missing or too weak. Set the SECRET_KEY environment variable "
            "(python run.py generates one into instance/secret_key)."
        )


def _sqlite_foreign_keys(engine):
    """SQLite ignores foreign keys (and their ON DELETE rules) unless asked on every connection."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app(config=None):
    """Build a Balai application.

    Args:
        config: a config class or object (default :class:`config.Config`), or a mapping of
            overrides applied on top of the default.

    Returns:
        flask.Flask: the configured application, with the operator panel (Flask-AppBuilder) at
        ``/`` and ``/admin``-style FAB routes, and Layanan Mandiri at ``/layanan-mandiri``.

    Raises:
        ConfigError: missing SECRET_KEY outside debug and tests.
    """
    from flask_appbuilder import AppBuilder

    from app import cli, models, public  # noqa: F401  (models: every mapper registered)
    from app.admin import register_admin_views
    from app.core.pdf import register_pdf_filters
    from app.core.formatting import register_formatting
    from app.extensions import csrf, db, migrate
    from app.portal.routes import bp as portal_bp, install_portal

    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    if isinstance(config, dict):
        app.config.from_object(Config)
        app.config.update(config)
    else:
        app.config.from_object(config or Config)
    _check_secret_key(app)
    if app.config.get("PROXY_FIX_COUNT"):
        # Behind a reverse proxy: trust that many X-Forwarded-* hops (per-address limits).
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["PROXY_FIX_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # FAB must not write permissions or create tables while it builds the app: the schema
    # belongs to the migrations and permissions to ``flask desa init``.
    app.config.setdefault("FAB_CREATE_DB", False)
    app.config["FAB_UPDATE_PERMS"] = False
    from app.security import build_roles
    app.config.setdefault("FAB_ROLES", build_roles())

    logging.getLogger("xhtml2pdf").setLevel(logging.ERROR)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    register_pdf_filters(app)
    register_formatting(app)

    with app.app_context():
        _sqlite_foreign_keys(db.engine)
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        register_admin_views(appbuilder)

    # Feature packages add their resident pages to the portal blueprint (one guard for all).
    from app.letters import routes as _letter_routes  # noqa: F401
    from app.letters.public import init_letters_public
    from app.notifications import routes as _notification_routes  # noqa: F401
    from app.messages import routes as _message_routes  # noqa: F401
    from app.aid import routes as _aid_routes  # noqa: F401
    app.register_blueprint(portal_bp)
    init_letters_public(app)
    public.init_public(app)
    from app.core.guards import init_guards
    init_guards(app)
    install_portal(app)
    cli.register(app)
    return app
