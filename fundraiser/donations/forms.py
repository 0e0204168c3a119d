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
from wtforms.validators import AnyOf, DataRequired, Email, Length, Optional, ValidationError

from ..money import AMBIGUOUS, Money, MoneyError
from ..text import NoControlCharacters

try:  # WTForms 3.3+ wants choice objects; 3.2 only knows tuples
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover
    def _Choice(value, label):
        return (value, label)


def page_locale() -> str:
    return str(get_locale() or "en")


def amount_message(exc: MoneyError, currency: str, locale: str | None = None) -> str:
    """What to type instead of a figure Money.parse refused, with examples
    written the way the page's locale writes numbers ('25,50' in German)."""
    locale = locale or page_locale()
    if exc.places == 0:
        return _l("Please enter a whole amount, without decimals.")
    if exc.places is not None:
        return _l("Please use at most %(places)s decimal places.", places=exc.places)
    examples = {"whole": Money.from_major(1234, currency).input_text(locale),
                "decimal": Money.from_major(25, currency).input_text(locale)}
    if Money.from_major(1, currency).minor > 1:  # the currency has decimals
        examples["decimal"] = Money(Money.from_major(25, currency).minor
                                    + Money.from_major(1, currency).minor // 2,
                                    currency).input_text(locale)
    if exc.kind == AMBIGUOUS:
        return _l("This amount could be read in two ways. Please type it without a "
                  "thousands separator, like %(whole)s or %(decimal)s.", **examples)
    return _l("Please enter an amount as a number, like %(whole)s or %(decimal)s.",
              **examples)


def parse_amount(raw, currency: str, min_major: int, max_major: int,
                 preset: bool = False) -> Money:
    """What a person typed → Money within the online gift limits, or a
    ValidationError that says what to type instead. Read as the page's
    locale writes numbers; `preset` for a value we wrote ourselves (a
    preset amount's radio button: '25.00')."""
    try:
        money = Money.parse(str(raw or ""), currency, None if preset else page_locale())
    except MoneyError as exc:
        raise ValidationError(amount_message(exc, currency)) from exc
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
    # Choices: the appeal's currencies that can be taken now (donation_form
    # sets them); checked by validate_currency, with a message that says why.
    currency = SelectField(_l("Currency"), validate_choice=False)
    # One-time is the default: nothing signs a donor up for more unasked.
    frequency = RadioField(
        _l("How often"),
        choices=[_Choice("once", _l("One time")), _Choice("monthly", _l("Monthly")),
                 _Choice("yearly", _l("Yearly"))],
        default="once",
        validators=[DataRequired(_l("Please choose one time, monthly or yearly."))])
    name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Please tell us your name.")),
                    Length(max=120, message=_l("Please keep your name under 120 characters.")),
                    NoControlCharacters()],
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
        validators=[Optional(), Length(max=80, message=_l("At most 80 characters.")),
                    NoControlCharacters()],
    )
    anonymous = BooleanField(_l("Give anonymously (your name is not shown publicly)"))
    comment = TextAreaField(
        _l("A message of support (optional, shown publicly)"),
        validators=[Optional(), Length(max=500, message=_l("At most 500 characters.")),
                    NoControlCharacters(multiline=True)],
    )
    consent = BooleanField(_l("Keep me informed about this campaign by email"))
    source = HiddenField(validators=[Optional(), Length(max=64)])
    # The honeypot: off-screen, out of the tab order and hidden from screen
    # readers, so only a bot that fills every field puts something in it.
    leave_empty = StringField(_l("Leave this field empty"))

    def __init__(self, *args, appeal=None, min_major=1, max_major=100_000,
                 available=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.appeal = appeal
        self.min_major = min_major
        self.max_major = max_major
        # The appeal's currencies that have a rate now (its own always has).
        own = [appeal.currency] if appeal else []
        self.available = list(available) if available is not None else own
        self.currency.choices = [_Choice(code, code) for code in self.available]
        self.money: Money | None = None

    @property
    def chosen(self) -> str:
        """The currency the form is in: the one posted, if it can be taken."""
        code = (self.currency.data or "").strip().upper()
        if code in self.available:
            return code
        return self.appeal.currency if self.appeal else "USD"

    def validate_currency(self, field):
        code = (field.data or "").strip().upper()
        if not code:
            field.data = self.chosen
            return
        if self.appeal is None or code not in self.appeal.accepted_currencies:
            raise ValidationError(_l("This appeal does not take gifts in that currency. "
                                     "Please choose one of the listed currencies."))
        if code not in self.available:
            raise ValidationError(_l("Gifts in %(currency)s cannot be taken just now: we have "
                                     "no exchange rate for it. Please choose another "
                                     "currency.", currency=code))
        field.data = code

    def validate_frequency(self, field):
        if field.data in ("monthly", "yearly") and self.appeal is not None \
                and self.chosen != self.appeal.currency:
            raise ValidationError(_l("Monthly and yearly gifts are taken in %(currency)s only. "
                                     "Please choose %(currency)s, or give once.",
                                     currency=self.appeal.currency))

    @property
    def monthly(self) -> bool:
        return self.frequency.data == "monthly"

    @property
    def interval(self) -> str | None:
        """Stripe's plan interval for a recurring gift; None for a one-time gift."""
        return {"monthly": "month", "yearly": "year"}.get(self.frequency.data)

    def caught_by_honeypot(self) -> bool:
        return bool((self.leave_empty.data or "").strip())

    def validate_other_amount(self, field):
        # An amount the donor typed wins over a preset left selected.
        typed = (field.data or "").strip()
        preset = not typed and self.amount.data not in (None, "", "other")
        raw = self.amount.data if preset else typed
        if not raw or not str(raw).strip():
            raise ValidationError(_l("Please choose or enter an amount."))
        # Never the posted currency unchecked: `chosen` is one the appeal takes
        # and has a rate for (validate_currency says so when the post is not).
        currency = self.chosen
        # A preset is the page's own plain figure ('25.00'), not the donor's typing.
        self.money = parse_amount(raw, currency, self.min_major, self.max_major,
                                  preset=preset)


class PledgeForm(FlaskForm):
    """After giving: match friends who give through your link, up to an amount."""

    amount = StringField(_l("Match my friends up to"),
                         validators=[DataRequired(_l("Please enter an amount."))])
    display_name = StringField(
        _l("Your name on your sharing page"),
        validators=[DataRequired(_l("Please tell your friends who you are.")),
                    Length(max=80, message=_l("At most 80 characters.")),
                    NoControlCharacters()])
    mode = RadioField(
        _l("How you pay"),
        choices=[_Choice("pay_now", _l("Give the full amount now")),
                 _Choice("card_saved", _l("Save my card; charge only what my friends "
                                          "unlock, when the appeal closes"))],
        # Nothing pre-ticked: the pledger chooses what is charged, and when.
        # None, or a value that is not one of them, gets the same message.
        validate_choice=False,
        validators=[DataRequired(_l("Please choose how you pay.")),
                    AnyOf(("pay_now", "card_saved"), _l("Please choose how you pay."))])
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
