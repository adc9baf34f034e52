"""Small validators shared by forms: Indonesian phone numbers (libphonenumber)."""
import phonenumbers
from app.core.i18n import lazy_gettext as _l


def normalize_phone(raw):
    """Normalise an Indonesian phone number to E.164 (``+6281234567890``).

    Accepts the usual ways of writing it: ``0812-3456-7890``, ``+62 812 3456 7890``,
    ``62812...``, ``(0276) 123456``.

    Returns:
        tuple ``(value, error)``: the E.164 string and None, or None and a translatable message.
    """
    text = (raw or "").strip()
    if not text:
        return None, _l("Enter a phone number.")
    if text.startswith("62"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "ID")
    except phonenumbers.NumberParseException:
        return None, _l("This is not a phone number. Write it like 0812-3456-7890.")
    if number.country_code != 62 or not phonenumbers.is_valid_number(number):
        return None, _l("This is not a valid Indonesian phone number. Write it like 0812-3456-7890.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def display_phone(e164):
    """Show a stored ``+62...`` number the way Indonesians write it (``0812-3456-7890``-like)."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, "ID"), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        return e164
