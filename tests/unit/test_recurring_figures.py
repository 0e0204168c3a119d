"""The dashboard's recurring revenue a month: monthly amounts plus a twelfth
of the yearly ones, summed per currency and rounded once, half up."""

import pytest

from fundraiser.staff.recurring_stats import RecurringFigures


def figures(monthly, yearly):
    return RecurringFigures("USD", monthly, yearly, 0, 0, 0)


@pytest.mark.parametrize(("monthly", "yearly", "per_month"), [
    (0, 0, 0),
    (2500, 0, 2500),
    (0, 12000, 1000),
    (2500, 13000, 3583),   # 130.00 / 12 = 10.8333…
    (0, 6, 1),             # half a cent rounds up
    (0, 5, 0),
    (0, 18, 2),            # 1.5 → 2
    (0, 12 * 10**12 + 6, 10**12 + 1),   # exact however large: integers only
])
def test_per_month(monthly, yearly, per_month):
    assert figures(monthly, yearly).per_month_minor == per_month
