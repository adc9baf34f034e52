"""The demo village: a realistic, reproducible register for trying Balai out.

Two layers:

* :func:`generate_population` is pure: from ``(residents, seed)`` it builds plain
  :class:`DemoPerson` / :class:`DemoFamily` values with ``random.Random(seed)`` (never the
  global generator) and a fixed reference date, so the same seed always gives byte-identical
  NIKs, KK numbers and names.
* :func:`build_demo` writes them (village, wilayah, families, residents, officials, operator
  users, five portal accounts) in a few bulk statements, commits, and writes the demo logins to
  ``instance/demo-accounts.txt`` (mode 0600).

The village is real: Desa Regaloh, kode desa 33.18.14.2005, Kecamatan Tlogowungu, Kabupaten
Pati, Jawa Tengah (Kemendagri 2025 list as collected in cahyadsn/wilayah ``db/wilayah.sql``;
postal code 59161 per Wikipedia). Its dusun names, office address, phone and all people are
invented. Sizes follow DOMAIN.md §7 (about 3.1 people per family); NIK and KK numbers follow
DOMAIN.md §2 and pass :func:`app.core.nik.check_nik` / :func:`~app.core.nik.check_kk_number`.

Running it twice changes nothing: when a village or any resident exists, :func:`build_demo`
returns at once with ``built=False`` (a no-op by design, so ``python run.py`` can call it at
every start through :func:`app.cli.build_demo_if_empty`).
"""
from __future__ import annotations

import csv
import os
import random
import secrets
import string
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import insert, select

from app.core.codes import SEX_FEMALE, SEX_MALE, STATUS_ALIVE, STATUS_DEAD, STATUS_MOVED
from app.core.nik import kecamatan_codes
from app.extensions import db

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Ages and dates are computed as of this day (or today, if the clock is earlier), so the
#: output does not drift from day to day. NIKs encode two-digit years, and DOMAIN.md §2 reads
#: YY as 20YY when that is not in the future: the oldest demo resident is born in 1934, so the
#: demo stays unambiguous until 2033.
REFERENCE_DATE = date(2026, 7, 1)
OLDEST_BIRTH = date(1934, 1, 1)

#: The village profile (a real kode desa; address, phone and e-mail are invented).
VILLAGE = {
    "name": "Regaloh",
    "code": "3318142005",
    "kecamatan_name": "Tlogowungu",
    "kecamatan_code": "331814",
    "regency_name": "Kabupaten Pati",
    "regency_code": "3318",
    "province_name": "Jawa Tengah",
    "province_code": "33",
    "address": "Jl. Raya Regaloh No. 1, Kecamatan Tlogowungu, Kabupaten Pati",
    "postal_code": "59161",
    "phone": "(0295) 4101234",
    "email": "pemdes@regaloh.desa.id",
    "service_hours": "Senin–Kamis 08.00–15.00 WIB, Jumat 08.00–11.00 WIB",
    "account_requirements": "\n".join([
        "Kartu Keluarga (KK) asli",
        "KTP-el asli (atau kartu pelajar bagi yang belum punya KTP)",
        "Pas foto",
        "Buku nikah bagi yang sudah menikah",
        "Akta cerai bagi yang bercerai",
        "Nomor HP yang aktif",
    ]),
}
#: E-mail domain of the demo operator users.
MAIL_DOMAIN = "regaloh.desa.id"

#: Wilayah: dusun -> ((RW, number of RTs), ...). RW numbers run through the village, RT numbers
#: restart in every RW, as in most Javanese villages. Dusun names are invented.
WILAYAH = (
    ("Krajan", (("001", 5), ("002", 4), ("003", 4))),
    ("Ngablak", (("004", 4), ("005", 3))),
    ("Gondang", (("006", 4), ("007", 3))),
)

#: Kecamatan next to Tlogowungu in Kabupaten Pati (patikab.go.id): Pati, Margorejo, Gembong,
#: Wedarijaksa, Margoyoso, Gunungwungkal. People who moved in within the kabupaten keep NIKs
#: issued there.
NEIGHBOUR_KECAMATAN = ("331810", "331812", "331813", "331815", "331816", "331817")

# National code ids (app/core/data/*.csv).
ISLAM, KRISTEN, KATOLIK, HINDU, BUDDHA = 1, 2, 3, 4, 5
SINGLE, MARRIED, DIVORCED, WIDOWED = 1, 2, 3, 4
HEAD, HUSBAND, WIFE, CHILD, CHILD_IN_LAW, GRANDCHILD, PARENT, PARENT_IN_LAW = 1, 2, 3, 4, 5, 6, 7, 8
BLOOD_UNKNOWN = 13
OCC = {"none": 1, "housewife": 2, "student": 3, "retired": 4, "civil_servant": 5, "farmer": 9,
       "village_head": 86, "village_staff": 85, "employee": 15}

#: Religion of a family (Kabupaten Pati is about 96.5 % Muslim, with Christian and Buddhist
#: Javanese communities on the Muria slopes; the Hindu families are Balinese newcomers).
RELIGION_WEIGHTS = ((ISLAM, 94.0), (KRISTEN, 2.7), (KATOLIK, 1.6), (BUDDHA, 1.1), (HINDU, 0.6))

#: Household kinds and weights, tuned for about 3.1 people per KK (DOMAIN.md §7).
HOUSEHOLD_WEIGHTS = (("couple", 71.5), ("widow", 8.5), ("widower", 2.5), ("divorced", 3.5),
                     ("single_young", 7.0), ("single_old", 7.0))
#: Age of the (male) head of a couple household: (from, to, weight).
COUPLE_HEAD_AGES = ((21, 29, 10), (30, 39, 24), (40, 49, 26), (50, 59, 21), (60, 69, 12), (70, 84, 6))
#: Ages of widowed heads (with or without children at home).
WIDOWED_HEAD_AGES = ((42, 59, 30), (60, 74, 48), (75, 88, 22))
#: Ages of the elderly living alone.
ALONE_OLD_AGES = ((63, 74, 55), (75, 84, 35), (85, 92, 10))

#: Last completed education (education_kk.csv ids) of adults by birth cohort.
EDUCATION_BY_COHORT = (
    (1955, {1: 25, 2: 30, 3: 35, 4: 6, 5: 4}),
    (1970, {1: 8, 2: 17, 3: 40, 4: 18, 5: 14, 6: 1, 8: 2}),
    (1985, {1: 2, 2: 6, 3: 30, 4: 28, 5: 28, 6: 1, 7: 2, 8: 3}),
    (1997, {2: 2, 3: 14, 4: 26, 5: 45, 7: 4, 8: 9}),
    (9999, {3: 5, 4: 20, 5: 60, 7: 4, 8: 11}),
)
#: Occupations (occupation.csv ids) of working-age adults.
MALE_JOBS = {9: 22, 20: 12, 88: 14, 15: 12, 19: 10, 84: 6, 26: 3, 27: 2, 81: 2, 10: 2, 12: 3,
             13: 2, 35: 1, 29: 0.5, 1: 3}
FEMALE_JOBS = {2: 38, 9: 10, 20: 8, 84: 8, 88: 9, 15: 8, 19: 4, 30: 2, 23: 1, 1: 4}
GRADUATE_JOBS_MALE = {65: 8, 5: 4, 15: 8, 16: 1}
GRADUATE_JOBS_FEMALE = {65: 10, 73: 2, 74: 2, 5: 3}
SENIOR_JOBS = {1: 40, 9: 35, 20: 10, 84: 5}
BLOOD_KNOWN = {4: 40, 1: 25, 2: 28, 3: 7}

#: Village officials: (position, is_village_head, may_sign_on_behalf, may_sign_under_authority).
OFFICIAL_POSITIONS = (
    ("Kepala Desa", True, False, False),
    ("Sekretaris Desa", False, True, False),
    ("Kaur Keuangan", False, False, False),
    ("Kaur Umum dan Perencanaan", False, False, False),
    ("Kasi Pemerintahan", False, False, True),
    ("Kasi Kesejahteraan", False, False, False),
    ("Kasi Pelayanan", False, False, True),
)

MIN_RESIDENTS = 100
MAX_RESIDENTS = 100_000


# --------------------------------------------------------------------------- plain values


@dataclass(slots=True)
class DemoPerson:
    """One resident row as plain values (ids are national code ids, dates are ``date``)."""

    nik: str
    name: str
    sex_id: int
    birth_date: date
    birth_place: str
    religion_id: int
    family_relationship_id: int
    marital_status_id: int = SINGLE
    education_id: int = 1
    occupation_id: int = 1
    blood_type_id: int = BLOOD_UNKNOWN
    basic_status_id: int = STATUS_ALIVE
    father_name: str = ""
    mother_name: str = ""
    #: Name tradition used for this person ("jawa", "sunda", "bali").
    tradition: str = "jawa"

    def age(self, on):
        """Age in whole years on ``on``."""
        return _age(self.birth_date, on)

    def row(self, family_id):
        """The ``resident`` table row for a bulk insert."""
        return {
            "nik": self.nik, "name": self.name, "sex_id": self.sex_id,
            "birth_place": self.birth_place, "birth_date": self.birth_date,
            "religion_id": self.religion_id, "education_id": self.education_id,
            "occupation_id": self.occupation_id, "marital_status_id": self.marital_status_id,
            "family_relationship_id": self.family_relationship_id,
            "blood_type_id": self.blood_type_id, "citizenship_id": 1,
            "basic_status_id": self.basic_status_id, "father_name": self.father_name,
            "mother_name": self.mother_name, "family_id": family_id,
        }


@dataclass(slots=True)
class DemoFamily:
    """One KK: number, issue date, RT as ``(dusun, rw, rt)`` names and the members (head first)."""

    kk_number: str
    issued: date
    rt: tuple
    members: list = field(default_factory=list)

    @property
    def head(self):
        """The member with SHDK 1."""
        return self.members[0]

    @property
    def address(self):
        """The address line on the KK (the RT/RW/dusun come from the area)."""
        return f"Dukuh {self.rt[0]}"


@dataclass(slots=True)
class DemoOfficial:
    """A pamong: position, the resident holding it, NIPD and signing flags."""

    position: str
    person: DemoPerson
    nipd: str | None
    is_village_head: bool = False
    may_sign_on_behalf: bool = False
    may_sign_under_authority: bool = False
    sort_order: int = 0


@dataclass(slots=True)
class Population:
    """Everything :func:`generate_population` makes; no database objects."""

    seed: int
    as_of: date
    families: list
    officials: list
    #: ``[(DemoPerson, pin)]``: the five residents who get a portal account, with demo PINs.
    portal: list

    def people(self):
        """Every resident, family by family, head first."""
        return [p for f in self.families for p in f.members]


@dataclass
class UserLogin:
    """An operator-panel login written to the accounts file (``password`` None: pre-existing)."""

    username: str
    role: str
    password: str | None


@dataclass
class PortalLogin:
    """A Layanan Mandiri login written to the accounts file."""

    name: str
    nik: str
    pin: str


@dataclass
class DemoResult:
    """What :func:`build_demo` did.

    ``built`` is False when a village or residents already existed (nothing was changed);
    ``seconds`` is the wall time of the whole build; ``accounts_file`` the credentials file.
    """

    built: bool
    village_name: str
    village_code: str
    families: int = 0
    residents: int = 0
    alive: int = 0
    dead: int = 0
    moved: int = 0
    officials: int = 0
    users: list = field(default_factory=list)
    portal: list = field(default_factory=list)
    accounts_file: Path | None = None
    seconds: float = 0.0


# --------------------------------------------------------------------------- helpers


def _age(birth, on):
    """Whole years between ``birth`` and ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _add_years(d, years):
    """``d`` moved by whole years (29 February becomes 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _load_names():
    """``{(sex "M"/"F", group, slot): [names]}`` from ``data/given_names.csv`` (file order)."""
    pools = defaultdict(list)
    with open(DATA_DIR / "given_names.csv", encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            pools[(row["sex"], row["group"], row["slot"])].append(row["name"])
    return dict(pools)


def _load_places():
    """Rows of ``data/birth_places.csv`` as dicts with float weights, in file order."""
    with open(DATA_DIR / "birth_places.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    for row in rows:
        row["adult"], row["child"] = float(row["adult"]), float(row["child"])
    return rows


class _Generator:
    """Holds the random stream and the numbers already used; one per :func:`generate_population`."""

    def __init__(self, seed, as_of):
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.names = _load_names()
        self.places = _load_places()
        self.place_regency = {row["place"]: row["regency"] for row in self.places}
        self.place_tradition = {row["place"]: row["names"] for row in self.places}
        codes = kecamatan_codes()
        self.kecamatan_by_regency = defaultdict(list)
        for code, current in codes.items():
            if current:
                self.kecamatan_by_regency[code[:4]].append(code)
        self.used_niks = set()
        self.used_kks = set()
        self.rts = [(dusun, rw, f"{rt:03d}") for dusun, rws in WILAYAH for rw, n in rws
                    for rt in range(1, n + 1)]
        # Some RTs are bigger than others; Krajan (the old centre) is the biggest dusun.
        self.rt_weights = [self.rng.uniform(0.6, 1.4) * (1.3 if rt[0] == "Krajan" else 1.0)
                           for rt in self.rts]

    # -- small random helpers

    def weighted(self, mapping):
        """A key of ``mapping`` ({key: weight}) chosen by weight."""
        keys = list(mapping)
        return self.rng.choices(keys, weights=[mapping[k] for k in keys])[0]

    def pick(self, sex, group, slot):
        """A name from the ``(sex "M"/"F", group, slot)`` list of ``given_names.csv``."""
        return self.rng.choice(self.names[(sex, group, slot)])

    def days(self, lo, hi):
        """A ``timedelta`` of ``lo``-``hi`` days (inclusive)."""
        return timedelta(days=self.rng.randint(lo, hi))

    def birth_for_age(self, age):
        """A birth date giving ``age`` whole years on the reference date (not before 1934)."""
        start = _add_years(self.as_of, -(age + 1)) + timedelta(days=1)
        birth = start + self.days(0, 364)
        return max(birth, OLDEST_BIRTH + self.days(0, 364))

    # -- names

    def name(self, sex_id, year, religion, tradition, order=1):
        """A full name for someone of this sex, birth year, religion and tradition.

        Older Javanese mostly have one name (Paimin, Tukiyem); people born 1970-1990 two
        (Budi Santoso, Siti Aminah); the young often two or three modern ones (Muhammad Rizky
        Pratama). Christians often carry a baptismal first name; Balinese names start with
        I/Ni and a birth-order name (Wayan, Made, Nyoman, Ketut).
        """
        rng = self.rng
        sx = "M" if sex_id == SEX_MALE else "F"
        if tradition == "bali":
            orders = (("Wayan", "Putu", "Gede") if sx == "M" else ("Wayan", "Putu", "Luh"),
                      ("Made", "Kadek"), ("Nyoman", "Komang"), ("Ketut",))
            parts = ["I" if sx == "M" else "Ni", rng.choice(orders[(order - 1) % 4])]
            parts.append(self.pick(sx, "bali", "given"))
            if rng.random() < 0.3:
                parts.append(self.pick(sx, "bali", "given"))
            return _join(parts)
        local = "sunda" if tradition == "sunda" else "jawa"
        christian = religion in (KRISTEN, KATOLIK) and rng.random() < 0.8
        muslim = religion == ISLAM
        x = rng.random()
        if tradition == "sunda":
            parts = [self.pick(sx, "sunda", "first")]
            if year >= 1965 or x < 0.5:
                parts.append(self.pick(sx, "sunda", "last"))
            if muslim and year >= 1985 and rng.random() < 0.3:
                parts.insert(0, self.pick(sx, "islam", "first"))
        elif year < 1970:
            if christian:
                parts = [self.pick(sx, "kristen", "first"), self.pick(sx, "jawa_old", "single")]
            elif muslim and x < 0.12:
                parts = [self.pick(sx, "islam", "first"), self.pick(sx, "islam", "last")]
            elif muslim and x < 0.25:
                parts = [self.pick(sx, "islam", "first"), self.pick(sx, "jawa_old", "single")]
            elif x < 0.85:
                parts = [self.pick(sx, "jawa_old", "single")]
            else:
                parts = [self.pick(sx, "jawa", "single")]
        elif year < 1990:
            if christian:
                parts = [self.pick(sx, "kristen", "first")]
                parts += ([self.pick(sx, local, "first"), self.pick(sx, local, "last")]
                          if x < 0.5 else [self.pick(sx, "jawa", "single")])
            elif muslim and x < 0.35:
                parts = [self.pick(sx, "islam", "first"),
                         self.pick(sx, "islam" if rng.random() < 0.6 else "jawa", "last")]
            elif x < 0.75:
                parts = [self.pick(sx, "jawa", "first"), self.pick(sx, "jawa", "last")]
            else:
                parts = [self.pick(sx, "jawa", "single")]
        else:
            # Young Muslims also get the Arabic-derived names in fashion since the 1990s.
            first = self.pool(sx, ("modern", "first"), *((("islam", "young_first"),) if muslim else ()))
            last = self.pool(sx, ("modern", "last"), *((("islam", "young_last"),) if muslim else ()))
            if christian:
                parts = [self.pick(sx, "kristen", "first"), rng.choice(first), rng.choice(last)]
            elif muslim and x < 0.45:
                parts = [self.pick(sx, "islam", "first")]
                if rng.random() < 0.5:
                    parts.append(rng.choice(first))
                parts.append(rng.choice(last) if rng.random() < 0.6 else self.pick(sx, "islam", "last"))
            else:
                parts = [rng.choice(first), rng.choice(last)]
                if rng.random() < 0.3:
                    parts.insert(1, rng.choice(first))
        return _join(parts)

    def pool(self, sx, *keys):
        """The names of several ``(group, slot)`` lists together, in a fixed order."""
        return [n for group, slot in keys for n in self.names[(sx, group, slot)]]

    def long_name(self, sex_id, religion):
        """A four-part name of at least 30 characters (DOMAIN.md §5: names up to 60+)."""
        sx = "M" if sex_id == SEX_MALE else "F"
        while True:
            muslim = religion == ISLAM
            first = self.pick(sx, "islam" if muslim else "kristen", "first")
            given = self.pool(sx, ("modern", "first"), *((("islam", "young_first"),) if muslim else ()))
            last = self.pool(sx, ("modern", "last"), *((("islam", "young_last"),) if muslim else ()))
            parts = [first, self.rng.choice(given), self.rng.choice(given), self.rng.choice(last)]
            name = _join(parts)
            if len(name) >= 30 and len(name.split()) == 4:
                return name

    # -- places and numbers

    def birth_place(self, adult):
        """A place of birth: mostly Pati, some neighbouring kabupaten, a few cities further away."""
        key = "adult" if adult else "child"
        rows = [r for r in self.places if r[key] > 0]
        return self.rng.choices([r["place"] for r in rows], weights=[r[key] for r in rows])[0]

    def nik_prefix(self, place, local_share):
        """Kecamatan code of the first registration.

        ``local_share`` is the chance that someone born in Kabupaten Pati was registered in
        Tlogowungu itself; people born further away keep their birthplace's prefix half the time.
        """
        rng = self.rng
        regency = self.place_regency.get(place, VILLAGE["regency_code"])
        if regency == VILLAGE["regency_code"]:
            if rng.random() < local_share:
                return VILLAGE["kecamatan_code"]
            return rng.choice(NEIGHBOUR_KECAMATAN)
        if rng.random() < 0.5:
            return VILLAGE["kecamatan_code"]
        return rng.choice(self.kecamatan_by_regency[regency])

    def nik(self, birth, sex_id, prefix):
        """A unique NIK: prefix + DDMMYY (day + 40 for women) + serial (DOMAIN.md §2)."""
        day = birth.day + (40 if sex_id == SEX_FEMALE else 0)
        base = f"{prefix}{day:02d}{birth.month:02d}{birth.year % 100:02d}"
        serial = self.rng.randint(1, 40)
        while f"{base}{serial:04d}" in self.used_niks:
            serial = serial + 1 if serial < 9999 else 1
        nik = f"{base}{serial:04d}"
        self.used_niks.add(nik)
        return nik

    def kk_number(self, issued):
        """A unique KK number: issuing kecamatan (mostly Tlogowungu) + DDMMYY + serial."""
        rng = self.rng
        prefix = VILLAGE["kecamatan_code"] if rng.random() < 0.96 else rng.choice(NEIGHBOUR_KECAMATAN)
        base = f"{prefix}{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}"
        serial = rng.randint(1, 60)
        while f"{base}{serial:04d}" in self.used_kks:
            serial = serial + 1 if serial < 9999 else 1
        number = f"{base}{serial:04d}"
        self.used_kks.add(number)
        return number

    def kk_issue_date(self, formed):
        """When the KK was issued: the family's formation, or the SIAK re-registration
        (2006-2012) for families formed before it; never after the reference date."""
        if formed < date(2006, 1, 1):
            issued = date(2006, 1, 2) + self.days(0, 7 * 365)
        else:
            issued = formed + self.days(0, 400)
        return min(issued, self.as_of - self.days(1, 60))

    # -- attributes that depend on age

    def education(self, birth):
        """Last completed education (education_kk ids), consistent with age."""
        age = _age(birth, self.as_of)
        if age < 7:
            return 1
        if age < 13:
            return 2
        if age < 16:
            return 3
        if age < 19:
            return 4
        for until, weights in EDUCATION_BY_COHORT:
            if birth.year < until:
                edu = self.weighted(weights)
                break
        if age < 22 and edu > 5:
            edu = 5  # too young for a degree
        return edu

    def occupation(self, person):
        """Occupation (occupation ids), consistent with age, sex and education."""
        age, edu, rng = person.age(self.as_of), person.education_id, self.rng
        if age < 5:
            return OCC["none"]
        if age < 16:
            return OCC["student"]
        if age < 19:
            return OCC["student"] if rng.random() < 0.8 else OCC["none"]
        if age < 24 and edu >= 5 and rng.random() < 0.35:
            return OCC["student"]
        if age >= 67:
            jobs = dict(SENIOR_JOBS)
            if person.sex_id == SEX_FEMALE:
                jobs[OCC["housewife"]] = 30
            if edu >= 5:
                jobs[OCC["retired"]] = 15
            return self.weighted(jobs)
        jobs = dict(MALE_JOBS if person.sex_id == SEX_MALE else FEMALE_JOBS)
        if edu >= 7:
            jobs.update(GRADUATE_JOBS_MALE if person.sex_id == SEX_MALE else GRADUATE_JOBS_FEMALE)
        if person.sex_id == SEX_MALE and edu >= 5:
            jobs.update({6: 0.5, 7: 0.5, 18: 1})
        if person.sex_id == SEX_FEMALE and person.marital_status_id == SINGLE:
            jobs.pop(OCC["housewife"], None)
        return self.weighted(jobs)

    def blood_type(self):
        """Most villagers do not know their blood type."""
        return BLOOD_UNKNOWN if self.rng.random() < 0.7 else self.weighted(BLOOD_KNOWN)

    def finish(self, person):
        """Fill education, occupation and blood type once age and marital status are known."""
        person.education_id = self.education(person.birth_date)
        person.occupation_id = self.occupation(person)
        person.blood_type_id = self.blood_type()
        return person

    # -- people

    def person(self, sex_id, birth, religion, relation, *, place=None, tradition=None,
               local_share=0.85, order=1, marital=SINGLE):
        """A new :class:`DemoPerson` (parents' names left empty for the caller)."""
        place = place or self.birth_place(adult=True)
        tradition = tradition or self.place_tradition.get(place, "jawa")
        nik = self.nik(birth, sex_id, self.nik_prefix(place, local_share))
        return DemoPerson(
            nik=nik, name=self.name(sex_id, birth.year, religion, tradition, order),
            sex_id=sex_id, birth_date=birth, birth_place=place, religion_id=religion,
            family_relationship_id=relation, marital_status_id=marital, tradition=tradition)

    def parents_names(self, person):
        """Invent the names of parents who do not live in the village."""
        year = person.birth_date.year - 28
        person.father_name = self.name(SEX_MALE, year, person.religion_id, person.tradition)
        person.mother_name = self.name(SEX_FEMALE, year, person.religion_id, person.tradition)

    def religion(self):
        """A family's religion (national religion id) by :data:`RELIGION_WEIGHTS`."""
        return self.weighted(dict(RELIGION_WEIGHTS))

    def children(self, mother_birth, father_birth, since, religion, tradition, *, mother_name,
                 father_name):
        """Children born from ``since`` on, spaced 1.5-5 years, while the mother is under 44.

        Every child is at least 19 years younger than both parents. Returns all children ever
        born (the caller decides who still lives at home).
        """
        rng = self.rng
        cohort = mother_birth.year
        wanted = self.weighted({0: 5, 1: 16, 2: 38, 3: 24, 4: 11, 5: 6} if cohort >= 1975 else
                               {0: 3, 1: 8, 2: 20, 3: 26, 4: 20, 5: 13, 6: 10})
        earliest = max(_add_years(mother_birth, 19), _add_years(father_birth, 19))
        t = max(since + self.days(270, 900), earliest)
        kids = []
        for order in range(1, wanted + 1):
            if t > self.as_of or _age(mother_birth, t) >= 44:
                break
            sex_id = SEX_MALE if rng.random() < 0.51 else SEX_FEMALE
            place = self.birth_place(adult=False)
            kid = self.person(sex_id, t, religion, CHILD, place=place,
                              tradition=tradition if tradition == "bali" else None,
                              local_share=0.97, order=order)
            kid.father_name, kid.mother_name = father_name, mother_name
            kids.append(kid)
            t = t + self.days(540, 1800)
        return kids

    def at_home(self, kid):
        """Whether an unmarried child still lives with the parents."""
        age = kid.age(self.as_of)
        if age < 18:
            return True
        if age < 25:
            share = 0.7 if kid.sex_id == SEX_MALE else 0.55
        elif age < 35:
            share = 0.3
        else:
            share = 0.08
        return self.rng.random() < share

    # -- households

    def household(self):
        """One family (members ordered head, spouse, children, in-laws, grandchildren, parents)."""
        kind = self.weighted(dict(HOUSEHOLD_WEIGHTS))
        return getattr(self, f"_{kind}")()

    def _couple(self):
        rng = self.rng
        head_age = self.age_from(COUPLE_HEAD_AGES)
        religion = self.religion()
        bali = religion == HINDU
        # About 1.5 % of couples have the wife as head of the family (SHDK "SUAMI" for him).
        wife_heads = rng.random() < 0.015
        h_birth = self.birth_for_age(head_age)
        gap = max(-4, min(14, round(rng.gauss(3.5, 3.5))))
        w_birth = max(OLDEST_BIRTH, _add_years(h_birth, gap) + self.days(-150, 150))
        if _age(w_birth, self.as_of) < 19:
            w_birth = self.birth_for_age(19)
        place_h = rng.choice(["Singaraja", "Denpasar"]) if bali else self.birth_place(True)
        place_w = rng.choice(["Singaraja", "Denpasar"]) if bali else self.birth_place(True)
        husband = self.person(SEX_MALE, h_birth, religion, HUSBAND if wife_heads else HEAD,
                              place=place_h, local_share=0.85 if not wife_heads else 0.6,
                              marital=MARRIED)
        wife = self.person(SEX_FEMALE, w_birth, religion, HEAD if wife_heads else WIFE,
                           place=place_w, local_share=0.6 if not wife_heads else 0.85,
                           marital=MARRIED)
        self.parents_names(husband)
        self.parents_names(wife)
        marriage_age = self.weighted({17: 3, 18: 6, 19: 10, 20: 14, 21: 14, 22: 13, 23: 11,
                                      24: 9, 25: 7, 26: 5, 27: 4, 28: 2, 30: 2})
        married = max(_add_years(w_birth, marriage_age), _add_years(h_birth, 20)) + self.days(0, 200)
        married = min(married, self.as_of - self.days(30, 300))
        kids = self.children(w_birth, h_birth, married, religion, "bali" if bali else "jawa",
                             mother_name=wife.name, father_name=husband.name)
        head, spouse = (wife, husband) if wife_heads else (husband, wife)
        members = [head, spouse]
        home = [k for k in kids if self.at_home(k)]
        members += home
        extra = []
        # A married child living in with spouse (MENANTU) and children (CUCU): common in Java.
        adults = [k for k in home if k.age(self.as_of) >= 22]
        if adults and head_age >= 45 and rng.random() < 0.25:
            extra = self.married_child(rng.choice(adults))
        members += extra
        # A widowed parent of the head (ORANGTUA) or of the spouse (MERTUA).
        if head_age < 55 and rng.random() < 0.08:
            child = rng.choice([head, spouse])
            parent = self.widowed_parent(child, PARENT if child is head else PARENT_IN_LAW)
            if parent is not None:
                members.append(parent)
        for p in members:
            self.finish(p)
        return self.family(members, married)

    def married_child(self, child):
        """Marry ``child`` (living with the parents); return [spouse, grandchildren...]."""
        rng = self.rng
        child.marital_status_id = MARRIED
        sex_id = SEX_FEMALE if child.sex_id == SEX_MALE else SEX_MALE
        gap = max(-3, min(10, round(rng.gauss(3, 3))))
        gap = gap if sex_id == SEX_MALE else -gap
        birth = _add_years(child.birth_date, -gap) + self.days(-150, 150)
        birth = min(birth, self.birth_for_age(20))
        spouse = self.person(sex_id, birth, child.religion_id, CHILD_IN_LAW, local_share=0.6,
                             tradition=child.tradition if child.tradition == "bali" else None,
                             marital=MARRIED)
        self.parents_names(spouse)
        mother, father = (child, spouse) if child.sex_id == SEX_FEMALE else (spouse, child)
        since = max(_add_years(child.birth_date, 20), _add_years(spouse.birth_date, 20))
        since = min(since, self.as_of - self.days(30, 300))
        grandkids = self.children(mother.birth_date, father.birth_date, since, child.religion_id,
                                  child.tradition, mother_name=mother.name, father_name=father.name)
        grandkids = grandkids[:3]
        for g in grandkids:
            g.family_relationship_id = GRANDCHILD
        return [spouse, *grandkids]

    def widowed_parent(self, child, relation):
        """A widowed parent of ``child`` living in; sets ``child``'s parent name to match."""
        rng = self.rng
        sex_id = SEX_FEMALE if rng.random() < 0.7 else SEX_MALE
        birth = _add_years(child.birth_date, -rng.randint(20, 34)) + self.days(-150, 150)
        if birth < OLDEST_BIRTH:
            return None
        parent = self.person(sex_id, birth, child.religion_id, relation, place=child.birth_place,
                             tradition=child.tradition, marital=WIDOWED)
        self.parents_names(parent)
        if sex_id == SEX_FEMALE:
            child.mother_name = parent.name
        else:
            child.father_name = parent.name
        return parent

    def age_from(self, brackets):
        """An age drawn from ``((from, to, weight), ...)``: a bracket by weight, then uniform."""
        lo, hi = self.rng.choices([(a, b) for a, b, _ in brackets], weights=[w for _, _, w in brackets])[0]
        return self.rng.randint(lo, hi)

    def _lone_parent(self, sex_id, ages, marital):
        rng = self.rng
        religion = self.religion()
        bali = religion == HINDU
        age = self.age_from(ages)
        birth = self.birth_for_age(age)
        place = rng.choice(["Singaraja", "Denpasar"]) if bali else self.birth_place(True)
        head = self.person(sex_id, birth, religion, HEAD, place=place, marital=marital)
        self.parents_names(head)
        other_sex = SEX_MALE if sex_id == SEX_FEMALE else SEX_FEMALE
        gap = max(-2, min(12, round(rng.gauss(4, 3))))
        other_birth = _add_years(birth, -gap if other_sex == SEX_MALE else gap)
        other_name = self.name(other_sex, other_birth.year, religion, head.tradition)
        mother_birth, father_birth = ((birth, other_birth) if sex_id == SEX_FEMALE
                                      else (other_birth, birth))
        married = max(_add_years(mother_birth, rng.randint(18, 26)), _add_years(father_birth, 20))
        married = min(married + self.days(0, 200), self.as_of - self.days(400, 900))
        kids = self.children(mother_birth, father_birth, married, religion,
                             "bali" if bali else "jawa",
                             mother_name=head.name if sex_id == SEX_FEMALE else other_name,
                             father_name=head.name if sex_id == SEX_MALE else other_name)
        home = [k for k in kids if self.at_home(k)]
        members = [head, *home]
        adults = [k for k in home if k.age(self.as_of) >= 22]
        if adults and age >= 50 and rng.random() < 0.35:
            members += self.married_child(rng.choice(adults))
        for p in members:
            self.finish(p)
        return self.family(members, married)

    def _widow(self):
        return self._lone_parent(SEX_FEMALE, WIDOWED_HEAD_AGES, WIDOWED)

    def _widower(self):
        return self._lone_parent(SEX_MALE, WIDOWED_HEAD_AGES, WIDOWED)

    def _divorced(self):
        sex_id = SEX_FEMALE if self.rng.random() < 0.7 else SEX_MALE
        return self._lone_parent(sex_id, ((26, 52, 1),), DIVORCED)

    def _single_young(self):
        rng = self.rng
        sex_id = SEX_MALE if rng.random() < 0.65 else SEX_FEMALE
        birth = self.birth_for_age(rng.randint(20, 40))
        head = self.person(sex_id, birth, self.religion(), HEAD, local_share=0.7)
        self.parents_names(head)
        self.finish(head)
        return self.family([head], _add_years(birth, 19) + self.days(0, 3000))

    def _single_old(self):
        rng = self.rng
        sex_id = SEX_FEMALE if rng.random() < 0.75 else SEX_MALE
        birth = self.birth_for_age(self.age_from(ALONE_OLD_AGES))
        head = self.person(sex_id, birth, self.religion(), HEAD, marital=WIDOWED)
        self.parents_names(head)
        self.finish(head)
        return self.family([head], _add_years(birth, 24))

    def family(self, members, formed):
        """Wrap ``members`` into a :class:`DemoFamily` with an RT and a KK number."""
        formed = max(formed, _add_years(members[0].birth_date, 17))
        issued = self.kk_issue_date(formed)
        rt = self.rng.choices(self.rts, weights=self.rt_weights)[0]
        order = {HEAD: 0, HUSBAND: 1, WIFE: 1, CHILD: 2, CHILD_IN_LAW: 3, GRANDCHILD: 4,
                 PARENT: 5, PARENT_IN_LAW: 5}
        members.sort(key=lambda p: (order[p.family_relationship_id], p.birth_date))
        return DemoFamily(kk_number=self.kk_number(issued), issued=issued, rt=rt, members=members)

    # -- after all families exist

    def mark_dead_and_moved(self, families):
        """Mark about 1-2 % as MATI (elderly parents, some old spouses) or PINDAH (young adults
        who left for work), keeping the register consistent (a widowed head is CERAI MATI)."""
        rng = self.rng
        for fam in families:
            head = fam.head
            for p in fam.members[1:]:
                age = p.age(self.as_of)
                rel = p.family_relationship_id
                if rel in (PARENT, PARENT_IN_LAW) and age >= 60 and rng.random() < 0.3:
                    p.basic_status_id = STATUS_DEAD
                elif rel in (HUSBAND, WIFE) and age >= 62 and rng.random() < 0.06:
                    p.basic_status_id = STATUS_DEAD
                    head.marital_status_id = WIDOWED
                elif (rel == CHILD and p.marital_status_id == SINGLE and 19 <= age <= 35
                      and rng.random() < 0.06):
                    p.basic_status_id = STATUS_MOVED
                    if p.occupation_id in (OCC["none"], OCC["student"]):
                        p.occupation_id = OCC["employee"]

    def officials(self, families):
        """Pick the pamong among living adults; Kepala Dusun live in their dusun."""
        rng = self.rng
        taken_families = set()
        result = []

        def candidates(lo, hi, *, heads_only=False, dusun=None, male=None):
            out = []
            for i, fam in enumerate(families):
                if i in taken_families or (dusun and fam.rt[0] != dusun):
                    continue
                for p in fam.members:
                    if p.basic_status_id != STATUS_ALIVE or not lo <= p.age(self.as_of) <= hi:
                        continue
                    if heads_only and p.family_relationship_id != HEAD:
                        continue
                    if male is not None and (p.sex_id == SEX_MALE) != male:
                        continue
                    out.append((i, p))
            return out

        def appoint(position, pool, flags, sort_order, edu_min=5):
            if not pool:
                return
            i, person = rng.choice(pool)
            taken_families.add(i)
            if person.education_id < edu_min:
                person.education_id = self.weighted({5: 60, 7: 10, 8: 30}) if edu_min <= 5 else edu_min
            person.occupation_id = OCC["village_head"] if flags[0] else OCC["village_staff"]
            appointed = max(_add_years(person.birth_date, 22), date(2007, 1, 1)) + self.days(0, 4000)
            appointed = min(appointed, self.as_of - self.days(60, 900))
            nipd = None if flags[0] else (f"{person.birth_date:%Y%m%d}{appointed:%Y%m}"
                                          f"{person.sex_id}{sort_order:03d}")
            result.append(DemoOfficial(position=position, person=person, nipd=nipd,
                                       is_village_head=flags[0], may_sign_on_behalf=flags[1],
                                       may_sign_under_authority=flags[2], sort_order=sort_order))

        sort_order = 0
        for position, *flags in OFFICIAL_POSITIONS:
            sort_order += 1
            if flags[0]:
                pool = candidates(38, 60, heads_only=True, male=rng.random() < 0.85)
                pool = pool or candidates(30, 65, heads_only=True)
            else:
                pool = candidates(24, 55) or candidates(20, 65)
            appoint(position, pool, flags, sort_order, edu_min=8 if flags[1] else 5)
        for dusun, _ in WILAYAH:
            sort_order += 1
            pool = candidates(30, 60, heads_only=True, dusun=dusun, male=True)
            pool = pool or candidates(25, 65, dusun=dusun) or candidates(25, 65)
            appoint(f"Kepala Dusun {dusun}", pool, (False, False, False), sort_order)
        return result

    def portal_picks(self, families, officials):
        """Five living adults from different families for portal demo logins.

        In this order: a married male head; a wife (a woman, not the head); a widowed or
        divorced woman who heads her family; an unmarried young adult child given a long
        four-part name; someone whose NIK was issued outside Kabupaten Pati (else any adult).
        """
        rng = self.rng
        official_niks = {o.person.nik for o in officials}
        used = set()
        picks = []

        def choose(test):
            pool = [(i, p) for i, fam in enumerate(families) if i not in used
                    for p in fam.members
                    if p.basic_status_id == STATUS_ALIVE and p.age(self.as_of) >= 17
                    and p.nik not in official_niks and test(p)]
            if not pool:
                return None
            i, p = rng.choice(pool)
            used.add(i)
            picks.append(p)
            return p

        age = lambda p: p.age(self.as_of)  # noqa: E731
        choose(lambda p: p.family_relationship_id == HEAD and p.sex_id == SEX_MALE
               and p.marital_status_id == MARRIED and 30 <= age(p) <= 55)
        choose(lambda p: p.family_relationship_id == WIFE and 25 <= age(p) <= 50)
        choose(lambda p: p.family_relationship_id == HEAD and p.sex_id == SEX_FEMALE
               and p.marital_status_id in (WIDOWED, DIVORCED))
        young = choose(lambda p: p.family_relationship_id == CHILD
                       and p.marital_status_id == SINGLE and 18 <= age(p) <= 30)
        if young is not None:
            # Nobody else carries this child's name (it is nobody's father or mother here).
            young.name = self.long_name(young.sex_id, young.religion_id)
        choose(lambda p: p.nik[:2] != VILLAGE["province_code"]) or choose(lambda p: True)
        while len(picks) < 5 and choose(lambda p: True):
            pass
        return picks

    def pin(self, nik):
        """A 6-digit demo PIN from the seeded stream: not weak, not the NIK's birth date."""
        from app.portal.services import is_weak_pin
        while True:
            pin = f"{self.rng.randrange(10 ** 6):06d}"
            if not is_weak_pin(pin) and pin != nik[6:12]:
                return pin


def _join(parts):
    """Join name parts, dropping a part that repeats the one before it."""
    out = []
    for part in parts:
        if not out or out[-1] != part:
            out.append(part)
    return " ".join(out)


# --------------------------------------------------------------------------- public API


def generate_population(residents=3000, seed=42, *, as_of=None):
    """Generate the demo register without touching the database.

    Args:
        residents: number of residents wanted (exactly this many are returned), 100-100,000.
        seed: seed of the ``random.Random`` stream; the same seed and ``as_of`` give identical
            output in any process.
        as_of: reference date for ages and "not in the future" (default
            ``min(REFERENCE_DATE, date.today())``).

    Returns:
        :class:`Population`: about ``residents / 3.1`` families, 10 officials and 5 portal
        picks with their PINs.

    Raises:
        ValueError: ``residents`` outside 100-100,000.
    """
    if not MIN_RESIDENTS <= residents <= MAX_RESIDENTS:
        raise ValueError(f"residents must be between {MIN_RESIDENTS} and {MAX_RESIDENTS}")
    as_of = as_of or min(REFERENCE_DATE, date.today())
    gen = _Generator(seed, as_of)
    families, count = [], 0
    while count < residents:
        fam = gen.household()
        families.append(fam)
        count += len(fam.members)
    # Trim the last family to hit the count exactly (never its head: it is first).
    last = families[-1]
    del last.members[len(last.members) - (count - residents):]
    gen.mark_dead_and_moved(families)
    officials = gen.officials(families)
    picks = gen.portal_picks(families, officials)
    portal = [(p, gen.pin(p.nik)) for p in picks]
    return Population(seed=seed, as_of=as_of, families=families, officials=officials,
                      portal=portal)


def demo_exists():
    """True when a village profile or any resident is already stored."""
    from app.residents.models import Resident, Village
    return (db.session.scalar(select(Village.id).limit(1)) is not None
            or db.session.scalar(select(Resident.id).limit(1)) is not None)


def build_demo(residents=3000, seed=42, *, progress=None):
    """Build the demo village in the database, or do nothing when data already exist.

    Writes the village profile, 3 dusun / 7 RW / 27 RT, the families and residents of
    :func:`generate_population`, 10 officials linked to residents, the FAB users ``admin``,
    ``operator`` and ``kades`` (random passwords; existing users are left untouched) and five
    portal accounts with known PINs that need no change. Unlike a plain service it commits
    its own transaction, because it then writes the credentials to
    ``<instance>/demo-accounts.txt`` (mode 0600), which must match what is stored.

    Args:
        residents: number of residents (100-100,000); about 3.1 per family.
        seed: seed of the generator (same seed, same NIKs and names).
        progress: optional ``callable(str)`` receiving progress lines (e.g. ``click.echo``).

    Returns:
        :class:`DemoResult` (``built`` False when a village or a resident already existed).

    Raises:
        ValueError: ``residents`` out of range.
        RuntimeError: a FAB role is missing after syncing, or FAB refused to create a user.
    """
    from app.residents.models import Village
    from app.residents.services import refresh_statistics

    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    if demo_exists():
        village = db.session.scalar(select(Village).order_by(Village.id).limit(1))
        return DemoResult(built=False, village_name=village.name if village else "",
                          village_code=village.code if village else "")
    say(f"Generating {residents:,} residents for Desa {VILLAGE['name']} (seed {seed})...")
    pop = generate_population(residents, seed)
    say(f"  generated {len(pop.families):,} families in {time.perf_counter() - started:.1f} s")
    try:
        result = _store(pop, say)
        db.session.commit()
        refresh_statistics()
    except BaseException:
        db.session.rollback()
        raise
    result.accounts_file = write_accounts_file(result, pop)
    result.seconds = time.perf_counter() - started
    return result


def _store(pop, say):
    """Insert everything of ``pop`` (flush only); returns a :class:`DemoResult` without timing."""
    from app.portal import services
    from app.residents.models import Area, Family, Official, Resident, Village

    t = time.perf_counter()
    village = Village(**VILLAGE)
    db.session.add(village)
    rt_ids = {}
    for dusun_name, rws in WILAYAH:
        dusun = Area(level="dusun", name=dusun_name)
        db.session.add(dusun)
        for rw_name, n_rt in rws:
            rw = Area(level="rw", name=rw_name, parent=dusun)
            db.session.add(rw)
            for n in range(1, n_rt + 1):
                rt = Area(level="rt", name=f"{n:03d}", parent=rw)
                db.session.add(rt)
                rt_ids[(dusun_name, rw_name, rt.name)] = rt
    db.session.flush()
    rt_ids = {key: area.id for key, area in rt_ids.items()}

    # Families: one bulk INSERT ... RETURNING per batch, ids in parameter order.
    family_ids = []
    fam_rows = [{"kk_number": f.kk_number, "address": f.address, "area_id": rt_ids[f.rt]}
                for f in pop.families]
    for start in range(0, len(fam_rows), 2000):
        batch = fam_rows[start:start + 2000]
        family_ids += db.session.scalars(
            insert(Family).returning(Family.id, sort_by_parameter_order=True), batch).all()
    say(f"  stored {len(family_ids):,} families")

    res_rows = [p.row(fid) for f, fid in zip(pop.families, family_ids) for p in f.members]
    for start in range(0, len(res_rows), 5000):
        db.session.execute(insert(Resident), res_rows[start:start + 5000])
    say(f"  stored {len(res_rows):,} residents in {time.perf_counter() - t:.1f} s")

    # The few residents we need as objects, in one query.
    wanted = [o.person.nik for o in pop.officials] + [p.nik for p, _ in pop.portal]
    by_nik = {r.nik: r for r in db.session.scalars(select(Resident).where(Resident.nik.in_(wanted)))}
    db.session.add_all([
        Official(name=o.person.name, position=o.position, nipd=o.nipd,
                 resident_id=by_nik[o.person.nik].id, active=True,
                 is_village_head=o.is_village_head, may_sign_on_behalf=o.may_sign_on_behalf,
                 may_sign_under_authority=o.may_sign_under_authority, sort_order=o.sort_order)
        for o in pop.officials])
    db.session.flush()

    head = next((o.person for o in pop.officials if o.is_village_head), None)
    users = _ensure_users(head.name if head else None)
    portal = []
    for person, pin in pop.portal:
        account, _ = services.create_account(by_nik[person.nik])
        services.set_pin(account, pin, must_change=False)
        portal.append(PortalLogin(name=person.name, nik=person.nik, pin=pin))
    say(f"  created {len(users)} operator logins and {len(portal)} portal accounts")

    people = pop.people()
    return DemoResult(
        built=True, village_name=VILLAGE["name"], village_code=VILLAGE["code"],
        families=len(pop.families), residents=len(people),
        alive=sum(p.basic_status_id == STATUS_ALIVE for p in people),
        dead=sum(p.basic_status_id == STATUS_DEAD for p in people),
        moved=sum(p.basic_status_id == STATUS_MOVED for p in people),
        officials=len(pop.officials), users=users, portal=portal)


def _ensure_users(village_head_name):
    """Create the ``admin``, ``operator`` and ``kades`` FAB users unless they exist.

    Returns:
        list of :class:`UserLogin`; ``password`` is None for a user that already existed
        (its password is never reset).
    """
    from app.security import ROLE_ADMIN, ROLE_OPERATOR, ROLE_VILLAGE_HEAD

    sm = current_app.appbuilder.sm
    wanted = (("admin", ROLE_ADMIN, "Admin", "Desa"), ("operator", ROLE_OPERATOR, "Operator", "Desa"))
    if village_head_name:
        first, _, last = village_head_name.partition(" ")
        wanted += (("kades", ROLE_VILLAGE_HEAD, first, last or "Kepala Desa"),)
    else:
        wanted += (("kades", ROLE_VILLAGE_HEAD, "Kepala", "Desa"),)
    if any(sm.find_role(role) is None for _, role, _, _ in wanted):
        sm.sync_roles()
    logins = []
    for username, role_name, first, last in wanted:
        email = f"{username}@{MAIL_DOMAIN}"
        if sm.find_user(username=username) or sm.find_user(email=email):
            logins.append(UserLogin(username, role_name, None))
            continue
        role = sm.find_role(role_name)
        if role is None:
            raise RuntimeError(f"role {role_name!r} is missing; run `flask desa init`")
        password = operator_password(rng=_demo_rng(username))
        user = sm.add_user(username, first[:64], last[:64], email, role, password, commit=False)
        if not user:
            raise RuntimeError(f"could not create the user {username!r} (see the log)")
        logins.append(UserLogin(username, role_name, password))
    return logins


def _demo_rng(username):
    """A generator seeded from SECRET_KEY and the user name: the same instance always gets the
    same demo passwords, so building a second demo database does not break the first one's
    logins in ``demo-accounts.txt``, and another instance gets different ones."""
    import hashlib
    import hmac
    import random
    key = current_app.config["SECRET_KEY"].encode()
    return random.Random(hmac.new(key, f"demo-user:{username}".encode(), hashlib.sha256).digest())


def operator_password(length=16, rng=None):
    """A password of ``length`` characters that passes FAB's complexity check.

    Drawn with ``secrets`` by default, or from ``rng`` (a ``random.Random``) for demo users.

    Uses ``FAB_PASSWORD_COMPLEXITY_VALIDATOR`` when configured, else FAB's default rule
    (two capitals, two digits, three lower-case letters, a special character, 10+ characters).
    """
    from flask_appbuilder.exceptions import PasswordComplexityValidationError
    from flask_appbuilder.validators import default_password_complexity

    check = current_app.config.get("FAB_PASSWORD_COMPLEXITY_VALIDATOR") or default_password_complexity
    alphabet = string.ascii_letters + string.digits + "-_.!#%+="
    while True:
        chooser = rng.choice if rng is not None else secrets.choice
        password = "".join(chooser(alphabet) for _ in range(max(length, 14)))
        try:
            check(password)
        except PasswordComplexityValidationError:
            continue
        return password


def accounts_file_path():
    """``<instance>/demo-accounts.txt``: where the demo logins are written."""
    return Path(current_app.instance_path) / "demo-accounts.txt"


def write_accounts_file(result, pop=None):
    """Write the demo logins of ``result`` to :func:`accounts_file_path` with mode 0600.

    Returns:
        Path of the file.
    """
    path = accounts_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Balai demo village: Desa {result.village_name} ({result.village_code})",
        "# DEMO-ONLY CREDENTIALS. Never use them for real data: anyone who reads this file can",
        "# log in. Delete these accounts (and this file) before the village goes live.",
        f"# Written {datetime.now():%Y-%m-%d %H:%M}" + (f", seed {pop.seed}" if pop else ""),
        "",
        "Operator panel: /login/",
    ]
    for u in result.users:
        password = u.password if u.password is not None else "(user already existed; password unchanged)"
        lines.append(f"  username {u.username:<10} password {password:<20} role {u.role}")
    lines += ["", "Layanan Mandiri (resident portal): /layanan-mandiri/masuk",
              "  PINs are demo PINs; they do not have to be changed at first login."]
    for p in result.portal:
        lines.append(f"  NIK {p.nik}  PIN {p.pin}  {p.name}")
    text = "\n".join(lines) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with a wider mode
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    return path
