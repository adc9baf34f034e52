"""Issuing a letter: number, archive row, PDF with a QR code, in the caller's transaction."""
import base64
import io
import re
import secrets

import qrcode
from dateutil.relativedelta import relativedelta
from flask_babel import force_locale
from sqlalchemy import select

from app.core import storage
from app.core.formatting import local_today, long_date, path_for, public_url
from app.core.nik import mask_nik
from app.core.pdf import render_pdf
from app.extensions import db
from app.letters import numbering
from app.letters.fields import display_values
from app.letters.models import IssuedLetter
from app.residents.models import Official
from app.residents.services import get_village, resident_values, village_values

SIGNING_MODES = ("head", "an", "ub")


class IssueError(Exception):
    """The letter cannot be issued (e.g. no Kepala Desa recorded); ``message`` is translatable."""

    def __init__(self, message):
        # The message is translated when shown, not here (there may be no request yet).
        super().__init__(getattr(message, "_args", (message,))[0])
        self.message = message


def _officials():
    return db.session.scalars(select(Official).where(Official.active.is_(True)).order_by(Official.sort_order, Official.id)).all()


def signatories(mode):
    """Officials who may sign in ``mode`` ("head", "an" or "ub"), for the print form."""
    flag = {"head": "is_village_head", "an": "may_sign_on_behalf", "ub": "may_sign_under_authority"}[mode]
    return [o for o in _officials() if getattr(o, flag)]


def signature_block(mode, signatory, village_name):
    """The lines above and below the signature (DOMAIN.md §5: a.n. and u.b.).

    Returns:
        dict ``{"lines": [str], "name": str, "number": str}``.
    """
    village_title = f"Kepala Desa {village_name}"
    if mode == "head":
        lines = [village_title]
    elif mode == "an":
        lines = [f"a.n. {village_title}", signatory.position]
    else:
        on_behalf = next(iter(signatories("an")), None)
        lines = [f"a.n. {village_title}", on_behalf.position if on_behalf else "Sekretaris Desa", "u.b.",
                 signatory.position]
    number = f"NIP. {signatory.nip}" if signatory.nip else (f"NIPD. {signatory.nipd}" if signatory.nipd else "")
    return {"lines": lines, "name": signatory.name, "number": number}


def qr_data_uri(text):
    """A PNG QR code of ``text`` as a data URI (qrcode + Pillow)."""
    image = qrcode.make(text, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


_BODY_TOKEN = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def fill_body(body, values):
    """Replace ``{key}`` in a type's paragraph with the field values (plain text, no code)."""
    return _BODY_TOKEN.sub(lambda m: str(values.get(m.group(1), "")), body or "")


def valid_until(letter_type, issued_on):
    """Last day of validity: issue date + the type's validity (days or months)."""
    if letter_type.validity_unit == "day":
        return issued_on + relativedelta(days=letter_type.validity_amount)
    return issued_on + relativedelta(months=letter_type.validity_amount)


def letter_context(*, letter_type, resident, number, issued_on, until, purpose, field_values, signing, verify_url):
    """Plain values for ``pdf/letter.html`` (no ORM objects reach the template)."""
    village = get_village()
    with force_locale("id"):
        who = resident_values(resident)
        fields = display_values(letter_type.fields, field_values)
        issued, until_text = long_date(issued_on), long_date(until) if until else ""
    identity = [
        ("Nama", who["name"]), ("NIK", who["nik"]),
        ("Tempat/Tanggal Lahir", f"{who['birth_place']}, {who['birth_date']}"),
        ("Jenis Kelamin", who["sex"]),
        ("Alamat", ", ".join(p for p in (who["address"], f"RT {who['rt']}" if who["rt"] else "",
                                         f"RW {who['rw']}" if who["rw"] else "",
                                         f"Dusun {who['dusun']}" if who["dusun"] else "") if p)),
        ("Agama", who["religion"]), ("Status Perkawinan", who["marital_status"]),
        ("Pekerjaan", who["occupation"]), ("Kewarganegaraan", who["citizenship"]),
    ]
    return {
        "village": village_values(village, with_logo=True), "paper": letter_type.paper, "printed_on": issued,
        "letter": {
            "title": letter_type.name.upper(), "number": number,
            "intro": (f"Yang bertanda tangan di bawah ini, Kepala Desa {village.name}, Kecamatan "
                      f"{village.kecamatan_name}, {village.regency_name}, menerangkan dengan sebenarnya bahwa:"),
            "identity": identity, "body": fill_body(letter_type.body, {**{r["key"]: r["value"] for r in fields}, "village": village.name}), "fields": fields,
            "purpose": purpose, "valid_from": issued, "valid_until": until_text,
            "place": village.name, "date": issued, "signature": signing,
            "qr": qr_data_uri(verify_url), "verify_url": verify_url,
        },
    }


def issue_letter(request, actor, *, signing_mode="head", signatory_id=None, today=None):
    """Number, render and archive the letter of ``request`` (inside the caller's transaction).

    Args:
        request: the :class:`LetterRequest` being printed.
        actor: the workflow actor (an operator).
        signing_mode: "head" (Kepala Desa), "an" (a.n., e.g. Sekretaris) or "ub".
        signatory_id: the signing official's id; default the first allowed for the mode.
        today: issue date (default: today in the village's time zone).

    Returns:
        IssuedLetter (flushed). Its PDF is stored once and served unchanged afterwards.

    Raises:
        IssueError: no official may sign in that mode.
    """
    from app.core.i18n import lazy_gettext as _l
    if signing_mode not in SIGNING_MODES:
        raise IssueError(_l("Unknown signing mode."))
    allowed = signatories(signing_mode)
    signatory = next((o for o in allowed if o.id == signatory_id), None) if signatory_id else (allowed[0] if allowed else None)
    if signatory is None:
        raise IssueError(_l("No active village official may sign this way. Record one under Village officials."))
    village = get_village()
    letter_type = request.letter_type
    issued_on = today or local_today()
    scope = numbering.scope_key(letter_type)
    sequence = numbering.next_sequence(scope, issued_on.year)
    number = numbering.format_number(letter_type.number_pattern, classification=letter_type.classification_code,
                                     sequence=sequence, village_code=village.code, issued_on=issued_on,
                                     type_code=letter_type.code)
    token = secrets.token_urlsafe(24)
    until = valid_until(letter_type, issued_on)
    verify_url = public_url(path_for("verify_letter", token=token))
    context = letter_context(letter_type=letter_type, resident=request.resident, number=number, issued_on=issued_on,
                             until=until, purpose=request.purpose, field_values=request.field_values,
                             signing=signature_block(signing_mode, signatory, village.name), verify_url=verify_url)
    pdf = render_pdf("pdf/letter.html", context)
    letter = IssuedLetter(
        letter_type_id=letter_type.id, resident_id=request.resident_id, letter_number=number, scope=scope,
        year=issued_on.year, sequence=sequence, issued_on=issued_on, valid_until=until,
        signatory_id=signatory.id, signing_mode=signing_mode, purpose=request.purpose,
        field_values=dict(request.field_values or {}), pdf_file=storage.store_bytes("letters", pdf, "pdf"),
        verify_token=token, created_by_id=getattr(actor.user, "id", None))
    db.session.add(letter)
    db.session.flush()
    return letter


def verification_values(letter, today=None):
    """What the public verification page shows: no full NIK, no address.

    Returns:
        dict with number, issued_on, letter_type, name, masked_nik, signatory, state
        ("valid", "expired" or "revoked"), valid_until.
    """
    today = today or local_today()
    state = "revoked" if letter.revoked_at else ("expired" if letter.valid_until and letter.valid_until < today else "valid")
    signatory = letter.signatory
    return {"number": letter.letter_number, "issued_on": long_date(letter.issued_on),
            "valid_until": long_date(letter.valid_until), "letter_type": letter.letter_type.name,
            "name": letter.resident.name, "masked_nik": mask_nik(letter.resident.nik),
            "signatory": f"{signatory.name} ({signatory.position})" if signatory else "", "state": state}
