"""Every staff page joins the one `staff` blueprint (endpoints `staff.<view>`,
URLs under /staff): importing the area modules here registers their routes,
and create_app registers the blueprint from here."""

from . import (  # noqa: F401  (imported for their routes)
    accounts,
    appeals,
    audit,
    card_breaker,
    cosigners,
    dashboard,
    donations,
    donors,
    jobs,
    pools,
    rates,
    refunds,
)
from .blueprint import bp

__all__ = ["bp"]
