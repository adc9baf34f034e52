#!/usr/bin/env python
"""In-process steps of the benchmark, each run by ``bench/run.py`` as a subprocess.

The environment says which database and instance folder (``DATABASE_URL``, ``BALAI_INSTANCE``,
``UPLOAD_FOLDER``, ``SECRET_KEY``), exactly as for the gunicorn it benchmarks. Each step prints
one JSON line starting with ``BENCH_JSON`` as its last line.

    python bench/tasks.py pick --nik A --nik B  # the demo account whose KK has 4 members
    python bench/tasks.py seed --nik NIK        # content for the bench resident and the queues
    python bench/tasks.py pdf-baseline --nik NIK --repeat 10
    python bench/tasks.py sql /layanan-mandiri/profil /residentview/list/ --repeat 5
    python bench/tasks.py import --residents 25000

* ``seed``: letter requests in every status (three printed, so the archive has PDFs), messages
  with office replies and aid programmes for the logged-in bench resident, through the app's
  services (workflow ``transition``, ``start_conversation``, ``reply_as_office``); plus queue
  content scaled with the village (one letter request and one message per 100 residents, one
  aid recipient per 10) so the operator lists grow as they would in a real village.
* ``pdf-baseline``: renders the biodata and KK PDFs in-process through ``render_pdf``, records the
  exact HTML string and arguments handed to ``pisa.CreatePDF``, then times ``pisa.CreatePDF`` on
  that string alone (xhtml2pdf without Flask, SQL or templates), in alternation with a GET of
  the running endpoint (``--base``/``--cookie``) so both see the same machine load.
* ``sql``: SQL statements and SQL milliseconds per request of each page (in-process, Flask's
  test client), to tell a cost that grows with the register from noise in the HTTP numbers.
* ``import``: the 25,000-row CSV of ``bench/import_bench.py`` (its ``make_rows`` and
  ``csv_bytes``) imported into an empty, migrated register; rows per second.
"""
import argparse
from collections import Counter
import io
import json
import os
import secrets
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository root first: ``import run`` must be the app's run.py, not bench/run.py.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]


def emit(data):
    """Print the step's result as the last stdout line."""
    print("BENCH_JSON " + json.dumps(data), flush=True)


def _app():
    from run import app
    return app


# --------------------------------------------------------------------------------------- seed

def seed(nik, seed_value=7):
    """Create the bench resident's letters, messages and aid, and queue content for operators."""
    import random

    from sqlalchemy import func, select

    from app.aid.models import AidProgram, AidRecipient
    from app.extensions import db
    from app.letters.models import IssuedLetter, LetterRequest, LetterStatus, LetterType
    from app.letters.workflow import Actor, transition
    from app.messages import services as messages
    from app.residents.models import Resident

    app = _app()
    rng = random.Random(seed_value)
    with app.test_request_context("/"):
        sm = app.appbuilder.sm
        admin = sm.find_user(username="admin")
        office = Actor.for_user(admin)
        me = db.session.scalar(select(Resident).where(Resident.nik == nik))
        if me is None:
            raise SystemExit(f"no resident with NIK {nik}")
        total = db.session.scalar(select(func.count(Resident.id)))
        ltype = db.session.scalar(select(LetterType).where(LetterType.code == "pengantar_umum"))
        if ltype is None:
            ltype = db.session.scalar(select(LetterType).where(LetterType.active.is_(True),
                                                               LetterType.fields == []).limit(1))

        def new_request(resident, purpose):
            item = LetterRequest(resident_id=resident.id, resident=resident, letter_type_id=ltype.id,
                                 letter_type=ltype, purpose=purpose, phone="+6281234567890",
                                 field_values={})
            return transition(item, "submit", Actor.for_resident(resident))

        # The bench resident: 12 requests in every status, three of them printed (PDF archive).
        mine = [new_request(me, f"Keperluan bench {i + 1}") for i in range(12)]
        for item in mine[:3]:
            transition(item, "print", office)
            transition(item, "sign", office)
        transition(mine[3], "print", office)
        transition(mine[4], "return", office, note="Foto KTP kurang jelas")
        transition(mine[5], "return", office, note="Lampirkan surat pengantar RT")
        transition(mine[6], "cancel_own", Actor.for_resident(me))
        transition(mine[2], "collect", office)
        db.session.commit()

        # Queue content scaled with the register: one request per 100 residents.
        alive_ids = db.session.scalars(select(Resident.id).where(Resident.basic_status_id == 1,
                                                                 Resident.id != me.id)).all()
        picks = rng.sample(alive_ids, min(len(alive_ids), max(10, total // 100)))
        others = {r.id: r for r in db.session.scalars(select(Resident).where(Resident.id.in_(picks)))}
        for n, rid in enumerate(picks):
            req = new_request(others[rid], f"Pengantar {n + 1}")
            if n % 4 == 0:
                transition(req, "return", office, note="Berkas kurang")
        db.session.commit()

        # Messages: six conversations of the bench resident, four answered (the inbox shows
        # conversations the office answered), and one message per 100 residents for the office.
        for i in range(6):
            msg, _ = messages.start_conversation(
                me, "report" if i % 3 == 0 else "message", f"Pertanyaan bench {i + 1}",
                "Selamat pagi, saya ingin bertanya tentang layanan desa. " * 3, [], secrets.token_urlsafe(24))
            if i < 4:
                messages.reply_as_office(msg, admin, "Terima kasih, permohonan Anda kami proses. " * 2)
        db.session.commit()
        for n, rid in enumerate(picks):
            msg, _ = messages.start_conversation(others[rid], "message", f"Pesan warga {n + 1}",
                                                 "Mohon informasi jadwal pelayanan.", [],
                                                 secrets.token_urlsafe(24))
            if n % 3 == 0:
                messages.reply_as_office(msg, admin, "Senin sampai Jumat, 08.00-15.00.")
        db.session.commit()

        # Aid: three programmes; the bench resident personally (BLT, PIP) and through the KK (PKH),
        # plus one recipient per 10 residents spread over the programmes.
        start = date.today() - timedelta(days=200)
        progs = [AidProgram(name="PKH", target="family", funding_source="apbn", start_date=start,
                            end_date=start + timedelta(days=720), description="Program Keluarga Harapan"),
                 AidProgram(name="BLT Dana Desa", target="person", funding_source="dana_desa",
                            start_date=start, end_date=start + timedelta(days=360),
                            description="Bantuan langsung tunai"),
                 AidProgram(name="PIP", target="person", funding_source="apbn", start_date=start,
                            end_date=start + timedelta(days=360), description="Program Indonesia Pintar")]
        db.session.add_all(progs)
        db.session.flush()
        rows = [AidRecipient(program_id=progs[1].id, resident_id=me.id, card_number="BLT-0001"),
                AidRecipient(program_id=progs[2].id, resident_id=me.id, card_number="PIP-0001",
                             ended_on=date.today() - timedelta(days=10))]
        if me.family_id:
            rows.append(AidRecipient(program_id=progs[0].id, family_id=me.family_id, card_number="PKH-0001"))
        used_families = {me.family_id}
        for n, rid in enumerate(rng.sample(alive_ids, min(len(alive_ids), total // 10))):
            person = rid
            if n % 3 == 0:
                fam = db.session.scalar(select(Resident.family_id).where(Resident.id == person))
                if fam and fam not in used_families:
                    used_families.add(fam)
                    rows.append(AidRecipient(program_id=progs[0].id, family_id=fam, card_number=f"PKH-{n:05d}"))
            else:
                rows.append(AidRecipient(program_id=progs[1 + n % 2].id, resident_id=person,
                                         card_number=f"A-{n:05d}"))
        db.session.add_all(rows)
        db.session.commit()

        letter = db.session.scalar(select(IssuedLetter).where(IssuedLetter.resident_id == me.id)
                                   .order_by(IssuedLetter.id).limit(1))
        middle = db.session.scalar(select(Resident.id).order_by(Resident.id).offset(total // 2).limit(1))
        # The name search types the register's most common first name: a full page of results
        # at every size, so that sizes are compared on the same amount of work.
        first_names = Counter(name.split()[0] for name in db.session.scalars(select(Resident.name)) if name.split())
        emit({"resident_id": me.id, "show_resident_name": db.session.get(Resident, middle).name,
              "search_name": first_names.most_common(1)[0][0],
              "family_id": me.family_id, "letter_id": letter.id,
              "show_resident_id": middle, "residents": total, "queue_requests": len(picks),
              "queue_messages": len(picks), "aid_rows": len(rows),
              "my_requests": len(mine), "letter_status_ok": mine[0].status == LetterStatus.READY})


# ------------------------------------------------------------------------------- pdf-baseline

def _http_get(base, path, cookie):
    """GET ``base + path`` with the session cookie on a new connection; (ms, status, bytes)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    conn.request("GET", path, headers={"Cookie": f"session={cookie}"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return (time.perf_counter() - start) * 1000, resp.status, body


def pdf_baseline(nik, repeat, base=None, cookie=None):
    """xhtml2pdf alone vs the endpoint, on the same HTML, measured in alternation (ms, medians).

    For each document: one ``render_pdf`` records the exact HTML string and keyword arguments
    handed to ``pisa.CreatePDF``; then ``repeat`` rounds of (a) ``pisa.CreatePDF`` on that
    string alone, (b) ``render_pdf`` in-process (template + context + pisa) and, when ``base``
    is given, (c) one GET of the running endpoint (one connection, so no queueing). Alternating
    keeps the three under the same machine load.
    """
    from sqlalchemy import select
    from xhtml2pdf import pisa

    from app.core.pdf import render_pdf
    from app.extensions import db
    from app.residents import services as register
    from app.residents.models import Resident

    app = _app()
    real = pisa.CreatePDF
    captured = {}

    def capture(src, *args, **kwargs):
        captured["args"], captured["kwargs"], captured["html"] = args, kwargs, src
        return real(src, *args, **kwargs)

    out = {}
    with app.test_request_context("/layanan-mandiri/cetak/biodata.pdf"):
        me = db.session.scalar(select(Resident).where(Resident.nik == nik))
        docs = {"biodata": ("pdf/biodata.html", lambda: register.biodata_context(me),
                            "/layanan-mandiri/cetak/biodata.pdf")}
        if me.family is not None:
            docs["kk"] = ("pdf/family_card.html", lambda: register.family_card_context(me.family),
                          "/layanan-mandiri/cetak/kartu-keluarga.pdf")
        for name, (template, context, path) in docs.items():
            pisa.CreatePDF = capture
            try:
                render_pdf(template, context())  # warm-up, and records the HTML
            finally:
                pisa.CreatePDF = real
            if base:
                _http_get(base, path, cookie)  # warm-up
            full, alone, endpoint = [], [], []
            for _ in range(repeat):
                kwargs = dict(captured["kwargs"], dest=io.BytesIO())
                t = time.perf_counter()
                status = real(captured["html"], *captured["args"], **kwargs)
                alone.append((time.perf_counter() - t) * 1000)
                if status.err:
                    raise SystemExit(f"pisa reported {status.err} errors on {name}")
                t = time.perf_counter()
                render_pdf(template, context())
                full.append((time.perf_counter() - t) * 1000)
                if base:
                    ms, code, body = _http_get(base, path, cookie)
                    if code != 200 or not body.startswith(b"%PDF-"):
                        raise SystemExit(f"{path} answered {code}")
                    endpoint.append(ms)
            out[name] = {"pisa_alone_ms": statistics.median(alone), "render_pdf_ms": statistics.median(full),
                         "endpoint_ms": statistics.median(endpoint) if endpoint else None,
                         "html_chars": len(captured["html"]), "repeat": repeat}
    emit(out)


# ---------------------------------------------------------------------------------------- sql

def sql_stats(paths, repeat, nik=None):
    """Per path: SQL statements, SQL ms and in-process ms per request (medians of ``repeat``).

    Requests go through Flask's test client (no HTTP, no gunicorn), logged in through the real
    forms as the demo resident ``nik`` (default the first; portal paths) or ``admin`` (the others); the login page
    is requested anonymously. Time is summed between SQLAlchemy's ``before_cursor_execute``
    and ``after_cursor_execute`` events, so it is the database's share of each request.
    """
    import re

    from sqlalchemy import event

    from app.extensions import db

    app = _app()
    csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    text = (Path(app.instance_path) / "demo-accounts.txt").read_text()
    password = dict(re.findall(r"username (\S+)\s+password (\S+)", text))["admin"]
    accounts = re.findall(r"NIK (\d{16})\s+PIN (\d{6})", text)
    nik, pin = next((a for a in accounts if a[0] == nik), accounts[0])
    portal, office, anonymous = app.test_client(), app.test_client(), app.test_client()
    token = csrf.search(portal.get("/layanan-mandiri/masuk").get_data(as_text=True)).group(1)
    assert portal.post("/layanan-mandiri/masuk", data={"nik": nik, "pin": pin, "csrf_token": token}).status_code == 302
    token = csrf.search(office.get("/login/?next=/operator/").get_data(as_text=True)).group(1)
    assert office.post("/login/?next=/operator/", data={"username": "admin", "password": password,
                                                        "csrf_token": token}).status_code == 302
    with app.app_context():
        engine = db.engine
    current = {"n": 0, "sql": 0.0, "t0": 0.0}

    @event.listens_for(engine, "before_cursor_execute")
    def before(*_args):
        current["n"] += 1
        current["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(*_args):
        current["sql"] += time.perf_counter() - current["t0"]

    out = {}
    for path in paths:
        if path.startswith("/layanan-mandiri/masuk"):
            client = anonymous
        else:
            client = portal if path.startswith("/layanan-mandiri") else office
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        counts, sql, wall = [], [], []
        for _ in range(repeat):
            current.update(n=0, sql=0.0)
            t = time.perf_counter()
            client.get(path)
            wall.append((time.perf_counter() - t) * 1000)
            counts.append(current["n"])
            sql.append(current["sql"] * 1000)
        out[path] = {"statements": statistics.median(counts), "sql_ms": statistics.median(sql),
                     "wall_ms": statistics.median(wall)}
    emit(out)


# ------------------------------------------------------------------------------------- import

def import_rows(residents, seed_value=42):
    """Import the CSV of ``residents`` rows (import_bench's generator) into an empty register."""
    import logging

    from flask_migrate import upgrade

    import importlib.util
    spec = importlib.util.spec_from_file_location("import_bench", ROOT / "bench" / "import_bench.py")
    import_bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(import_bench)
    from app.extensions import db
    from app.residents import transfer

    t = time.perf_counter()
    rows = import_bench.make_rows(residents, seed_value)
    data = import_bench.csv_bytes(rows)
    generated = time.perf_counter() - t
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = _app()
    with app.app_context():
        upgrade()
        t = time.perf_counter()
        result = transfer.import_residents(data)
        if not result.ok:
            raise SystemExit(f"import failed: {[(i.row, i.column, i.code) for i in result.errors[:5]]}")
        db.session.commit()
        seconds = time.perf_counter() - t
        created = result.created
        db.session.remove()
        db.engine.dispose()
    emit({"rows": len(rows), "created": created, "seconds": seconds, "rows_per_s": len(rows) / seconds,
          "generate_s": generated, "csv_mb": len(data) / 1e6})


def pick(niks, members=4):
    """Print the NIK (of ``niks``) whose KK has ``members`` members, else the closest.

    The bench resident's KK PDF and profile list the family: with a 4-member family at every
    size, the sizes are compared on the same work (the first demo account's KK had 4 members
    at 3,000 residents and 5 at 25,000).
    """
    from sqlalchemy import func, select

    from app.extensions import db
    from app.residents.models import Resident

    with _app().app_context():
        sizes = {}
        for nik in niks:
            family = db.session.scalar(select(Resident.family_id).where(Resident.nik == nik))
            sizes[nik] = db.session.scalar(select(func.count(Resident.id)).where(Resident.family_id == family)) \
                if family is not None else 0
    chosen = min(niks, key=lambda nik: (abs(sizes[nik] - members), niks.index(nik)))
    emit({"nik": chosen, "members": sizes[chosen]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("seed")
    p.add_argument("--nik", required=True)
    p = sub.add_parser("pdf-baseline")
    p.add_argument("--nik", required=True)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--base", help="running Balai, e.g. http://127.0.0.1:8000 (times the endpoint too)")
    p.add_argument("--cookie", help="the portal session cookie for --base")
    p = sub.add_parser("pick")
    p.add_argument("--nik", action="append", required=True)
    p = sub.add_parser("sql")
    p.add_argument("paths", nargs="+")
    p.add_argument("--nik", help="the portal resident (default: the first demo account)")
    p.add_argument("--repeat", type=int, default=5)
    p = sub.add_parser("import")
    p.add_argument("--residents", type=int, default=25_000)
    args = parser.parse_args()
    if not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = secrets.token_hex(32)
    if args.step == "seed":
        seed(args.nik)
    elif args.step == "pick":
        pick(args.nik)
    elif args.step == "sql":
        sql_stats(args.paths, args.repeat, args.nik)
    elif args.step == "pdf-baseline":
        pdf_baseline(args.nik, args.repeat, args.base, args.cookie)
    else:
        import_rows(args.residents)


if __name__ == "__main__":
    main()
