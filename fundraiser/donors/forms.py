"""The portal's forms: the email that asks for a link, the confirmation
that opens it, the contact preference and erase-my-data."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField
from wtforms.validators import DataRequired, Email, Length

from ..text import NoControlCharacters


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LinkRequestForm(FlaskForm):
    email = EmailField(
        _l("Email"), filters=[_strip],
        validators=[DataRequired(_l("Please enter the email address you gave with.")),
                    # Before the other checks: a 10 kB value is refused at once.
                    Length(max=254, message=_l("That email address is too long.")),
                    NoControlCharacters(message=_l(
                        "That email address has characters an address cannot have. "
                        "Please type it again.")),
                    Email(_l("That does not look like an email address."),
                          check_deliverability=False)],
    )


class OpenLinkForm(FlaskForm):
    """A button, not a GET: mail scanners that follow links would otherwise
    use up a single-use link before the donor sees it."""


class PreferencesForm(FlaskForm):
    wants_updates = BooleanField(_l("Email me about appeals I gave to"))


class EraseForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that my name, email and messages are removed for good, "
           "and that this link and my session stop working."),
        validators=[DataRequired(_l("Please tick the box to confirm."))])


class SignOutForm(FlaskForm):
    pass


class CancelMonthlyForm(FlaskForm):
    """A button per monthly gift: POST with the CSRF token."""
