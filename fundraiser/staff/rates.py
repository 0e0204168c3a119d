"""The exchange-rate table (issue 19): see the current rates, set one by
hand, import the European Central Bank's daily file. Nothing is fetched
from the internet: finance staff upload the file they downloaded."""

from __future__ import annotations

from babel import Locale
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..limits import LimitError
from ..limits import current as current_limits
from ..payments.models import utcnow
from ..rates import services as rates
from ..rates.convert import RateError
from ..rates.ecb import MAX_BYTES, EcbFormatError
from ..rates.models import BASE
from . import services
from .auth import client_ip, staff_view
from .blueprint import bp, commit
from .forms import EcbImportForm, RateForm, SelectChoice
from .models import EDIT_RATES


def _forms():
    rate_form, ecb_form = RateForm(prefix="rate"), EcbImportForm(prefix="ecb")
    locale = Locale.parse(str(get_locale()))
    rate_form.currency.choices = [
        SelectChoice(code, f"{locale.currencies.get(code, code)} ({code})")
        for code in current_limits().currencies if code != BASE]
    if request.method == "GET":
        rate_form.day.data = utcnow().date()
    return rate_form, ecb_form


def _page(rate_form, ecb_form, status=200):
    current = rates.current_rates(db.session)
    codes = [c for c in current_limits().currencies if c != BASE]
    return render_template("staff/rates.html", rate_form=rate_form, ecb_form=ecb_form,
                           rows=[(code, current.get(code)) for code in codes],
                           base=BASE), status


@bp.get("/rates")
@staff_view(EDIT_RATES)
def rates_page():
    return _page(*_forms())


@bp.post("/rates")
@staff_view(EDIT_RATES)
def set_rate():
    rate_form, ecb_form = _forms()
    if not rate_form.validate_on_submit():
        return _page(rate_form, ecb_form, 422)
    try:
        row = rates.set_rate(db.session, rate_form.currency.data, rate_form.rate.data,
                             rate_form.day.data, by=current_user.email,
                             limits=current_limits())
    except LimitError:
        rate_form.currency.errors.append(_("Choose one of the listed currencies."))
        return _page(rate_form, ecb_form, 422)
    except RateError:
        rate_form.rate.errors.append(_("Enter the rate as a positive number with a dot, "
                                       "like 3.7865."))
        return _page(rate_form, ecb_form, 422)
    services.audit(db.session, current_user, "rate.set", "exchange_rate", row.id,
                   ip=client_ip(), currency=row.currency, rate=row.rate,
                   day=row.rate_date.isoformat())
    commit()
    flash(_("Saved: one euro buys %(rate)s %(currency)s on %(day)s.", rate=row.rate,
            currency=row.currency, day=row.rate_date.isoformat()))
    return redirect(url_for("staff.rates_page"), code=303)


@bp.post("/rates/ecb")
@staff_view(EDIT_RATES)
def import_ecb():
    rate_form, ecb_form = _forms()
    upload = ecb_form.ecb_file.data
    if not ecb_form.validate_on_submit() or not upload or not getattr(upload, "filename", ""):
        ecb_form.ecb_file.errors = [_("Choose the ECB's file (eurofxref.csv) to import.")]
        return _page(rate_form, ecb_form, 422)
    data = upload.read(MAX_BYTES + 1)
    try:
        parsed = rates.import_ecb(db.session, data, by=current_user.email)
    except EcbFormatError as exc:
        db.session.rollback()
        reason = _(exc.template, **exc.params)  # the messages are marked in rates/ecb.py
        ecb_form.ecb_file.errors = [_("Nothing was imported: %(reason)s", reason=reason)]
        return _page(rate_form, ecb_form, 422)
    services.audit(db.session, current_user, "rate.ecb_import", "exchange_rate", None,
                   ip=client_ip(), day=parsed.day.isoformat(), currencies=len(parsed.rates))
    commit()
    flash(_("Imported %(count)s rates of %(day)s from the ECB's file.",
            count=len(parsed.rates), day=parsed.day.isoformat()))
    return redirect(url_for("staff.rates_page"), code=303)
