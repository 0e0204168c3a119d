"""Staff accounts: log in, log out (here or everywhere), set a password from
a link, and the users page where an admin adds, changes and resets staff."""

from __future__ import annotations

import time

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from limits import parse
from sqlalchemy import select

from ..extensions import db
from ..urls import public_url
from . import login_alert, login_limits, services, sessions
from .auth import client_ip, public_staff_view, safe_next, staff_view
from .blueprint import bp, commit
from .forms import ActionForm, EditUserForm, LoginForm, NewUserForm, SetPasswordForm
from .models import MANAGE_USERS, VIEW, StaffUser

# -- login, with the back-off of login_limits.py ------------------------------

_REFUSED = "fundraiser.staff_login_refused"


def _no_match_message() -> str:
    return _("That email and password do not match. Check both and try again.")


def _refused(_limit=None):
    """Flask-Limiter's on_breach: the login page again, 429, one message
    whichever limit was met and whether or not the email is anyone's."""
    done = request.environ.get(_REFUSED)
    if done is not None:  # two limits met at once: one page, one count
        return done
    _failed_attempt()
    db.session.commit()
    form = LoginForm()
    form.form_errors.append(_(
        "Too many login attempts. Wait a few minutes and try again; if you have "
        "forgotten your password, ask an admin for a new set-password link."))
    response = make_response(render_template("staff/login.html", form=form), 429)
    request.environ[_REFUSED] = response
    return response


def _failed_attempt() -> None:
    """Count a failed or refused login; on the first one past the burst
    threshold in its window, tell the admins (sent when the caller commits)."""
    if not login_limits.burst_started():
        return
    threshold = parse(current_app.config["STAFF_LOGIN_ALERT"])
    minutes = max(1, threshold.get_expiry() // 60)
    login_alert.send_burst_alert(db.session, count=threshold.amount, minutes=minutes,
                                 address=client_ip(), audit_url=public_url("staff.audit"))


def _password_message(code: str) -> str:
    return {
        "too short": _("Use at least 12 characters."),
        "too long": _("Use at most 200 characters."),
        "one character": _("A password of one character repeated is too easy to guess. "
                           "A few unrelated words make a good one."),
        "common": _("That password is among the most common ones, which attackers try "
                    "first. A few unrelated words make a good one."),
        "email": _("The password cannot be your email address."),
    }.get(code, _("Use at least 12 characters."))


@bp.route("/login", methods=["GET", "POST"])
@login_limits.guarded(on_breach=_refused)
@public_staff_view
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.dashboard"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("staff/login.html", form=form)
    user = services.authenticate(db.session, form.email.data, form.password.data)
    if user is None:
        form.form_errors.append(_no_match_message())
        _failed_attempt()
        commit(public=False)
        return render_template("staff/login.html", form=form), 401
    services.audit(db.session, user, "staff.login", "staff_user", user.id, ip=client_ip())
    target = safe_next(request.args.get("next"))
    session.clear()  # no session fixation: a fresh session for the login
    sessions.start(db.session, user, ip=client_ip())
    commit(public=False)
    login_user(user)
    session["staff_auth_at"] = int(time.time())
    response = redirect(target or url_for("staff.dashboard"))
    login_limits.remember_device(response)
    return response


@bp.post("/logout")
@staff_view(VIEW)
def logout():
    if ActionForm().validate_on_submit():
        sessions.end(db.session, current_user.session_token)  # copies of the cookie too
        commit(public=False)
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
        commit(public=False)
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
        except services.StaffError as exc:
            form.password.errors.append(_password_message(str(exc)))
        else:
            services.audit(db.session, user, "staff.password_set", "staff_user", user.id,
                           ip=client_ip())
            commit(public=False)
            logout_user()
            session.clear()
            flash(_("Your password is set. Log in with it now."))
            return redirect(url_for("staff.login"))
    return render_template("staff/set_password.html", form=form, user=user)


def _set_password_url(token: str) -> str:
    return public_url("staff.set_password", token=token)


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
            commit(public=False)
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
            commit(public=False)
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
    commit(public=False)
    all_users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("staff/users.html", form=NewUserForm(formdata=None),
                           users=all_users, link=_set_password_url(token), link_for=user,
                           edit_forms={u.id: _edit_form(u) for u in all_users},
                           action_form=ActionForm())
