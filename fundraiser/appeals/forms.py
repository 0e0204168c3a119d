"""The sign-on form (name, email, country, a comment and consent, never
pre-ticked) and the form an organisation asks to co-sign with. Lengths
match the services' limits; text with control or direction-override
characters is refused with a message (fundraiser/text.py)."""

from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..text import NoControlCharacters
from .signatures import COMMENT_MAX, COUNTRY_MAX, EMAIL_MAX, NAME_MAX


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def link_email(label, missing) -> EmailField:
    """The address a confirmation link is mailed to (signing, asking to
    co-sign): required (`missing` says what for), at most EMAIL_MAX, no
    control characters, and shaped like an address (not looked up)."""
    return EmailField(
        label, filters=[_strip],
        validators=[DataRequired(missing),
                    Length(max=EMAIL_MAX, message=_l("That email address is too long.")),
                    NoControlCharacters(message=_l(
                        "That email address has characters an address cannot have. "
                        "Please type it again.")),
                    Email(_l("That does not look like an email address."),
                          check_deliverability=False)])


class SignForm(FlaskForm):
    name = StringField(
        _l("Full name"), filters=[_strip], render_kw={"dir": "auto"},
        validators=[DataRequired(_l("Please tell us your name.")),
                    Length(max=NAME_MAX, message=_l(
                        "Please keep your name under %(max)s characters.", max=NAME_MAX)),
                    NoControlCharacters()])
    email = link_email(_l("Email"), _l("We need your email to confirm your signature."))
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


def _web_address(form, field):
    """http(s) only, naming a site: never javascript:, data: or a bare word."""
    value = field.data or ""
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
        raise ValidationError(_l("Give the web address in full, starting with https:// "
                                 "(for example https://example.org)."))


class CosignForm(FlaskForm):
    """An organisation asking to co-sign. Lengths match the co-signer columns;
    appeals.cosign checks them again."""

    name = StringField(
        _l("Organisation name"), filters=[_strip], render_kw={"dir": "auto"},
        validators=[DataRequired(_l("Please give the organisation's name.")),
                    Length(max=200, message=_l("At most %(max)s characters.", max=200)),
                    NoControlCharacters()])
    country = StringField(
        _l("Country (optional)"), filters=[_strip], render_kw={"dir": "auto"},
        validators=[Optional(), Length(max=80, message=_l(
            "At most %(max)s characters.", max=80)), NoControlCharacters()])
    url = StringField(
        _l("Website (optional)"), filters=[_strip], render_kw={"dir": "ltr", "type": "url"},
        validators=[Optional(), Length(max=500, message=_l(
            "At most %(max)s characters.", max=500)), NoControlCharacters(), _web_address])
    email = link_email(_l("Contact email"),
                       _l("We need an email address to confirm the request."))
    logo = FileField(_l("Logo (optional: PNG, JPEG or WebP, up to 1 MB)"))
    consent = BooleanField(
        _l("I may speak for this organisation, and it agrees to be listed on this appeal "
           "with its name, country, website and logo."),
        validators=[DataRequired(_l("Please confirm that the organisation agrees to be "
                                    "listed."))])
