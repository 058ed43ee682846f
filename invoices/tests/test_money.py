"""Invoice arithmetic: property-based checks against an exact-fraction oracle."""

import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoices.money import (
    amount_in_words,
    document_totals,
    format_rate,
    format_tnd,
    line_amounts,
    number_in_words,
    to_millimes,
)

RATES = [Decimal("19.00"), Decimal("13.00"), Decimal("7.00"), Decimal("0.00")]
prices = st.decimals(min_value=0, max_value=Decimal("99999.999"), places=3)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999.999"), places=3)
rates = st.sampled_from(RATES)
stamps = st.decimals(min_value=0, max_value=Decimal("10.000"), places=3)


class Line:
    """A line as the services store it."""

    def __init__(self, quantity, unit_price, tva_rate):
        self.quantity, self.unit_price, self.tva_rate = quantity, unit_price, tva_rate
        amounts = line_amounts(quantity=quantity, unit_price=unit_price, tva_rate=tva_rate)
        self.total_ht, self.tva_amount = amounts.total_ht, amounts.tva_amount


lines_strategy = st.lists(st.builds(Line, quantities, prices, rates), min_size=1, max_size=30)


def half_up(value: Fraction) -> Fraction:
    """The exact half-up rounding to the millime of a non-negative fraction (the oracle)."""
    return Fraction(math.floor(value * 1000 + Fraction(1, 2)), 1000)


def exact(value: Decimal) -> Fraction:
    return Fraction(value)


@given(quantities, prices, rates)
def test_each_line_is_rounded_half_up_to_the_millime(quantity, unit_price, rate):
    amounts = line_amounts(quantity=quantity, unit_price=unit_price, tva_rate=rate)

    expected_ht = half_up(exact(quantity) * exact(unit_price))
    expected_tva = half_up(expected_ht * exact(rate) / 100)
    assert exact(amounts.total_ht) == expected_ht
    assert exact(amounts.tva_amount) == expected_tva
    assert amounts.total_ttc == amounts.total_ht + amounts.tva_amount
    for value in (amounts.total_ht, amounts.tva_amount, amounts.total_ttc):
        assert isinstance(value, Decimal)
        assert value.as_tuple().exponent == -3


@given(lines_strategy, stamps)
def test_totals_are_sums_of_the_rounded_lines(lines, stamp):
    totals = document_totals(lines, stamp_duty=stamp)

    assert totals.total_ht == sum(line.total_ht for line in lines)
    assert totals.total_tva == sum(line.tva_amount for line in lines)
    assert totals.stamp_duty == stamp
    assert totals.total_ttc == totals.total_ht + totals.total_tva + stamp
    for value in (totals.total_ht, totals.total_tva, totals.total_ttc):
        assert value.as_tuple().exponent == -3


@given(lines_strategy)
def test_tva_summary_has_one_bucket_per_rate_adding_up_to_the_totals(lines):
    totals = document_totals(lines, stamp_duty=Decimal("1.000"))

    assert [b.rate for b in totals.tva] == sorted({line.tva_rate for line in lines}, reverse=True)
    assert sum(b.base for b in totals.tva) == totals.total_ht
    assert sum(b.amount for b in totals.tva) == totals.total_tva
    for bucket in totals.tva:
        same_rate = [line for line in lines if line.tva_rate == bucket.rate]
        assert bucket.base == sum(line.total_ht for line in same_rate)
        assert bucket.amount == sum(line.tva_amount for line in same_rate)


@given(lines_strategy, st.randoms(use_true_random=False))
def test_totals_do_not_depend_on_the_order_of_lines(lines, rnd: random.Random):
    shuffled = list(lines)
    rnd.shuffle(shuffled)

    assert document_totals(shuffled, stamp_duty=Decimal("1.000")) == document_totals(
        lines, stamp_duty=Decimal("1.000")
    )


@given(lines_strategy)
def test_rounding_per_line_stays_within_half_a_millime_per_line_of_the_exact_total(lines):
    totals = document_totals(lines, stamp_duty=Decimal("0.000"))
    exact_ht = sum(exact(line.quantity) * exact(line.unit_price) for line in lines)

    assert abs(exact(totals.total_ht) - exact_ht) <= Fraction(len(lines), 2000)


def test_ties_round_up_not_to_even():
    assert to_millimes(Decimal("0.0005")) == Decimal("0.001")
    assert to_millimes(Decimal("0.0025")) == Decimal("0.003")  # banker's rounding would give 0.002
    amounts = line_amounts(
        quantity=Decimal("1"), unit_price=Decimal("0.250"), tva_rate=Decimal("19.00")
    )
    assert amounts.tva_amount == Decimal("0.048")  # 0.0475 → 0.048


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_millimes(0.1)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234567.891"), "1 234 567,891"),
        (Decimal("0.5"), "0,500"),
        (Decimal("12"), "12,000"),
    ],
)
def test_amounts_print_in_french_with_three_decimals(value, text):
    assert format_tnd(value) == text


def test_rates_print_without_trailing_zeros():
    assert [format_rate(rate) for rate in RATES] == ["19 %", "13 %", "7 %", "0 %"]
    assert format_rate(Decimal("6.50")) == "6,5 %"


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zéro"),
        (1, "un"),
        (16, "seize"),
        (17, "dix-sept"),
        (21, "vingt et un"),
        (22, "vingt-deux"),
        (71, "soixante et onze"),
        (77, "soixante-dix-sept"),
        (80, "quatre-vingts"),
        (81, "quatre-vingt-un"),
        (91, "quatre-vingt-onze"),
        (100, "cent"),
        (101, "cent un"),
        (200, "deux cents"),
        (280, "deux cent quatre-vingts"),
        (1000, "mille"),
        (2000, "deux mille"),
        (80000, "quatre-vingt mille"),
        (200000, "deux cent mille"),
        (1000000, "un million"),
        (2200000, "deux millions deux cent mille"),
        (300000000, "trois cents millions"),
    ],
)
def test_numbers_in_french_words(number, words):
    assert number_in_words(number) == words


def test_amount_in_words_names_dinars_and_millimes():
    assert amount_in_words(Decimal("102.150")) == "cent deux dinars et cent cinquante millimes"
    assert amount_in_words(Decimal("1.001")) == "un dinar et un millime"
    assert amount_in_words(Decimal("21.000")) == "vingt et un dinars"


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_every_amount_has_words(number):
    words = number_in_words(number)

    assert words and "  " not in words and words == words.strip()
