"""Tests for app.core.nik: NIK and KK number rules of DOMAIN.md §2 and §3.

No Flask app is needed: lazy_gettext falls back to the English source outside an app context.
"""
import csv
import dataclasses
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Form, StringField
from wtforms.validators import Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `app` and `config` import when pytest runs from anywhere
    sys.path.insert(0, str(ROOT))

from app.core.nik import (  # noqa: E402
    KkNumberValidator,
    NikValidator,
    NumberCheck,
    check_kk_number,
    check_nik,
    kecamatan_codes,
    mask_nik,
    nik_log_id,
    normalize_number,
)

#: Fixed "today" so that the century rule and "in the future" are deterministic.
TODAY = date(2025, 6, 30)

CSV_PATH = ROOT / "app" / "core" / "data" / "region_kecamatan.csv"
with CSV_PATH.open(encoding="utf-8", newline="") as _fh:
    _ROWS = [(r["code"].replace(".", ""), r["in_current_list"]) for r in csv.DictReader(_fh)]
ALL_CODES = sorted(code for code, _ in _ROWS)
ALL_CODE_SET = frozenset(ALL_CODES)
RETIRED_CODES = sorted(code for code, flag in _ROWS if flag == "0")
RETIRED = RETIRED_CODES[0]  # 910101 (Merauke, retired in the 2022 Papua split)


def texts(messages):
    """The English text of a tuple of lazy messages."""
    return [str(m) for m in messages]


def joined(messages):
    """All messages as one string, for substring checks."""
    return " | ".join(texts(messages))


def nik_check(raw, **kwargs):
    """check_nik with the fixed TODAY."""
    return check_nik(raw, today=TODAY, **kwargs)


def kk_check(raw):
    """check_kk_number with the fixed TODAY."""
    return check_kk_number(raw, today=TODAY)


# --------------------------------------------------------------------------- DOMAIN.md examples


def test_example_valid_male():
    """3171011708450001 is valid: male, born 17-08-1945, kecamatan 317101."""
    r = nik_check("3171011708450001")
    assert r.ok and r.errors == () and r.warnings == ()
    assert r.value == "3171011708450001"
    assert r.sex == 1
    assert r.birth_date == date(1945, 8, 17) == r.date
    assert r.kecamatan_code == "317101"
    assert r.temporary is False
    assert r.kind == "nik" and r.issue_date is None


def test_example_valid_female():
    """3171015708450001 is valid: female (day + 40), born 17-08-1945."""
    r = nik_check("3171015708450001")
    assert r.ok
    assert r.sex == 2
    assert r.birth_date == date(1945, 8, 17)


def test_example_29_february_2001_invalid():
    """3171012902010001 is invalid: 29-02-2001 is not a real date."""
    r = nik_check("3171012902010001")
    assert not r.ok
    assert texts(r.errors) == ["The birth date in the NIK (29-02-2001) is not a real date."]
    assert r.birth_date is None


def test_example_serial_0000_invalid():
    """3171011708450000 is invalid: serial 0000."""
    r = nik_check("3171011708450000")
    assert not r.ok
    assert texts(r.errors) == ["The last 4 digits of the NIK (serial number) cannot be 0000."]


def test_example_unknown_kecamatan_invalid():
    """3171991708450001 is invalid: 317199 is not a kecamatan code."""
    r = nik_check("3171991708450001")
    assert not r.ok
    assert texts(r.errors) == [
        "The first 6 digits of the NIK (317199) are not a known kecamatan code."
    ]
    assert r.kecamatan_code is None


@pytest.mark.parametrize(
    "raw", ["3171011708450001aa", "aa3171011708450001", "3171O11708450001", "31710117084500a1"]
)
def test_letters_are_never_cleaned(raw):
    """A NIK with letters (e.g. 3171011708450001aa) is rejected and the letters are kept."""
    r = nik_check(raw)
    assert not r.ok
    assert r.value == raw
    assert "may only contain digits" in joined(r.errors)


def test_letters_appended_reports_characters_and_length():
    """3171011708450001aa gets both the 'only digits' and the '16 digits' error."""
    r = nik_check("3171011708450001aa")
    assert len(r.errors) == 2
    assert '"a"' in str(r.errors[0])
    assert "18 characters" in str(r.errors[1])


@pytest.mark.parametrize("raw", ["３１７１０１１７０８４５０００１", "٣١٧١٠١١٧٠٨٤٥٠٠٠١"])
def test_non_ascii_digits_rejected(raw):
    """Full-width or Arabic-Indic digits are not ASCII digits and are rejected."""
    assert not nik_check(raw).ok


@pytest.mark.parametrize("raw", ["317101170845001", "31710117084500011", "3"])
def test_wrong_length(raw):
    """15, 17 or 1 digit(s) are rejected with the length message."""
    r = nik_check(raw)
    assert texts(r.errors) == [
        f"The NIK must be exactly 16 digits; {len(raw)} characters were entered "
        "(spaces, dots and dashes are not counted)."
    ]


@pytest.mark.parametrize("raw", ["", None, " . - "])
def test_empty(raw):
    """Empty input (or only separators) asks for the NIK."""
    r = nik_check(raw)
    assert texts(r.errors) == ["Please enter the NIK (16 digits)."]


# --------------------------------------------------------------------------- region prefix


@pytest.mark.parametrize("kab", ["00", "70"])
def test_kabupaten_kota_00_and_70_rejected(kab):
    """Kab/kota part 00 or 70 is a hard error (01-69 kabupaten, 71-99 kota)."""
    r = nik_check(f"31{kab}011708450001")
    assert not r.ok
    assert texts(r.errors) == [
        f"Digits 3-4 of the NIK (kabupaten/kota code) cannot be {kab}: "
        "a kabupaten is 01-69 and a kota is 71-99."
    ]


def test_kecamatan_00_rejected():
    """Kecamatan part 00 is a hard error."""
    r = nik_check("3171001708450001")
    assert texts(r.errors) == ["Digits 5-6 of the NIK (kecamatan code) cannot be 00."]


def test_retired_prefix_is_a_warning():
    """A prefix only in a retired list (in_current_list=0) is accepted with a warning."""
    r = nik_check(f"{RETIRED}1708450001")
    assert r.ok
    assert r.kecamatan_code == RETIRED
    assert len(r.warnings) == 1
    assert "no longer in the current Kemendagri list" in str(r.warnings[0])
    assert RETIRED in str(r.warnings[0])


def test_kecamatan_list_loaded():
    """The shipped list has 7,879 codes, 594 retired, keyed as 6 digits (DOMAIN.md §2 rule 5)."""
    codes = kecamatan_codes()
    assert len(codes) == 7879
    assert sum(1 for v in codes.values() if not v) == 594
    assert codes["317101"] is True
    assert codes[RETIRED] is False
    assert "317199" not in codes
    assert kecamatan_codes() is codes  # loaded once


# --------------------------------------------------------------------------- date and serial


@pytest.mark.parametrize("day", ["00", "32", "39", "40", "72", "99"])
def test_day_out_of_range(day):
    """Day 00, 32-40 and 72+ are rejected (men 01-31, women 41-71)."""
    r = nik_check(f"317101{day}08450001")
    assert not r.ok
    assert r.sex is None
    assert texts(r.errors) == [
        f"Digits 7-8 of the NIK (birth day) are {day}: they must be 01-31 for a man or "
        "41-71 for a woman (day + 40)."
    ]


@pytest.mark.parametrize("month", ["00", "13", "99"])
def test_month_out_of_range(month):
    """Month 00 and 13+ are rejected."""
    r = nik_check(f"31710117{month}450001")
    assert texts(r.errors) == [
        f"Digits 9-10 of the NIK (birth month) are {month}: they must be 01-12."
    ]


@pytest.mark.parametrize("day", ["31", "71"])
def test_31_april_rejected(day):
    """31 April is not a real date, for men (31) and women (71)."""
    r = nik_check(f"317101{day}04900001")
    assert texts(r.errors) == ["The birth date in the NIK (31-04-1990) is not a real date."]


def test_female_day_71_is_31st():
    """Day 71 is a woman born on the 31st."""
    r = nik_check("3171017101900001")
    assert r.ok and r.sex == 2 and r.birth_date == date(1990, 1, 31)


@pytest.mark.parametrize(
    "nik,born", [("3171012902000001", date(2000, 2, 29)), ("3171016902040001", date(2004, 2, 29))]
)
def test_29_february_in_leap_years(nik, born):
    """29 February is accepted in leap years (2000, 2004)."""
    r = nik_check(nik)
    assert r.ok and r.birth_date == born


def test_future_date_rejected():
    """A birth date after today (15-07-2025 when today is 30-06-2025) is rejected."""
    r = nik_check("3171011507250001")
    assert texts(r.errors) == ["The birth date in the NIK (15-07-2025) is in the future."]
    assert r.birth_date is None


def test_born_today_accepted():
    """A birth date equal to today is not in the future."""
    r = nik_check("3171013006250001")
    assert r.ok and r.birth_date == TODAY


@pytest.mark.parametrize(
    "yymmdd_part,today,born",
    [
        ("010126", TODAY, date(1926, 1, 1)),  # 2026 is in the future -> 19YY
        ("311299", TODAY, date(1999, 12, 31)),
        ("010100", TODAY, date(2000, 1, 1)),  # 2000 not in the future -> 20YY
        ("010125", TODAY, date(2025, 1, 1)),
        ("010130", date(2030, 1, 1), date(2030, 1, 1)),
        ("010130", date(2029, 12, 31), date(1930, 1, 1)),
    ],
)
def test_century_rule(yymmdd_part, today, born):
    """Century: 20YY if that is not in the future, else 19YY (DOMAIN.md §2 rule 3)."""
    r = check_nik(f"317101{yymmdd_part}0001", today=today)
    assert r.ok
    assert r.birth_date == born


def test_today_defaults_to_current_date():
    """Without `today` the check uses the current date (a 1945 NIK is still valid)."""
    assert check_nik("3171011708450001").ok


def test_today_accepts_datetime():
    """`today` may be a datetime; its date is used."""
    assert check_nik("3171013006250001", today=datetime(2025, 6, 30, 23, 59)).ok


def test_all_errors_collected():
    """Every broken field is reported, not just the first (kab, kecamatan, day, month, serial)."""
    r = nik_check("3100003213450000")
    assert len(r.errors) == 5
    text = joined(r.errors)
    for part in ("kabupaten/kota", "kecamatan code", "birth day", "birth month", "serial"):
        assert part in text


def test_unknown_prefix_not_repeated_when_shape_is_wrong():
    """Kab/kota 00 gives its own error, not also 'not a known kecamatan code'."""
    r = nik_check("3100011708450001")
    assert len(r.errors) == 1


# --------------------------------------------------------------------------- temporary numbers


def test_temporary_nik_accepted():
    """0 + kode desa 3171011001 + sequence 00001 is a temporary NIK."""
    r = nik_check("0317101100100001")
    assert r.ok and r.temporary
    assert r.kecamatan_code == "317101"
    assert r.sex is None and r.birth_date is None
    assert r.warnings == ()


def test_temporary_nik_sequence_00000_rejected():
    """A temporary NIK with sequence 00000 is rejected."""
    r = nik_check("0317101100100000")
    assert r.temporary
    assert texts(r.errors) == [
        "The last 5 digits of a temporary NIK (sequence number) cannot be 00000."
    ]


def test_temporary_nik_unknown_kecamatan_rejected():
    """A temporary NIK whose kode desa starts with an unknown kecamatan code is rejected."""
    r = nik_check("0317199100100001")
    assert not r.ok
    assert "317199" in joined(r.errors)


def test_temporary_nik_retired_kecamatan_warns():
    """A temporary NIK in a retired kecamatan is accepted with the retired warning."""
    r = nik_check(f"0{RETIRED}200100001")
    assert r.ok and r.temporary and len(r.warnings) == 1


def test_temporary_nik_must_be_16_digits():
    """A temporary NIK with 15 digits is rejected like any other."""
    assert not nik_check("031710110010001").ok


def test_temporary_nik_ignores_record():
    """Record sex/birth date give no warnings for a temporary NIK (it encodes neither)."""
    r = nik_check("0317101100100001", sex=2, birth_date=date(1990, 1, 1))
    assert r.ok and r.warnings == ()


# --------------------------------------------------------------------------- record mismatch


def test_sex_mismatch_warns_male_nik():
    """A male NIK on a record saying female is accepted with a warning."""
    r = nik_check("3171011708450001", sex=2)
    assert r.ok
    assert texts(r.warnings) == [
        "The NIK is that of a man, but the record says female. Dukcapil does not change a "
        "NIK when data are corrected; please check which is right."
    ]


def test_sex_mismatch_warns_female_nik():
    """A female NIK on a record saying male is accepted with a warning."""
    r = nik_check("3171015708450001", sex=1)
    assert r.ok and len(r.warnings) == 1
    assert "that of a woman" in str(r.warnings[0])


def test_birth_date_mismatch_warns():
    """A record birth date differing from the NIK's is accepted with a warning."""
    r = nik_check("3171011708450001", birth_date=date(1945, 8, 18))
    assert r.ok
    assert texts(r.warnings) == [
        "The birth date in the NIK (17-08-1945) differs from the birth date in the record "
        "(18-08-1945). Dukcapil does not change a NIK when a birth date is corrected, so "
        "this can be right; please check."
    ]


def test_matching_record_gives_no_warning():
    """Matching sex and birth date give no warnings."""
    r = nik_check("3171015708450001", sex=2, birth_date=date(1945, 8, 17))
    assert r.ok and r.warnings == ()


def test_birth_date_compared_without_century():
    """A record born 1925 with a NIK read as 2025 is not a mismatch (the NIK has no century)."""
    r = nik_check("3171010101250001", birth_date=date(1925, 1, 1))
    assert r.ok and r.warnings == ()


def test_sex_and_birth_date_mismatch_both_warn():
    """Both mismatches are reported together."""
    r = nik_check("3171011708450001", sex=2, birth_date=datetime(1946, 8, 17))
    assert r.ok and len(r.warnings) == 2


# --------------------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    "raw",
    [
        "3171 0117 0845 0001",
        "31.71.01.170845.0001",
        "3171-0117-0845-0001",
        " 3171011708450001 ",
        "31.71.01 - 170845 - 0001",
        "3171\u00a00117\u20130845.0001",
    ],
)
def test_spaces_dots_dashes_accepted(raw):
    """Spaces, dots and dashes are removed before checking."""
    r = nik_check(raw)
    assert r.ok
    assert r.value == "3171011708450001"


def test_normalize_number_keeps_everything_else():
    """normalize_number removes only spaces, dots and dashes, never letters or slashes."""
    assert normalize_number("31 71-01.aa/x") == "317101aa/x"
    assert normalize_number("\t3171") == "\t3171"
    assert normalize_number(None) == ""


def test_tab_is_not_removed():
    """A tab is not a space for the normaliser, so the number is rejected."""
    assert not nik_check("3171011708450001\t").ok


# --------------------------------------------------------------------------- KK number


def test_kk_valid():
    """A KK number with a known kecamatan, issue date 01-02-2020 and serial 0001 is valid."""
    r = kk_check("3171010102200001")
    assert r.ok and r.warnings == ()
    assert r.kind == "kk"
    assert r.issue_date == date(2020, 2, 1) == r.date
    assert r.birth_date is None and r.sex is None
    assert r.kecamatan_code == "317101"


@pytest.mark.parametrize(
    "raw,part",
    [
        ("3100010102200001", "kabupaten/kota"),
        ("3170010102200001", "kabupaten/kota"),
        ("3171000102200001", "kecamatan code"),
        ("3171990102200001", "not a known kecamatan code"),
    ],
)
def test_kk_prefix_is_hard_error(raw, part):
    """KK number prefix checks are hard errors, as for a NIK."""
    r = kk_check(raw)
    assert not r.ok
    assert part in joined(r.errors)
    assert "KK number" in joined(r.errors)


@pytest.mark.parametrize(
    "raw,part",
    [
        ("3171014102200001", "issue day"),  # no + 40 on a KK number
        ("3171013202200001", "issue day"),
        ("3171010113200001", "issue month"),
        ("3171013104200001", "not a real date"),
        ("3171012902010001", "not a real date"),
        ("3171010112250001", "in the future"),
        ("3171010102200000", "0000"),
    ],
)
def test_kk_date_and_serial_are_warnings(raw, part):
    """A bad KK issue date (or serial 0000) is only a warning (legacy data)."""
    r = kk_check(raw)
    assert r.ok
    assert part in joined(r.warnings)
    assert r.issue_date is None or part == "0000"


def test_kk_letters_and_length_rejected():
    """A KK number with letters or the wrong length is rejected, never cleaned."""
    assert not kk_check("3171010102200001aa").ok
    assert not kk_check("317101010220001").ok
    assert texts(kk_check("").errors) == ["Please enter the KK number (16 digits)."]


def test_kk_retired_prefix_warns():
    """A KK number with a retired kecamatan prefix is accepted with a warning."""
    r = kk_check(f"{RETIRED}0102200001")
    assert r.ok and "no longer in the current" in joined(r.warnings)


def test_kk_temporary():
    """Temporary KK numbers follow the NIK rules (0 + kode desa + sequence)."""
    r = kk_check("0317101100100001")
    assert r.ok and r.temporary and r.kind == "kk"
    assert not kk_check("0317101100100000").ok
    assert "temporary KK number" in joined(kk_check("0317101100100000").errors)


def test_kk_spaces_dots_dashes_accepted():
    """A KK number typed with separators is normalised."""
    r = kk_check("3171-0101-0220-0001")
    assert r.ok and r.value == "3171010102200001"


# --------------------------------------------------------------------------- masking


def test_mask_nik():
    """mask_nik keeps the first 6 and last 2 digits: 317101********01."""
    assert mask_nik("3171011708450001") == "317101********01"
    assert mask_nik("3171 0117 0845 0001") == "317101********01"
    assert nik_log_id("3171011708450001") == "317101********01"


def test_mask_short_or_empty():
    """Numbers shorter than 16 characters are masked completely; None gives ''."""
    assert mask_nik("317101170845") == "************"
    assert mask_nik("") == "" and mask_nik(None) == ""


def test_number_check_is_frozen():
    """NumberCheck is immutable."""
    r = nik_check("3171011708450001")
    assert isinstance(r, NumberCheck)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.value = "x"


# --------------------------------------------------------------------------- WTForms


class ResidentForm(Form):
    """A minimal admin-like form using the validators."""

    nik = StringField(
        validators=[NikValidator(today=TODAY, sex_field="sex", birth_date_field="born")]
    )
    sex = StringField()
    born = DateField(validators=[Optional()])
    kk = StringField(validators=[Optional(), KkNumberValidator(today=TODAY)])


def test_nik_validator_accepts_and_attaches_result():
    """NikValidator accepts a valid NIK and leaves the check (with warnings) on the field."""
    form = ResidentForm(MultiDict({"nik": "3171 0117 0845 0001", "sex": "2", "born": "1945-08-17"}))
    assert form.validate(), form.errors
    assert form.nik.number_check.value == "3171011708450001"
    assert len(form.nik.number_check.warnings) == 1  # sex mismatch


def test_nik_validator_joins_all_errors():
    """NikValidator raises one message: all errors joined by a space."""
    form = ResidentForm(MultiDict({"nik": "3100003213450000"}))
    assert not form.validate()
    (message,) = form.errors["nik"]
    expected = " ".join(texts(check_nik("3100003213450000", today=TODAY).errors))
    assert message == expected


def test_kk_validator():
    """KkNumberValidator rejects a bad prefix and accepts a legacy date with a warning."""
    bad = ResidentForm(MultiDict({"nik": "3171011708450001", "kk": "3171990102200001"}))
    assert not bad.validate() and "kk" in bad.errors and "nik" not in bad.errors
    legacy = ResidentForm(MultiDict({"nik": "3171011708450001", "kk": "3171014102200001"}))
    assert legacy.validate(), legacy.errors
    assert legacy.kk.number_check.warnings


# --------------------------------------------------------------------------- property tests


@st.composite
def valid_niks(draw):
    """(nik, birth date, sex, kecamatan code) built from the CSV and a real past date."""
    code = draw(st.sampled_from(ALL_CODES))
    # Oldest date the century rule still reads back correctly with TODAY: 01-01-(year - 99).
    born = draw(st.dates(min_value=date(TODAY.year - 99, 1, 1), max_value=TODAY))
    sex = draw(st.sampled_from([1, 2]))
    serial = draw(st.integers(min_value=1, max_value=9999))
    day = born.day + (40 if sex == 2 else 0)
    nik = f"{code}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
    return nik, born, sex, code


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(valid_niks())
def test_generated_valid_niks_accepted(case):
    """Any NIK from a listed kecamatan, a real past date, a sex and serial 0001-9999 is valid."""
    nik, born, sex, code = case
    r = nik_check(nik, sex=sex, birth_date=born)
    assert r.ok, texts(r.errors)
    assert r.birth_date == born
    assert r.sex == sex
    assert r.kecamatan_code == code
    retired_warning = 0 if kecamatan_codes()[code] else 1
    assert len(r.warnings) == retired_warning


def _unknown_prefix(code6):
    """True for a 6-digit prefix not in the list and not starting with 0 (temporary NIK)."""
    return code6 not in ALL_CODE_SET and code6[0] != "0"


CORRUPTIONS = [
    ("kab 00", lambda n, d: n[:2] + "00" + n[4:]),
    ("kab 70", lambda n, d: n[:2] + "70" + n[4:]),
    ("kecamatan 00", lambda n, d: n[:4] + "00" + n[6:]),
    ("day 00", lambda n, d: n[:6] + "00" + n[8:]),
    ("day 32", lambda n, d: n[:6] + "32" + n[8:]),
    ("day 39", lambda n, d: n[:6] + "39" + n[8:]),
    ("day 72", lambda n, d: n[:6] + "72" + n[8:]),
    ("month 00", lambda n, d: n[:8] + "00" + n[10:]),
    ("month 13", lambda n, d: n[:8] + "13" + n[10:]),
    ("serial 0000", lambda n, d: n[:12] + "0000"),
    ("append letter", lambda n, d: n + d.draw(st.sampled_from("aAxZO"))),
    ("drop digit", lambda n, d: (lambda i: n[:i] + n[i + 1 :])(d.draw(st.integers(0, 15)))),
    (
        "unknown prefix",
        lambda n, d: d.draw(st.from_regex(r"[1-9][0-9]{5}", fullmatch=True).filter(_unknown_prefix))
        + n[6:],
    ),
]


@PROPERTY_SETTINGS
@given(valid_niks(), st.sampled_from(CORRUPTIONS), st.data())
def test_corrupted_niks_rejected(case, corruption, data):
    """Corrupting any single field of a valid NIK makes it invalid."""
    nik = case[0]
    name, corrupt = corruption
    bad = corrupt(nik, data)
    r = nik_check(bad)
    assert not r.ok, f"{name}: {bad} accepted"


@PROPERTY_SETTINGS
@given(
    valid_niks(),
    st.lists(st.tuples(st.integers(0, 16), st.sampled_from([" ", ".", "-"])), max_size=6),
)
def test_separators_anywhere_accepted(case, inserts):
    """Spaces, dots and dashes inserted anywhere in a valid NIK do not change the result."""
    nik = case[0]
    chars = list(nik)
    for pos, sep in sorted(inserts, reverse=True):
        chars.insert(pos, sep)
    r = nik_check("".join(chars))
    assert r.ok and r.value == nik


@PROPERTY_SETTINGS
@given(valid_niks())
def test_mask_hides_birth_date_and_serial(case):
    """mask_nik never shows digits 7-14 (birth date and serial start) and keeps 16 characters."""
    nik = case[0]
    masked = mask_nik(nik)
    assert len(masked) == 16
    assert masked[6:14] == "*" * 8
    assert masked[:6] == nik[:6] and masked[14:] == nik[14:]
