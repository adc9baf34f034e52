"""Checks of the Indonesian catalogue (plain file checks: no database, no Flask app).

A developer who adds a translatable string without translating it gets a failing test here:
run ``python scripts/i18n.py update``, translate the new entries in
``translations/id/LC_MESSAGES/messages.po`` (terms: shared/GLOSSARY.md), then
``python scripts/i18n.py compile``.
"""

import importlib.util
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("balai_i18n", ROOT / "scripts" / "i18n.py")
i18n = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(i18n)


def _catalog(path):
    with open(path, "rb") as f:
        return read_po(f, locale="id")


@pytest.fixture(scope="module")
def po():
    return _catalog(i18n.PO)


@pytest.fixture(scope="module")
def template():
    """Our strings and FAB's, extracted now (about a second: two pybabel runs)."""
    return i18n.build_template()


def _fmt(problems):
    return "\n".join(problems) + "\n(run `python scripts/i18n.py update`, translate, then `compile`)"


def test_header(po):
    assert str(po.locale) == "id"
    assert po.charset.lower() == "utf-8"
    assert po.plural_forms == "nplurals=1; plural=0;"
    assert not po.fuzzy, "the po header is marked fuzzy: pybabel compile would skip the catalogue"


def test_no_untranslated_or_fuzzy_entries():
    problems = i18n.untranslated_or_fuzzy()
    assert not problems, _fmt(problems)


def test_placeholders_kept():
    problems = i18n.placeholder_mismatches()
    assert not problems, _fmt(problems)


def test_placeholder_helper_sees_placeholders():
    """Guard the helper used above: it must notice a lost or renamed placeholder."""
    p = i18n.placeholders
    assert p("Hello, %(name)s") == p("Halo, %(name)s")
    assert p("Hello, %(name)s") != p("Halo, %(nama)s")
    assert p("%s of %d") != p("%s dari")
    assert p("{count} items") != p("{} data")
    assert p("100%% sure") == p("Pasti")
    assert p("<b>bold</b>") != p("tebal")
    assert p("Sign In with ") != p("Masuk dengan")


def test_mo_is_up_to_date():
    assert i18n.MO.exists(), "messages.mo is missing: run `python scripts/i18n.py compile`"
    assert i18n.mo_is_current(), "messages.mo is older than messages.po: run compile"


def test_every_extracted_string_is_translated(po, template):
    """Re-extract our code (and FAB's) now: every msgid must be in the po, translated."""
    assert len(template) > 100, "extraction found suspiciously few strings (FAB's are ~155)"
    missing, untranslated = [], []
    for message in template:
        if not message.id:
            continue
        entry = po.get(message.id, message.context)
        msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        if entry is None:
            missing.append(f"not in po: {msgid!r} ({where})")
        else:
            strings = entry.string if isinstance(entry.string, (list, tuple)) else [entry.string]
            if entry.fuzzy or not all(strings):
                untranslated.append(f"untranslated/fuzzy: {msgid!r} ({where})")
    assert not missing + untranslated, _fmt(missing + untranslated)


def test_pot_file_matches_code(template):
    """translations/messages.pot holds exactly the strings `update` would extract now."""
    assert i18n.POT.exists()
    pot = _catalog(i18n.POT)
    fresh = template
    assert {m.id if isinstance(m.id, str) else tuple(m.id) for m in pot if m.id} == {
        m.id if isinstance(m.id, str) else tuple(m.id) for m in fresh if m.id
    }, "translations/messages.pot is stale: run `python scripts/i18n.py update`"
