"""One resident's first visit in Chromium on a 360 px phone: log in, change PIN, profile, KK PDF.

Needs Debian's Chromium (``apt-get install -y chromium``); skipped when it is missing.
Screenshots go to ``test-artifacts/`` for a person to look at.
"""
import os
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, make_account, make_area, make_family, make_resident, make_village

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium not installed (apt-get install -y chromium)")]




def test_first_login_on_a_phone(app, live_server, browser):
    """Log in with the office PIN, change it, see the profile and download the KK as a PDF."""
    with app.app_context():
        make_village()
        family = make_family(area=make_area())
        head = make_resident(name="Ṣalīḥ bin ʿAbd al-Raḥmān", family=family)
        make_resident(name="Nguyễn Thị Ánh", sex=2, family=family, shdk=3, birth=date(1993, 6, 1))
        make_account(head, "582913", must_change=True)
        nik = head.nik
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=1,
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(live_server + "/layanan-mandiri/masuk")
    page.get_by_label("NIK").fill(nik)
    page.get_by_label("PIN").fill("582913")
    page.screenshot(path=ARTIFACTS / "portal-login-360.png", full_page=True)
    page.get_by_role("button", name="Masuk").click()

    assert page.url.endswith("/layanan-mandiri/ganti-pin")
    page.locator("#current_pin").fill("582913")
    page.locator("#new_pin").fill("604917")
    page.locator("#confirm_pin").fill("604917")
    page.screenshot(path=ARTIFACTS / "portal-change-pin-360.png", full_page=True)
    page.get_by_role("button", name="Simpan PIN baru").click()
    assert page.url.endswith("/layanan-mandiri/")
    page.screenshot(path=ARTIFACTS / "portal-home-360.png", full_page=True)

    page.get_by_role("link", name="Data Saya").first.click()
    assert nik in page.content() and "Nguyễn Thị Ánh" in page.content()
    # Nothing sticks out sideways at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=ARTIFACTS / "portal-profile-360.png", full_page=True)

    response = page.request.get(live_server + "/layanan-mandiri/cetak/kartu-keluarga.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"
    (ARTIFACTS / "kartu-keluarga.pdf").write_bytes(response.body())
    context.close()
