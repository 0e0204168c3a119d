from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

# SelectChoice, or the tuple WTForms 3.2 expects
from ..donations.forms import _Choice as SelectChoice
from ..matching.models import MONTHLY_ONCE, MONTHLY_X12
from ..text import NoControlCharacters
from .models import ROLES


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Log in"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(), Length(min=12, max=200)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(),
                                        EqualTo("password", _l("The two passwords differ."))])
    submit = SubmitField(_l("Set password"))


class ActionForm(FlaskForm):
    """A form that is only a button (log out, log out everywhere): CSRF only."""


class RefundForm(FlaskForm):
    amount = StringField(_l("Amount to refund"), validators=[DataRequired(), Length(max=20)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500),
                                                     NoControlCharacters(multiline=True)])
    submit = SubmitField(_l("Refund"))


class OfflineGiftForm(FlaskForm):
    appeal = SelectField(_l("Appeal"), coerce=int, validators=[DataRequired()])
    # choices: "" (the appeal's own) and every currency an appeal accepts, set
    # by the view; the view checks the chosen appeal takes it.
    currency = SelectField(_l("Currency the gift came in"), default="")
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
    name = StringField(_l("Donor's name"), validators=[DataRequired(), Length(max=120),
                                                       NoControlCharacters()])
    email = EmailField(_l("Donor's email"), validators=[DataRequired(), Email(),
                                                        Length(max=254)])
    method = SelectField(_l("How it was given"), choices=[
        SelectChoice("cheque", _l("Cheque")),
        SelectChoice("bank_transfer", _l("Bank transfer")),
        SelectChoice("cash", _l("Cash"))])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    note = StringField(_l("Note (cheque number, bank reference…)"),
                       validators=[Optional(), Length(max=500), NoControlCharacters()])
    submit = SubmitField(_l("Record gift"))


class VoidOfflineGiftForm(FlaskForm):
    """Void an offline gift entered in error (or a cheque that bounced)."""

    reason = TextAreaField(_l("Why is this gift void?"),
                           validators=[DataRequired(_l("Say why this gift is void.")),
                                       Length(max=500), NoControlCharacters(multiline=True)])
    submit = SubmitField(_l("Void this gift"))


class NewUserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r) for r in ROLES])
    submit = SubmitField(_l("Add staff member"))


class EditUserForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r) for r in ROLES])
    is_active = BooleanField(_l("May log in"))
    submit = SubmitField(_l("Save"))


# An appeal's status in the staff's words (the form's choices, the appeal list).
APPEAL_STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"),
                        "closed": _l("Closed")}


class AppealForm(FlaskForm):
    slug = StringField(_l("Address (slug)"), validators=[DataRequired(), Length(max=80)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = StringField(_l("Summary"), validators=[Optional(), Length(max=300)])
    language = SelectField(_l("Language of the appeal"), choices=[
        SelectChoice("en", "English"), SelectChoice("he", "עברית"),
        SelectChoice("ar", "العربية"), SelectChoice("fr", "Français"),
        SelectChoice("de", "Deutsch")])
    story_md = TextAreaField(_l("Story (Markdown)"), validators=[Optional(),
                                                                 Length(max=50_000)])
    thank_you_md = TextAreaField(_l("Thank-you message (Markdown)"),
                                 validators=[Optional(), Length(max=10_000)])
    # choices: the app's currencies (limits.CURRENCIES or config), set by the view
    currency = SelectField(_l("Currency"), validators=[DataRequired()])
    goal = StringField(_l("Goal"), validators=[DataRequired(), Length(max=20)])
    suggested = StringField(_l("Suggested amounts"), validators=[Optional(), Length(max=100)])
    other_currencies = TextAreaField(
        _l("Other currencies donors may give in"),
        validators=[Optional(), Length(max=1000)], render_kw={"dir": "ltr", "rows": 3})
    # choices: none, or one of the app's currencies, set by the view
    second_currency = SelectField(_l("Also show the total in"), validate_choice=False)
    ends_on = DateField(_l("Last day"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=[
        SelectChoice(value, label) for value, label in APPEAL_STATUS_LABELS.items()])
    asks_signatures = BooleanField(_l("Ask for signatures (sign-on)"))
    signature_goal = IntegerField(
        _l("Signature goal (optional)"),
        validators=[Optional(), NumberRange(min=1, max=100_000_000, message=_l(
            "Enter a whole number of signatures, from 1 to 100,000,000."))])
    hero = FileField(_l("Hero image (JPEG, PNG or WebP, up to 2 MB)"))
    hero_alt = StringField(_l("Image description (alt text)"),
                           validators=[Optional(), Length(max=300)])
    hero_credit = StringField(_l("Image credit"), validators=[Optional(), Length(max=200)])
    remove_hero = BooleanField(_l("Remove the image"))
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save appeal"))


class RateForm(FlaskForm):
    """One currency's rate per euro, for a day (staff set it by hand)."""

    currency = SelectField(_l("Currency"), validate_choice=False)
    rate = StringField(_l("Units of this currency for one euro"),
                       validators=[DataRequired(_l("Enter the rate, like 3.7865.")),
                                   Length(max=24)], render_kw={"dir": "ltr",
                                                               "inputmode": "decimal"})
    day = DateField(_l("Date of the rate"),
                    validators=[DataRequired(_l("Enter the date of the rate."))])


class EcbImportForm(FlaskForm):
    ecb_file = FileField(_l("The ECB's reference-rate file (eurofxref.csv)"))


class CosignerForm(FlaskForm):
    """One co-signer; the lengths are checked again in appeals.services."""

    name = StringField(_l("Organisation"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"dir": "auto"})
    country = StringField(_l("Country (optional)"), validators=[Optional(), Length(max=80)],
                          render_kw={"dir": "auto"})
    url = StringField(_l("Web address (optional)"), validators=[Optional(), Length(max=500)],
                      render_kw={"dir": "ltr"})
    logo = FileField(_l("Logo (PNG, JPEG or WebP, up to 2 MB)"))
    remove_logo = BooleanField(_l("Remove the logo"))
    position = IntegerField(_l("Position in the list"), validators=[Optional()])


class CosignerBulkForm(FlaskForm):
    lines = TextAreaField(_l("One co-signer per line: name | country | web address"),
                          validators=[DataRequired(), Length(max=100_000)],
                          render_kw={"dir": "auto"})


class PoolForm(FlaskForm):
    """A sponsor match pool's terms, to add a pool or (one form per pool,
    prefixed) to change one. Amounts are in the appeal's currency; the
    window is in UTC."""

    sponsor = StringField(_l("Sponsor's public name"), validators=[Optional(), Length(max=120)])
    anonymous = BooleanField(_l("Anonymous sponsor (no name is shown)"))
    ratio = StringField(_l("Ratio (matched:given)"), validators=[DataRequired(), Length(max=9)],
                        default="1:1")
    cap = StringField(_l("Cap: the most the sponsor gives"),
                      validators=[DataRequired(), Length(max=20)])
    starts_at = DateTimeLocalField(_l("Opens (UTC, optional)"), validators=[Optional()],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    ends_at = DateTimeLocalField(_l("Closes (UTC, optional)"), validators=[Optional()],
                                 format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    per_gift_limit = StringField(_l("Most one gift can unlock (optional)"),
                                 validators=[Optional(), Length(max=20)])
    min_gift = StringField(_l("Smallest gift that is matched (optional)"),
                           validators=[Optional(), Length(max=20)])
    first_time_only = BooleanField(_l("Match first-time donors only"))
    monthly_rule = SelectField(_l("A monthly gift counts"), default=MONTHLY_ONCE, choices=[
        SelectChoice(MONTHLY_ONCE, _l("Once")), SelectChoice(MONTHLY_X12, _l("As a year (× 12)"))])
    submit = SubmitField(_l("Add match pool"))


class TranslationForm(FlaskForm):
    """An appeal's words in another language (the rest stays the appeal's own)."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = StringField(_l("Summary"), validators=[Optional(), Length(max=300)])
    story_md = TextAreaField(_l("Story (Markdown)"), validators=[Optional(),
                                                                 Length(max=50_000)])
    thank_you_md = TextAreaField(_l("Thank-you message (Markdown)"),
                                 validators=[Optional(), Length(max=10_000)])
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save translation"))
