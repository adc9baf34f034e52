"""Per-process caches added for speed (issue 6) must never show stale or wrong data."""
import os
import time

from PIL import Image


def test_code_names_and_choices_come_from_the_code_tables(app):
    from app.core.codes import BasicStatus, Occupation, Sex, code_choices, code_name
    with app.app_context():
        assert code_name(Sex, 1) == "LAKI-LAKI" and code_name(Sex, 2) == "PEREMPUAN"
        assert code_name(Sex, None) == "" and code_name(Sex, 99) == ""
        assert code_name(BasicStatus, 1) == "HIDUP"
        choices = code_choices(Occupation)
        assert choices[0][0] == "1" and len(choices) == 89
        assert code_choices(Occupation) is choices  # no second query


def test_logo_data_uri_follows_a_changed_file(app, tmp_path):
    from app.residents.services import logo_data_uri
    path = tmp_path / "logo.png"
    Image.new("RGB", (40, 40), "red").save(path)
    with app.app_context():
        first = logo_data_uri(path)
        assert first.startswith("data:image/jpeg;base64,")
        assert logo_data_uri(path) is first  # cached
        Image.new("RGB", (80, 60), "blue").save(path)
        later = time.time() + 5
        os.utime(path, (later, later))
        second = logo_data_uri(path)
        assert second != first
        assert logo_data_uri(tmp_path / "missing.png") is None
        assert logo_data_uri(None) is None
