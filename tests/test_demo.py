"""Tests for the demo village (app/residents/demo.py, ``flask desa demo``)."""
import os
import re
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.codes import SEX_FEMALE, SHDK_HEAD, STATUS_ALIVE
from app.core.nik import check_kk_number, check_nik
from app.residents.demo import (CHILD, HUSBAND, MARRIED, WIFE, build_demo, generate_population,
                                operator_password)

N = 200
ROOT = Path(__file__).resolve().parents[1]
PORTAL_LINE = re.compile(r"NIK (\d{16})\s+PIN (\d{6})\s+(.+)")


def _years_between(older, younger):
    return younger.year - older.year - ((younger.month, younger.day) < (older.month, older.day))


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """Point the app's instance folder at a temporary directory (demo-accounts.txt goes there)."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


@pytest.fixture
def built(ctx, instance):
    """A demo village of N residents in the test database; returns the DemoResult."""
    result = build_demo(residents=N, seed=42)
    assert result.built
    return result


def _residents():
    from app.extensions import db
    from app.residents.models import Resident
    return db.session.scalars(select(Resident).order_by(Resident.id)).all()


def _families():
    from app.extensions import db
    from app.residents.models import Family
    return db.session.scalars(select(Family).order_by(Family.id)).all()


def _count(model):
    from app.extensions import db
    return db.session.scalar(select(func.count()).select_from(model))


# --- the pure generator -----------------------------------------------------------------------

def test_same_seed_gives_same_people():
    """The same seed gives identical NIKs, names and KK numbers; another seed does not."""
    def fingerprint(seed):
        pop = generate_population(N, seed, as_of=date(2026, 7, 1))
        return ([(p.nik, p.name, p.father_name, p.mother_name) for p in pop.people()],
                [f.kk_number for f in pop.families], [pin for _, pin in pop.portal])

    assert fingerprint(42) == fingerprint(42)
    assert fingerprint(42) != fingerprint(43)


def test_same_seed_across_processes():
    """Output does not depend on the process (hash randomisation, set order)."""
    code = ("import hashlib; from datetime import date; from app.residents.demo import generate_population;"
            "p = generate_population(300, 5, as_of=date(2026, 7, 1));"
            "print(hashlib.sha256(repr([(x.nik, x.name) for x in p.people()]).encode()).hexdigest())")
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_generator_hits_the_requested_size():
    """Exactly the requested number of residents, about 3.1 per family, NIKs unique."""
    pop = generate_population(3000, 1)
    people = pop.people()
    assert len(people) == 3000
    assert 2.8 <= len(people) / len(pop.families) <= 3.4
    assert len({p.nik for p in people}) == len(people)
    assert len({f.kk_number for f in pop.families}) == len(pop.families)
    women = sum(p.sex_id == SEX_FEMALE for p in people)
    assert 0.46 <= women / len(people) <= 0.54


def test_generator_rejects_silly_sizes():
    """Fewer than 100 or more than 100,000 residents is refused."""
    with pytest.raises(ValueError):
        generate_population(10)
    with pytest.raises(ValueError):
        generate_population(100_001)


def test_operator_password_passes_fab_complexity(ctx):
    """Generated operator passwords are 14+ characters and pass FAB's complexity rule."""
    from flask_appbuilder.validators import default_password_complexity
    for _ in range(20):
        password = operator_password()
        assert len(password) >= 14
        default_password_complexity(password)


# --- the stored village ------------------------------------------------------------------------

def test_resident_count_and_village(built):
    """About N residents in about N / 3.1 families, and the Regaloh village profile."""
    from app.residents.models import Area, Village
    from app.residents.services import get_village
    residents = _residents()
    assert abs(len(residents) - N) <= N * 0.02
    assert N / 3.8 <= len(_families()) <= N / 2.6
    village = get_village()
    assert (village.code, village.name, village.kecamatan_code, village.regency_code) == (
        "3318142005", "Regaloh", "331814", "3318")
    assert "Kartu Keluarga (KK) asli" in village.account_requirements.splitlines()
    assert _count(Village) == 1
    assert _count(Area) == 3 + 7 + 27


def test_every_nik_and_kk_number_is_valid(built):
    """Every NIK and KK number passes the checks, and each NIK encodes the sex and birth date."""
    today = date.today()
    for resident in _residents():
        check = check_nik(resident.nik, today=today)
        assert check.errors == (), (resident.nik, [str(e) for e in check.errors])
        assert check.sex == resident.sex_id, resident.nik
        assert check.birth_date == resident.birth_date, resident.nik
    for family in _families():
        check = check_kk_number(family.kk_number, today=today)
        assert check.errors == () and check.warnings == (), family.kk_number
    prefixes = [r.nik[:6] for r in _residents()]
    assert prefixes.count("331814") > len(prefixes) / 2


def test_exactly_one_head_per_family(built):
    """Every family has exactly one head (SHDK 1)."""
    for family in _families():
        heads = [m for m in family.members if m.family_relationship_id == SHDK_HEAD]
        assert len(heads) == 1, family.kk_number


def test_children_are_younger_than_parents(built):
    """Every child (ANAK) is at least 15 years younger than the head and the spouse."""
    checked = 0
    for family in _families():
        parents = [m for m in family.members if m.family_relationship_id in (SHDK_HEAD, HUSBAND, WIFE)]
        for child in (m for m in family.members if m.family_relationship_id == CHILD):
            for parent in parents:
                assert _years_between(parent.birth_date, child.birth_date) >= 15, family.kk_number
                checked += 1
    assert checked > N / 4


def test_childrens_parents_names_are_the_couple(built):
    """A child's father's and mother's names are the names of the couple heading the family."""
    for family in _families():
        couple = {m.name for m in family.members if m.family_relationship_id in (SHDK_HEAD, HUSBAND, WIFE)}
        if len(couple) < 2:
            continue
        for child in (m for m in family.members if m.family_relationship_id == CHILD):
            assert {child.father_name, child.mother_name} == couple, family.kk_number


def test_spouses_are_married(built):
    """Spouses are KAWIN, and a head whose spouse is alive is KAWIN too."""
    spouses = 0
    for family in _families():
        head = next(m for m in family.members if m.family_relationship_id == SHDK_HEAD)
        for spouse in (m for m in family.members if m.family_relationship_id in (HUSBAND, WIFE)):
            spouses += 1
            assert spouse.marital_status_id == MARRIED
            assert spouse.sex_id != head.sex_id
            if spouse.basic_status_id == STATUS_ALIVE:
                assert head.marital_status_id == MARRIED
    assert spouses > N / 6


def test_religion_is_shared_within_a_family(built):
    """All members of a family have the same religion."""
    for family in _families():
        assert len({m.religion_id for m in family.members}) == 1, family.kk_number


def test_children_have_age_appropriate_data(built):
    """Children are BELUM KAWIN, and education and occupation fit their age."""
    today = date.today()
    for resident in _residents():
        age = _years_between(resident.birth_date, today)
        if age < 17:
            assert resident.marital_status_id == 1
            assert resident.education_id <= 4
            assert resident.occupation_id in (1, 3)  # BELUM/TIDAK BEKERJA, PELAJAR/MAHASISWA
        if age < 6:
            assert resident.education_id == 1


def test_officials_include_village_head_and_secretary(built):
    """The officials include a Kepala Desa and a Sekretaris Desa, linked to living adult residents."""
    from app.extensions import db
    from app.residents.models import Official
    officials = db.session.scalars(select(Official)).all()
    by_position = {o.position: o for o in officials}
    assert by_position["Kepala Desa"].is_village_head
    assert by_position["Sekretaris Desa"].may_sign_on_behalf
    assert sum(o.position.startswith("Kepala Dusun") for o in officials) == 3
    assert any(o.may_sign_under_authority for o in officials)
    for official in officials:
        assert official.resident is not None and official.resident.name == official.name
        assert official.resident.is_alive
        assert _years_between(official.resident.birth_date, date.today()) >= 20
        assert official.is_village_head or official.nipd
    assert sum(o.is_village_head for o in officials) == 1


def test_accounts_file_logins_work(built, instance):
    """demo-accounts.txt is 0600 and its 5 portal NIK/PIN pairs log in without a forced change."""
    from app.extensions import db
    from app.portal import services
    from app.residents.models import Resident
    path = instance / "demo-accounts.txt"
    assert path.exists() and built.accounts_file == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "DEMO-ONLY" in text and "/login/" in text and "/layanan-mandiri/masuk" in text
    logins = PORTAL_LINE.findall(text)
    assert len(logins) == 5
    residents = []
    for nik, pin, name in logins:
        result = services.authenticate(nik, pin)
        assert result.account is not None, name
        assert result.account.must_change_pin is False
        assert not services.is_weak_pin(pin)
        residents.append(db.session.scalar(select(Resident).where(Resident.nik == nik)))
    assert len({r.family_id for r in residents}) == 5
    assert any(r.sex_id == SEX_FEMALE for r in residents)
    assert any(r.family_relationship_id == SHDK_HEAD for r in residents)
    assert any(r.family_relationship_id != SHDK_HEAD for r in residents)
    assert max(len(r.name) for r in residents) >= 30
    assert all(r.is_alive and _years_between(r.birth_date, date.today()) >= 17 for r in residents)


def test_operator_logins_work(built, instance):
    """The admin, operator and kades users exist with their roles and the written passwords."""
    from flask import current_app
    sm = current_app.appbuilder.sm
    text = (instance / "demo-accounts.txt").read_text(encoding="utf-8")
    rows = re.findall(r"username (\S+)\s+password (\S+)\s+role (.+)", text)
    assert {u for u, _, _ in rows} == {"admin", "operator", "kades"}
    for username, password, role in rows:
        user = sm.auth_user_db(username, password)
        assert user, username
        assert [r.name for r in user.roles] == [role.strip()]


def test_existing_users_keep_their_password(ctx, instance):
    """A user that already exists is not touched and its password is not written."""
    from flask import current_app
    sm = current_app.appbuilder.sm
    sm.add_user("admin", "Old", "Admin", "old@example.com", sm.find_role("Admin"), "Lama-Sekali-99")
    result = build_demo(residents=N, seed=3)
    assert result.built
    assert sm.auth_user_db("admin", "Lama-Sekali-99")
    admin = next(u for u in result.users if u.username == "admin")
    assert admin.password is None
    assert "password unchanged" in (instance / "demo-accounts.txt").read_text(encoding="utf-8")


def test_running_twice_changes_nothing(built):
    """A second build is a no-op: same counts, built=False, no new users or accounts."""
    from flask import current_app
    from app.portal.models import PortalAccount
    from app.residents.models import Family, Official, Resident
    before = [_count(m) for m in (Resident, Family, Official, PortalAccount)]
    users = current_app.appbuilder.sm.count_users()
    again = build_demo(residents=N, seed=42)
    assert again.built is False and again.village_name == "Regaloh"
    assert [_count(m) for m in (Resident, Family, Official, PortalAccount)] == before
    assert current_app.appbuilder.sm.count_users() == users


def test_cli_demo_twice(app, instance):
    """`flask desa demo` builds, prints a summary, and exits 0 without changes the second time."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["desa", "demo", "--residents", "150", "--seed", "9"])
    assert first.exit_code == 0, first.output
    assert "Regaloh" in first.output and "150 residents" in first.output
    assert "demo-accounts.txt" in first.output
    second = runner.invoke(args=["desa", "demo", "--residents", "150"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    with app.app_context():
        from app.residents.models import Resident
        assert _count(Resident) == 150


def test_build_demo_if_empty(ctx, instance):
    """build_demo_if_empty builds on an empty register and then reports False."""
    from app.cli import build_demo_if_empty
    lines = []
    assert build_demo_if_empty(echo=lines.append, residents=N) is True
    assert any("Regaloh" in line for line in lines)
    assert build_demo_if_empty(echo=lines.append, residents=N) is False
