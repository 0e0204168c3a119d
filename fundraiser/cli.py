"""`flask --app fundraiser …` commands (DESIGN.md §7). Each calls services
and commits once."""

from __future__ import annotations

import re
import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db


def init_app(app):
    from .staff.commands import demo_gifts

    for command in (demo, create_staff, reconcile, localstripe_command, demo_gifts):
        app.cli.add_command(command)


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d{1,5})\s*([smhdw])\s*", text or "")
    if not match:
        raise click.BadParameter("use a number and a unit, like 30m, 12h, 2d or 1w")
    n, unit = int(match.group(1)), match.group(2)
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{units[unit]: n})


@click.command("demo")
@with_appcontext
def demo():
    """Load demo appeals and a demo staff login (safe to run twice)."""
    from . import demo_content
    from .appeals.services import save_appeal
    from .money import Money
    from .payments.models import utcnow
    from .staff.services import create_staff as make_staff

    for spec in demo_content.appeals(utcnow()):
        currency = spec.pop("currency")
        goal = Money.from_major(spec.pop("goal_major"), currency)
        suggested = [Money.from_major(x, currency) for x in spec.pop("suggested_major")]
        appeal = save_appeal(db.session, goal=goal, suggested=suggested, status="published",
                             **spec)
        click.echo(f"appeal: {appeal.slug} ({appeal.title})")
    from .staff.services import DEMO_STAFF_PASSWORD, set_password

    user, created = make_staff(db.session, "staff@example.org", "admin")
    if created or not user.password_hash:
        set_password(db.session, user, DEMO_STAFF_PASSWORD)
    db.session.commit()
    click.echo(f"staff: {user.email} ({user.role}){' created' if created else ''}, "
               f"password {DEMO_STAFF_PASSWORD!r} (demo only)")


@click.command("create-staff")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "finance", "editor", "viewer"]),
              required=True)
def create_staff(email, role):
    """Create a staff user and print a one-time set-password link."""
    from flask import url_for

    from .staff.services import StaffError, audit, issue_set_password_token
    from .staff.services import create_staff as make_staff

    try:
        user, created = make_staff(db.session, email, role)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from exc
    if created:
        token = issue_set_password_token(db.session, user)
        audit(db.session, None, "staff.user_created", "staff_user", user.id,
              email=user.email, role=user.role)
    db.session.commit()
    click.echo(f"{'created' if created else 'exists'}: {user.email} ({user.role})")
    if created:
        base = current_app.config["APP_URL"].rstrip("/")
        with current_app.test_request_context():
            path = url_for("staff.set_password", token=token)
        click.echo(f"set-password link (one use, valid 48 hours): {base}{path}")


@click.command("reconcile")
@with_appcontext
@click.option("--since", default="2d", show_default=True, help="how far back to look")
def reconcile(since):
    """Compare open payments with the processor and repair what a lost webhook
    left behind. Prints every payment that changed."""
    from .payments import services

    changes = services.reconcile(db.session, current_app.extensions["fundraiser.gateway"],
                                 parse_duration(since))
    db.session.commit()
    for payment_id, old, new in changes:
        click.echo(f"payment {payment_id}: {old} -> {new}")
    click.echo(f"{len(changes)} payment(s) changed")


@click.command("localstripe")
@with_appcontext
@click.option("--port", default=8420, show_default=True, type=int)
def localstripe_command(port):
    """Run localstripe on 127.0.0.1 and send its webhooks to this app."""
    from .devtools import run_localstripe

    url = current_app.config["APP_URL"].rstrip("/") + "/webhooks/stripe"
    click.echo(f"localstripe on http://127.0.0.1:{port}, webhooks to {url}", err=True)
    sys.stdout.flush()
    run_localstripe(port, url, current_app.config["STRIPE_WEBHOOK_SECRET"])
