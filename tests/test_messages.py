"""Kotak Pesan: sending with photos, double submit, rate limit, escaping, office replies, ownership."""
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from app.core.models import utcnow
from app.extensions import db
from app.messages import services
from app.messages.models import Message, MessagePhoto, MessagePost
from app.notifications.models import Notification
from tests.conftest import (csrf_token, make_account, make_admin, make_area, make_family, make_resident,
                            make_village, portal_login)

UPLOADS = Path(__file__).parent / "data" / "uploads"
PIN = "582913"
SCRIPT_SUBJECT = "<script>alert(1)</script>"
SCRIPT_BODY = "<img src=x onerror=alert(1)>"
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def resident(ctx):
    make_village()
    person = make_resident(name="Budi Santoso", family=make_family(area=make_area()))
    make_account(person, PIN)
    return person


@pytest.fixture
def other(ctx):
    person = make_resident(name="Bima Sakti", family=make_family(area=make_area(rt="009", rw="004", dusun="Kulon")),
                           birth=date(1980, 1, 1))
    make_account(person, "604917")
    return person


@pytest.fixture
def operator(ctx):
    return make_admin("operator", role="Operator")


@pytest.fixture
def logged_in(client, resident):
    portal_login(client, resident.nik, PIN)
    client.get("/bahasa/en")
    return client


def photo(name="real.jpg"):
    return (io.BytesIO((UPLOADS / name).read_bytes()), name)


def send(client, photos=(), **fields):
    """Open the form, post it; returns (response, the posted data for a resubmit)."""
    page = client.get("/layanan-mandiri/pesan/baru").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    submit = re.search(r'name="submit_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "submit_token": submit, "kind": "report", "subject": "Jalan rusak di RT 001",
            "body": "Lubang besar di depan balai dusun.", **fields}
    if photos:
        data["photos"] = list(photos)
    return client.post("/layanan-mandiri/pesan/baru", data=data, content_type="multipart/form-data"), data


def stored_files(app):
    folder = Path(app.config["UPLOAD_FOLDER"]) / services.PHOTO_AREA
    return set(folder.iterdir()) if folder.exists() else set()


def count_queries(app, client, url):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


# --- sending ---------------------------------------------------------------------------------

def test_send_report_with_photo(logged_in):
    """A report with real.jpg redirects to Sent with a success notice; the photo is stored and shown."""
    response, _ = send(logged_in, photos=[photo()])
    assert response.status_code == 302 and response.headers["Location"].endswith("/layanan-mandiri/pesan/terkirim")
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your message was sent" in page and "Jalan rusak di RT 001" in page
    message = db.session.scalar(select(Message))
    assert message.kind == "report" and message.status == "open" and len(message.posts) == 1
    [stored] = message.posts[0].photos
    thread = logged_in.get(f"/layanan-mandiri/pesan/{message.id}").get_data(as_text=True)
    assert f"/layanan-mandiri/pesan/foto/{stored.id}" in thread
    shown = logged_in.get(f"/layanan-mandiri/pesan/foto/{stored.id}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg" and shown.data[:2] == b"\xff\xd8"
    assert shown.headers["Cache-Control"] == "no-store"


def test_double_submit_creates_one_message(logged_in, app):
    """The same form posted twice (double click, refresh) stores one message and one photo."""
    first, data = send(logged_in, photos=[photo()])
    before = stored_files(app)
    data["photos"] = [photo()]
    second = logged_in.post("/layanan-mandiri/pesan/baru", data=data, content_type="multipart/form-data")
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert db.session.query(Message).count() == 1 and db.session.query(MessagePhoto).count() == 1
    assert stored_files(app) == before


def test_start_conversation_is_idempotent_per_token(ctx, resident):
    """The service returns the first conversation for a repeated token, without a second row."""
    token = "t" * 30
    first, created = services.start_conversation(resident, "message", "Halo", "Isi", [], token)
    again, created_again = services.start_conversation(resident, "message", "Halo", "Isi", [], token)
    assert created and not created_again and first.id == again.id


def test_rate_limit(app, logged_in):
    """With MESSAGES_PER_HOUR=2 the third message in an hour is refused with 429 and a clear text."""
    old = app.config.get("MESSAGES_PER_HOUR")
    app.config["MESSAGES_PER_HOUR"] = 2
    try:
        assert send(logged_in)[0].status_code == 302
        assert send(logged_in, subject="Kedua")[0].status_code == 302
        third, _ = send(logged_in, subject="Ketiga")
        assert third.status_code == 429
        assert "You have sent 2 messages in the last hour" in third.get_data(as_text=True)
        assert db.session.query(Message).count() == 2
        message = db.session.scalar(select(Message))
        token = csrf_token(logged_in, f"/layanan-mandiri/pesan/{message.id}")
        reply = logged_in.post(f"/layanan-mandiri/pesan/{message.id}/balas", data={"csrf_token": token, "body": "x"})
        assert reply.status_code == 429 and db.session.query(MessagePost).count() == 2
    finally:
        if old is None:
            app.config.pop("MESSAGES_PER_HOUR")
        else:
            app.config["MESSAGES_PER_HOUR"] = old


def test_rate_counts_only_the_last_hour(ctx, resident, app):
    """Posts older than an hour do not count towards the limit."""
    app.config["MESSAGES_PER_HOUR"] = 1
    try:
        old = Message(resident_id=resident.id, kind="message", subject="Lama", status="open")
        old.posts.append(MessagePost(author="resident", body="x", created_at=utcnow() - timedelta(minutes=61)))
        db.session.add(old)
        db.session.flush()
        services.check_rate(resident.id)
        services.start_conversation(resident, "message", "Baru", "Isi", [], "n" * 30)
        with pytest.raises(services.RateLimited):
            services.check_rate(resident.id)
    finally:
        app.config.pop("MESSAGES_PER_HOUR")


def test_all_errors_are_shown_together_and_nothing_stored(logged_in):
    """Bad kind, empty subject and empty body are reported at once; nothing stored."""
    response, _ = send(logged_in, kind="spam", subject="  ", body="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for text in ("message or a report", "write a subject", "write your message"):
        assert text in page
    assert db.session.query(Message).count() == 0


def test_too_long_subject_and_body_are_refused(logged_in):
    """A subject over 150 and a body over 5000 characters are refused together."""
    response, _ = send(logged_in, subject="s" * 151, body="b" * 5001)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "at most 150" in page and "at most 5000" in page


@pytest.mark.parametrize("name,expect", [("x.php.jpg", "only JPEG and PNG photos"), ("bomb.png", "too large"),
                                         ("not-a-pdf.pdf", "only JPEG and PNG photos")])
def test_bad_uploads_are_refused_and_nothing_stored(app, logged_in, name, expect):
    """PHP named as image, a decompression bomb and a fake PDF are refused; no message, no file."""
    before = stored_files(app)
    response, _ = send(logged_in, photos=[photo(name)])
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and expect in page and "Photo 1" in page
    assert "was sent" not in page
    assert db.session.query(Message).count() == 0 and stored_files(app) == before


def test_a_pdf_is_not_a_photo(app, logged_in):
    """A valid PDF (accepted as a document) is refused as a message photo."""
    before = stored_files(app)
    response, _ = send(logged_in, photos=[(io.BytesIO(TINY_PDF), "surat.pdf")])
    assert response.status_code == 400 and "only JPEG and PNG" in response.get_data(as_text=True)
    assert db.session.query(Message).count() == 0 and stored_files(app) == before


def test_more_than_three_photos_are_refused(app, logged_in):
    """Four photos are refused with the limit in the message; nothing stored."""
    before = stored_files(app)
    response, _ = send(logged_in, photos=[photo() for _ in range(4)])
    assert response.status_code == 400 and "At most 3 photos" in response.get_data(as_text=True)
    assert db.session.query(Message).count() == 0 and stored_files(app) == before
    assert send(logged_in, photos=[photo() for _ in range(3)])[0].status_code == 302
    assert db.session.query(MessagePhoto).count() == 3


# --- escaping (cases/ "script in text") ------------------------------------------------------

def test_script_in_text_is_stored_as_written_and_shown_escaped(logged_in, resident, operator):
    """Subject <script> and body <img onerror> are stored verbatim and shown as text everywhere."""
    assert send(logged_in, subject=SCRIPT_SUBJECT, body=SCRIPT_BODY)[0].status_code == 302
    message = db.session.scalar(select(Message))
    assert message.subject == SCRIPT_SUBJECT and message.posts[0].body == SCRIPT_BODY
    services.reply_as_office(message, operator, f"Balasan untuk {SCRIPT_SUBJECT}")
    db.session.commit()
    subject_escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for url in ("/layanan-mandiri/pesan", "/layanan-mandiri/pesan/terkirim", f"/layanan-mandiri/pesan/{message.id}",
                "/layanan-mandiri/notifikasi"):
        page = logged_in.get(url).get_data(as_text=True)
        assert subject_escaped in page, url
        assert "<script>alert" not in page and "<img src=x" not in page, url
    thread = logged_in.get(f"/layanan-mandiri/pesan/{message.id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in thread


# --- the office's side -----------------------------------------------------------------------

def test_office_reply_reaches_the_resident(logged_in, resident, operator):
    """An office reply: status answered, unread count and inbox entry, a notification; reading clears it."""
    send(logged_in)
    message = db.session.scalar(select(Message))
    assert logged_in.get("/layanan-mandiri/pesan").get_data(as_text=True).count("Jalan rusak") == 0
    services.reply_as_office(message, operator, "Terima kasih, akan segera diperbaiki.")
    db.session.commit()
    assert message.status == "answered" and message.office_read_by_id == operator.id
    assert services.unread_count(resident.id) == 1
    inbox = logged_in.get("/layanan-mandiri/pesan").get_data(as_text=True)
    assert "Jalan rusak di RT 001" in inbox and "1 new reply" in inbox
    note = db.session.scalar(select(Notification).where(Notification.resident_id == resident.id))
    assert note.kind == "message_reply" and note.params == {"subject": message.subject, "message_id": message.id}
    assert note.link == f"/layanan-mandiri/pesan/{message.id}"
    assert "replied to your message" in logged_in.get("/layanan-mandiri/notifikasi").get_data(as_text=True)
    thread = logged_in.get(f"/layanan-mandiri/pesan/{message.id}").get_data(as_text=True)
    assert thread.index("Lubang besar") < thread.index("akan segera diperbaiki")
    assert services.unread_count(resident.id) == 0
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None  # the bell stops counting it


def test_resident_reply_reopens_for_the_office(logged_in, resident, operator):
    """The resident's reply is stored in the thread, reopens the conversation and is unread for the office."""
    send(logged_in)
    message = db.session.scalar(select(Message))
    services.reply_as_office(message, operator, "Mohon kirim lokasi persisnya.")
    db.session.commit()
    token = csrf_token(logged_in, f"/layanan-mandiri/pesan/{message.id}")
    response = logged_in.post(f"/layanan-mandiri/pesan/{message.id}/balas", content_type="multipart/form-data",
                              data={"csrf_token": token, "body": "Di depan rumah Pak RT.", "photos": [photo()]})
    assert response.status_code == 302
    db.session.expire_all()
    message = db.session.get(Message, message.id)
    assert [p.author for p in message.posts] == ["resident", "office", "resident"]
    assert message.status == "open" and message.office_read_at is None and len(message.posts[2].photos) == 1
    empty = logged_in.post(f"/layanan-mandiri/pesan/{message.id}/balas", data={"csrf_token": token, "body": " "})
    assert empty.status_code == 400 and "write your message" in empty.get_data(as_text=True)


def test_first_reader_is_recorded_and_closing_stops_replies(logged_in, resident, operator):
    """Only the first operator to open is recorded; a closed conversation takes no more replies."""
    send(logged_in)
    message = db.session.scalar(select(Message))
    second = make_admin("operator2", role="Operator")
    assert services.mark_office_read(message, operator) and not services.mark_office_read(message, second)
    assert services.close(message, second) and not services.close(message, operator)
    db.session.commit()
    assert message.office_read_by_id == operator.id and message.closed_by_id == second.id
    page = logged_in.get(f"/layanan-mandiri/pesan/{message.id}").get_data(as_text=True)
    assert "conversation is closed" in page and 'name="body"' not in page
    token = csrf_token(logged_in, "/layanan-mandiri/pesan")
    response = logged_in.post(f"/layanan-mandiri/pesan/{message.id}/balas", data={"csrf_token": token, "body": "x"})
    assert response.status_code == 400 and len(message.posts) == 1
    with pytest.raises(services.MessageError):
        services.reply_as_office(message, operator, "x")


def test_office_list_filters_orders_and_counts(ctx, resident, other, operator):
    """Unread first; filters by kind, status, dusun and search (subject or name); counts match."""
    def new(person, kind, subject, token):
        return services.start_conversation(person, kind, subject, "Isi", [], token * 25)[0]
    read = new(resident, "message", "Lampu jalan mati", "a")
    services.mark_office_read(read, operator)
    unread = new(other, "report", "Sampah 100% menumpuk", "b")
    services.close(new(other, "message", "Sudah beres", "c"), operator)
    db.session.commit()
    rows, total = services.office_list()
    assert total == 3 and rows[-1]["message"].id == read.id
    assert {r["dusun"] for r in rows} == {"Krajan", "Kulon"}
    assert [r["message"].id for r in services.office_list(kind="report")[0]] == [unread.id]
    assert services.office_list(status="closed")[1] == 1
    kulon = rows[0]["message"].resident.family.area.parent.parent_id
    assert {r["resident_name"] for r in services.office_list(dusun_id=kulon)[0]} == {"Bima Sakti"}
    assert [r["message"].id for r in services.office_list(q="100%")[0]] == [unread.id]
    assert services.office_list(q="budi")[1] == 1 and services.office_list(q="_")[1] == 0
    page_two, total = services.office_list(page=2, per_page=2)
    assert total == 3 and len(page_two) == 1
    assert services.office_unread_count() == 1


# --- ownership (cases/ "another resident's ids") ---------------------------------------------

def test_resident_b_gets_404_for_a_s_messages(app, logged_in, other):
    """B asks for A's conversation, reply URL and photo by id: 404; logged out: redirect to login."""
    send(logged_in, photos=[photo()])
    message = db.session.scalar(select(Message))
    photo_id = db.session.scalar(select(MessagePhoto.id))
    client_b = app.test_client()
    portal_login(client_b, other.nik, "604917")
    assert client_b.get(f"/layanan-mandiri/pesan/{message.id}").status_code == 404
    assert client_b.get(f"/layanan-mandiri/pesan/foto/{photo_id}").status_code == 404
    assert client_b.get(f"/layanan-mandiri/pesan/foto/{photo_id + 1000}").status_code == 404
    token = csrf_token(client_b, "/layanan-mandiri/pesan")
    response = client_b.post(f"/layanan-mandiri/pesan/{message.id}/balas", data={"csrf_token": token, "body": "x"})
    assert response.status_code == 404 and db.session.query(MessagePost).count() == 1
    assert "Jalan rusak" not in client_b.get("/layanan-mandiri/pesan/terkirim").get_data(as_text=True)
    anonymous = app.test_client()
    for url in ("/layanan-mandiri/pesan", "/layanan-mandiri/pesan/terkirim", "/layanan-mandiri/pesan/baru",
                f"/layanan-mandiri/pesan/{message.id}", f"/layanan-mandiri/pesan/foto/{photo_id}"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/layanan-mandiri/masuk" in response.headers["Location"], url


def test_b_cannot_reuse_a_s_form_token(app, logged_in, other):
    """A submit token already used by A does not reveal or return A's message to B."""
    _, data = send(logged_in)
    client_b = app.test_client()
    portal_login(client_b, other.nik, "604917")
    data["csrf_token"] = csrf_token(client_b, "/layanan-mandiri/pesan/baru")
    response = client_b.post("/layanan-mandiri/pesan/baru", data=data)
    assert response.status_code == 400 and db.session.query(Message).count() == 1


# --- query count -----------------------------------------------------------------------------

def _conversations(resident, operator, how_many, start):
    for i in range(start, start + how_many):
        message = Message(resident_id=resident.id, kind="message", subject=f"Pesan {i}", status="answered")
        message.posts.append(MessagePost(author="resident", body="Isi"))
        message.posts.append(MessagePost(author="office", author_user_id=operator.id, body="Balasan"))
        db.session.add(message)
    db.session.commit()


@pytest.mark.parametrize("url", ["/layanan-mandiri/pesan", "/layanan-mandiri/pesan/terkirim"])
def test_lists_use_a_constant_number_of_queries(app, logged_in, resident, operator, url):
    """Inbox and Sent issue as many SQL statements for 10 conversations as for 1."""
    _conversations(resident, operator, 1, 0)
    one = count_queries(app, logged_in, url)
    _conversations(resident, operator, 9, 1)
    ten = count_queries(app, logged_in, url)
    assert one == ten
    assert logged_in.get(url).get_data(as_text=True).count("Pesan ") >= 10
