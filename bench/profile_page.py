#!/usr/bin/env python
"""Profile Balai pages in-process with pyinstrument: where does a slow page spend its time?

Not part of the timed benchmark; used to explain a missed target (issue 6). Needs
``pip install pyinstrument`` and a database built like the benchmark's, e.g.::

    export BALAI_INSTANCE=/tmp/bench25 SECRET_KEY=balai-bench-secret-key-0123456789abcdef \\
        BALAI_DEMO=0 DATABASE_URL=sqlite:////tmp/bench25/balai.db
    flask --app run db upgrade && flask --app run desa init && flask --app run desa demo --residents 25000
    python bench/tasks.py seed --nik <first NIK of $BALAI_INSTANCE/demo-accounts.txt>
    python bench/profile_page.py /layanan-mandiri/profil /residentview/list/ -n 30

Paths under ``/layanan-mandiri`` are requested as the first demo resident (the login page and
the guide anonymously), others as ``admin``
(logins from demo-accounts.txt, through the real forms). For each path it prints the mean time
per request, the number of SQL statements per request (SQLAlchemy ``before_cursor_execute``),
the slowest statements, and pyinstrument's call tree (``--html DIR`` also writes HTML reports).
"""
import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def logins(app):
    text = (Path(app.instance_path) / "demo-accounts.txt").read_text()
    users = dict(re.findall(r"username (\S+)\s+password (\S+)", text))
    nik, pin = re.findall(r"NIK (\d{16})\s+PIN (\d{6})", text)[0]
    portal, office = app.test_client(), app.test_client()
    token = CSRF_RE.search(portal.get("/layanan-mandiri/masuk").get_data(as_text=True)).group(1)
    r = portal.post("/layanan-mandiri/masuk", data={"nik": nik, "pin": pin, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    token = CSRF_RE.search(office.get("/login/?next=/operator/").get_data(as_text=True)).group(1)
    r = office.post("/login/?next=/operator/", data={"username": "admin", "password": users["admin"],
                                                     "csrf_token": token})
    assert r.status_code == 302, r.status_code
    return portal, office


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("-n", type=int, default=20, help="requests per path (after 2 warm-up requests)")
    parser.add_argument("--html", help="folder for pyinstrument HTML reports")
    parser.add_argument("--show-all", action="store_true", help="show library frames too")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling interval in seconds")
    args = parser.parse_args()

    from pyinstrument import Profiler
    from sqlalchemy import event

    from run import app
    from app.extensions import db

    portal, office = logins(app)
    statements = []

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("t0", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        statements.append((time.perf_counter() - conn.info["t0"].pop(), " ".join(statement.split())[:160]))

    for path in args.paths:
        if path.startswith(("/layanan-mandiri/masuk", "/layanan-mandiri/panduan")):
            client = app.test_client()  # public pages: a logged-in resident is redirected
        else:
            client = portal if path.startswith("/layanan-mandiri") else office
        for _ in range(2):
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code, r.headers.get("Location"))
        statements.clear()
        profiler = Profiler(interval=args.interval)
        start = time.perf_counter()
        profiler.start()
        for _ in range(args.n):
            client.get(path)
        profiler.stop()
        wall = (time.perf_counter() - start) / args.n * 1000
        sql_ms = sum(s for s, _ in statements) / args.n * 1000
        print(f"\n===== {path}: {wall:.1f} ms per request, {len(statements) / args.n:.1f} SQL statements "
              f"per request taking {sql_ms:.1f} ms")
        slow, many = Counter(), Counter()
        for seconds, text in statements:
            slow[text] += seconds
            many[text] += 1
        for text, seconds in slow.most_common(5):
            print(f"  {seconds / args.n * 1000:7.2f} ms/request  {many[text] / args.n:4.0f} x  {text}")
        for text, count in many.most_common(3):
            if text not in dict(slow.most_common(5)):
                print(f"  {slow[text] / args.n * 1000:7.2f} ms/request  {count / args.n:4.0f} x  {text}")
        print(profiler.output_text(unicode=False, color=False, show_all=args.show_all, short_mode=False))
        if args.html:
            Path(args.html).mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "root"
            Path(args.html, f"{name}.html").write_text(profiler.output_html())


if __name__ == "__main__":
    main()
