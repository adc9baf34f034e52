"""Start Balai: ``python run.py`` (migrate, load the demo village if empty, serve).

Also the Flask app for the CLI: ``flask --app run desa demo``, ``flask --app run db upgrade``.
"""
import os
import secrets
import sys

from config import INSTANCE_DIR


def secret_key():
    """SECRET_KEY from the environment, else one generated once into instance/secret_key (0600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


from app import create_app  # noqa: E402

app = create_app({"SECRET_KEY": secret_key()})


def main():
    """Apply migrations, sync roles, build the demo village on an empty database, then serve."""
    from app.cli import build_demo_if_empty, sync_reference_data

    with app.app_context():
        sync_reference_data()
        if app.config["BALAI_DEMO"]:
            build_demo_if_empty()
        no_users = app.appbuilder.sm.count_users() == 0
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    print(f"\nBalai is running at http://{host}:{port}/")
    print(f"  Layanan Mandiri: http://{host}:{port}/layanan-mandiri/masuk")
    print(f"  Operator panel:  http://{host}:{port}/login/")
    if no_users:
        print("  No operator exists yet. Create one with:")
        print("    .venv/bin/flask --app run fab create-admin --username admin --firstname Admin \\")
        print("        --lastname Desa --email admin@example.desa.id --password '<a long password>'\n")
    else:
        print(f"  Demo logins:     {INSTANCE_DIR / 'demo-accounts.txt'}\n")
    sys.stdout.flush()
    app.run(host=host, port=port, debug=False)


if __name__ == "__main__":
    main()
