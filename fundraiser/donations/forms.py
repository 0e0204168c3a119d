from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..money import Money, MoneyError


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
        self.currency.choices = [(appeal.currency, appeal.currency)] if appeal else []
        self.money: Money | None = None

    def validate_other_amount(self, field):
        # An amount the donor typed wins over a preset left selected.
        typed = (field.data or "").strip()
        raw = typed if typed or self.amount.data in (None, "", "other") else self.amount.data
        if not raw or not str(raw).strip():
            raise ValidationError(_l("Please choose or enter an amount."))
        currency = self.currency.data or (self.appeal.currency if self.appeal else "USD")
        try:
            money = Money.parse(str(raw), currency)
        except MoneyError as exc:
            if exc.places == 0:
                raise ValidationError(_l("Please enter a whole amount, without decimals.")) from exc
            if exc.places is not None:
                raise ValidationError(_l("Please use at most %(places)s decimal places.",
                                         places=exc.places)) from exc
            raise ValidationError(
                _l("Please enter an amount as a number, like 25 or 25.50.")) from exc
        low = Money.from_major(self.min_major, currency)
        high = Money.from_major(self.max_major, currency)
        if money < low:
            raise ValidationError(_l("The smallest gift we can take is %(amount)s.",
                                     amount=low.format(str(get_locale()))))
        if money > high:
            raise ValidationError(_l("The largest gift we can take online is %(amount)s.",
                                     amount=high.format(str(get_locale()))))
        self.money = money
