"""Allocation of a package price over its items (SPEC §3 Allocation, §4 invariant 1, §6)."""

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from package_bundles.engine import (
	DuplicateItemError,
	FractionalQuantityError,
	InvalidPrecisionError,
	InvalidQuantityError,
	NegativePriceError,
	NoItemsError,
	PackageLine,
	allocate,
	default_price,
	largest_remainder,
	redemption_value,
	standard_amounts,
	validate_quantity,
)

PROPERTY = settings(max_examples=300, deadline=None)


def step_of(precision: int) -> Fraction:
	return Fraction(1, 10**precision)


def rounded_price(price: Decimal, precision: int) -> Decimal:
	return price.quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


def amounts(max_whole: int, places: int = 2):
	"""Non-negative money with ``places`` decimals up to ``max_whole``."""
	return st.integers(0, max_whole * 10**places).map(lambda n: Decimal(n).scaleb(-places))


# -- SPEC §6 worked example --------------------------------------------------------------


def test_worked_example_default_price_is_800(postpartum_care):
	assert standard_amounts(postpartum_care, 2) == [Decimal("600.00"), Decimal("80.00"), Decimal("120.00")]
	price = default_price(postpartum_care, 2)
	assert price == Decimal("800.00")
	assert str(price) == "800.00"


def test_worked_example_sold_for_720_allocates_540_72_108(postpartum_care):
	visits, kit, labs = allocate(postpartum_care, Decimal("720.00"), 2)

	assert (visits, kit, labs) == (Decimal("540.00"), Decimal("72.00"), Decimal("108.00"))
	assert [str(a) for a in (visits, kit, labs)] == ["540.00", "72.00", "108.00"]
	assert visits + kit + labs == Decimal("720.00")


def test_worked_example_one_visit_is_worth_135_and_one_lab_54(postpartum_care):
	visits, _, labs = allocate(postpartum_care, Decimal("720.00"), 2)

	assert redemption_value(visits, 4, 0, 1, 2) == Decimal("135.00")
	assert [redemption_value(labs, 2, used, 1, 2) for used in (0, 1)] == [Decimal("54.00"), Decimal("54.00")]


def test_selling_at_the_default_price_allocates_each_item_its_standard_amount(postpartum_care):
	assert allocate(postpartum_care, default_price(postpartum_care, 2), 2) == standard_amounts(
		postpartum_care, 2
	)


def test_price_is_rounded_to_currency_precision_before_splitting(postpartum_care):
	allocations = allocate(postpartum_care, Decimal("720.005"), 2)
	assert sum(allocations) == Decimal("720.01")


def test_leftover_cents_go_to_the_largest_remainders_ties_to_the_earlier_line():
	lines = [PackageLine(code, 1, "10.00") for code in ("A", "B", "C")]
	assert allocate(lines, "100.00", 2) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
	assert allocate(lines, "100.01", 2) == [Decimal("33.34"), Decimal("33.34"), Decimal("33.33")]


def test_the_cent_goes_to_the_line_with_the_largest_remainder_not_the_first():
	# exact shares 10.003, 10.006, 79.991 of 100.00: the one leftover cent goes to B (.006)
	assert largest_remainder(
		Decimal("100.00"), [Decimal("10003"), Decimal("10006"), Decimal("79991")], 2
	) == [
		Decimal("10.00"),
		Decimal("10.01"),
		Decimal("79.99"),
	]


def test_free_package_allocates_zero_to_every_line(postpartum_care):
	assert allocate(postpartum_care, 0, 2) == [Decimal("0.00")] * 3


def test_free_items_are_split_by_quantity():
	lines = [PackageLine("Gauze", 3, 0), PackageLine("Tape", 1, 0)]
	assert allocate(lines, "10.00", 2) == [Decimal("7.50"), Decimal("2.50")]


def test_a_free_item_among_priced_items_gets_nothing(postpartum_care):
	lines = [*postpartum_care, PackageLine("Welcome Leaflet", 1, 0)]
	assert allocate(lines, "720.00", 2) == [
		Decimal("540.00"),
		Decimal("72.00"),
		Decimal("108.00"),
		Decimal("0.00"),
	]


def test_fractional_quantity_is_allowed_where_the_uom_is_not_whole():
	lines = [
		PackageLine("Physiotherapy (hours)", "2.5", "80.00", whole_number=False),
		PackageLine("Massage", 2, 50),
	]
	assert standard_amounts(lines, 2) == [Decimal("200.00"), Decimal("100.00")]
	assert allocate(lines, "240.00", 2) == [Decimal("160.00"), Decimal("80.00")]
	assert validate_quantity("2.5", whole_number=False) == Decimal("2.5")
	assert validate_quantity("3.000", whole_number=True) == Decimal("3")


def test_precision_zero_splits_whole_currency_units():
	lines = [PackageLine("A", 1, 1), PackageLine("B", 1, 1), PackageLine("C", 1, 1)]
	assert allocate(lines, 100, 0) == [Decimal("34"), Decimal("33"), Decimal("33")]


# -- invariant 1: the parts add up to the price ------------------------------------------


@st.composite
def packages(draw, all_zero_rates=None):
	"""1..12 lines, qty 1..50 (fractional on non-whole UOMs), rates 0..10000, price 0..1e6."""
	count = draw(st.integers(1, 12))
	if all_zero_rates is None:
		all_zero_rates = draw(st.integers(0, 5)) == 0
	lines = []
	for index in range(count):
		whole = draw(st.booleans())
		if whole:
			qty = Decimal(draw(st.integers(1, 50)))
		else:
			qty = draw(st.integers(1, 5000).map(lambda n: Decimal(n).scaleb(-2)))
		rate = Decimal("0.00") if all_zero_rates else draw(amounts(10000))
		lines.append(PackageLine(f"ITEM-{index:02d}", qty, rate, whole_number=whole))
	price = draw(amounts(1_000_000))
	precision = draw(st.sampled_from([0, 2, 3]))
	return lines, price, precision


def assert_largest_remainder_split(allocations, total, weights, precision):
	"""What the largest-remainder method guarantees for ``total`` split by ``weights``."""
	step = step_of(precision)
	assert len(allocations) == len(weights)
	assert sum(allocations) == total
	weight_sum = sum(Fraction(w) for w in weights)
	exact = [Fraction(total) * Fraction(w) / weight_sum for w in weights]
	for index, allocation in enumerate(allocations):
		assert allocation >= 0
		assert allocation.as_tuple().exponent == -precision, f"{allocation} is not at precision {precision}"
		assert abs(Fraction(allocation) - exact[index]) < step, (index, allocation, exact[index])
	for i in range(len(weights)):
		for j in range(len(weights)):
			if weights[i] > weights[j] or (weights[i] == weights[j] and i < j):
				assert allocations[i] >= allocations[j], (i, j, allocations[i], allocations[j])


@PROPERTY
@given(packages())
def test_allocations_sum_exactly_to_the_rounded_price(package):
	lines, price, precision = package
	allocations = allocate(lines, price, precision)

	standard = standard_amounts(lines, precision)
	weights = standard if any(standard) else [line.qty for line in lines]
	assert_largest_remainder_split(allocations, rounded_price(price, precision), weights, precision)


@PROPERTY
@given(packages(all_zero_rates=True))
def test_all_free_items_are_split_in_proportion_to_quantity(package):
	lines, price, precision = package
	allocations = allocate(lines, price, precision)

	assert_largest_remainder_split(
		allocations, rounded_price(price, precision), [line.qty for line in lines], precision
	)


@PROPERTY
@given(packages(all_zero_rates=False))
def test_selling_at_default_price_reproduces_standard_amounts(package):
	lines, _, precision = package
	price = default_price(lines, precision)

	assert price == sum(standard_amounts(lines, precision))
	if price:
		assert allocate(lines, price, precision) == standard_amounts(lines, precision)


# -- bad input is refused with its own error ------------------------------------------------


def test_a_package_without_items_is_refused(refused):
	refused(NoItemsError, allocate, [], "100.00", 2)
	refused(NoItemsError, default_price, [], 2)


@pytest.mark.parametrize("qty", ["0", "-1", "-0.5", "NaN", "Infinity"])
def test_quantity_must_be_positive(refused, qty):
	lines = [PackageLine("Office Visit", qty, "150.00", whole_number=False)]
	refused(InvalidQuantityError, allocate, lines, "100.00", 2)
	refused(InvalidQuantityError, default_price, lines, 2)


def test_fractional_quantity_of_a_whole_unit_item_is_refused_as_such(refused):
	lines = [PackageLine("Office Visit", "1.5", "150.00", whole_number=True)]
	error = refused(FractionalQuantityError, allocate, lines, "100.00", 2)

	assert isinstance(error, InvalidQuantityError)
	assert "whole" in str(error)
	refused(FractionalQuantityError, validate_quantity, "0.5", True, "Office Visit")


def test_negative_standard_rate_is_refused(refused):
	lines = [PackageLine("Office Visit", 4, "150.00"), PackageLine("Lab Panel", 2, "-60.00")]
	refused(NegativePriceError, allocate, lines, "720.00", 2)
	refused(NegativePriceError, default_price, lines, 2)


@pytest.mark.parametrize("price", ["-0.01", "-720", "NaN", "-Infinity"])
def test_negative_package_price_is_refused(refused, postpartum_care, price):
	refused(NegativePriceError, allocate, postpartum_care, Decimal(price), 2)


def test_the_same_item_twice_is_refused(refused, postpartum_care):
	lines = [*postpartum_care, PackageLine("Office Visit", 1, "150.00")]
	error = refused(DuplicateItemError, allocate, lines, "720.00", 2)
	assert "Office Visit" in str(error)


@pytest.mark.parametrize("precision", [-1, 10, 2.0, "2", None, True])
def test_bad_currency_precision_is_refused(refused, postpartum_care, precision):
	refused(InvalidPrecisionError, allocate, postpartum_care, "720.00", precision)
	refused(InvalidPrecisionError, default_price, postpartum_care, precision)
