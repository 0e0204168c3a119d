from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..money import Money, MoneyError

try:  # WTForms 3.3+ wants choice objects; 3.2 only knows tuples
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover
    def _Choice(value, label):
        return (value, label)


def parse_amount(raw, currency: str, min_major: int, max_major: int) -> Money:
    """What a person typed → Money within the online gift limits, or a
    ValidationError that says what to type instead."""
    try:
        money = Money.parse(str(raw or ""), currency)
    except MoneyError as exc:
        if exc.places == 0:
            raise ValidationError(_l("Please enter a whole amount, without decimals.")) from exc
        if exc.places is not None:
            raise ValidationError(_l("Please use at most %(places)s decimal places.",
                                     places=exc.places)) from exc
        raise ValidationError(
            _l("Please enter an amount as a number, like 25 or 25.50.")) from exc
    low = Money.from_major(min_major, currency)
    high = Money.from_major(max_major, currency)
    if money < low:
        raise ValidationError(_l("The smallest gift we can take is %(amount)s.",
                                 amount=low.format(str(get_locale()))))
    if money > high:
        raise ValidationError(_l("The largest gift we can take online is %(amount)s.",
                                 amount=high.format(str(get_locale()))))
    return money


class DonationForm(FlaskForm):
    """Step one of a gift: how much and who. The card comes on the next page."""

    amount = StringField(_l("Amount"))               # a preset, or "other"
    other_amount = StringField(_l("Other amount"), validators=[Length(max=20)])
    currency = SelectField(_l("Currency"))
    name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Please tell us your name.")),
                    Length(max=120, message=_l("Please keep your name under 120 characters."))],
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("We need your email to send your receipt.")),
                    Length(max=254, message=_l("That email address is too long.")),
                    Email(_l("That does not look like an email address."),
                          check_deliverability=False)],
    )
    display_name = StringField(
        _l("Name to show publicly"),
        validators=[Optional(), Length(max=80, message=_l("At most 80 characters."))],
    )
    anonymous = BooleanField(_l("Give anonymously (your name is not shown publicly)"))
    comment = TextAreaField(
        _l("A message of support (optional, shown publicly)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))],
    )
    consent = BooleanField(_l("Keep me informed about this campaign by email"))
    source = HiddenField(validators=[Optional(), Length(max=64)])

    def __init__(self, *args, appeal=None, min_major=1, max_major=100_000, **kwargs):
        super().__init__(*args, **kwargs)
        self.appeal = appeal
        self.min_major = min_major
        self.max_major = max_major
        self.currency.choices = [_Choice(appeal.currency, appeal.currency)] if appeal else []
        self.money: Money | None = None

    def validate_other_amount(self, field):
        # An amount the donor typed wins over a preset left selected.
        typed = (field.data or "").strip()
        raw = typed if typed or self.amount.data in (None, "", "other") else self.amount.data
        if not raw or not str(raw).strip():
            raise ValidationError(_l("Please choose or enter an amount."))
        currency = self.currency.data or (self.appeal.currency if self.appeal else "USD")
        self.money = parse_amount(raw, currency, self.min_major, self.max_major)


class PledgeForm(FlaskForm):
    """After giving: match friends who give through your link, up to an amount."""

    amount = StringField(_l("Match my friends up to"),
                         validators=[DataRequired(_l("Please enter an amount."))])
    display_name = StringField(
        _l("Your name on your sharing page"),
        validators=[DataRequired(_l("Please tell your friends who you are.")),
                    Length(max=80, message=_l("At most 80 characters."))])
    mode = RadioField(
        _l("How you pay"),
        choices=[_Choice("pay_now", _l("Give the full amount now")),
                 _Choice("card_saved", _l("Save my card; charge only what my friends "
                                          "unlock, when the appeal closes"))],
        default="pay_now",
        validators=[DataRequired(_l("Please choose how you pay."))])
    agree = BooleanField(
        _l("I understand what will be charged, and when."),
        validators=[DataRequired(_l("Please confirm that you understand what will be "
                                    "charged."))])

    def __init__(self, *args, currency="USD", min_major=1, max_major=100_000, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.min_major = min_major
        self.max_major = max_major
        self.money: Money | None = None

    def validate_amount(self, field):
        self.money = parse_amount(field.data, self.currency, self.min_major, self.max_major)
