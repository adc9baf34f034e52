"""Issue 3 "Done when" in Chromium: a letter from a 360 px phone to a signed, verifiable PDF.

A resident requests a Surat Keterangan Domisili with two photos (one an ~8 MB portrait phone
photo), the operator returns it with a reason, the resident fixes and resends it, the operator
prints it, the Kepala Desa signs it; the resident follows every step in the notifications and
downloads the PDF, whose QR page says "valid"; resident B gets 404 for all of A's things.

Needs Debian's Chromium (``apt-get install -y chromium``); skipped when it is missing.
Screenshots go to ``test-artifacts/letters-*.png`` for a person to look at.
"""
import io
import os
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from tests.conftest import CHROMIUM, make_account, make_admin, make_area, make_family, make_resident, make_village

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PIN_A, PIN_B, PASSWORD = "582913", "604917", "Rahasia-Balai-1"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason="Chromium not installed (apt-get install -y chromium)")]




def phone_photo(path):
    """A 4000 x 3000 noisy JPEG (quality 95, about 8 MB) stored sideways with EXIF orientation 6.

    Shown upright it is a portrait photo of a paper with a red arrow pointing up.
    """
    size = (4000, 3000)
    base = Image.new("RGB", size, (110, 125, 100))
    draw = ImageDraw.Draw(base)
    draw.rectangle([600, 400, 3400, 2600], fill=(235, 232, 220))
    draw.polygon([(700, 1500), (1300, 1000), (1300, 2000)], fill=(200, 30, 30))  # raw left = visual top
    for y in range(700, 2400, 160):
        draw.rectangle([1600, y, 3200, y + 50], fill=(60, 60, 60))
    noise = Image.merge("RGB", [Image.effect_noise(size, 64) for _ in range(3)])
    photo = Image.blend(base, noise, 0.3)
    exif = Image.Exif()
    exif[0x0112] = 6
    photo.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def small_photo(path, colour=(40, 90, 160), text="KK"):
    image = Image.new("RGB", (800, 600), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle([40, 40, 760, 560], outline=(255, 255, 255), width=8)
    draw.text((100, 100), text, fill=(255, 255, 255))
    image.save(path, "JPEG", quality=85)
    return path


def seed(app):
    """A demo-like village: officials, resident A (and B) with portal accounts, an operator and a Kepala Desa."""
    from app.extensions import db
    from app.residents.models import Official
    with app.app_context():
        make_village(name="Regaloh", code="3318112006", kecamatan_name="Tlogowungu", kecamatan_code="331811",
                     regency_name="Kabupaten Pati", regency_code="3318", province_name="Jawa Tengah",
                     address="Jl. Raya Regaloh No. 1", service_hours="Senin-Jumat 08.00-15.00 WIB")
        db.session.add_all([
            Official(name="Sutrisno, S.Sos.", position="Kepala Desa", nipd="3318112006001", is_village_head=True),
            Official(name="Dewi Lestari", position="Sekretaris Desa", nipd="3318112006002", may_sign_on_behalf=True)])
        family = make_family(area=make_area(rt="002", rw="003", dusun="Krajan"), address="Jl. Kenanga No. 14")
        a = make_resident(name="Siti Nur Khasanah", sex=2, birth=date(1994, 3, 12), family=family, marital=1,
                          phone="081325556789")
        b = make_resident(name="Bambang Priyono", birth=date(1979, 8, 1), family=make_family(area=make_area(rt="005")))
        make_account(a, PIN_A)
        make_account(b, PIN_B)
        make_admin("operator", password=PASSWORD, role="Operator")
        make_admin("kades", password=PASSWORD, role="Kepala Desa")
        db.session.commit()
        return a.nik, b.nik


def shot(page, name):
    page.screenshot(path=ARTIFACTS / f"letters-{name}.png", full_page=True)


def fits(page, width):
    """Nothing sticks out sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def portal_login(context, base, nik, pin):
    page = context.new_page()
    page.goto(base + "/layanan-mandiri/masuk")
    page.get_by_label("NIK").fill(nik)
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/layanan-mandiri/")
    return page


def office_login(context, base, username):
    page = context.new_page()
    page.goto(base + "/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state()
    assert "/login/" not in page.url
    return page


def db_request(app, request_id):
    from app.extensions import db
    from app.letters.models import LetterRequest
    with app.app_context():
        req = db.session.get(LetterRequest, request_id)
        letter = req.issued_letter
        return {"status": req.status, "number": letter.letter_number if letter else None,
                "token": letter.verify_token if letter else None, "letter_id": letter.id if letter else None,
                "documents": [link.document_id for link in req.documents]}


def bell_count(page):
    badge = page.locator("a.bell .badge")
    return int(badge.inner_text()) if badge.count() else 0


def test_letter_from_phone_to_verified_pdf(app, live_server, browser, tmp_path):
    """The whole flow of issue 3's "Done when", with screenshots of every step."""
    from app.letters.models import LetterStatus as S
    ARTIFACTS.mkdir(exist_ok=True)
    nik_a, nik_b = seed(app)
    big = phone_photo(tmp_path / "IMG_20260301_101500.jpg")
    assert 7_500_000 < big.stat().st_size < 10 * 1024 * 1024
    kk = small_photo(tmp_path / "kk.jpg")
    ktp_blurred = small_photo(tmp_path / "ktp.jpg", (150, 150, 150), "KTP (blur)")
    ktp_sharp = small_photo(tmp_path / "ktp-baru.jpg", (30, 120, 60), "KTP")
    base = live_server

    # --- resident A on a phone: the KTP is already in "Dokumen Saya"; request with two new photos ---
    phone = browser.new_context(**PHONE, accept_downloads=True)
    resident = portal_login(phone, base, nik_a, PIN_A)
    resident.goto(base + "/layanan-mandiri/dokumen")
    resident.fill("#title", "KTP")
    resident.set_input_files("#file", str(ktp_blurred))
    resident.click("form[enctype] button[type=submit]")
    resident.goto(base + "/layanan-mandiri/surat/baru")
    shot(resident, "01-resident-choose")
    resident.get_by_text("Surat Keterangan Domisili").first.click()
    resident.set_input_files("#upload_1", str(big))
    resident.set_input_files("#upload_2", str(kk))
    resident.locator("#doc_3 input[type=checkbox]").first.check()
    resident.fill("#field_since", "2015-07-01")
    resident.fill("#purpose", "Persyaratan membuka rekening bank")
    resident.fill("#phone", "0813-2555-6789")
    fits(resident, 360)
    shot(resident, "02-resident-form")
    started = time.perf_counter()
    resident.locator("form.form button[type=submit]").click()
    resident.wait_for_url("**/layanan-mandiri/surat/*")
    upload_seconds = time.perf_counter() - started
    request_id = int(resident.url.rstrip("/").rsplit("/", 1)[1])
    row = db_request(app, request_id)
    assert row["status"] == S.CHECKING and len(row["documents"]) == 3
    fits(resident, 360)
    shot(resident, "03-resident-sent")

    # --- the operator (desktop) returns it with a reason ---
    desk = browser.new_context(**DESKTOP)
    operator = office_login(desk, base, "operator")
    operator.goto(base + "/letterrequestview/list/")
    assert "Siti Nur Khasanah" in operator.content()
    shot(operator, "04-operator-queue")
    operator.locator(f'a[href^="/letterrequestview/show/{request_id}"]').first.click()
    operator.wait_for_load_state("networkidle")
    thumbs = operator.eval_on_selector_all(
        "img[src*='/letterrequestview/document/']", "els => els.map(e => [e.naturalWidth, e.naturalHeight])")
    assert len(thumbs) == 3 and all(w > 0 for w, h in thumbs)
    assert [1200, 1600] in thumbs  # the 8 MB sideways photo, stored upright and downscaled
    assert operator.locator("button[value=sign]").count() == 0
    assert [operator.locator(f"button[value={a}]").count() for a in ("return", "print", "cancel")] == [1, 1, 1]
    shot(operator, "05-operator-request")
    operator.fill("#return-reason", "Foto KTP buram, mohon unggah ulang foto KTP yang jelas.")
    operator.click("button[value=return]")
    operator.wait_for_load_state()
    assert db_request(app, request_id)["status"] == S.INCOMPLETE
    shot(operator, "06-operator-returned")

    # --- the resident sees the reason, fixes the KTP and sends again ---
    resident.goto(base + "/layanan-mandiri/")
    assert bell_count(resident) == 2  # received, returned
    resident.goto(base + f"/layanan-mandiri/surat/{request_id}")
    assert "Foto KTP buram" in resident.content()
    fits(resident, 360)
    shot(resident, "07-resident-returned")
    resident.goto(base + f"/layanan-mandiri/surat/{request_id}/ubah")
    resident.locator("#doc_3 input[type=checkbox]:checked").uncheck()
    resident.set_input_files("#upload_3", str(ktp_sharp))
    shot(resident, "08-resident-fix")
    resident.locator("form.form button[type=submit]").click()
    resident.wait_for_url(f"**/layanan-mandiri/surat/{request_id}")
    assert db_request(app, request_id)["status"] == S.CHECKING

    # --- the operator prints it (number, archive) and opens the PDF at once ---
    operator.goto(base + f"/letterrequestview/show/{request_id}")
    operator.click("button[value=print]")
    operator.wait_for_load_state()
    row = db_request(app, request_id)
    assert row["status"] == S.AWAITING_SIGNATURE and row["number"].startswith("400.12.2.1/001/3318112006/")
    assert row["number"] in operator.content()
    pdf_href = operator.get_attribute("#open-pdf", "href")
    printed = operator.request.get(base + pdf_href)
    assert printed.ok and printed.body()[:5] == b"%PDF-"
    assert operator.locator("button[value=sign]").count() == 0  # the village has a signing step
    shot(operator, "09-operator-printed")

    # --- the Kepala Desa signs ---
    head_context = browser.new_context(**DESKTOP)
    kades = office_login(head_context, base, "kades")
    kades.goto(base + f"/letterrequestview/show/{request_id}")
    assert kades.locator("button[value=print], button[value=return], button[value=cancel]").count() == 0
    shot(kades, "10-kades-request")
    kades.click("button[value=sign]")
    kades.wait_for_load_state()
    assert db_request(app, request_id)["status"] == S.READY
    shot(kades, "11-kades-signed")
    operator.goto(base + "/issuedletterview/list/")
    assert row["number"] in operator.content()
    shot(operator, "12-operator-archive")

    # --- the resident: every step as a notification, then the PDF ---
    resident.goto(base + "/layanan-mandiri/")
    assert bell_count(resident) == 5  # received, returned, received again, printed, signed (none read yet)
    resident.goto(base + "/layanan-mandiri/notifikasi")
    items = resident.locator("ul.list li")
    assert items.count() == 5
    texts = items.all_inner_texts()
    assert all("Surat Keterangan Domisili" in t for t in texts)
    # Newest first: signed (ready for pick-up), printed (awaiting the signature), ... (either language:
    # the Indonesian catalogue is filled separately).
    assert any(w in texts[0].lower() for w in ("siap diambil", "ready for pick-up"))
    assert any(w in texts[1].lower() for w in ("tanda tangan", "signature"))
    assert "Foto KTP buram" in texts[3]
    fits(resident, 360)
    shot(resident, "13-resident-notifications")
    resident.goto(base + "/layanan-mandiri/arsip-surat")
    shot(resident, "14-resident-archive")
    link = resident.locator("a[href$='.pdf']").first.get_attribute("href")
    final = resident.request.get(base + link)
    assert final.ok and final.headers["content-type"] == "application/pdf"
    pdf = final.body()
    assert pdf == printed.body()  # stored once at printing, identical on every download
    (ARTIFACTS / "letters-final.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert row["number"] in text and "Siti Nur Khasanah" in text and "SURAT KETERANGAN DOMISILI" in text
    box = reader.pages[0].mediabox
    assert float(box.height) > float(box.width)  # portrait
    assert abs(float(box.width) - 215 / 25.4 * 72) < 2 and abs(float(box.height) - 330 / 25.4 * 72) < 2  # F4
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile",
                        str(ARTIFACTS / "letters-final.pdf"), str(ARTIFACTS / "letters-pdf-page1")], check=True)

    # --- the QR code's page confirms it (URL read from the database) ---
    verifier = browser.new_context(**PHONE).new_page()
    verifier.goto(base + f"/verifikasi/{row['token']}")
    assert verifier.locator(".notice-success").count() == 1 and row["number"] in verifier.content()
    assert nik_a not in verifier.content()
    shot(verifier, "15-verify")

    # --- resident B can see, cancel or download nothing of A's ---
    other = browser.new_context(**PHONE)
    b = portal_login(other, base, nik_b, PIN_B)
    for url in (f"/layanan-mandiri/surat/{request_id}", f"/layanan-mandiri/surat/{request_id}/ubah",
                f"/layanan-mandiri/arsip-surat/{row['letter_id']}.pdf",
                f"/layanan-mandiri/dokumen/{row['documents'][0]}"):
        assert b.goto(base + url).status == 404, url
    shot(b, "16-resident-b-404")
    b.goto(base + "/layanan-mandiri/dokumen")
    token = b.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = b.request.post(base + f"/layanan-mandiri/surat/{request_id}/batal", form={"csrf_token": token})
    assert refused.status == 404
    assert db_request(app, request_id)["status"] == S.READY
    print(f"\nupload of the request with the 8 MB photo: {upload_seconds:.1f} s")
    for context in (phone, desk, head_context, other, verifier.context):
        context.close()
