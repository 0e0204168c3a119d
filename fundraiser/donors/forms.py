"""The portal's forms: the email that asks for a link, the confirmation
that opens it, the contact preference, erase-my-data, and the controls of
a monthly or yearly gift."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from ..donations.forms import parse_amount
from ..donations.match_presenters import online_max_major
from ..money import Money
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


class RecurringAmountForm(FlaskForm):
    """A new amount for a monthly or yearly gift, within the gift form's
    limits, in the gift's own currency, read as the page's locale writes it."""

    amount = StringField(_l("New amount"), filters=[_strip], validators=[
        DataRequired(_l("Please enter the new amount.")),
        Length(max=20, message=_l("Please enter an amount as a number."))])

    def __init__(self, *args, currency: str, min_major: int, max_major: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency, self.min_major, self.max_major = currency, min_major, max_major
        self.money = None

    @property
    def low_minor(self) -> int:
        return Money.from_major(self.min_major, self.currency).minor

    @property
    def high_minor(self) -> int:
        return Money.from_major(self.max_major, self.currency).minor

    def validate_amount(self, field):
        self.money = parse_amount(field.data, self.currency, self.min_major, self.max_major)


def recurring_amount_form(sub, locale: str, posted: bool = False) -> RecurringAmountForm:
    """The amount field of one gift (its own prefix: one form per gift on
    the page): the posted one, or one showing the current amount."""
    shown = {} if posted else {"formdata": None,
                               "data": {"amount": sub.amount.input_text(locale)}}
    # Ends in "-" itself: WTForms adds none after an id that ends in "-" or "_".
    return RecurringAmountForm(prefix=f"m-{sub.public_id}-", currency=sub.currency,
                               min_major=current_app.config["DONATION_MIN_MAJOR"],
                               max_major=online_max_major(), **shown)
