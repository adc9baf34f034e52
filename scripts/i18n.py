#!/usr/bin/env python
"""Balai translation pipeline.

Usage: ``python scripts/i18n.py update|compile|check``

* ``update``  extract our strings (``babel.cfg``, over ``app/``) and Flask-AppBuilder's own
  strings (the installed package's Python files and Jinja templates) into
  ``translations/messages.pot``, then create/update ``translations/id/LC_MESSAGES/messages.po``
  without fuzzy matching.
* ``compile`` compile the ``id`` catalogue to ``messages.mo`` (fuzzy entries are never
  included); exit 1 if any entry is untranslated or fuzzy.
* ``check``   list untranslated/fuzzy entries and placeholder mismatches, and verify that
  ``messages.mo`` matches ``messages.po``; exit 1 on any problem.

Source strings are English; Indonesian (``id``) is the only catalogue. Flask-AppBuilder ships no
Indonesian catalogue, so its strings live in ours. pybabel is run directly and every exit code is
checked (FAB's ``flask fab babel-*`` wrappers ignore failures and compile fuzzy entries).
Only the standard library and Babel are used.
"""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALE = "id"
PO = TRANSLATIONS / LOCALE / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

# Keywords for our code (Flask-Babel API; pybabel's defaults are kept as well).
APP_KEYWORDS = [
    "_l", "lazy_gettext", "_", "gettext",
    "ngettext:1,2", "lazy_ngettext:1,2",
    "pgettext:1c,2", "lazy_pgettext:1c,2", "npgettext:1c,2,3",
]
# Flask-AppBuilder 5 uses lazy_gettext (often imported as _), gettext, `__` (flask_babel.gettext
# in menu.py) and utils.base.lazy_formatter_gettext (user form descriptions); `_()` in templates.
FAB_KEYWORDS = ["lazy_gettext", "_", "gettext", "__", "lazy_formatter_gettext"]
# Patterns are relative to the flask_appbuilder package directory.
FAB_MAPPING = """\
[python: **.py]
encoding = utf-8
[jinja2: templates/**.html]
encoding = utf-8
silent = false
"""

# %(name)s, %s / %d ..., {name} / {} ; "%%" is a literal percent sign, not a placeholder.
_PLACEHOLDER_RE = re.compile(
    r"%%|%\([^)]*\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{[^{}]*\}"
)
_TAG_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")


class I18nError(RuntimeError):
    """A pybabel call or a catalogue check failed."""


def pybabel(*args: object, cwd: Path = ROOT) -> None:
    """Run ``pybabel`` with ``args`` in ``cwd``; raise I18nError on a non-zero exit code."""
    exe = Path(sys.executable).with_name("pybabel")
    if exe.exists():
        cmd = [str(exe)]
    elif shutil.which("pybabel"):
        cmd = [shutil.which("pybabel")]
    else:  # `python -m babel.messages.frontend` would drop the exit code
        cmd = [sys.executable, "-c",
               "import sys; from babel.messages.frontend import main; sys.exit(main())"]
    cmd += [str(a) for a in args]
    print("$ pybabel " + " ".join(str(a) for a in args), file=sys.stderr)
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode != 0:
        raise I18nError(f"pybabel {args[0]} failed (exit {proc.returncode}):\n{proc.stdout}")
    # Only the interesting lines (not one "extracting messages from" line per file).
    for line in proc.stdout.splitlines():
        if not line.startswith(("extracting messages from", "writing PO template")):
            print("  " + line, file=sys.stderr)


def _keyword_args(keywords: list[str]) -> list[str]:
    return [arg for kw in keywords for arg in ("-k", kw)]


def extract_app(output: Path) -> None:
    """Extract our own strings (babel.cfg, paths under app/) into the POT file ``output``."""
    # The babel.cfg patterns start with "app/", so the input path is the repo root.
    pybabel("extract", "-F", BABEL_CFG, *_keyword_args(APP_KEYWORDS),
            "-c", "TRANSLATORS:", "--project", "Balai", "-o", output, ".", cwd=ROOT)


def fab_package_dir() -> Path:
    """Directory of the installed flask_appbuilder package."""
    spec = importlib.util.find_spec("flask_appbuilder")
    if spec is None or spec.origin is None:
        raise I18nError("flask_appbuilder is not installed in this interpreter")
    return Path(spec.origin).resolve().parent


def extract_fab(output: Path) -> None:
    """Extract Flask-AppBuilder's strings into ``output``.

    Locations come out as ``flask_appbuilder/<file>:<line>`` (relative to site-packages), so
    the POT does not depend on the machine.
    """
    pkg = fab_package_dir()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "fab_babel.cfg"
        cfg.write_text(FAB_MAPPING, encoding="utf-8")
        pybabel("extract", "-F", cfg, *_keyword_args(FAB_KEYWORDS), "-o", output,
                pkg.name, cwd=pkg.parent)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f, locale=locale)


def build_template() -> Catalog:
    """Extract our strings and FAB's and merge them into one template catalogue."""
    with tempfile.TemporaryDirectory() as tmp:
        app_pot, fab_pot = Path(tmp) / "app.pot", Path(tmp) / "fab.pot"
        extract_app(app_pot)
        extract_fab(fab_pot)
        catalog = Catalog(project="Balai", copyright_holder="Balai", charset="utf-8",
                          header_comment="# Translations template for Balai: our strings and"
                          " Flask-AppBuilder's.\n# Regenerated by `python scripts/i18n.py"
                          " update`.")
        for source in (_read(app_pot), _read(fab_pot)):
            for message in source:
                if message.id:
                    catalog[message.id] = message
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=76)
    return buf.getvalue()


def _without_creation_date(data: bytes) -> bytes:
    return re.sub(rb'"POT-Creation-Date: [^"]*"\n', b"", data)


def write_template(catalog: Catalog, path: Path = POT) -> bool:
    """Write the POT unless only its creation date would change. Return True if written."""
    data = _po_bytes(catalog)
    if path.exists() and _without_creation_date(path.read_bytes()) == _without_creation_date(data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def update() -> int:
    """Rebuild the POT and create/update the Indonesian PO (no fuzzy matching)."""
    written = write_template(build_template())
    print(f"{POT.relative_to(ROOT)}: {'written' if written else 'unchanged'}", file=sys.stderr)
    if not PO.exists():
        pybabel("init", "-i", POT, "-d", TRANSLATIONS, "-l", LOCALE)
    pybabel("update", "-i", POT, "-d", TRANSLATIONS, "-l", LOCALE, "--no-fuzzy-matching",
            "--ignore-obsolete", "--ignore-pot-creation-date")
    problems = untranslated_or_fuzzy()
    if problems:
        print(f"{len(problems)} entries to translate in {PO.relative_to(ROOT)}", file=sys.stderr)
    return 0


def untranslated_or_fuzzy(po: Path = PO) -> list[str]:
    """Return a description of every untranslated or fuzzy entry of ``po`` (header included)."""
    catalog = _read(po, LOCALE)
    problems = ["<header>: fuzzy"] if catalog.fuzzy else []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        elif not strings or not all(strings):
            problems.append(f"untranslated: {msgid!r}")
    return problems


def placeholders(text: str) -> tuple:
    """What a translation must keep: named placeholders (set), number of positional ones
    (%s, {}), sorted HTML tag names, and leading/trailing whitespace (e.g. "Sign In with ")."""
    found = [p for p in _PLACEHOLDER_RE.findall(text) if p != "%%"]
    named = {p for p in found if p.startswith("%(") or (p.startswith("{") and p != "{}")}
    positional = sum(1 for p in found if p not in named)
    tags = sorted(t.lower() for t in _TAG_RE.findall(text))
    return named, positional, tags, text[:1].isspace(), text[-1:].isspace()


def placeholder_mismatches(po: Path = PO) -> list[str]:
    """Entries whose msgstr does not keep the msgid's placeholders and HTML tags."""
    problems = []
    for message in _read(po, LOCALE):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        expected = placeholders(ids[-1])  # one plural form in id: it serves every n
        for string in strings:
            if string and placeholders(string) != expected:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    return problems


def _mo_messages(catalog: Catalog) -> dict:
    return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)):
            m.string if isinstance(m.string, str) else tuple(m.string)
            for m in catalog if m.id}


def mo_is_current(po: Path = PO, mo: Path = MO) -> bool:
    """True if ``mo`` holds exactly what compiling ``po`` (without fuzzy entries) gives."""
    if not mo.exists():
        return False
    buf = io.BytesIO()
    write_mo(buf, _read(po, LOCALE), use_fuzzy=False)
    buf.seek(0)
    expected = read_mo(buf)
    with open(mo, "rb") as f:
        actual = read_mo(f)
    return (_mo_messages(expected) == _mo_messages(actual)
            and expected.plural_forms == actual.plural_forms)


def compile_() -> int:
    """Compile the id catalogue (never with fuzzy entries); exit 1 if anything is untranslated."""
    pybabel("compile", "-d", TRANSLATIONS, "-l", LOCALE, "--statistics")
    if not mo_is_current():  # e.g. pybabel silently skips a catalogue whose header is fuzzy
        print(f"{MO.relative_to(ROOT)} was not written from {PO.relative_to(ROOT)}",
              file=sys.stderr)
        return 1
    problems = untranslated_or_fuzzy()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def check() -> int:
    """List untranslated/fuzzy entries and placeholder mismatches; verify the .mo is current."""
    problems = untranslated_or_fuzzy() + placeholder_mismatches()
    if not mo_is_current():
        problems.append(f"{MO.relative_to(ROOT)} is missing or out of date: run compile")
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


COMMANDS = {"update": update, "compile": compile_, "check": check}


def main(argv: list[str]) -> int:
    """Command-line entry point."""
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]]()
    except (I18nError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
