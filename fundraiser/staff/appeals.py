"""The appeal editor (list, new, edit, preview) and an appeal's translations
(one page per language, preview, save, delete)."""

from __future__ import annotations

from datetime import datetime
from datetime import time as dtime

from babel import Locale, UnknownLocaleError
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..appeals import services as appeals
from ..appeals.models import RTL_LANGUAGES, Appeal, AppealTranslation
from ..extensions import db
from ..limits import current as current_limits
from ..media import services as media
from ..money import Money, MoneyError
from . import services
from .auth import client_ip, staff_view
from .blueprint import _money, bp, commit
from .forms import APPEAL_STATUS_LABELS, ActionForm, AppealForm, SelectChoice, TranslationForm
from .models import EDIT_APPEALS, VIEW
from .uploads import stored_upload

# -- appeals --------------------------------------------------------------------

@bp.get("/appeals")
@staff_view(VIEW)
def appeal_list():
    rows = db.session.scalars(select(Appeal).order_by(Appeal.created_at.desc())).all()
    return render_template("staff/appeals.html", appeals=rows, status_labels=APPEAL_STATUS_LABELS)


def _fill_appeal_form(form, appeal):
    form.slug.data = appeal.slug
    form.title.data = appeal.title
    form.summary.data = appeal.summary
    form.language.data = appeal.language
    form.story_md.data = appeal.story_md
    form.thank_you_md.data = appeal.thank_you_md
    form.currency.data = appeal.currency
    form.goal.data = str(appeal.goal.as_decimal())
    form.suggested.data = ", ".join(str(m.as_decimal()) for m in appeal.suggested)
    form.other_currencies.data = "\n".join(
        f"{c.currency} " + ", ".join(str(m.as_decimal()) for m in c.suggested)
        for c in appeal.other_currencies)
    form.second_currency.data = appeal.second_currency or ""
    form.ends_on.data = appeal.ends_at.date() if appeal.ends_at else None
    form.status.data = appeal.status
    form.hero_alt.data = appeal.hero_alt
    form.hero_credit.data = appeal.hero_credit
    form.asks_signatures.data = appeal.asks_signatures
    form.signature_goal.data = appeal.signature_goal


@bp.route("/appeals/new", methods=["GET", "POST"])
@bp.route("/appeals/<int:appeal_id>/edit", methods=["GET", "POST"])
@staff_view(EDIT_APPEALS)
def edit_appeal(appeal_id=None):
    appeal = db.get_or_404(Appeal, appeal_id) if appeal_id else None
    form = AppealForm()
    locked = appeal is not None and appeals.currency_locked(db.session, appeal)
    form.currency.choices = _currency_choices(appeal.currency if locked else None)
    form.second_currency.choices = [SelectChoice("", _("None")), *_currency_choices()]
    if appeal is not None and request.method == "GET":
        _fill_appeal_form(form, appeal)
    if appeal is None and request.method == "GET":
        form.currency.data = "USD"
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = appeals.render_markdown(form.story_md.data or "")
        else:
            saved = _save_appeal(form, appeal)
            if saved is not None:
                commit()
                flash(_("Saved “%(title)s”.", title=saved.title))
                return redirect(url_for("staff.edit_appeal", appeal_id=saved.id), code=303)
    status = 422 if form.errors else 200
    return render_template("staff/appeal_edit.html", form=form, appeal=appeal,
                           preview=preview, currency_locked=locked,
                           text_dir="rtl" if form.language.data in RTL_LANGUAGES else "ltr"
                           ), status


def _currency_choices(only: str | None = None) -> list[SelectChoice]:
    """The currencies the app takes, named in the page's language ("Israeli
    New Shekel (ILS)"); only the appeal's own once its currency is locked."""
    locale = Locale.parse(str(get_locale()))
    codes = [only] if only else current_limits().currencies
    return [SelectChoice(code, f"{locale.currencies.get(code, code)} ({code})")
            for code in codes]


def _save_appeal(form, appeal):
    slug = appeal.slug if appeal is not None else (form.slug.data or "").strip()
    if appeal is None and db.session.scalar(select(Appeal.id).where(Appeal.slug == slug)):
        form.slug.errors.append(_("Another appeal already uses this address."))
        return None
    currency = form.currency.data
    try:
        goal = Money.parse(form.goal.data, currency)
    except MoneyError:
        form.goal.errors.append(_("Enter the goal as a number, like 50000, in a currency "
                                  "such as USD, EUR or ILS."))
        return None
    try:
        suggested = [Money.parse(x, currency) for x in (form.suggested.data or "").split(",")
                     if x.strip()]
    except MoneyError:
        form.suggested.errors.append(_("Separate amounts with commas, like 10, 25, 50."))
        return None
    others = _other_currencies(form)
    second = (form.second_currency.data or "").strip().upper() or None
    if second is not None and second not in current_limits().currencies:
        form.second_currency.errors.append(_("Choose one of the listed currencies."))
        return None
    if others is None:
        return None
    hero = appeal.hero_image if appeal is not None and not form.remove_hero.data else None
    try:
        hero = stored_upload(form.hero, media.HERO) or hero
    except media.UploadError:
        return None
    ends_at = datetime.combine(form.ends_on.data, dtime(23, 59, 59)) if form.ends_on.data \
        else None
    old_status = appeal.status if appeal is not None else None
    try:
        saved = appeals.save_appeal(
            db.session, slug=slug, title=form.title.data, goal=goal,
            story_md=form.story_md.data or "", summary=form.summary.data or "",
            language=form.language.data, thank_you_md=form.thank_you_md.data or "",
            hero_image=hero, hero_alt=form.hero_alt.data or "",
            hero_credit=form.hero_credit.data or "", suggested=suggested, ends_at=ends_at,
            status=form.status.data, limits=current_limits(),
            signatures=(form.asks_signatures.data, form.signature_goal.data))
        appeals.set_currencies(db.session, saved, others, second, limits=current_limits())
    except appeals.AppealError as exc:
        _appeal_error(form, str(exc), currency)
        db.session.rollback()
        return None
    action = "appeal.created" if appeal is None else "appeal.updated"
    services.audit(db.session, current_user, action, "appeal", saved.id, ip=client_ip(),
                   slug=saved.slug, status=[old_status, saved.status],
                   goal_minor=saved.goal_minor, currency=saved.currency,
                   other_currencies=saved.accepted_currencies[1:],
                   second_currency=saved.second_currency)
    return saved


def _other_currencies(form) -> list | None:
    """'ILS 50, 100, 180' per line → [("ILS", [Money…])], or None with the
    reason beside the field."""
    others = []
    for number, line in enumerate((form.other_currencies.data or "").splitlines(), 1):
        code, _sep, rest = line.strip().partition(" ")
        if not code:
            continue
        code = code.upper()
        if code not in current_limits().currencies:
            form.other_currencies.errors.append(_(
                "Line %(number)s: start with a currency code the app takes, like ILS or EUR.",
                number=number))
            return None
        try:
            amounts = [Money.parse(x, code) for x in rest.split(",") if x.strip()]
        except MoneyError:
            form.other_currencies.errors.append(_(
                "Line %(number)s: after the code, separate amounts with commas, like "
                "ILS 50, 100, 180.", number=number))
            return None
        others.append((code, amounts))
    return others


def _appeal_error(form, code: str, currency: str) -> None:
    """A refused save, as a sentence beside the field it concerns."""
    largest = current_limits().largest(currency)
    at_most = _("It can be at most %(largest)s.", largest=_money(largest.minor, currency))
    field, message = {
        "slug must be lowercase letters, digits and dashes":
            (form.slug, _("The address may use lowercase letters, digits and dashes only.")),
        "title is required": (form.title, _("Give the appeal a title.")),
        "goal must be positive": (form.goal, _("The goal must be more than zero.")),
        "goal too large": (form.goal, _("That goal is too large.") + " " + at_most),
        "suggested amounts must be positive, in the goal's currency":
            (form.suggested, _("Suggested amounts must be more than zero.")),
        "suggested amount too large":
            (form.suggested, _("A suggested amount is too large.") + " " + at_most),
        "currency locked": (form.currency, _("The currency cannot change once the appeal "
                                             "has gifts or match pools.")),
        "currency listed twice": (form.other_currencies, _(
            "List each other currency once, and not the appeal's own.")),
        "other amounts must be positive, in their currency": (form.other_currencies, _(
            "Suggested amounts must be more than zero.")),
        "other amount too large": (form.other_currencies, _(
            "A suggested amount is too large.")),
        "too many currencies": (form.other_currencies, _("At most 8 other currencies.")),
        "too many suggested amounts": (form.other_currencies, _(
            "At most 6 suggested amounts per currency.")),
    }.get(code, (form.currency, _("Choose one of the listed currencies.")))
    field.errors.append(message)


# -- translations -----------------------------------------------------------------

def _language_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(str(get_locale())) or code
    except (ValueError, UnknownLocaleError):
        return code


def _target_locales(appeal) -> list[str]:
    return [code for code in current_app.config["LANGUAGES"] if code != appeal.language]


@bp.route("/appeals/<int:appeal_id>/translations", methods=["GET"])
@bp.route("/appeals/<int:appeal_id>/translations/<locale>", methods=["GET", "POST"])
@staff_view(EDIT_APPEALS)
def translate_appeal(appeal_id, locale=None):
    appeal = db.get_or_404(Appeal, appeal_id)
    targets = _target_locales(appeal)
    if locale is None:
        if not targets:
            abort(404)
        return redirect(url_for("staff.translate_appeal", appeal_id=appeal.id,
                                locale=targets[0]))
    if locale not in targets:
        abort(404)
    translation = appeals.translation_for(db.session, appeal.id, locale)
    form = TranslationForm()
    if request.method == "GET" and translation is not None:
        form.process(obj=translation)
    preview = None
    if form.validate_on_submit():
        if form.preview.data:
            preview = {"title": form.title.data.strip(), "summary": form.summary.data or "",
                       "story_html": appeals.render_markdown(form.story_md.data or ""),
                       "thank_you_html": appeals.render_markdown(form.thank_you_md.data or "")}
        else:
            done = _save_translation(form, appeal, locale, targets)
            if done is not None:
                return done
    existing = set(db.session.scalars(select(AppealTranslation.locale).where(
        AppealTranslation.appeal_id == appeal.id)))
    status = 422 if form.errors else 200
    return render_template(
        "staff/translate.html", appeal=appeal, form=form, locale=locale, preview=preview,
        translation=translation, targets=targets, existing=existing,
        names={code: _language_name(code) for code in [*targets, appeal.language]},
        target_dir="rtl" if locale in RTL_LANGUAGES else "ltr",
        action_form=ActionForm()), status


def _save_translation(form, appeal, locale, targets):
    """Save, audit, commit; a redirect, or None with the error on the form."""
    try:
        saved, created = appeals.save_translation(
            db.session, appeal, locale, languages=targets, title=form.title.data,
            summary=form.summary.data or "", story_md=form.story_md.data or "",
            thank_you_md=form.thank_you_md.data or "")
        services.audit(db.session, current_user, "appeal.translation_saved", "appeal",
                       appeal.id, ip=client_ip(), locale=locale, created=created,
                       title=saved.title)
        commit()
    except appeals.AppealError:
        db.session.rollback()
        form.title.errors.append(_("Give the translation a title."))
        return None
    except IntegrityError:  # another editor created it a moment ago
        db.session.rollback()
        form.form_errors.append(_("Someone else saved this translation at the same moment. "
                                  "Check it below and save again."))
        return None
    flash(_("Saved the %(language)s translation.", language=_language_name(locale)))
    return redirect(url_for("staff.translate_appeal", appeal_id=appeal.id, locale=locale),
                    code=303)


@bp.post("/appeals/<int:appeal_id>/translations/<locale>/delete")
@staff_view(EDIT_APPEALS)
def delete_translation(appeal_id, locale):
    appeal = db.get_or_404(Appeal, appeal_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if appeals.delete_translation(db.session, appeal, locale):
        services.audit(db.session, current_user, "appeal.translation_deleted", "appeal",
                       appeal.id, ip=client_ip(), locale=locale)
        commit()
        flash(_("Removed the %(language)s translation: visitors read the original again.",
                language=_language_name(locale)))
    return redirect(url_for("staff.edit_appeal", appeal_id=appeal.id), code=303)
