"""The staff side. Every view goes through `staff_view(PERMISSION)` (or is
marked public: login, set-password), parses the request, calls services,
commits once, then renders or redirects."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timedelta
from datetime import time as dtime

from babel import Locale, UnknownLocaleError
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from ..appeals import services as appeals
from ..appeals.models import RTL_LANGUAGES, Appeal, AppealTranslation
from ..donations.models import Donation
from ..extensions import db, limiter
from ..matching import rules
from ..matching import services as matching
from ..matching.models import MatchPool
from ..media import services as media
from ..money import Money, MoneyError
from ..payments import states
from ..payments.gateway import GatewayError, OutcomeUnknown
from ..payments.models import utcnow
from . import reports, services
from .auth import (
    check_session_age,
    client_ip,
    public_staff_view,
    safe_next,
    staff_view,
)
from .forms import (
    ActionForm,
    AppealForm,
    EditUserForm,
    LoginForm,
    NewUserForm,
    OfflineGiftForm,
    PoolForm,
    RefundForm,
    SelectChoice,
    SetPasswordForm,
    TranslationForm,
)
from .models import (
    EDIT_APPEALS,
    EXPORT,
    MANAGE_USERS,
    OFFLINE_GIFT,
    REFUND,
    VIEW,
    VIEW_AUDIT,
    AuditEvent,
    StaffUser,
)

bp = Blueprint("staff", __name__, url_prefix="/staff")


# -- per-request plumbing -----------------------------------------------------

@bp.record_once
def _count_queries(state):
    """Count SQL statements per staff request (shown at the foot of each page)."""
    with state.app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args, **_kw):
        if g and "staff_queries" in g:
            g.staff_queries += 1


@bp.before_request
def _before():
    g.staff_queries = 0
    check_session_age()


@bp.after_request
def _after(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(403)
def _forbidden(_e):
    if request.path.startswith("/staff/api/"):
        return jsonify(error="forbidden"), 403
    return render_template("staff/403.html"), 403


@bp.app_context_processor
def _staff_context():
    return {"query_count": lambda: g.get("staff_queries")}


def _money(minor, currency):
    return Money(int(minor), currency).format(str(get_locale()))


def commit():
    """Commit a staff change, and drop this process's cached public pages so
    they show it at once (other workers within PUBLIC_CACHE_SECONDS)."""
    db.session.commit()
    current_app.extensions["fundraiser.public_cache"].clear()


# -- login, logout, passwords ---------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
@public_staff_view
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user, outcome = services.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            services.audit(db.session, user, "staff.login", "staff_user", user.id,
                           ip=client_ip())
            commit()
            target = safe_next(request.args.get("next"))
            session.clear()  # no session fixation: a fresh session for the login
            login_user(user)
            session["staff_auth_at"] = int(time.time())
            return redirect(target or url_for("staff.dashboard"))
        if outcome == "locked":
            form.form_errors.append(_(
                "Too many failed attempts: this account is locked for 15 minutes. "
                "Try again later, or ask an admin for a new set-password link."))
        else:
            form.form_errors.append(_("That email and password do not match. "
                                      "Check both and try again."))
        commit()  # keep the failure count
        status = 401
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
@staff_view(VIEW)
def logout():
    if ActionForm().validate_on_submit():
        logout_user()
        session.clear()
    return redirect(url_for("staff.login"))


@bp.post("/logout-everywhere")
@staff_view(VIEW)
def logout_everywhere():
    if ActionForm().validate_on_submit():
        services.log_out_everywhere(db.session, current_user)
        services.audit(db.session, current_user, "staff.logout_everywhere", "staff_user",
                       current_user.id, ip=client_ip())
        commit()
        logout_user()
        session.clear()
    return redirect(url_for("staff.login"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public_staff_view
def set_password(token):
    user = services.user_for_token(db.session, token)
    if user is None:
        return render_template("staff/set_password.html", form=None), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password(db.session, user, form.password.data)
        except services.StaffError:
            form.password.errors.append(_("Use at least 12 characters, and not your email "
                                          "address."))
        else:
            services.audit(db.session, user, "staff.password_set", "staff_user", user.id,
                           ip=client_ip())
            commit()
            logout_user()
            session.clear()
            flash(_("Your password is set. Log in with it now."))
            return redirect(url_for("staff.login"))
    return render_template("staff/set_password.html", form=form, user=user)


# -- dashboard ------------------------------------------------------------------

def _appeal_arg() -> Appeal | None:
    raw = request.args.get("appeal", "")
    if not raw:
        return None
    appeal = db.session.get(Appeal, int(raw)) if raw.isdigit() else None
    if appeal is None:
        abort(404)
    return appeal


def _figures(appeal: Appeal | None) -> list[reports.Figures]:
    if appeal is not None:
        return [reports.figures(db.session, currency=appeal.currency,
                                goal_minor=appeal.goal_minor, appeal_id=appeal.id,
                                matched_minor=matching.matched_minor(db.session, appeal))]
    return reports.overall_figures(db.session, lambda a: matching.matched_minor(db.session, a))


@bp.get("/")
@staff_view(VIEW)
def dashboard():
    appeal = _appeal_arg()
    span = "hour" if request.args.get("span") == "hour" else "day"
    currency = appeal.currency if appeal else None
    timeline = reports.gifts_over_time(db.session, span=span,
                                       appeal_id=appeal.id if appeal else None,
                                       currency=currency)
    figures = _figures(appeal)
    return render_template(
        "staff/dashboard.html", appeal=appeal, span=span, figures=figures,
        recent=reports.recent_gifts(db.session, appeal.id if appeal else None),
        appeals=db.session.execute(select(Appeal.id, Appeal.title).order_by(Appeal.title)).all(),
        timeline=timeline,
        by_currency=[(f.currency, f.gift_count, f.raised_minor, f.currency) for f in figures
                     if f.gift_count],
        by_source=reports.gifts_by(db.session, "source", appeal.id if appeal else None),
    )


def _gift_json(d: Donation) -> dict:
    return {"id": d.id, "name": d.donor_name, "appeal": d.appeal.title,
            "amount": _money(d.amount_minor, d.currency), "status": d.payment.status,
            "status_label": status_label(d.payment.status),
            "at": format_datetime(d.created_at, "short"),
            "url": url_for("staff.donation", donation_id=d.id)}


@bp.get("/api/recent")
@staff_view(VIEW)
def recent_json():
    appeal = _appeal_arg()
    figures = _figures(appeal)
    return jsonify(
        figures=[{"currency": f.currency, "raised": _money(f.raised_minor, f.currency),
                  "matched": _money(f.matched_minor, f.currency),
                  "total": _money(f.total_minor, f.currency), "donors": f.donor_count,
                  "gifts": f.gift_count, "average": _money(f.average_minor, f.currency),
                  "median": _money(f.median_minor, f.currency), "percent": f.percent,
                  "raised_minor": f.raised_minor}
                 for f in figures],
        gifts=[_gift_json(d) for d in
               reports.recent_gifts(db.session, appeal.id if appeal else None)],
    )


def _svg_response(svg: bytes) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    # The SVG carries its own <style> (pygal's) and no script: allow only that.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'none'")
    return response


@bp.get("/charts/<name>.svg")
@staff_view(VIEW)
def chart(name):
    appeal = _appeal_arg()
    appeal_id = appeal.id if appeal else None
    if name == "time":
        span = "hour" if request.args.get("span") == "hour" else "day"
        rows = reports.gifts_over_time(db.session, span=span, appeal_id=appeal_id,
                                       currency=appeal.currency if appeal else None)
        labels = [label[5:] for label, _n, _t in rows]
        series = {_("Gifts"): [n for _l, n, _t in rows]}
        if appeal is not None:
            series = {_("Raised (%(currency)s)", currency=appeal.currency):
                      [reports.major_units(t, appeal.currency) for _l, _n, t in rows]}
        title = _("Gifts per hour") if span == "hour" else _("Gifts per day")
        return _svg_response(reports.svg_chart("bar", title, labels, series))
    if name in ("currency", "source"):
        rows = reports.gifts_by(db.session, name, appeal_id)
        labels = [f"{k} ({cur})" if name == "source" and appeal is None else k
                  for k, _n, _t, cur in rows]
        title = _("Gifts by currency") if name == "currency" else _("Gifts by source")
        return _svg_response(reports.svg_chart("hbar", title, labels,
                                               {_("Gifts"): [n for _k, n, _t, _c in rows]}))
    abort(404)


# -- donations ------------------------------------------------------------------

STATUS_LABELS = {
    states.CREATED: "Started", states.PROCESSING: "Processing",
    states.REQUIRES_ACTION: "Needs authentication", states.SUCCEEDED: "Succeeded",
    states.FAILED: "Failed", states.CANCELED: "Canceled",
    states.PARTIALLY_REFUNDED: "Partly refunded", states.REFUNDED: "Refunded",
    states.DISPUTED: "Disputed", states.DISPUTE_LOST: "Dispute lost",
}


def N_(text):
    return text


_STATUS_MSGIDS = (N_("Started"), N_("Processing"), N_("Needs authentication"),
                  N_("Succeeded"), N_("Failed"), N_("Canceled"), N_("Partly refunded"),
                  N_("Refunded"), N_("Disputed"), N_("Dispute lost"))


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


@bp.app_template_filter("offline_method")
def _method_filter(method):
    return {"cheque": _("Cheque"), "bank_transfer": _("Bank transfer"),
            "cash": _("Cash")}.get(method, method)


@bp.app_template_filter("staff_status")
def _status_filter(status):
    return status_label(status)


@bp.app_template_filter("status_cause")
def _cause_filter(cause):
    """A payment status change's cause (see payments.services.caused_by), in words."""
    fixed = {"gateway answer": _("the payment service's answer to our request"),
             "card submitted": _("the donor submitted the card"),
             "history begins": _("the status when this history began"),
             "reconcile": _("reconcile, checking with the payment service"),
             "charge-pledges": _("a saved-card pledge charged at the close")}
    if cause in fixed:
        return fixed[cause]
    for prefix, words in (("webhook ", _("event from the payment service: %(what)s")),
                          ("refund by ", _("refund by %(what)s")),
                          ("offline gift entered by ", _("offline gift entered by %(what)s"))):
        if cause.startswith(prefix):
            return words % {"what": cause[len(prefix):]}
    return cause


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


@bp.get("/donations")
@staff_view(VIEW)
def donations():
    filters = reports.parse_filters(request.args)
    table = reports.donations_page(db.session, filters, _page_arg(),
                                   request.args.get("cursor", ""))
    return render_template("staff/donations.html", rows=table.rows, total=table.total,
                           table=table, f=filters,
                           choices=reports.filter_choices(db.session), statuses=states.ALL)


@bp.get("/donations/<int:donation_id>")
@staff_view(VIEW)
def donation(donation_id):
    d = db.get_or_404(Donation, donation_id)
    form = RefundForm(formdata=None)
    form.amount.data = str(Money(services.refundable_minor(db.session, d.payment),
                                 d.currency).as_decimal())
    return _render_donation(d, form)


def _render_donation(d, form, status=200):
    history = reports.donation_history(db.session, d)
    events = [(e, _event_summary(e)) for e in history.pop("events")]
    return render_template("staff/donation.html", d=d, form=form, events=events,
                           refundable=services.refundable_minor(db.session, d.payment),
                           refund_errors=_refund_errors(), **history), status


def _refund_errors() -> dict[str, str]:
    """Our own words for a failed refund; the gateway's stay as it said them."""
    return {
        services.REFUND_NOT_AT_GATEWAY: _("The payment service never received this refund "
                                          "(found by reconcile); nothing was refunded."),
        services.REFUND_NOT_MADE: _("The payment service did not make this refund "
                                    "(found by reconcile); nothing was refunded."),
    }


def _event_summary(event) -> str:
    try:
        obj = json.loads(event.payload)["data"]["object"]
    except (ValueError, KeyError, TypeError):
        return ""
    parts = [str(obj.get(k)) for k in ("status", "amount", "amount_refunded", "currency")
             if obj.get(k) not in (None, "")]
    return " · ".join(parts)


@bp.post("/donations/<int:donation_id>/refund")
@staff_view(REFUND)
def refund(donation_id):
    d = db.get_or_404(Donation, donation_id)
    form = RefundForm()
    if not form.validate_on_submit():
        return _render_donation(d, form, 422)
    try:
        amount = Money.parse(form.amount.data, d.currency)
        pending = services.begin_refund(db.session, donation=d, amount_minor=amount.minor,
                                        reason=form.reason.data, actor=current_user,
                                        ip=client_ip())
    except MoneyError:
        db.session.rollback()
        form.amount.errors.append(_("Enter an amount like 25 or 25.50."))
        return _render_donation(d, form, 422)
    except services.RefundError as exc:
        db.session.rollback()
        form.amount.errors.append(_refund_message(str(exc)))
        return _render_donation(d, form, 422)
    call = dict(intent_id=d.payment.intent_id, amount_minor=pending.amount_minor,
                key=services.refund_key(d.payment.reference, pending.number))
    refund_id = pending.id
    # The reservation commits before the gateway is called: no lock is held
    # during the call, and a second refund cannot reserve the same money.
    commit()
    gateway = current_app.extensions["fundraiser.gateway"]
    try:
        result = gateway.refund(**call)
    except OutcomeUnknown as exc:
        # Stripe may have refunded: the money stays reserved and the refund
        # pending, and `flask reconcile` settles it from Stripe's own list.
        services.audit(db.session, current_user, "refund.unconfirmed", "donation", d.id,
                       ip=client_ip(), refund_id=refund_id, error=str(exc)[:300])
        commit()
        flash(_("The payment service did not confirm this refund. It stays pending, and "
                "the amount stays reserved, until a check with the payment service (within "
                "a few minutes) settles it. Do not refund it again."), "error")
        return redirect(url_for("staff.donation", donation_id=donation_id), code=303)
    except GatewayError as exc:
        services.fail_refund(db.session, refund_id, str(exc), current_user, ip=client_ip())
        commit()
        flash(_("The payment service refused or did not answer; nothing was refunded. "
                "Try again in a minute."), "error")
        return redirect(url_for("staff.donation", donation_id=donation_id), code=303)
    services.finish_refund(db.session, refund_id, result.refund_id, current_user,
                           ip=client_ip())
    commit()
    flash(_("Refunded %(amount)s.", amount=_money(call["amount_minor"], d.currency)))
    return redirect(url_for("staff.donation", donation_id=donation_id), code=303)


def _refund_message(code: str) -> str:
    return {
        "a reason is required": _("Say why this gift is refunded."),
        "only card gifts can be refunded through the payment service":
            _("Only card gifts can be refunded here. Return an offline gift by hand."),
        "only a succeeded gift can be refunded": _("Only a succeeded gift can be refunded."),
        "the amount must be positive": _("The amount must be more than zero."),
        "more than is left to refund": _("That is more than is left to refund."),
    }.get(code, code)


def _csv_safe(value) -> str:
    """Formula-injection guard: a text cell that a spreadsheet would run as a
    formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    text = str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _stream_csv(header, rows, filename):
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_safe(v) for v in row])
            if buffer.tell() > 32_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/donations.csv")
@staff_view(EXPORT)
def donations_csv():
    filters = reports.parse_filters(request.args)
    services.audit(db.session, current_user, "export.donations", ip=client_ip(),
                   filters=filters.as_args())
    commit()
    names = [name for name, _c in reports.EXPORT_COLUMNS]
    at = names.index("currency") + 1
    header = names[:at] + ["amount", "refunded"] + names[at:]

    def rows():
        for row in reports.iter_donations(db.session, filters):
            values = dict(zip(names, row, strict=True))
            extra = [format(Money(values[k], values["currency"]).as_decimal(), "f")
                     for k in ("amount_minor", "refunded_minor")]
            yield list(row[:at]) + extra + list(row[at:])

    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return _stream_csv(header, rows(), f"donations-{stamp}.csv")


# -- donors ---------------------------------------------------------------------

@bp.get("/donors")
@staff_view(VIEW)
def donors():
    q = (request.args.get("q") or "").strip()[:100]
    rows, total, page, pages = reports.donors_page(db.session, q, _page_arg())
    return render_template("staff/donors.html", rows=rows, total=total, page=page,
                           pages=pages, q=q)


@bp.get("/donors/gifts")
@staff_view(VIEW)
def donor():
    email = (request.args.get("email") or "").strip().lower()[:254]
    gifts = reports.donor_gifts(db.session, email) if email else []
    if not gifts:
        abort(404)
    totals = db.session.execute(reports.donors_query(db.session).where(
        func.lower(Donation.email) == email)).all()
    return render_template("staff/donor.html", email=email, gifts=gifts, totals=totals)


@bp.get("/donors.csv")
@staff_view(EXPORT)
def donors_csv():
    q = (request.args.get("q") or "").strip()[:100]
    services.audit(db.session, current_user, "export.donors", ip=client_ip(), q=q)
    commit()

    def rows():
        offset = 0
        query = reports.donors_query(db.session, q).order_by("email", Donation.currency)
        while True:
            chunk = db.session.execute(query.offset(offset).limit(1000)).all()
            db.session.rollback()  # no transaction held while streaming
            if not chunk:
                return
            for r in chunk:
                yield (r.email, r.name, r.currency, r.gifts, int(r.lifetime or 0),
                       r.first_at, r.last_at)
            offset += len(chunk)

    return _stream_csv(["email", "name", "currency", "gifts", "lifetime_minor", "first_gift",
                        "last_gift"], rows(), "donors.csv")


# -- offline gifts --------------------------------------------------------------

@bp.route("/gifts/new", methods=["GET", "POST"])
@staff_view(OFFLINE_GIFT)
def offline_gift():
    form = OfflineGiftForm()
    appeal_list = list(db.session.scalars(select(Appeal).order_by(Appeal.title)))
    form.appeal.choices = [SelectChoice(a.id, f"{a.title} ({a.currency})") for a in appeal_list]
    if form.validate_on_submit():
        appeal = db.session.get(Appeal, form.appeal.data)
        if form.received_on.data > utcnow().date() + timedelta(days=1):
            form.received_on.errors.append(_("The date is in the future. Enter the day the "
                                              "gift arrived."))
        elif appeal is None:
            abort(400)
        else:
            return _record_offline(form, appeal)
    status = 422 if form.errors else 200
    return render_template("staff/offline_gift.html", form=form), status


def _record_offline(form, appeal):
    try:
        amount = Money.parse(form.amount.data, appeal.currency)
        if amount.minor <= 0:
            raise MoneyError("zero")
    except MoneyError:
        form.amount.errors.append(_("Enter an amount like 25 or 25.50, in %(currency)s.",
                                    currency=appeal.currency))
        return render_template("staff/offline_gift.html", form=form), 422
    d = services.record_offline_gift(
        db.session, appeal=appeal, amount=amount, name=form.name.data,
        email=form.email.data, method=form.method.data, received_on=form.received_on.data,
        note=form.note.data or "", actor=current_user, ip=client_ip())
    commit()
    flash(_("Recorded %(amount)s from %(name)s.", amount=_money(amount.minor, amount.currency),
            name=d.donor_name))
    return redirect(url_for("staff.donation", donation_id=d.id), code=303)


# -- audit log ------------------------------------------------------------------

@bp.get("/audit")
@staff_view(VIEW_AUDIT)
def audit():
    action = (request.args.get("action") or "").strip()[:64]
    actor = (request.args.get("actor") or "").strip().lower()[:254]
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditEvent.actor_email == actor)
    filters = reports.parse_filters(request.args)
    if filters.date_from:
        query = query.where(AuditEvent.at >= datetime.combine(filters.date_from, dtime()))
    if filters.date_to:
        query = query.where(AuditEvent.at < datetime.combine(filters.date_to, dtime.max))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // reports.PAGE_SIZE))
    page = min(_page_arg(), pages)
    events = db.session.scalars(query.order_by(AuditEvent.id.desc())
                                .offset((page - 1) * reports.PAGE_SIZE)
                                .limit(reports.PAGE_SIZE)).all()
    actions = db.session.scalars(select(AuditEvent.action).distinct()
                                 .order_by(AuditEvent.action)).all()
    return render_template("staff/audit.html", events=events, total=total, page=page,
                           pages=pages, action=action, actor=actor, f=filters,
                           actions=actions)


# -- users ----------------------------------------------------------------------

def _set_password_url(token: str) -> str:
    return current_app.config["APP_URL"].rstrip("/") + url_for("staff.set_password",
                                                               token=token)


@bp.route("/users", methods=["GET", "POST"])
@staff_view(MANAGE_USERS)
def users():
    form = NewUserForm()
    link = None
    if form.validate_on_submit():
        user, created = services.create_staff(db.session, form.email.data, form.role.data)
        if created:
            token = services.issue_set_password_token(db.session, user)
            services.audit(db.session, current_user, "staff.user_created", "staff_user",
                           user.id, ip=client_ip(), email=user.email, role=user.role)
            commit()
            link = _set_password_url(token)
        else:
            form.email.errors.append(_("There is already a staff member with this email."))
    all_users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("staff/users.html", form=form, users=all_users, link=link,
                           edit_forms={u.id: _edit_form(u) for u in all_users},
                           action_form=ActionForm())


def _edit_form(user):
    form = EditUserForm(formdata=None, prefix=f"u{user.id}")
    form.role.data = user.role
    form.is_active.data = user.is_active
    return form


@bp.post("/users/<int:user_id>")
@staff_view(MANAGE_USERS)
def edit_user(user_id):
    user = db.get_or_404(StaffUser, user_id)
    form = EditUserForm(prefix=f"u{user.id}")
    if form.validate_on_submit():
        if user.id == current_user.id and (form.role.data != "admin" or
                                           not form.is_active.data):
            flash(_("You cannot take away your own admin access."), "error")
        else:
            changed = services.change_user(db.session, user, role=form.role.data,
                                           is_active=form.is_active.data)
            if changed:
                services.audit(db.session, current_user, "staff.user_changed", "staff_user",
                               user.id, ip=client_ip(), **changed)
            commit()
            flash(_("Saved %(email)s.", email=user.email))
    return redirect(url_for("staff.users"), code=303)


@bp.post("/users/<int:user_id>/reset")
@staff_view(MANAGE_USERS)
def reset_user(user_id):
    """A new set-password link; the user's sessions end at once."""
    user = db.get_or_404(StaffUser, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    token = services.issue_set_password_token(db.session, user)
    services.log_out_everywhere(db.session, user)
    services.audit(db.session, current_user, "staff.password_link_issued", "staff_user",
                   user.id, ip=client_ip())
    commit()
    all_users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("staff/users.html", form=NewUserForm(formdata=None),
                           users=all_users, link=_set_password_url(token), link_for=user,
                           edit_forms={u.id: _edit_form(u) for u in all_users},
                           action_form=ActionForm())


# -- appeals --------------------------------------------------------------------

@bp.get("/appeals")
@staff_view(VIEW)
def appeal_list():
    rows = db.session.scalars(select(Appeal).order_by(Appeal.created_at.desc())).all()
    return render_template("staff/appeals.html", appeals=rows)


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
    form.ends_on.data = appeal.ends_at.date() if appeal.ends_at else None
    form.status.data = appeal.status
    form.hero_alt.data = appeal.hero_alt
    form.hero_credit.data = appeal.hero_credit


@bp.route("/appeals/new", methods=["GET", "POST"])
@bp.route("/appeals/<int:appeal_id>/edit", methods=["GET", "POST"])
@staff_view(EDIT_APPEALS)
def edit_appeal(appeal_id=None):
    appeal = db.get_or_404(Appeal, appeal_id) if appeal_id else None
    form = AppealForm()
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
                           preview=preview), status


def _save_appeal(form, appeal):
    slug = appeal.slug if appeal is not None else (form.slug.data or "").strip()
    if appeal is None and db.session.scalar(select(Appeal.id).where(Appeal.slug == slug)):
        form.slug.errors.append(_("Another appeal already uses this address."))
        return None
    currency = (form.currency.data or "").strip().upper()
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
            status=form.status.data)
    except appeals.AppealError as exc:
        form.form_errors.append(_appeal_message(str(exc)))
        db.session.rollback()
        return None
    action = "appeal.created" if appeal is None else "appeal.updated"
    services.audit(db.session, current_user, action, "appeal", saved.id, ip=client_ip(),
                   slug=saved.slug, status=[old_status, saved.status],
                   goal_minor=saved.goal_minor, currency=saved.currency)
    return saved


def _appeal_message(code):
    return {
        "slug must be lowercase letters, digits and dashes":
            _("The address may use lowercase letters, digits and dashes only."),
        "title is required": _("Give the appeal a title."),
        "goal must be positive": _("The goal must be more than zero."),
        "suggested amounts must be positive, in the goal's currency":
            _("Suggested amounts must be more than zero."),
    }.get(code, _("Check the currency code: it must be three letters, like USD."))


def stored_upload(field, kind):
    """The image uploaded in a file field, checked and stored; None when no
    file was sent. A bad file puts the reason beside the field and raises
    media.UploadError."""
    upload = field.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    try:
        return media.store_upload(db.session, upload.stream, kind)
    except media.UploadError as exc:
        field.errors.append(_upload_message(str(exc)))
        raise


def _upload_message(code):
    return {
        "too large": _("The image is larger than 2 MB. Please choose a smaller one."),
        "not an image": _("That file is not a JPEG, PNG or WebP image."),
        "too many pixels": _("The image is too large. Please choose a smaller one."),
    }.get(code, _("That file is not a JPEG, PNG or WebP image."))


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
    """A pool's terms from the add or change form (services.PoolTerms'
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
                pool = services.create_match_pool(db.session, appeal=appeal, actor=current_user,
                                                  ip=client_ip(), **terms)
            except services.PoolError as exc:
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
                changed = services.change_match_pool(db.session, pool.id, actor=current_user,
                                                     ip=client_ip(), **terms)
            except services.PoolError as exc:
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
    largest = _money(Money.from_major(services.POOL_CAP_MAX_MAJOR, currency).minor, currency)
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
        field = form.starts_at if starts and not (
            services.POOL_YEARS[0] <= starts.year <= services.POOL_YEARS[1]) else form.ends_at
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
