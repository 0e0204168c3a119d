"""Amounts are read the way the page's locale writes numbers (issue 15):
'5,00' is five, not five hundred, and a figure that could mean two amounts is
refused instead of guessed. Checked here at the parsing level for all five
languages the app offers (en, fr, de, he, ar), and how each writes an amount."""

import pytest

from fundraiser.money import AMBIGUOUS, Money, MoneyError


@pytest.mark.parametrize(("text", "currency", "locale", "minor"), [
    # The hole: a donor typing the German or French way was charged 100×.
    ("5,00", "EUR", "de", 500),
    ("5,00", "EUR", "fr", 500),
    ("5,00", "USD", "en", 500),      # no other meaning on an English page either
    ("5,5", "USD", "he", 550),
    ("1.234,56", "EUR", "de", 123456),
    ("1234,56", "EUR", "de", 123456),
    ("1 234,56", "EUR", "fr", 123456),          # a typed space between thousands
    ("1\u202f234,56", "EUR", "fr", 123456),     # the narrow no-break space Babel writes
    ("1.234", "EUR", "de", 123400),             # thousands: EUR has no third decimal
    ("1.000", "JPY", "de", 1000),
    ("١٬٢٣٤٫٥٦", "USD", "ar", 123456),         # Arabic-Indic digits and separators
    ("1,234.56", "USD", "ar", 123456),
    # What is unambiguous in English stays as it was.
    ("5", "USD", "en", 500), ("5.00", "USD", "en", 500), ("1,234.56", "USD", "en", 123456),
    ("1,234", "USD", "en", 123400), ("500", "JPY", "en", 500), ("1,234", "JPY", "en", 1234),
    ("1.234", "KWD", "en", 1234), ("1,234.5", "KWD", "en", 1234500),
    ("1 234.56", "USD", "en", 123456), ("5", "USD", "he", 500),
])
def test_amounts_are_read_in_the_pages_locale(text, currency, locale, minor):
    assert Money.parse(text, currency, locale) == Money(minor, currency)


@pytest.mark.parametrize(("text", "currency", "locale"), [
    # '1,234' KWD on an English page: 1234 dinars, or 1.234 the German way?
    ("1,234", "KWD", "en"),
    ("1,234", "BHD", "he"),
    # '1.234' KWD on a German page: 1234, or 1.234 the English way?
    ("1.234", "KWD", "de"),
])
def test_a_figure_that_could_mean_a_smaller_amount_is_refused(text, currency, locale):
    with pytest.raises(MoneyError) as err:
        Money.parse(text, currency, locale)
    assert err.value.kind == AMBIGUOUS


@pytest.mark.parametrize(("text", "currency", "locale", "places"), [
    ("1,234", "USD", "de", 2),   # 1.234 dollars in German: not a sum a card can pay
    ("1.000", "JPY", "en", 0),   # one yen with three decimals?
    ("25.555", "USD", "en", 2),
])
def test_too_many_decimals_in_the_pages_reading_are_refused(text, currency, locale, places):
    with pytest.raises(MoneyError) as err:
        Money.parse(text, currency, locale)
    assert err.value.places == places


@pytest.mark.parametrize("locale", ["en", "de", "fr", "he", "ar"])
@pytest.mark.parametrize("text", ["", "abc", "-5", "+5", "1e9", "²", "5²", "1,2,3", "NaN",
                                  "12 34", "9" * 21, "$5", "5\u202e", "0x10"])
def test_what_is_no_amount_is_refused_in_every_locale(text, locale):
    with pytest.raises(MoneyError):
        Money.parse(text, "USD", locale)


@pytest.mark.parametrize(("minor", "currency", "locale", "text"), [
    (123450, "USD", "de", "1234,50"), (123450, "USD", "en", "1234.50"),
    (500, "JPY", "de", "500"), (1500, "KWD", "de", "1,500"), (1234, "KWD", "en", "1.234"),
    (2500, "USD", "de", "25"), (1234000, "KWD", "en", "1234"),
])
def test_prefilled_amounts_read_back_as_themselves(minor, currency, locale, text):
    money = Money(minor, currency)
    assert money.input_text(locale) == text
    assert Money.parse(money.input_text(locale), currency, locale) == money


def test_our_own_plain_figures_are_read_without_a_locale():
    assert Money.parse("25.000", "KWD", None) == Money(25000, "KWD")
    with pytest.raises(MoneyError):
        Money.parse("1,000", "USD", None)


@pytest.mark.parametrize("locale, currency, text", [
    ("ar", "USD", "\u200f25.00\xa0US$\u200e"),   # a mark keeps "US$" from showing as "$US"
    ("ar", "ILS", "\u200f25.00\xa0₪"),            # a symbol without letters needs none
    ("he", "USD", "\u200f25.00\xa0\u200f$"),
    ("fr", "USD", "25,00\xa0$US"),
    ("de", "EUR", "25,00\xa0€"),
])
def test_amounts_in_the_five_languages(locale, currency, text):
    assert Money(2500, currency).format(locale) == text


def test_an_arabic_whole_amount_keeps_its_symbol_whole_too():
    assert Money(5_000_000, "USD").format("ar", whole=True) == "\u200f50,000\xa0US$\u200e"
