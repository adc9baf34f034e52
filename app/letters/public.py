"""The public verification page behind a letter's QR code."""
from flask import abort, render_template
from sqlalchemy import select

from app.extensions import db
from app.letters.issuing import verification_values
from app.letters.models import IssuedLetter
from app.residents.services import village_values


def verify_letter(token):
    """Show whether the letter with this unguessable token is valid, expired or revoked (404 if unknown)."""
    if not (16 <= len(token) <= 64):
        abort(404)
    letter = db.session.scalar(select(IssuedLetter).where(IssuedLetter.verify_token == token))
    if letter is None:
        abort(404)
    response = render_template("public/verify.html", letter=verification_values(letter), village=village_values())
    return response, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def init_letters_public(app):
    """Register ``/verifikasi/<token>``."""
    app.add_url_rule("/verifikasi/<token>", "verify_letter", verify_letter)
