"""Factories: build the rows a test needs through the real services."""

from __future__ import annotations

from datetime import timedelta

from fundraiser.appeals.services import save_appeal
from fundraiser.donations import services as donations
from fundraiser.money import Money
from fundraiser.payments.models import utcnow


def create_appeal(session, slug="test-appeal", currency="USD", goal_major=10_000,
                  status="published", ends_in_days=30, **kw):
    return save_appeal(
        session, slug=slug, title=kw.pop("title", "Test appeal"),
        goal=Money.from_major(goal_major, currency),
        suggested=[Money.from_major(x, currency) for x in kw.pop("suggested", [10, 25, 50])],
        ends_at=utcnow() + timedelta(days=ends_in_days) if ends_in_days is not None else None,
        status=status, story_md=kw.pop("story_md", "A story."), **kw,
    )


def create_donation(session, appeal, amount_minor=2500, email="donor@example.org",
                    name="Dana Donor", **kw):
    return donations.start_donation(
        session, appeal, amount=Money(amount_minor, appeal.currency), name=name, email=email,
        **kw,
    )
