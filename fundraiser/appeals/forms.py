"""The sign-on form: name, email, country, a comment and consent (never
pre-ticked). Lengths match appeals.signatures; text with control or
direction-override characters is refused with a message (fundraiser/text.py)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..text import NoControlCharacters
from .signatures import COMMENT_MAX, COUNTRY_MAX, EMAIL_MAX, NAME_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SignForm(FlaskForm):
    name = StringField(
        _l("Full name"), filters=[_strip], render_kw={"dir": "auto"},
        validators=[DataRequired(_l("Please tell us your name.")),
                    Length(max=NAME_MAX, message=_l(
                        "Please keep your name under %(max)s characters.", max=NAME_MAX)),
                    NoControlCharacters()])
    email = EmailField(
        _l("Email"), filters=[_strip],
        validators=[DataRequired(_l("We need your email to confirm your signature.")),
                    Length(max=EMAIL_MAX, message=_l("That email address is too long.")),
                    NoControlCharacters(message=_l(
                        "That email address has characters an address cannot have. "
                        "Please type it again.")),
                    Email(_l("That does not look like an email address."),
                          check_deliverability=False)])
    country = StringField(
        _l("Country (optional)"), filters=[_strip], render_kw={"dir": "auto"},
        validators=[Optional(), Length(max=COUNTRY_MAX, message=_l(
            "At most %(max)s characters.", max=COUNTRY_MAX)), NoControlCharacters()])
    comment = TextAreaField(
        _l("Comment (optional)"), filters=[_strip], render_kw={"dir": "auto", "rows": 3},
        validators=[Optional(), Length(max=COMMENT_MAX, message=_l(
            "At most %(max)s characters.", max=COMMENT_MAX)),
            NoControlCharacters(multiline=True)])
    consent = BooleanField(_l("Keep me informed about this campaign by email"))
