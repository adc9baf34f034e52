"""Balai configuration, read from the environment.

Every setting can be overridden by an environment variable of the same name (see README,
"Configuration"). ``create_app`` refuses to start without ``SECRET_KEY`` unless ``DEBUG`` or
``TESTING`` is set; ``python run.py`` generates one into ``instance/secret_key`` for local use.
"""
import os
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("BALAI_INSTANCE", BASE_DIR / "instance"))


def _env_int(name, default):
    """Return the environment variable ``name`` as an int, or ``default`` when unset."""
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Config:
    """Production defaults. Values come from the environment where one is set."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'balai.db'}"
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: Resident files (photos, documents) live here, outside the web root; never served directly.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER") or str(INSTANCE_DIR / "uploads")
    #: Largest request body accepted, in bytes (a letter request may carry several files).
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)
    #: Largest single uploaded document, in bytes (stated on the upload forms).
    DOCUMENT_MAX_BYTES = _env_int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
    #: Largest spreadsheet accepted by the register import page, in bytes.
    IMPORT_MAX_BYTES = _env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
    #: Uploaded images are downscaled to at most this many pixels on the long side.
    UPLOAD_IMAGE_MAX_PX = _env_int("UPLOAD_IMAGE_MAX_PX", 1600)
    #: Base URL printed in QR codes (e.g. https://sukamaju.desa.id); default: the request's host.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "")

    # --- Languages (Indonesian first) ---
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "id")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("BABEL_DEFAULT_TIMEZONE", "Asia/Jakarta")
    #: Absolute path: a relative one would be resolved against the app/ package.
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {
        "id": {"flag": "id", "name": "Bahasa Indonesia"},
        "en": {"flag": "gb", "name": "English"},
    }

    # --- Flask-AppBuilder (operator panel) ---
    APP_NAME = "Balai"
    APP_ICON = "/static/img/balai-logo.png"
    AUTH_TYPE = AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    AUTH_RATE_LIMITED = True
    AUTH_RATE_LIMIT = "10 per 20 second"
    FAB_ADD_SECURITY_API = False
    FAB_API_SWAGGER_UI = False
    FAB_SECURITY_MANAGER_CLASS = "app.security.BalaiSecurityManager"
    FAB_INDEX_VIEW = "app.public.PublicIndexView"
    FAB_BASE_TEMPLATE = "admin_base.html"
    FAB_UPDATE_PERMS = True
    FAB_PASSWORD_COMPLEXITY_ENABLED = True

    # --- Throttling (Flask-Limiter) ---
    RATELIMIT_ENABLED = True
    #: Use redis://... in production with several processes; memory is per process.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False

    # --- Sessions and CSRF ---
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session

    # --- Layanan Mandiri (portal) ---
    #: Idle time after which a resident is logged out, in seconds.
    PORTAL_IDLE_TIMEOUT = _env_int("PORTAL_IDLE_TIMEOUT", 15 * 60)
    #: Consecutive failed logins for one NIK before it is locked (DOMAIN.md §4).
    PORTAL_MAX_FAILURES = _env_int("PORTAL_MAX_FAILURES", 5)
    #: How long a NIK stays locked, in seconds.
    PORTAL_LOCK_SECONDS = _env_int("PORTAL_LOCK_SECONDS", 15 * 60)
    #: Failed logins allowed per client address (Flask-Limiter syntax). Generous on purpose:
    #: many residents share one carrier-grade NAT address.
    PORTAL_ADDRESS_LIMIT = os.environ.get("PORTAL_ADDRESS_LIMIT", "60 per 15 minutes")
    #: Argon2id cost for PIN hashes (argon2-cffi PasswordHasher keyword arguments): OWASP's
    #: recommended setting (19 MiB, 2 passes, 1 lane). The argon2-cffi default (64 MiB, 2 lanes)
    #: alone pushed a gunicorn worker past 200 MB; the PIN is also protected by the lockout.
    PIN_HASH_PARAMS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}

    #: Number of reverse proxies in front (0: none). Set it so X-Forwarded-For is trusted.
    PROXY_FIX_COUNT = _env_int("PROXY_FIX_COUNT", 0)

    #: Load the demo village when ``python run.py`` finds an empty database.
    BALAI_DEMO = os.environ.get("BALAI_DEMO", "1") != "0"


class DevelopmentConfig(Config):
    """``python run.py``: the same as production, with the debug toolbar off and debug on."""

    DEBUG = os.environ.get("FLASK_DEBUG", "0") == "1"


class TestConfig(Config):
    """pytest: a throw-away database (``TEST_DATABASE_URL`` or a temporary SQLite file)."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    AUTH_RATE_LIMITED = False
    #: Cheap hashes keep the suite fast; production keeps the slow defaults above.
    PIN_HASH_PARAMS = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
    SERVER_NAME = None
