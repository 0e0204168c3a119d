"""Every staff page joins the one `staff` blueprint (endpoints `staff.<view>`,
URLs under /staff): importing the area modules here registers their routes,
and create_app registers the blueprint from here."""

from . import (  # noqa: F401  (imported for their routes)
    accounts,
    appeals,
    audit,
    card_breaker,
    cosign_queue,
    cosigners,
    dashboard,
    donations,
    donors,
    jobs,
    pledges,
    pools,
    rates,
    referrals,
    refunds,
    signature_list,
)
from .blueprint import bp

__all__ = ["bp"]
