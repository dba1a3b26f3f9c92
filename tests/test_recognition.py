"""Value moved out of deferred revenue as units are used (SPEC §3 Allocation, §4 invariant 1).

After ``c`` of ``Q`` units the value recognized is ``A * c / Q`` rounded *down* to
currency precision (never ahead of the service delivered); a fully used line has
moved exactly ``A``.
"""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from package_bundles.engine import (
	InvalidPrecisionError,
	InvalidQuantityError,
	OverRedemptionError,
	breakage_amount,
	deferred_value,
	recognized_value,
	redemption_value,
	reversal_value,
)

PROPERTY = settings(max_examples=300, deadline=None)


def redeem_one_by_one(allocated, units, precision=2):
	return [redemption_value(allocated, units, used, 1, precision) for used in range(units)]


# -- SPEC §6 ------------------------------------------------------------------------------


def test_three_visits_sold_for_100_move_33_33_then_33_33_then_33_34():
	moves = redeem_one_by_one(Decimal("100.00"), 3)

	assert moves == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
	assert [str(move) for move in moves] == ["33.33", "33.33", "33.34"]
	assert sum(moves) == Decimal("100.00")


def test_recognized_so_far_is_rounded_down_never_ahead_of_service():
	assert [recognized_value("100.00", 3, used, 2) for used in range(4)] == [
		Decimal("0.00"),
		Decimal("33.33"),
		Decimal("66.66"),
		Decimal("100.00"),
	]
	assert recognized_value("0.02", 3, 2, 2) == Decimal("0.01")


def test_worked_example_visits_move_135_each_and_labs_54_each():
	assert redeem_one_by_one(Decimal("540.00"), 4) == [Decimal("135.00")] * 4
	assert redeem_one_by_one(Decimal("108.00"), 2) == [Decimal("54.00")] * 2
	assert redemption_value("72.00", 1, 0, 1, 2) == Decimal("72.00")


def test_worked_example_deferred_left_after_one_visit_and_the_kit_is_513():
	visits_left = deferred_value("540.00", 4, 1, 2)
	kit_left = deferred_value("72.00", 1, 1, 2)
	labs_left = deferred_value("108.00", 2, 0, 2)

	assert (visits_left, kit_left, labs_left) == (Decimal("405.00"), Decimal("0.00"), Decimal("108.00"))
	assert (
		visits_left + kit_left + labs_left == Decimal("513.00") == 3 * Decimal("135.00") + Decimal("108.00")
	)


def test_redeeming_several_units_at_once_moves_the_same_as_one_by_one():
	assert redemption_value("100.00", 3, 0, 2, 2) == Decimal("66.66")
	assert redemption_value("100.00", 3, 1, 2, 2) == Decimal("66.67")
	assert redemption_value("100.00", 3, 0, 3, 2) == Decimal("100.00")


def test_fractional_units_move_value_pro_rata():
	assert redemption_value("30.00", "250", "0", "12.5", 2) == Decimal("1.50")
	assert recognized_value("10.00", "0.3", "0.1", 2) == Decimal("3.33")


def test_breakage_of_an_expired_line_is_what_is_still_deferred():
	assert breakage_amount("540.00", 4, 1, 2) == Decimal("405.00")
	assert breakage_amount("540.00", 4, 4, 2) == Decimal("0.00")
	assert breakage_amount("100.00", 3, 2, 2) == Decimal("33.34")


# -- invariant 1: moved values never exceed, and when fully used equal, the allocation ----


@st.composite
def redemption_histories(draw, at_least_one=False):
	"""An allocated line of Q units and a run of redemptions using at most Q of them."""
	precision = draw(st.sampled_from([0, 2, 3]))
	allocated = Decimal(draw(st.integers(0, 1_000_000 * 10**precision))).scaleb(-precision)
	whole = draw(st.booleans())
	places = 0 if whole else draw(st.sampled_from([1, 2, 3]))
	units = draw(st.integers(1, 50 * 10**places))
	purchased = Decimal(units).scaleb(-places)

	quantities, used = [], 0
	for piece in draw(st.lists(st.integers(1, max(1, units // 2)), max_size=40)):
		if used + piece > units:
			break
		quantities.append(Decimal(piece).scaleb(-places))
		used += piece
	if used < units and (draw(st.booleans()) or (at_least_one and not quantities)):
		quantities.append(Decimal(units - used).scaleb(-places))
	return allocated, purchased, quantities, precision


@PROPERTY
@given(redemption_histories())
def test_moves_accumulate_to_the_recognized_value_and_never_exceed_the_allocation(history):
	allocated, purchased, quantities, precision = history
	step = Fraction(1, 10**precision)
	consumed = Decimal(0)
	moved = Decimal(0)

	assert deferred_value(allocated, purchased, 0, precision) == allocated
	for qty in quantities:
		move = redemption_value(allocated, purchased, consumed, qty, precision)
		consumed += qty
		moved += move

		assert move >= 0
		assert moved == recognized_value(allocated, purchased, consumed, precision)
		assert moved <= allocated
		assert deferred_value(allocated, purchased, consumed, precision) + moved == allocated
		assert breakage_amount(allocated, purchased, consumed, precision) == deferred_value(
			allocated, purchased, consumed, precision
		)
		pro_rata = Fraction(allocated) * Fraction(consumed) / Fraction(purchased)
		assert pro_rata - step < Fraction(moved) <= pro_rata

	if consumed == purchased:
		assert moved == allocated
		assert deferred_value(allocated, purchased, consumed, precision) == 0
		assert breakage_amount(allocated, purchased, consumed, precision) == 0


@PROPERTY
@given(redemption_histories(at_least_one=True), st.data())
def test_the_value_moved_does_not_depend_on_how_units_are_grouped(history, data):
	allocated, purchased, quantities, precision = history
	consumed = sum(quantities, Decimal(0))
	split = data.draw(st.integers(0, len(quantities)))
	first = sum(quantities[:split], Decimal(0))

	in_one_go = redemption_value(allocated, purchased, 0, consumed, precision)
	in_two_goes, before = Decimal(0), Decimal(0)
	for part in (first, consumed - first):
		if part:
			in_two_goes += redemption_value(allocated, purchased, before, part, precision)
			before += part

	assert consumed > 0
	assert in_one_go == in_two_goes == recognized_value(allocated, purchased, consumed, precision)


# -- undo: a credit note gives back what its redemption moved ---------------------------------


def test_returning_a_whole_redemption_gives_back_exactly_what_it_moved():
	assert reversal_value("66.67", 2, 0, 2, 2) == Decimal("66.67")
	assert [reversal_value("66.67", 2, returned, 1, 2) for returned in (0, 1)] == [
		Decimal("33.33"),
		Decimal("33.34"),
	]
	assert reversal_value("135.00", 1, 0, 1, 2) == Decimal("135.00")


def test_after_an_undo_the_line_still_moves_exactly_its_allocation_when_used_up():
	# 3 visits for 100.00: redeem 2 (66.66), redeem 1 (33.34), return the first redemption, redeem 2 again.
	first = redemption_value("100.00", 3, 0, 2, 2, recognized_before="0.00")
	second = redemption_value("100.00", 3, 2, 1, 2, recognized_before=first)
	recognized = first + second - reversal_value(first, 2, 0, 2, 2)
	third = redemption_value("100.00", 3, 1, 2, 2, recognized_before=recognized)

	assert (first, second, third) == (Decimal("66.66"), Decimal("33.34"), Decimal("66.66"))
	assert recognized + third == Decimal("100.00")


def test_a_line_already_ahead_after_an_undo_moves_nothing_rather_than_a_negative_amount():
	# 3 for 100.00 with 1 unit used: an undo can leave 33.34 (not 33.33) recognized on the line. The 2nd
	# unit brings the line up to the cumulative 66.66; a line already past that moves nothing.
	assert redemption_value("100.00", 3, 1, 1, 2, recognized_before="33.34") == Decimal("33.32")
	assert redemption_value("100.00", 3, 1, 1, 2, recognized_before="70.00") == Decimal("0.00")


@st.composite
def redemption_and_undo_histories(draw):
	precision = draw(st.sampled_from([0, 2, 3]))
	allocated = Decimal(draw(st.integers(0, 1_000_000 * 10**precision))).scaleb(-precision)
	purchased = draw(st.integers(1, 30))
	return allocated, purchased, precision


@PROPERTY
@given(redemption_and_undo_histories(), st.data())
def test_redemptions_and_undos_keep_the_recognized_amount_between_zero_and_the_allocation(line, data):
	allocated, purchased, precision = line
	consumed, recognized = 0, Decimal(0)
	logs = []  # [value moved, qty, qty returned]

	for _ in range(data.draw(st.integers(1, 25), label="steps")):
		returnable = [log for log in logs if log[2] < log[1]]
		if consumed < purchased and (not returnable or data.draw(st.booleans(), label="redeem")):
			qty = data.draw(st.integers(1, purchased - consumed), label="redeem qty")
			move = redemption_value(
				allocated, purchased, consumed, qty, precision, recognized_before=recognized
			)
			assert move >= 0
			logs.append([move, qty, 0])
			consumed += qty
			recognized += move
			if consumed == purchased:
				assert recognized == allocated, "a used-up line has moved exactly its allocation"
		elif returnable:
			log = data.draw(st.sampled_from(returnable), label="returned redemption")
			qty = data.draw(st.integers(1, log[1] - log[2]), label="return qty")
			back = reversal_value(log[0], log[1], log[2], qty, precision)
			assert 0 <= back <= log[0]
			log[2] += qty
			consumed -= qty
			recognized -= back
		assert 0 <= recognized <= allocated
		assert consumed == sum(log[1] - log[2] for log in logs)

	for move, qty, returned in logs:
		if returned < qty:
			recognized -= reversal_value(move, qty, returned, qty - returned, precision)
	assert recognized == 0, "undoing every redemption gives back everything moved"


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("qty", [0, -1, "-0.5"])
def test_redeeming_zero_or_negative_units_is_refused(refused, qty):
	refused(InvalidQuantityError, redemption_value, "540.00", 4, 0, qty, 2)


def test_redeeming_more_than_was_purchased_is_refused(refused):
	refused(OverRedemptionError, redemption_value, "540.00", 4, 0, 5, 2)
	refused(OverRedemptionError, redemption_value, "540.00", 4, 3, 2, 2)
	refused(OverRedemptionError, redemption_value, "100.00", "2.5", "2.5", "0.001", 2)
	refused(OverRedemptionError, recognized_value, "540.00", 4, 5, 2)
	refused(OverRedemptionError, deferred_value, "540.00", 4, 5, 2)


def test_a_line_of_no_units_or_a_negative_history_is_refused(refused):
	refused(InvalidQuantityError, recognized_value, "540.00", 0, 0, 2)
	refused(InvalidQuantityError, recognized_value, "540.00", -4, 0, 2)
	refused(InvalidQuantityError, recognized_value, "540.00", 4, -1, 2)
	refused(InvalidQuantityError, redemption_value, "540.00", 4, -1, 1, 2)


@pytest.mark.parametrize("precision", [-1, 10, 2.0, None])
def test_bad_precision_is_refused_for_recognition(refused, precision):
	refused(InvalidPrecisionError, recognized_value, "540.00", 4, 1, precision)
	refused(InvalidPrecisionError, recognized_value, "540.00", 4, 4, precision)
	refused(InvalidPrecisionError, redemption_value, "540.00", 4, 0, 1, precision)
	refused(InvalidPrecisionError, deferred_value, "540.00", 4, 0, precision)
