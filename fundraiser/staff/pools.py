"""An appeal's match pools: add one, change its terms, and say in words why
a change was refused."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..appeals.models import Appeal
from ..extensions import db
from ..limits import current as current_limits
from ..matching import rules
from ..matching import services as matching
from ..matching.models import MatchPool
from ..money import Money, MoneyError
from ..payments.models import utcnow
from . import pool_services
from .auth import client_ip, staff_view
from .blueprint import _money, bp, commit
from .forms import PoolForm
from .models import EDIT_APPEALS

# -- match pools ----------------------------------------------------------------

def _pool_change_form(pool, formdata=None):
    # CSRF is checked for every POST by CSRFProtect (the plain `csrf_token`
    # field); a prefixed form would otherwise want `p<id>-csrf_token`.
    form = PoolForm(formdata=formdata, prefix=f"p{pool.id}", meta={"csrf": False})
    if formdata is None:
        form.sponsor.data = pool.sponsor_name
        form.anonymous.data = pool.is_anonymous
        form.ratio.data = pool.ratio
        form.cap.data = _amount_text(pool.cap_minor, pool.currency)
        form.starts_at.data = pool.starts_at
        form.ends_at.data = pool.ends_at
        form.per_gift_limit.data = _amount_text(pool.per_gift_limit_minor, pool.currency)
        form.min_gift.data = _amount_text(pool.min_gift_minor, pool.currency)
        form.first_time_only.data = pool.first_time_only
        form.monthly_rule.data = pool.monthly_rule
    return form


def _amount_text(minor, currency):
    return str(Money(minor, currency).as_decimal()) if minor else ""


def _render_pools(appeal, form=None, change_forms=None, status=200):
    pools = matching.pools_for(db.session, appeal.id)
    forms = {p.id: _pool_change_form(p) for p in pools}
    forms.update(change_forms or {})
    return render_template("staff/pools.html", appeal=appeal, pools=pools,
                           form=form or PoolForm(formdata=None), change_forms=forms,
                           now=utcnow()), status


@bp.get("/appeals/<int:appeal_id>/pools")
@staff_view(EDIT_APPEALS)
def pools(appeal_id):
    return _render_pools(db.get_or_404(Appeal, appeal_id))


def _optional_minor(field, currency, errors_to):
    """Money in minor units from an optional field; None when empty."""
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        return Money.parse(text, currency).minor
    except MoneyError:
        errors_to.append(_("Enter an amount like 250 or 250.50, in %(currency)s.",
                           currency=currency))
        return None


def _ratio_message():
    return _("Write the ratio as two whole numbers, like 1:1, 2:1 or 1:2 (at most 1000).")


def _pool_terms(form, currency):
    """A pool's terms from the add or change form (pool_services.PoolTerms'
    fields), or None with each problem beside its field."""
    try:
        ratio = rules.parse_ratio(form.ratio.data)
    except ValueError:
        ratio = None
        form.ratio.errors.append(_ratio_message())
    cap = _optional_minor(form.cap, currency, form.cap.errors)
    limit = _optional_minor(form.per_gift_limit, currency, form.per_gift_limit.errors)
    minimum = _optional_minor(form.min_gift, currency, form.min_gift.errors)
    if form.errors:
        return None
    return dict(sponsor_name=form.sponsor.data or "", anonymous=form.anonymous.data,
                ratio=ratio, cap_minor=cap or 0, starts_at=form.starts_at.data,
                ends_at=form.ends_at.data, per_gift_limit_minor=limit,
                min_gift_minor=minimum or 0, first_time_only=form.first_time_only.data,
                monthly_rule=form.monthly_rule.data)


def _as_shown(submitted, stored):
    """The form shows times to the minute: a time sent back as shown is the
    stored one, not a change that drops its seconds."""
    if submitted is not None and stored is not None and \
            submitted == stored.replace(second=0, microsecond=0):
        return stored
    return submitted


@bp.post("/appeals/<int:appeal_id>/pools")
@staff_view(EDIT_APPEALS)
def create_pool(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    form = PoolForm()
    if form.validate_on_submit():
        terms = _pool_terms(form, appeal.currency)
        if terms is not None:
            try:
                pool = pool_services.create_match_pool(db.session, appeal=appeal,
                                                       actor=current_user, ip=client_ip(),
                                                       limits=current_limits(), **terms)
            except pool_services.PoolError as exc:
                db.session.rollback()
                _pool_error(form, str(exc), appeal.currency)
            else:
                commit()
                flash(_("Added a %(ratio)s match pool of %(cap)s.", ratio=pool.ratio,
                        cap=_money(pool.cap_minor, pool.currency)))
                return redirect(url_for("staff.pools", appeal_id=appeal.id) + "#main",
                                code=303)
    return _render_pools(appeal, form=form, status=422)


@bp.post("/appeals/<int:appeal_id>/pools/<int:pool_id>")
@staff_view(EDIT_APPEALS)
def change_pool(appeal_id, pool_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    pool = db.get_or_404(MatchPool, pool_id)
    if pool.appeal_id != appeal.id:
        abort(404)
    form = _pool_change_form(pool, formdata=request.form)
    if form.validate_on_submit():
        terms = _pool_terms(form, pool.currency)
        if terms is not None:
            terms["starts_at"] = _as_shown(terms["starts_at"], pool.starts_at)
            terms["ends_at"] = _as_shown(terms["ends_at"], pool.ends_at)
            try:
                changed = pool_services.change_match_pool(db.session, pool.id, actor=current_user,
                                                          ip=client_ip(),
                                                          limits=current_limits(), **terms)
            except pool_services.PoolError as exc:
                db.session.rollback()
                _pool_error(form, str(exc), pool.currency, pool)
            else:
                commit()
                if changed:
                    flash(_("Saved the pool's changes. They apply to gifts from now on; "
                            "what is already matched stays as it is."))
                else:
                    flash(_("Nothing changed."))
                # Back to the top (the form went to #pool-<id>, which a redirect
                # without a fragment keeps): the message, and the summary table.
                return redirect(url_for("staff.pools", appeal_id=appeal.id) + "#main",
                                code=303)
    return _render_pools(appeal, change_forms={pool.id: form}, status=422)


def _pool_error(form, code, currency, pool=None):
    """A refused pool change, as a sentence beside the field it concerns."""
    largest = _money(current_limits().largest(currency).minor, currency)
    if code == "cap below matched":
        form.cap.errors.append(_(
            "The cap cannot be lower than what is already matched (%(matched)s). "
            "Nothing was changed.",
            matched=_money(pool.allocated_minor, currency) if pool else "?"))
    elif code in ("cap must be positive", "cap too large"):
        form.cap.errors.append(_("Enter a cap more than zero and at most %(max)s.",
                                 max=largest))
    elif code == "ratio out of range":
        form.ratio.errors.append(_ratio_message())
    elif code == "the pool must end after it starts":
        form.ends_at.errors.append(_("The pool must close after it opens."))
    elif code == "window out of range":
        starts = form.starts_at.data
        first, last = pool_services.POOL_YEARS
        field = form.starts_at if starts and not (first <= starts.year <= last) else form.ends_at
        field.errors.append(_("Use dates between the years 2000 and 2100."))
    elif code in ("per-gift limit must be positive", "per-gift limit above the cap"):
        form.per_gift_limit.errors.append(_("The limit per gift must be more than zero and "
                                            "not more than the cap."))
    elif code == "minimum gift out of range":
        form.min_gift.errors.append(_("Enter a minimum gift of zero or more, at most %(max)s.",
                                      max=largest))
    elif code == "sponsor name has control characters":
        form.sponsor.errors.append(_("The sponsor's name has characters that cannot be shown "
                                     "(such as line breaks or direction marks). Type it "
                                     "again."))
    elif code == "sponsor name too long":
        form.sponsor.errors.append(_("Keep the sponsor's name to 120 characters."))
    elif code == "name the sponsor or make the pool anonymous":
        form.sponsor.errors.append(_("Give the sponsor's name, or tick “Anonymous sponsor”."))
    elif code == "monthly rule unknown":
        form.monthly_rule.errors.append(_("Choose how a monthly gift counts."))
    else:
        form.form_errors.append(_("The pool could not be saved. Check the values and try "
                                  "again."))
