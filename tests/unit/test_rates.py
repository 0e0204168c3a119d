"""Exchange rates, pure: the ECB file reader and exact conversion."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fundraiser.rates import ecb
from fundraiser.rates.convert import (
    RateError,
    convert_minor,
    cross_rate,
    read_rate,
    share_of,
)

GOOD = (Path(__file__).parent.parent / "fixtures" / "eurofxref.csv").read_bytes()
HEADER = "Date, USD, JPY, ILS, \n"


def test_the_ecb_file_is_read_with_its_trailing_commas_and_spaces():
    parsed = ecb.parse(GOOD, today=date(2026, 12, 6))
    assert parsed.day == date(2026, 12, 4)
    assert len(parsed.rates) == 30
    assert parsed.rates["USD"] == Decimal("1.1642")
    assert parsed.rates["JPY"] == Decimal("180.93")
    assert parsed.rates["GBP"] == Decimal("0.87340")
    assert parsed.rates["IDR"] == Decimal("19386.33")


def test_n_a_cells_are_left_out_and_windows_line_ends_and_a_bom_are_fine():
    text = "\ufeffDate, USD, JPY, ILS, \r\n04 December 2026, 1.1642, N/A, 3.7865, \r\n"
    parsed = ecb.parse(text.encode("utf-8"))
    assert parsed.rates == {"USD": Decimal("1.1642"), "ILS": Decimal("3.7865")}


@pytest.mark.parametrize("text, says", [
    ("", "found 0 rows"),
    (HEADER, "found 1 rows"),
    (HEADER + "04 December 2026, 1.1, 180, 3.7, \n05 December 2026, 1.1, 180, 3.7, \n",
     "found 3 rows"),
    ("Day, USD, \n04 December 2026, 1.1, \n", "headed “Date”"),
    ("Date, \n04 December 2026, \n", "names no currencies"),
    (HEADER + "04 December 2026, 1.1642, 180.93, \n", "names 3 currencies but the rates row "
                                                      "has 2 figures"),
    ("Date, USD, usd, \n04 December 2026, 1.1, 1.1, \n", "“usd” is not a currency code"),
    ("Date, USD, XYZ, \n04 December 2026, 1.1, 1.1, \n", "“XYZ” is not a currency code"),
    ("Date, USD, USD, \n04 December 2026, 1.1, 1.2, \n", "USD appears twice"),
    ("Date, EUR, \n04 December 2026, 1, \n", "euro is the base"),
    (HEADER + "2026-13-04, 1.1, 180, 3.7, \n", "is not a date"),
    (HEADER + "04 December 2026, 1,1642, 180, 3.7, \n", "names 3 currencies"),
    (HEADER + "04 December 2026, N/A, N/A, N/A, \n", "holds no rates"),
])
def test_a_malformed_file_is_refused_with_a_reason(text, says):
    with pytest.raises(ecb.EcbFormatError) as caught:
        ecb.parse(text.encode("utf-8"))
    assert says in str(caught.value)


@pytest.mark.parametrize("cell", ["-1.1642", "0", "1e3", "NaN", "Infinity", "=1+1",
                                  "=HYPERLINK(\"http://x\")", "1.16.42", ".5", "1_000",
                                  "１.２", "99999999999", "0.0000001", " ", "1.0 2"])
def test_hostile_or_absurd_rates_are_refused(cell):
    text = f"Date, USD, \n04 December 2026, {cell}, \n"
    with pytest.raises(ecb.EcbFormatError):
        ecb.parse(text.encode("utf-8"))


def test_hostile_files_are_refused_before_reading_them():
    with pytest.raises(ecb.EcbFormatError, match="too large"):
        ecb.parse(b"Date, USD, \n" + b"x" * ecb.MAX_BYTES)
    with pytest.raises(ecb.EcbFormatError, match="not text"):
        ecb.parse(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(ecb.EcbFormatError, match="not text"):
        ecb.parse(b"Date, USD, \x00\n04 December 2026, 1.1, \n")
    with pytest.raises(ecb.EcbFormatError, match="future"):
        ecb.parse(GOOD, today=date(2026, 12, 3))
    # A spreadsheet formula where a code should be is no currency code.
    with pytest.raises(ecb.EcbFormatError, match="not a currency code"):
        ecb.parse(b'Date, =cmd|" /C calc"!A0, \n04 December 2026, 1.1, \n')


def test_rates_are_plain_positive_decimals():
    assert read_rate("3.7865") == Decimal("3.7865")
    for bad in ("", "abc", "-1", "1e2", "0", None, "1" * 30):
        with pytest.raises(RateError):
            read_rate(bad)


def test_conversion_is_exact_and_rounds_down():
    usd_per_ils = cross_rate(Decimal("3.7865"), Decimal("1.1642"))
    assert usd_per_ils == Decimal("0.307460715701")
    assert convert_minor(10_000, usd_per_ils, "ILS", "USD") == 3_074     # $30.746…
    assert convert_minor(1, usd_per_ils, "ILS", "USD") == 0              # never rounded up
    assert convert_minor(0, usd_per_ils, "ILS", "USD") == 0
    # a rate of exactly 1 changes nothing; a huge amount stays exact
    assert convert_minor(10**15 + 1, Decimal(1), "USD", "EUR") == 10**15 + 1


def test_a_whole_cross_rate_is_written_plainly():
    assert str(cross_rate(Decimal("1"), Decimal("200"))) == "200"
    assert str(cross_rate(Decimal("2"), Decimal("3"))) == "1.5"


def test_zero_and_three_decimal_currencies_convert_by_babels_places():
    yen_per_usd = cross_rate(Decimal("1.1642"), Decimal("180.93"))
    assert convert_minor(1_000, yen_per_usd, "USD", "JPY") == 1_554      # $10 → ¥1,554
    usd_per_yen = cross_rate(Decimal("180.93"), Decimal("1.1642"))
    assert convert_minor(1_000, usd_per_yen, "JPY", "USD") == 643        # ¥1,000 → $6.43
    assert convert_minor(1, usd_per_yen, "JPY", "USD") == 0              # ¥1 → $0.0064…
    kwd_per_usd = Decimal("0.3")
    assert convert_minor(1_000, kwd_per_usd, "USD", "KWD") == 3_000      # $10 → KWD 3.000
    with pytest.raises(TypeError):
        convert_minor(10.0, kwd_per_usd, "USD", "KWD")


def test_a_refund_leaves_its_share_of_the_converted_amount():
    assert share_of(3_074, 10_000, 10_000) == 3_074
    assert share_of(3_074, 10_000, 6_667) == 2_049
    assert share_of(3_074, 10_000, 0) == 0
