"""`flask --app fundraiser …` commands (DESIGN.md §7). Each calls services
and commits once."""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from .extensions import db


def init_app(app):
    from .backup import backup_command, restore_command
    from .scheduler import scheduler_command, worker_command
    from .staff.commands import demo_gifts

    for command in (demo, create_staff, reconcile, localstripe_command, create_pool,
                    charge_pledges, demo_gifts, backup_command, restore_command,
                    worker_command, scheduler_command, send_statements,
                    purge_cosign_requests):
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
        spec["hero_image"] = _demo_drawing(spec["hero_image"])
        for number, cosigner in enumerate(spec["cosigners"][:10]):
            cosigner["logo"] = _demo_logo(cosigner["name"], number)
        currency = spec.pop("currency")
        goal = Money.from_major(spec.pop("goal_major"), currency)
        suggested = [Money.from_major(x, currency) for x in spec.pop("suggested_major")]
        appeal = save_appeal(db.session, goal=goal, suggested=suggested, status="published",
                             **spec)
        click.echo(f"appeal: {appeal.slug} ({appeal.title})")
    _demo_pools(demo_content.match_pools(utcnow()))
    from .staff.services import DEMO_STAFF_PASSWORD, set_password

    user, created = make_staff(db.session, "staff@example.org", "admin")
    if created or not user.password_hash:
        set_password(db.session, user, DEMO_STAFF_PASSWORD)
    db.session.commit()
    _drop_public_cache()
    click.echo(f"staff: {user.email} ({user.role}){' created' if created else ''}, "
               f"password {DEMO_STAFF_PASSWORD!r} (demo only)")


def _drop_public_cache():
    """Appeals or pools changed: every host shows it at once (fundraiser/cache.py)."""
    from flask import current_app

    current_app.extensions["fundraiser.public_cache"].clear()


def _demo_drawing(path):
    """One of the demo's own SVG drawings from static/, stored as an image."""
    from .media import services as media

    with open(os.path.join(current_app.static_folder, path), "rb") as f:
        data = f.read()
    box = re.search(rb'viewBox="0 0 (\d+) (\d+)"', data)
    return media.store_svg(db.session, data, int(box[1]), int(box[2]))


def _demo_logo(name, number):
    """A made-up logo (the organisation's initials on a coloured disc), put
    through the same checks as an uploaded one."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    from .media import services as media

    colours = ["#1d6f5f", "#8a3b12", "#284b8f", "#6b2d6b", "#866200"]
    image = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 156, 156), fill=colours[number % len(colours)])
    initials = "".join(w[0] for w in name.split()[:3] if w[0].isalpha()).upper()
    draw.text((80, 80), initials, fill="white", anchor="mm", font_size=54)
    out = BytesIO()
    image.save(out, "PNG")
    out.seek(0)
    return media.store_upload(db.session, out, media.LOGO)


def _demo_pools(specs):
    """One demo pool per spec, found again by appeal and sponsor (safe to rerun)."""
    from sqlalchemy import select

    from .appeals.models import Appeal
    from .matching import services as matching
    from .matching.models import MatchPool
    from .money import Money

    for spec in specs:
        appeal = db.session.scalar(select(Appeal).where(Appeal.slug == spec["slug"]))
        if appeal is None:
            continue
        exists = db.session.scalar(select(MatchPool).where(
            MatchPool.appeal_id == appeal.id, MatchPool.sponsor_name == spec["sponsor"]))
        if exists is None:
            exists = matching.create_pool(
                db.session, appeal_id=appeal.id, currency=appeal.currency,
                cap_minor=Money.from_major(spec["cap_major"], appeal.currency).minor,
                ratio=spec["ratio"], sponsor_name=spec["sponsor"], ends_at=spec["ends_at"])
        click.echo(f"match pool: {appeal.slug} {exists.sponsor_name} {exists.ratio}")


def _parse_when(text):
    from datetime import datetime

    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError as exc:
        raise click.BadParameter("use a date like 2026-12-31 or 2026-12-31T18:00") from exc


@click.command("create-pool")
@click.argument("slug")
@click.option("--cap", required=True, help="the most the sponsor gives, e.g. 5000 or 2500.50")
@click.option("--ratio", default="1:1", show_default=True,
              help="matched:given, e.g. 1:1, 2:1 (doubled twice) or 1:2 (half)")
@click.option("--sponsor", default="", help="the sponsor's public name")
@click.option("--anonymous", is_flag=True, help="do not show a sponsor name")
@click.option("--starts", default="", help="UTC date/time the pool opens (default: now)")
@click.option("--ends", default="", help="UTC date/time the pool closes (default: never)")
@click.option("--per-gift-limit", default="", help="the most one gift can unlock")
@click.option("--min-gift", default="", help="the smallest gift that is matched")
@click.option("--first-time-only", is_flag=True, help="match first-time donors only")
@click.option("--monthly", type=click.Choice(["once", "x12"]), default="once",
              show_default=True, help="how a monthly gift counts")
def create_pool(slug, cap, ratio, sponsor, anonymous, starts, ends, per_gift_limit, min_gift,
                first_time_only, monthly):
    """Add a sponsor's match pool to an appeal (amounts in the appeal's currency)."""
    from sqlalchemy import select

    from .appeals.models import Appeal
    from .matching import rules
    from .matching import services as matching
    from .money import Money, MoneyError

    appeal = db.session.scalar(select(Appeal).where(Appeal.slug == slug))
    if appeal is None:
        raise click.ClickException(f"no appeal {slug!r}")

    def minor(text, name):
        if not text:
            return None
        try:
            return Money.parse(text, appeal.currency).minor
        except MoneyError as exc:
            raise click.BadParameter(f"{name}: {exc}") from exc

    try:
        pool = matching.create_pool(
            db.session, appeal_id=appeal.id, currency=appeal.currency,
            cap_minor=minor(cap, "cap") or 0, ratio=rules.parse_ratio(ratio),
            sponsor_name=sponsor, anonymous=anonymous, starts_at=_parse_when(starts),
            ends_at=_parse_when(ends), per_gift_limit_minor=minor(per_gift_limit, "per-gift-limit"),
            min_gift_minor=minor(min_gift, "min-gift") or 0, first_time_only=first_time_only,
            monthly_rule=monthly)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    _drop_public_cache()
    click.echo(f"pool {pool.id}: {appeal.slug} {pool.ratio} up to {pool.cap}")


@click.command("charge-pledges")
@click.option("--appeal", "slug", default="", help="only this appeal's pledges")
@click.option("--now", is_flag=True,
              help="charge this appeal's pledges now, even if it has not closed")
def charge_pledges(slug, now):
    """Charge saved-card friend-match pledges of closed appeals, each for
    exactly what friends unlocked. Prints every pledge charged."""
    from sqlalchemy import select

    from . import tasks
    from .appeals.models import Appeal

    appeal_id = None
    if slug:
        appeal_id = db.session.scalar(select(Appeal.id).where(Appeal.slug == slug))
        if appeal_id is None:
            raise click.ClickException(f"no appeal {slug!r}")
    elif now:
        raise click.BadParameter("--now needs --appeal")
    tasks.charge_pledges(tasks.due_pledges(appeal_id, force=now), say=click.echo)


@click.command("purge-cosign-requests")
@with_appcontext
def purge_cosign_requests():
    """Delete co-sign requests whose emailed link was never used, with their
    logos, once the link has been expired for COSIGN_UNCONFIRMED_GRACE_DAYS.
    Confirmed, approved and declined requests are kept. Safe to run twice."""
    from . import tasks

    tasks.purge_cosign_requests(say=click.echo)


@click.command("send-statements")
@with_appcontext
@click.argument("year", type=int)
def send_statements(year):
    """Email every donor their annual statement (PDF) for YEAR, a finished
    calendar year: one per email, as queued jobs. Run twice, the second run
    sends nothing (who was sent what is recorded); one queued over an hour
    ago and never sent is queued again."""
    from sqlalchemy import select

    from .donations import statements
    from .staff.models import OfflineGift

    # Invented gifts (`demo-gifts`) are never receipted, nor summed up for
    # their invented donors.
    demo = select(OfflineGift.donation_id).where(OfflineGift.is_demo)
    try:
        done = statements.queue_statements(db.session, year, exclude=demo)
    except statements.BadYear as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if not any(done):
        click.echo(f"No gifts in {year}: no statements to send.")
        return
    click.echo(f"{done.new} statement(s) for {year} queued"
               + (f"; {done.again} never sent, queued again" if done.again else "")
               + (f"; {done.sent} sent before, not again." if done.sent else "."))


@click.command("create-staff")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "finance", "editor", "viewer"]),
              required=True)
def create_staff(email, role):
    """Create a staff user and print a one-time set-password link (the
    password rules are checked where it is set)."""
    from .staff.services import StaffError, audit, issue_set_password_token
    from .staff.services import create_staff as make_staff
    from .urls import public_url

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
        link = public_url("staff.set_password", token=token)
        click.echo(f"set-password link (one use, valid 48 hours): {link}")


@click.command("reconcile")
@with_appcontext
@click.option("--since", default="2d", show_default=True, help="how far back to look")
def reconcile(since):
    """Compare open payments with the processor and repair what a lost webhook
    left behind; finish refunds left pending (of any age) when a process died
    between the processor's answer and our commit. Prints what changed."""
    from . import tasks

    tasks.reconcile(parse_duration(since), say=click.echo)


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
