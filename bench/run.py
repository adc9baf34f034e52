#!/usr/bin/env python
"""Balai load benchmark (issue 6): is every page as fast at 25,000 residents as at 3,000?

One command (from the repository root, with the project's virtualenv and Debian's ``wrk``)::

    python bench/run.py                 # 3,000 / 10,000 / 25,000 residents, SQLite (~12 min)
    python bench/run.py --quick         # 3,000 and 10,000, 2 x 2 s per endpoint (~6 min)
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/balai_bench python bench/run.py
                                        # SQLite, then PostgreSQL (one wrk round each, ~15 min)
    DATABASE_URL=... python bench/run.py --no-sqlite      # PostgreSQL only (~12 min)
    bash bench/run.sh [options]         # the same from a fresh clone: makes .venv, checks wrk

Options: ``--sizes 3000,25000``, ``--duration 3`` and ``--rounds 2`` (wrk runs per endpoint and
size; the one with the lowest p95 is reported), ``--connections 8``, ``--threads 2``,
``--pdf-duration 9`` (the biodata and KK PDFs), ``--workers 2``, ``--soak-connections 32``,
``--soak-duration 30``, ``--logins 24``,
``--import-rows 25000``, ``--no-sqlite``, ``--out DIR``, ``--keep-temp``; ``--help`` lists all.

For each database (SQLite, a fresh file per size in a temporary instance folder; then
PostgreSQL when ``DATABASE_URL`` points to one) it

1. builds a demo village per size (``flask --app run db upgrade``, ``desa init``, ``desa demo
   --residents N``; the demo build is timed) and adds letters, messages and aid for the bench
   resident plus operator queues scaled with the village (``bench/tasks.py seed``);
2. starts one Balai per size (``gunicorn -w 2 run:app``, fixed SECRET_KEY, BALAI_DEMO=0, a very
   high PORTAL_ADDRESS_LIMIT) and the bare Flask app of ``bench/bare.py`` under the same settings;
3. logs a resident (NIK/PIN) and the ``admin`` operator in (urllib, from demo-accounts.txt);
4. loads every endpoint with ``wrk`` on loopback (``bench/report.lua`` prints req/s, p50, p95,
   p99 and the status counts), the sizes in alternation (endpoint A on 3k, 10k, 25k, endpoint B
   on 25k, 10k, 3k, ...) so that other work on the machine hits every size alike: the bare
   route, the portal pages, the operator lists, the PDFs (1 connection: ms per document; all
   connections: documents per second); then real portal logins (GET form + POST with its
   CSRF token) from a thread pool, and on the largest size a 32-connection, 30-second soak of
   the profile page;
5. reads the peak resident memory (VmHWM) of the gunicorn workers after each step;
6. times ``pisa.CreatePDF`` alone on the exact HTML of the biodata and KK PDFs, alternating
   with requests to the endpoint (``tasks.py pdf-baseline``); and last, the import of the
   25,000-row CSV of ``bench/import_bench.py`` (``tasks.py import``).

It prints one table (endpoint, size, db, req/s, p50, p95, p99, ratio of req/s to the bare
route, errors) plus the issue's targets with PASS/FAIL, and writes ``bench/results/latest.csv``
and ``latest.md`` (``quick.*`` with ``--quick``, ``*-postgresql.*`` with ``--no-sqlite``) with
the machine, load average and commit.
"errors" counts socket errors, timeouts and every status other than 2xx: each measured URL
answers 200, so a redirect means a lost session and is an error too. Exit status: 0 when every
target holds, 2 when one is missed, 1 when the bench itself failed.

PostgreSQL: the server of ``DATABASE_URL`` gets one database per size, ``<name>_<size>`` (and
``<name>_import``), where ``<name>`` is the database named in the URL; each is created and
dropped by the bench (one that already exists must have no tables, and is emptied again at the
end). The name ``test`` (the test suite's database) is always refused. Processes, temporary
folders and databases are cleaned up on exit, Ctrl-C and SIGTERM.
"""
import argparse
import csv
import http.client
import http.cookiejar
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
SECRET_KEY = "balai-bench-secret-key-0123456789abcdef"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DEFAULT_SIZES = (3000, 10000, 25000)

#: Targets of issue 6.
FLAT_RATIO, PROFILE_VS_BARE, PDF_VS_PISA = 1.2, 0.6, 1.3
IMPORT_ROWS_PER_S, DEMO_3K_SECONDS, WORKER_MB = 1000, 20.0, 200


class BenchError(RuntimeError):
    """A step failed: the message says which and why."""


def log(msg=""):
    print(msg, flush=True)


# ------------------------------------------------------------------------------ processes

class Procs:
    """Every process group started by the bench, ended in :meth:`stop_all` (also on signals)."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, env, logfile, cwd=ROOT):
        fh = open(logfile, "ab")
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        fh.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self):
        for proc in list(self.procs):
            self.stop(proc)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_step(cmd, env, logfile, timeout=1800):
    """Run ``cmd`` to completion (output to ``logfile``); returns (seconds, stdout text)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    with open(logfile, "a") as fh:
        fh.write(f"$ {' '.join(map(str, cmd))}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise BenchError(f"{' '.join(map(str, cmd[:4]))} failed ({proc.returncode}):\n  " + "\n  ".join(tail))
    return seconds, proc.stdout


def step_json(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise BenchError("no BENCH_JSON line in the output")


def worker_pids(master):
    """Pids of the gunicorn workers (children of ``master``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def proc_status_kb(pid, key):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


# ----------------------------------------------------------------------------------- HTTP

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def opener(follow=True):
    jar = http.cookiejar.CookieJar()
    handlers = [urllib.request.HTTPCookieProcessor(jar)]
    if not follow:
        handlers.append(NoRedirect())
    return urllib.request.build_opener(*handlers), jar


def open_url(op, url, data=None, timeout=60):
    """(status, headers, body) without raising on 3xx/4xx/5xx."""
    try:
        with op.open(url, data=data, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def cookie(jar, name="session"):
    for c in jar:
        if c.name == name:
            return c.value
    raise BenchError(f"no {name} cookie")


def wait_ready(url, proc, seconds=90):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited ({proc.returncode}) before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise BenchError(f"{url} did not answer within {seconds} s")


def portal_login(base, nik, pin):
    """Log a resident in through the real form; returns (opener, jar)."""
    op, jar = opener()
    status, _, body = open_url(op, base + "/layanan-mandiri/masuk")
    token = CSRF_RE.search(body.decode()).group(1)
    data = urllib.parse.urlencode({"nik": nik, "pin": pin, "csrf_token": token}).encode()
    status, _, body = open_url(op, base + "/layanan-mandiri/masuk", data)
    if status != 200 or b"/layanan-mandiri/keluar" not in body:
        raise BenchError(f"portal login of {nik[:6]}... failed ({status})")
    return op, jar


def operator_login(base, username, password):
    op, jar = opener()
    _, _, body = open_url(op, base + "/login/?next=/operator/")
    token = CSRF_RE.search(body.decode()).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    status, _, _ = open_url(op, base + "/login/?next=/operator/", data)
    if status != 200:
        raise BenchError(f"operator login failed ({status})")
    return op, jar


def one_login(base, nik, pin):
    """One real portal login (GET the form, POST NIK/PIN/CSRF); (seconds, ok)."""
    op, _ = opener(follow=False)
    start = time.perf_counter()
    try:
        _, _, body = open_url(op, base + "/layanan-mandiri/masuk")
        token = CSRF_RE.search(body.decode()).group(1)
        data = urllib.parse.urlencode({"nik": nik, "pin": pin, "csrf_token": token}).encode()
        status, headers, _ = open_url(op, base + "/layanan-mandiri/masuk", data)
        ok = status == 302 and "/layanan-mandiri/" in (headers.get("Location") or "")
    except OSError:
        ok = False
    return time.perf_counter() - start, ok


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# ------------------------------------------------------------------------------------ wrk

def wrk(url, *, connections, threads, duration, cookie_value=None, timeout_s=60):
    """Run wrk with bench/report.lua; returns its JSON summary."""
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s",
           "--timeout", f"{timeout_s}s", "-s", str(BENCH / "report.lua")]
    if cookie_value:
        cmd += ["-H", f"Cookie: session={cookie_value}"]
    cmd.append(url)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout_s + 30)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data = json.loads(line[len("BENCH_JSON "):])
            data["errors"] = (data["socket_errors"] + data["timeouts"] + data["status_3xx"]
                              + data["status_4xx"] + data["status_5xx"])
            return data
    raise BenchError(f"wrk gave no result for {url}: {proc.stdout[-300:]} {proc.stderr[-300:]}")


# ------------------------------------------------------------------------------ databases

class Postgres:
    """Dedicated PostgreSQL databases on the server of DATABASE_URL: ``<name>_<size>``.

    ``<name>`` is the database named in the URL. Each size gets its own database (created here
    and dropped at the end); one that already exists must be empty and is emptied again at the
    end. The name ``test`` (the test suite's database) is refused, as base or derived name.
    """

    def __init__(self, url):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.base = self.url.database
        if not self.base or self.base == "test":
            raise BenchError("refusing the PostgreSQL database named 'test' (the test suite's) or no "
                             "name; point DATABASE_URL to e.g. postgresql://postgres@127.0.0.1/balai_bench")
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            self.version = conn.execute(text("SHOW server_version")).scalar()
        self.mine = {}  # name -> True when created here (dropped at the end), False when emptied

    def database(self, suffix):
        """The URL of a fresh, empty ``<name>_<suffix>`` database."""
        from sqlalchemy import create_engine, inspect, text
        name = f"{self.base}_{suffix}"
        if name == "test" or not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise BenchError(f"refusing the database name {name!r}")
        with self.admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = self.url.set(database=name)
        if exists:
            engine = create_engine(url)
            try:
                tables = inspect(engine).get_table_names()
            finally:
                engine.dispose()
            if tables:
                raise BenchError(f"PostgreSQL database {name!r} is not empty ({len(tables)} tables); drop it "
                                 "or choose another name in DATABASE_URL")
        self.mine.setdefault(name, not exists)
        return url.render_as_string(hide_password=False)

    def cleanup(self):
        from sqlalchemy import create_engine, text
        try:
            for name, created in self.mine.items():
                assert name != "test"
                try:
                    if created:
                        with self.admin.connect() as conn:
                            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    else:
                        engine = create_engine(self.url.set(database=name), isolation_level="AUTOCOMMIT")
                        try:
                            with engine.connect() as conn:
                                conn.execute(text("DROP SCHEMA public CASCADE"))
                                conn.execute(text("CREATE SCHEMA public"))
                        finally:
                            engine.dispose()
                except Exception as exc:  # noqa: BLE001  (clean up the others all the same)
                    log(f"could not clean up database {name}: {exc}")
        finally:
            self.admin.dispose()


# ------------------------------------------------------------------------------- villages

def parse_accounts(path):
    text = Path(path).read_text()
    users = dict(re.findall(r"username (\S+)\s+password (\S+)", text))
    portal = re.findall(r"NIK (\d{16})\s+PIN (\d{6})", text)
    if "admin" not in users or not portal:
        raise BenchError(f"could not read the demo logins from {path}")
    return users, portal


def base_env(instance, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GUNICORN"))}
    env.update({
        "BALAI_INSTANCE": str(instance), "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY,
        "UPLOAD_FOLDER": str(Path(instance) / "uploads"), "BALAI_DEMO": "0",
        "RATELIMIT_ENABLED": "0", "PORTAL_ADDRESS_LIMIT": "1000000 per minute",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
    })
    return env


def gunicorn_cmd(args, port, target, chdir=None):
    exe = Path(PY).parent / "gunicorn"
    cmd = [str(exe) if exe.exists() else "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
           "--timeout", "120"]
    if chdir:
        cmd += ["--chdir", str(chdir)]
    return cmd + [target]


class Site:
    """One demo village (one size on one database), built, then served by its own gunicorn."""

    def __init__(self, db_label, size, database_url, tmp, extras):
        self.db_label, self.size, self.url = db_label, size, database_url
        self.instance = Path(tmp) / f"{db_label}-{size}"
        self.instance.mkdir(parents=True)
        self.logfile = self.instance / "bench.log"
        self.env = base_env(self.instance, database_url)
        self.x = extras.setdefault((db_label, size), {})
        self.proc = None
        self.base = None
        self.jars = {}

    def build(self):
        """Migrate, sync roles, build the demo village (timed) and seed the bench content."""
        flask = [PY, "-m", "flask", "--app", "run"]
        run_step(flask + ["db", "upgrade"], self.env, self.logfile)
        run_step(flask + ["desa", "init"], self.env, self.logfile)
        seconds, out = run_step(flask + ["desa", "demo", "--residents", str(self.size)], self.env, self.logfile)
        inner = re.search(r"loaded in ([\d.]+) s", out)
        self.x["demo_s"] = seconds
        self.x["demo_inner_s"] = float(inner.group(1)) if inner else None
        self.users, self.portal = parse_accounts(self.instance / "demo-accounts.txt")
        # The demo account whose KK has 4 members: its KK PDF and profile do the same work at
        # every size (tasks.py pick).
        _, out = run_step([PY, str(BENCH / "tasks.py"), "pick",
                           *[arg for nik, _pin in self.portal for arg in ("--nik", nik)]], self.env, self.logfile)
        chosen = step_json(out)["nik"]
        self.nik, self.pin = next(account for account in self.portal if account[0] == chosen)
        _, out = run_step([PY, str(BENCH / "tasks.py"), "seed", "--nik", self.nik], self.env, self.logfile)
        self.seed = step_json(out)
        log(f"  {self.db_label} {self.size:,}: demo village built in {seconds:.1f} s (`desa demo` wall time; "
            f"build_demo itself {self.x['demo_inner_s']} s); seeded {self.seed['my_requests']} requests, "
            f"3 letters, 6 messages and 3 aid programmes for the bench resident, {self.seed['queue_requests']} "
            f"queue requests and messages, {self.seed['aid_rows']} aid recipients")

    def start(self, args, procs):
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.proc = procs.start(gunicorn_cmd(args, port, "run:app"), self.env, self.instance / "gunicorn.log")

    def login(self):
        wait_ready(self.base + "/layanan-mandiri/masuk", self.proc)
        self.jars["portal"] = portal_login(self.base, self.nik, self.pin)
        self.jars["operator"] = operator_login(self.base, "admin", self.users["admin"])

    def cookie(self, session):
        """The current session cookie; a GET first refreshes the portal session's idle time."""
        if session is None:
            return None
        op, jar = self.jars[session]
        open_url(op, self.base + ("/layanan-mandiri/" if session == "portal" else "/operator/"))
        return cookie(jar)

    def paths(self):
        """(key, group, label, path, session, kind, connections) of every measured URL."""
        seed, size = self.seed, self.size
        name = seed["search_name"]
        pages = [
            ("portal", "portal login page (GET)", "/layanan-mandiri/masuk", None),
            ("portal", "portal home", "/layanan-mandiri/", "portal"),
            ("portal", "portal profile", "/layanan-mandiri/profil", "portal"),
            ("portal", "portal letter requests", "/layanan-mandiri/surat", "portal"),
            ("portal", "portal messages", "/layanan-mandiri/pesan", "portal"),
            ("portal", "portal aid", "/layanan-mandiri/bantuan", "portal"),
            ("operator", "residents, first page", "/residentview/list/", "operator"),
            # FAB pages count from 0: the middle of ceil(size / 25) pages.
            ("operator", "residents, middle page",
             f"/residentview/list/?page_ResidentView={-(-size // 25) // 2}", "operator"),
            # _flt_0_ is the first filter of the column ("starts with"), the search form's default.
            ("operator", "residents, search by name",
             "/residentview/list/?" + urllib.parse.urlencode({"_flt_0_name": name}), "operator"),
            ("operator", "residents, search by NIK", f"/residentview/list/?_flt_0_nik={self.nik}", "operator"),
            ("operator", "families list", "/familyview/list/", "operator"),
            ("operator", "letter request queue", "/letterrequestview/list/", "operator"),
            ("operator", "one resident's page", f"/residentview/show/{seed['show_resident_id']}", "operator"),
        ]
        pdfs = [("PDF biodata", "/layanan-mandiri/cetak/biodata.pdf"),
                ("PDF KK", "/layanan-mandiri/cetak/kartu-keluarga.pdf"),
                ("PDF letter", f"/layanan-mandiri/arsip-surat/{seed['letter_id']}.pdf")]
        out = [(label, group, label, path, session, "page", None) for group, label, path, session in pages]
        for label, path in pdfs:
            out.append((label + " (1 conn)", "pdf", label + " (1 conn)", path, "portal", "pdf", 1))
            out.append((label, "pdf", label, path, "portal", "pdf", None))
        return out

    def probe(self, label, path, session, kind):
        """Check ``path`` answers 200 with this session (no redirect to a login); warms both workers."""
        value = self.cookie(session)
        port = int(self.base.rsplit(":", 1)[1])

        def get(_):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("GET", path, headers={"Cookie": f"session={value}"} if value else {})
            resp = conn.getresponse()
            resp.read()
            conn.close()
            return resp.status, resp.getheader("Content-Type", "")
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(get, range(8)))
        want = "application/pdf" if kind == "pdf" else "text/"
        if any(status != 200 or want not in ctype for status, ctype in results):
            raise BenchError(f"{self.db_label} {self.size}: {label} {path} answered {results[:2]}")

    def sql_profile(self, args):
        """Statements and SQL milliseconds per request of every page, in-process (tasks.py sql)."""
        paths = [p[3] for p in self.paths() if p[5] == "page" or p[6] == 1]
        _, out = run_step([PY, str(BENCH / "tasks.py"), "sql", "--repeat", str(args.sql_repeat),
                           "--nik", self.nik, *paths],
                          self.env, self.logfile)
        self.x["sql"] = step_json(out)

    def memory(self, when):
        mb = [(proc_status_kb(pid, "VmHWM") or 0) / 1024 for pid in worker_pids(self.proc.pid)]
        self.x.setdefault("hwm_steps", []).append((when, mb))
        self.x["worker_hwm_mb"] = max(mb, default=0)
        log(f"  {self.db_label} {self.size:,}: worker peak RSS (VmHWM) {when}: "
            + ", ".join(f"{m:.0f} MB" for m in mb))


#: Endpoints (keys of Site.paths) measured for --pdf-duration instead of --duration.
SLOW_PDFS = ("PDF biodata", "PDF KK")


def bench_database(args, procs, db_label, urls, tmp, rows, extras):
    """Build every size, serve them all at once, and load them endpoint by endpoint.

    The sizes are measured in alternation (endpoint A on 3k, 10k, 25k, then endpoint B on
    25k, 10k, 3k, ...) so that other load on the machine hits every size alike; the bare
    Flask route is measured in each size's slot too.
    """
    log(f"\n== {db_label}: building {', '.join(f'{s:,}' for s in args.sizes)} residents "
        f"(load average {load_avg()})")
    sites = []
    for size in args.sizes:
        site = Site(db_label, size, urls[size], tmp, extras)
        site.build()
        sites.append(site)
    bare_port = free_port()
    bare = f"http://127.0.0.1:{bare_port}"
    bare_proc = procs.start(gunicorn_cmd(args, bare_port, "bare:app", chdir=BENCH), sites[0].env,
                            Path(tmp) / f"{db_label}-gunicorn-bare.log")
    try:
        for site in sites:
            site.start(args, procs)
        wait_ready(bare + "/", bare_proc)
        for site in sites:
            site.login()
            for _key, _group, label, path, session, kind, _c in site.paths():
                site.probe(label, path, session, kind)
            site.memory("after start-up, one login of each kind and the warm-up")

        log(f"\n== {db_label}: wrk -t{args.threads} -c{args.connections} -d{args.duration}s per endpoint "
            f"and size (biodata and KK PDFs {args.pdf_duration}s), {args.rounds} round(s) "
            f"(load average {load_avg()})")
        c, t, d = args.connections, args.threads, args.duration
        keys = [("bare", "bare", "bare Flask route", None, None, "page", None)] + sites[0].paths()
        runs = {}  # (key, size) -> [wrk results of each round]
        slot = 0
        for rnd in range(args.rounds):
            for key, *_rest in (keys if rnd % 2 == 0 else keys[::-1]):
                for site in (sites if slot % 2 == 0 else sites[::-1]):
                    if key == "bare":
                        _, group, label, path, session, kind, conns = keys[0]
                        url = bare + "/"
                    else:
                        _, group, label, path, session, kind, conns = next(p for p in site.paths() if p[0] == key)
                        url = site.base + path
                    conns = conns or c
                    # Biodata and KK PDFs answer 4-15 times a second: a 3-second run holds 12-45
                    # requests, too few for a p95 that is not just the slowest one.
                    slow = key.startswith(SLOW_PDFS)
                    data = wrk(url, connections=conns, threads=min(t, conns),
                               duration=args.pdf_duration if slow else d,
                               cookie_value=site.cookie(session) if key != "bare" else None)
                    data.update({"group": group, "endpoint": label, "path": path or "/ (bare)", "connections": conns})
                    runs.setdefault((key, site.size), []).append(data)
                    log(f"  {label:<32} {site.size:>6} {data['rps']:8.1f} req/s  p50 {data['p50_ms']:7.1f}  "
                        f"p95 {data['p95_ms']:7.1f}  p99 {data['p99_ms']:7.1f} ms  errors {data['errors']}")
                slot += 1
        for (key, size), results in runs.items():
            # Best of the rounds (lowest p95): the least disturbed by other work on the machine.
            # Errors are those of every round.
            best = dict(min(results, key=lambda r: r["p95_ms"]))
            best["errors"] = sum(r["errors"] for r in results)
            best["rounds"] = len(results)
            rows.append({"db": db_label, "size": size, **best})

        for site in sites:
            site.sql_profile(args)

        for site in sites:
            site.memory("after the pages and PDFs")
            # Real logins (GET form + POST with CSRF), concurrently from a thread pool.
            accounts = (site.portal * (args.logins // len(site.portal) + 1))[:args.logins]
            start = time.perf_counter()
            with ThreadPoolExecutor(args.login_threads) as pool:
                results = list(pool.map(lambda a, b=site.base: one_login(b, *a), accounts))
            wall = time.perf_counter() - start
            ms = [sec * 1000 for sec, ok in results]
            row = {"db": db_label, "size": site.size, "group": "login", "endpoint": "portal login (GET+POST, real)",
                   "path": "/layanan-mandiri/masuk", "connections": args.login_threads,
                   "requests": len(results), "duration_s": wall, "rps": len(results) / wall,
                   "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "p99_ms": percentile(ms, 99),
                   "mean_ms": statistics.mean(ms), "max_ms": max(ms), "errors": sum(not ok for _, ok in results)}
            rows.append(row)
            log(f"  {row['endpoint']:<32} {site.size:>6} {row['rps']:8.1f} logins/s p50 {row['p50_ms']:7.1f}  "
                f"p95 {row['p95_ms']:7.1f}  p99 {row['p99_ms']:7.1f} ms  errors {row['errors']}")
            site.memory("after the logins")

        big = sites[-1] if sites[-1].size == max(args.sizes) else max(sites, key=lambda s: s.size)
        if args.soak_duration > 0:
            path = "/layanan-mandiri/profil"
            data = wrk(big.base + path, connections=args.soak_connections, threads=t,
                       duration=args.soak_duration, cookie_value=big.cookie("portal"))
            label = f"portal profile (soak {args.soak_connections} conns {args.soak_duration} s)"
            row = {"db": db_label, "size": big.size, "group": "soak", "endpoint": label, "path": path,
                   "connections": args.soak_connections, **data}
            rows.append(row)
            big.x["soak"] = row
            log(f"  {label:<32} {big.size:>6} {data['rps']:8.1f} req/s  p50 {data['p50_ms']:7.1f}  "
                f"p95 {data['p95_ms']:7.1f}  p99 {data['p99_ms']:7.1f} ms  errors {data['errors']}")
            big.memory("after the soak")

        bare_hwm = max(((proc_status_kb(pid, "VmHWM") or 0) / 1024 for pid in worker_pids(bare_proc.pid)),
                       default=None)
        for site in sites:
            site.x["bare_worker_hwm_mb"] = bare_hwm
            # xhtml2pdf alone vs the endpoint, alternating, while the servers are otherwise idle.
            _, out = run_step([PY, str(BENCH / "tasks.py"), "pdf-baseline", "--nik", site.nik, "--repeat",
                               str(args.pdf_repeat), "--base", site.base, "--cookie", site.cookie("portal")],
                              site.env, site.logfile)
            site.x["pdf_baseline"] = step_json(out)
            for name, v in site.x["pdf_baseline"].items():
                log(f"  {db_label} {site.size:,}: PDF {name}: endpoint {v['endpoint_ms']:.1f} ms, render_pdf "
                    f"in-process {v['render_pdf_ms']:.1f} ms, xhtml2pdf alone {v['pisa_alone_ms']:.1f} ms "
                    f"(medians of {v['repeat']}, alternating)")
            site.x["load_avg"] = load_avg()
        log(f"  bare Flask worker peak RSS: {fmt(bare_hwm, 0)} MB")
    finally:
        for site in sites:
            if site.proc is not None:
                procs.stop(site.proc)
        procs.stop(bare_proc)


# ---------------------------------------------------------------------------------- report

def load_avg():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def machine_info():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        pass

    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return ""
    dirty = git("status", "--porcelain", "--untracked-files=no")
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[:1]
    return {"nproc": os.cpu_count(), "cpu": cpu or platform.processor(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "os": platform.platform(),
            "commit": git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else ""),
            "wrk": wrk_version[0] if wrk_version else "wrk"}


def fmt(v, digits=1):
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:,.{digits}f}"


def add_ratios(rows, extras):
    """Ratio of req/s to the bare route of the same size; the in-process SQL columns."""
    bare = {(r["db"], r["size"]): r["rps"] for r in rows if r["group"] == "bare"}
    for r in rows:
        b = bare.get((r["db"], r["size"]))
        r["ratio_bare"] = r["rps"] / b if b else None
        sql = extras.get((r["db"], r["size"]), {}).get("sql", {}).get(r.get("path"), {})
        r["sql_statements"], r["sql_ms"], r["inprocess_ms"] = (sql.get("statements"), sql.get("sql_ms"),
                                                                sql.get("wall_ms"))


def evaluate(args, rows, extras, import_results):
    """The issue's targets: list of (target, measured, PASS/FAIL/N/A)."""
    out = []
    dbs = sorted({r["db"] for r in rows}, key=lambda d: d != "SQLite")
    small, large = min(args.sizes), max(args.sizes)
    for db_label in dbs:
        by = {(r["endpoint"], r["size"]): r for r in rows if r["db"] == db_label}
        if small != large:
            worst = []
            for (endpoint, size), r in by.items():
                if size != large or r["group"] in ("bare", "soak"):
                    continue
                ref = by.get((endpoint, small))
                if ref and ref["p95_ms"] > 0:
                    sql = ""
                    if ref.get("sql_ms") is not None and r.get("sql_ms") is not None:
                        grows = r["sql_ms"] - ref["sql_ms"] > 1 and r["sql_ms"] > 1.5 * ref["sql_ms"]
                        sql = (f", SQL {ref['sql_ms']:.1f} -> {r['sql_ms']:.1f} ms/request: "
                               + ("the database work grows" if grows else "SQL flat, likely noise"))
                    worst.append((r["p95_ms"] / ref["p95_ms"], endpoint, ref["p95_ms"], r["p95_ms"], sql))
            worst.sort(reverse=True)
            misses = [w for w in worst if w[0] > FLAT_RATIO]
            if misses:
                detail = "; ".join(f"{e}: {a:.0f} -> {b:.0f} ms (x{q:.2f}{sql})" for q, e, a, b, sql in misses)
            else:
                detail = f"worst {worst[0][1]} x{worst[0][0]:.2f}" if worst else "-"
            out.append((db_label, f"p95 at {large:,} <= {FLAT_RATIO} x p95 at {small:,}, every page "
                        f"({len(worst) - len(misses)}/{len(worst)} pages hold)",
                        detail, "PASS" if worst and not misses else "FAIL"))
        ratios = [(s, by[("portal profile", s)]["ratio_bare"]) for s in args.sizes if ("portal profile", s) in by]
        if ratios:
            low = min(q for _, q in ratios)
            out.append((db_label, f"portal profile req/s >= {PROFILE_VS_BARE} x bare Flask",
                        ", ".join(f"{s:,}: {q:.2f}" for s, q in ratios),
                        "PASS" if low >= PROFILE_VS_BARE else "FAIL"))
        pdf = []
        for s in args.sizes:
            base = extras.get((db_label, s), {}).get("pdf_baseline", {}).get("biodata")
            if base and base.get("endpoint_ms"):
                pdf.append((s, base["endpoint_ms"], base["pisa_alone_ms"], base["endpoint_ms"] / base["pisa_alone_ms"]))
        if pdf:
            mid = statistics.median(q for *_, q in pdf)
            out.append((db_label, f"PDF biodata endpoint <= {PDF_VS_PISA} x xhtml2pdf alone (ms per document; "
                        "per size: medians of alternating requests; verdict on the median of the sizes)",
                        ", ".join(f"{s:,}: {e:.0f} / {p:.0f} ms = x{q:.2f}" for s, e, p, q in pdf)
                        + f"; median x{mid:.2f}", "PASS" if mid <= PDF_VS_PISA else "FAIL"))
        imp = import_results.get(db_label)
        if imp:
            out.append((db_label, f"import >= {IMPORT_ROWS_PER_S:,} rows/s ({imp['rows']:,} rows CSV)",
                        f"{imp['rows_per_s']:,.0f} rows/s ({imp['seconds']:.1f} s)",
                        "PASS" if imp["rows_per_s"] >= IMPORT_ROWS_PER_S else "FAIL"))
        if (db_label, 3000) in extras:
            s = extras[(db_label, 3000)]["demo_s"]
            out.append((db_label, f"demo village of 3,000 built in < {DEMO_3K_SECONDS:.0f} s",
                        f"{s:.1f} s", "PASS" if s < DEMO_3K_SECONDS else "FAIL"))
        soak = extras.get((db_label, large), {}).get("soak")
        if soak:
            out.append((db_label, f"no errors, {args.soak_connections} connections for {args.soak_duration} s "
                        "(portal profile)", f"{soak['errors']} errors in {soak['requests']:,} requests, "
                        f"p99 {soak['p99_ms']:.0f} ms", "PASS" if soak["errors"] == 0 else "FAIL"))
        hwm = [(s, extras[(db_label, s)]["worker_hwm_mb"])
               for s in args.sizes if "worker_hwm_mb" in extras.get((db_label, s), {})]
        if hwm:
            top = max(m for _, m in hwm)
            out.append((db_label, f"a worker under {WORKER_MB} MB (peak RSS, VmHWM)",
                        ", ".join(f"{s:,}: {m:.0f} MB" for s, m in hwm),
                        "PASS" if top < WORKER_MB else "FAIL"))
    return out


def write_reports(args, rows, extras, import_results, targets, info, started, finished):
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = ("quick" if args.quick else "latest") + ("-postgresql" if args.no_sqlite else "")
    cols = ["endpoint", "size", "db", "rps", "p50_ms", "p95_ms", "p99_ms", "ratio_bare", "errors",
            "connections", "requests", "mean_ms", "sql_statements", "sql_ms", "inprocess_ms", "path"]
    with open(out_dir / f"{stem}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([round(r[c], 3) if isinstance(r.get(c), float) else r.get(c, "") for c in cols])
    lines = [f"# Balai benchmark results ({'quick' if args.quick else 'full'} run)", "",
             f"Run {started:%Y-%m-%d %H:%M} UTC, {(finished - started).total_seconds() / 60:.1f} minutes, with "
             f"`python bench/run.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`.", "",
             f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, {info['os']}",
             f"- Python {info['python']}, {info['wrk']}; commit {info['commit']}"
             + (f"; PostgreSQL {info['postgres']}" if info.get("postgres") else ""),
             f"- gunicorn -w {args.workers} (sync workers); wrk -t{args.threads} -c{args.connections} "
             f"-d{args.duration}s (biodata and KK PDFs -d{args.pdf_duration}s), {args.rounds} rounds per "
             "endpoint and size; PDFs also with 1 connection (ms per document)",
             f"- Load average at start / end: {info['load_start']} / {info['load_end']} (other work on the "
             "machine makes the numbers noisy)", "",
             "Latencies in ms, from the best of the wrk rounds (lowest p95; the sizes measured in "
             "alternation). Ratio: requests per second of the page / of the bare Flask route at the same "
             "size. Errors: socket errors, timeouts and any status other than 2xx in all rounds (each URL "
             "answers 200). SQL columns: measured in-process (Flask test client, no HTTP), medians of "
             f"{args.sql_repeat} requests: statements, time spent in the database, and the whole request.", "",
             "| Endpoint | Size | DB | req/s | p50 | p95 | p99 | ratio to bare | errors | SQL statements / request "
             "| SQL ms / request | in-process ms / request |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['endpoint']} | {r['size']:,} | {r['db']} | {fmt(r['rps'])} | {fmt(r['p50_ms'])} | "
                     f"{fmt(r['p95_ms'])} | {fmt(r['p99_ms'])} | {fmt(r.get('ratio_bare'), 2)} | {r['errors']} | "
                     f"{fmt(r.get('sql_statements'), 0)} | {fmt(r.get('sql_ms'))} | {fmt(r.get('inprocess_ms'))} |")
    lines += ["", "## Other measurements", "",
              "PDF columns: medians of alternating single requests (endpoint over HTTP, `render_pdf` "
              "in-process, `pisa.CreatePDF` alone on the same HTML string). Worker memory: peak RSS "
              "(VmHWM) of the larger of the two gunicorn workers after each step.", "",
              "| DB | Size | Demo build (s) | Biodata PDF: endpoint / render_pdf / pisa alone (ms) | "
              "KK PDF: endpoint / render_pdf / pisa alone (ms) | Worker peak RSS by step (MB) | "
              "Bare Flask worker (MB) | Load average after |",
              "| --- | ---: | ---: | --- | --- | --- | ---: | --- |"]

    def pdf_cell(v):
        return " / ".join(fmt(v.get(k)) for k in ("endpoint_ms", "render_pdf_ms", "pisa_alone_ms")) if v else "-"
    for (db_label, size), x in sorted(extras.items(), key=lambda kv: (kv[0][0] != "SQLite", kv[0][1])):
        base = x.get("pdf_baseline", {})
        steps = "; ".join(f"{when}: {fmt(max(mb, default=None), 0)}" for when, mb in x.get("hwm_steps", []))
        lines.append(f"| {db_label} | {size:,} | {fmt(x.get('demo_s'))} | {pdf_cell(base.get('biodata'))} | "
                     f"{pdf_cell(base.get('kk'))} | {steps} | {fmt(x.get('bare_worker_hwm_mb'), 0)} | "
                     f"{x.get('load_avg', '-')} |")
    for db_label, imp in import_results.items():
        lines.append(f"\nImport ({db_label}): {imp['rows']:,} rows from CSV into an empty register in "
                     f"{imp['seconds']:.1f} s = {imp['rows_per_s']:,.0f} rows/s.")
    lines += ["", "## Targets (issue 6)", "", "| DB | Target | Measured | Result |", "| --- | --- | --- | --- |"]
    for db_label, target, measured, verdict in targets:
        lines.append(f"| {db_label} | {target} | {measured} | **{verdict}** |")
    (out_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")
    return out_dir / f"{stem}.md", out_dir / f"{stem}.csv"


def print_table(rows):
    head = (f"{'Endpoint':<38} {'Size':>6} {'DB':<10} {'req/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} "
            f"{'x bare':>7} {'err':>4} {'SQL/req':>7} {'SQL ms':>7}")
    log("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        log(f"{r['endpoint']:<38} {r['size']:>6} {r['db']:<10} {fmt(r['rps']):>8} {fmt(r['p50_ms']):>8} "
            f"{fmt(r['p95_ms']):>8} {fmt(r['p99_ms']):>8} {fmt(r.get('ratio_bare'), 2):>7} {r['errors']:>4} "
            f"{fmt(r.get('sql_statements'), 0):>7} {fmt(r.get('sql_ms')):>7}")


# ------------------------------------------------------------------------------------ main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Balai load benchmark (issue 6); see the module docstring.")
    p.add_argument("--sizes", default=None, help="comma-separated resident counts (default 3000,10000,25000)")
    p.add_argument("--quick", action="store_true",
                   help="3000 and 10000 residents, 2 x 2 s per endpoint, 10 s soak, 10,000-row import")
    p.add_argument("--duration", type=int, default=None,
                   help="seconds of each wrk run (default 3; 2 with --quick)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections per endpoint (default 8)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--soak-connections", type=int, default=32)
    p.add_argument("--soak-duration", type=int, default=None, help="seconds (default 30; --quick 10)")
    p.add_argument("--logins", type=int, default=None, help="real portal logins per size (default 24)")
    p.add_argument("--login-threads", type=int, default=4)
    p.add_argument("--import-rows", type=int, default=None, help="rows of the import test (default 25000; 0 skips)")
    p.add_argument("--pdf-repeat", type=int, default=10, help="renderings for the xhtml2pdf baseline")
    p.add_argument("--pdf-duration", type=int, default=None,
                   help="seconds of each wrk run of the biodata and KK PDFs (default 3 x --duration; "
                        "2 x when SQLite and PostgreSQL are both measured)")
    p.add_argument("--rounds", type=int, default=None,
                   help="wrk runs per endpoint and size, each --duration long; the one with the lowest p95 "
                        "is reported (default 2; 1 when SQLite and PostgreSQL are both measured)")
    p.add_argument("--sql-repeat", type=int, default=5, help="requests per page for the SQL columns")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                   help="PostgreSQL URL for the second database (default $DATABASE_URL)")
    p.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    p.add_argument("--out", default=str(BENCH / "results"), help="folder for the CSV and Markdown results")
    p.add_argument("--keep-temp", action="store_true",
                   help="keep the temporary instance folders (SQLite files, gunicorn logs) for debugging")
    args = p.parse_args(argv)
    pg = args.database_url.startswith("postgres")
    if args.sizes:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    else:
        args.sizes = [3000, 10000] if args.quick else list(DEFAULT_SIZES)
    if args.duration is None:
        args.duration = 2 if args.quick else 3
    both = pg and not args.no_sqlite
    if args.pdf_duration is None:
        args.pdf_duration = (2 if both else 3) * args.duration
    if args.rounds is None:
        # Both databases in one run: one round each, to stay under 15 minutes on 2 cores.
        args.rounds = 1 if both else 2
    if args.soak_duration is None:
        args.soak_duration = 10 if args.quick else 30
    if args.logins is None:
        args.logins = 12 if args.quick else 24
    if args.import_rows is None:
        args.import_rows = 10000 if args.quick else 25000
    args.pg = pg
    if args.no_sqlite and not pg:
        p.error("--no-sqlite needs a PostgreSQL DATABASE_URL")
    return args


def main(argv=None):
    args = parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: install Debian's package with `apt-get install -y wrk` (as root), "
                 "then run the bench again.")
    try:
        import sqlalchemy  # noqa: F401
        import flask  # noqa: F401
    except ImportError:
        sys.exit(f"{PY} lacks the project's packages: run it with the project's virtualenv "
                 "(pip install -r requirements.txt), or use `bash bench/run.sh`.")
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    info = machine_info()
    info["load_start"] = load_avg()
    log(f"Balai benchmark: sizes {', '.join(f'{s:,}' for s in args.sizes)}; "
        f"{'SQLite' if not args.no_sqlite else ''}{' + ' if args.pg and not args.no_sqlite else ''}"
        f"{'PostgreSQL' if args.pg else ''}; wrk -t{args.threads} -c{args.connections} -d{args.duration}s; "
        f"{info['nproc']} CPUs, load average {info['load_start']}, commit {info['commit']}")

    procs = Procs()
    pg = None

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    rows, extras, import_results = [], {}, {}
    tmp = tempfile.mkdtemp(prefix="balai-bench-")
    try:
        if args.pg:
            pg = Postgres(args.database_url)
            info["postgres"] = pg.version
        backends = ([] if args.no_sqlite else [("SQLite", None)]) + ([("PostgreSQL", pg)] if pg else [])
        for db_label, backend in backends:
            if backend is None:
                urls = {size: f"sqlite:///{Path(tmp) / f'sqlite-{size}.db'}" for size in args.sizes}
            else:
                urls = {size: backend.database(str(size)) for size in args.sizes}
            bench_database(args, procs, db_label, urls, tmp, rows, extras)
            if args.import_rows:
                url = f"sqlite:///{Path(tmp) / 'import.db'}" if backend is None else backend.database("import")
                inst = Path(tmp) / f"{db_label}-import"
                inst.mkdir()
                _, out = run_step([PY, str(BENCH / "tasks.py"), "import", "--residents", str(args.import_rows)],
                                  base_env(inst, url), inst / "bench.log")
                import_results[db_label] = step_json(out)
                imp = import_results[db_label]
                log(f"\n== {db_label} import: {imp['rows']:,} rows in {imp['seconds']:.1f} s = "
                    f"{imp['rows_per_s']:,.0f} rows/s")
    except KeyboardInterrupt as exc:
        log(f"\ninterrupted ({exc}); cleaning up")
        raise SystemExit(130)
    except BenchError as exc:
        log(f"\nbench failed: {exc}\n(the logs in {tmp} are " +
            ("kept)" if args.keep_temp else "removed; rerun with --keep-temp to read them)"))
        raise SystemExit(1)
    finally:
        procs.stop_all()
        if pg is not None:
            pg.cleanup()
        if not args.keep_temp:
            shutil.rmtree(tmp, ignore_errors=True)

    finished = datetime.now(timezone.utc)
    info["load_end"] = load_avg()
    order = {}
    for r in rows:
        order.setdefault(r["endpoint"], len(order))
    rows.sort(key=lambda r: (r["db"] != "SQLite", order[r["endpoint"]], r["size"]))
    add_ratios(rows, extras)
    targets = evaluate(args, rows, extras, import_results)
    print_table(rows)
    log("\nTargets (issue 6):")
    for db_label, target, measured, verdict in targets:
        log(f"  [{verdict}] {db_label}: {target}: {measured}")
    md, csv_path = write_reports(args, rows, extras, import_results, targets, info, started, finished)
    log(f"\nLoad average start / end: {info['load_start']} / {info['load_end']}")
    def short(path):
        return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    log(f"Written {short(md)} and {short(csv_path)}; "
        f"total {(time.perf_counter() - t0) / 60:.1f} minutes")
    return 0 if all(v == "PASS" for *_, v in targets) else 2


if __name__ == "__main__":
    sys.exit(main())
