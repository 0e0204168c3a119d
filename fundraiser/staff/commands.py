"""`flask --app fundraiser demo-gifts N`: invented gifts for looking at the
dashboard. Written through the same service as offline gifts, marked
`is_demo` and with a "demo:" source, and never receipted."""

from __future__ import annotations

import logging
import random
from contextlib import contextmanager
from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db

FIRST = ("Dana", "Noa", "Yael", "Omar", "Lina", "Avi", "Maya", "Sami", "Tamar", "Karim",
         "Ruth", "Jonas", "Lea", "Miriam", "Yusuf", "Ada", "Eli", "Hana", "Nadia", "Tom")
LAST = ("Levi", "Cohen", "Haddad", "Mizrahi", "Khalil", "Peretz", "Weiss", "Nasser",
        "Friedman", "Saleh", "Ben-David", "Azoulay", "Schwarz", "Darwish")
SOURCES = ("demo:newsletter", "demo:partner-share", "demo:social", "demo:direct")

log = logging.getLogger(__name__)

# Each demo gift goes the real way (a payment transition, then matching), and
# these log one INFO line per gift: right for a real gift, noise for 300
# invented ones. For the command's run they are DEBUG lines.
PER_GIFT_LOGGERS = ("fundraiser.payments.moves", "fundraiser.donations.matching_hooks")


class _AtDebug(logging.Filter):
    """Re-levels a logger's INFO lines to DEBUG, and keeps them only where
    DEBUG is enabled for that logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


@contextmanager
def _per_gift_lines_at_debug():
    demote = _AtDebug()
    loggers = [logging.getLogger(name) for name in PER_GIFT_LOGGERS]
    for logger in loggers:
        logger.addFilter(demote)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(demote)


@click.command("demo-gifts")
@click.argument("count", type=click.IntRange(1, 200_000), default=300)
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True)
@click.option("--seed", type=int, default=None)
@with_appcontext
def demo_gifts(count, days, seed):
    """Add COUNT invented, succeeded gifts spread over the last DAYS days
    (demo databases only: every row is marked as demo)."""
    from ..appeals.models import Appeal
    from ..money import Money
    from ..payments.models import utcnow
    from .offline_services import record_offline_gift

    rng = random.Random(seed)
    appeals = list(db.session.scalars(select(Appeal).where(Appeal.status == "published")))
    if not appeals:
        raise click.ClickException("no published appeal: run `flask --app fundraiser demo` first")
    now = utcnow()
    with _per_gift_lines_at_debug():
        for i in range(count):
            appeal = rng.choice(appeals)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            major = rng.choice((5, 10, 18, 25, 25, 36, 50, 50, 100, 180, 250, 500, 1000))
            at = now - timedelta(seconds=int(rng.triangular(0, days * 86400, 0)))
            gift = record_offline_gift(
                db.session, appeal=appeal, amount=Money.from_major(major, appeal.currency),
                name=f"{first} {last}", email=f"{first}.{last}.{i % 97}@demo.invalid".lower(),
                method=rng.choice(("cheque", "bank_transfer", "cash")), received_on=at.date(),
                source=rng.choice(SOURCES), actor=None, is_demo=True,
                created_at=at)
            log.debug("demo gift %s: %s %s to %s", gift.id, major, appeal.currency, appeal.slug)
            if i % 500 == 499:
                db.session.commit()
        db.session.commit()
    log.info("demo-gifts: %s demo gift(s) added over the last %s day(s), to %s appeal(s)",
             count, days, len(appeals))
