import pytest

from fundraiser.money import Money, MoneyError


@pytest.mark.parametrize(("minor", "currency", "locale", "text"), [
    (2500, "USD", "en", "$25.00"),
    (123456, "USD", "en", "$1,234.56"),
    (100000, "ILS", "en", "₪1,000.00"),
    (100000, "ILS", "he", "\u200f1,000.00\u00a0\u200f₪"),
    (123456, "EUR", "de", "1.234,56\u00a0€"),
    (123456, "EUR", "en", "€1,234.56"),
    (500, "JPY", "en", "¥500"),          # zero-decimal: 500 minor units are ¥500
    (1234, "BHD", "en", "BHD1.234"),  # three decimals
])
def test_format_uses_the_currencys_own_decimals(minor, currency, locale, text):
    assert Money(minor, currency).format(locale) == text


def test_whole_format_drops_only_a_zero_fraction():
    assert Money(2500, "USD").format("en", whole=True) == "$25"
    assert Money(2550, "USD").format("en", whole=True) == "$25.50"
    assert Money(100000, "EUR").format("de", whole=True) == "1.000\u00a0€"


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("25", "USD", 2500), ("25.5", "USD", 2550), ("1,000.05", "USD", 100005),
    (" 7 ", "EUR", 700), ("500", "JPY", 500), ("1.234", "BHD", 1234),
    ("١٢", "USD", 1200),  # Arabic-Indic digits, as an Arabic keyboard types them
])
def test_parse_to_minor_units(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text", ["", "abc", "-5", "+5", "1e9", "1.2.3", "NaN", "Infinity",
                                  "0x10", ".", "9" * 30, "<script>"])
def test_parse_refuses_what_is_not_an_amount(text):
    with pytest.raises(MoneyError):
        Money.parse(text, "USD")


def test_parse_refuses_more_decimals_than_the_currency_has():
    with pytest.raises(MoneyError) as err:
        Money.parse("25.555", "USD")
    assert err.value.places == 2
    with pytest.raises(MoneyError) as err:
        Money.parse("10.5", "JPY")
    assert err.value.places == 0


def test_money_is_integers_only_and_currencies_are_checked():
    with pytest.raises(TypeError):
        Money(25.0, "USD")
    with pytest.raises(MoneyError):
        Money(100, "XYZ")
    with pytest.raises(TypeError):
        Money(1, "USD") + Money(1, "EUR")
    assert Money(1, "usd").currency == "USD"
    assert Money(150, "USD") + Money(250, "USD") == Money(400, "USD")
