"""Portal forms (Flask-WTF: CSRF on every POST)."""
from app.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, ValidationError


def _digits(length, message):
    """A validator: exactly ``length`` ASCII digits, nothing removed but surrounding spaces."""
    def check(form, field):
        value = (field.data or "").strip()
        if not (len(value) == length and value.isascii() and value.isdigit()):
            raise ValidationError(message)
    return check


class LoginForm(FlaskForm):
    """NIK + PIN. The NIK is never cleaned of letters: ``3171011708450001aa`` is refused."""

    nik = StringField(_l("NIK"), validators=[
        InputRequired(_l("Enter your NIK.")),
        _digits(16, _l("The NIK must be exactly 16 digits (numbers only)."))])
    pin = PasswordField(_l("PIN"), validators=[
        InputRequired(_l("Enter your PIN.")),
        _digits(6, _l("The PIN must be exactly 6 digits."))])


class ChangePinForm(FlaskForm):
    """Current PIN, new PIN and its confirmation; the rules live in the service."""

    current_pin = PasswordField(_l("Current PIN"), validators=[InputRequired(_l("Enter your current PIN."))])
    new_pin = PasswordField(_l("New PIN"), validators=[InputRequired(_l("Enter a new PIN."))])
    confirm_pin = PasswordField(_l("Repeat the new PIN"), validators=[InputRequired(_l("Repeat the new PIN."))])
