"""Journal lines out of deferred revenue, balance status and refunds (SPEC §2, §3, §4, §6)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from package_bundles.engine import (
	Credit,
	JournalLine,
	LineState,
	RefundNotAllowedError,
	allocate,
	balance_status,
	breakage_amount,
	deferred_value,
	recognition_lines,
	redemption_value,
	refund_value,
)
from package_bundles.engine.lifecycle import (
	ACTIVE,
	AWAITING_PAYMENT,
	CANCELLED,
	EXHAUSTED,
	EXPIRED,
	REFUNDED,
	STATUSES,
)

PROPERTY = settings(max_examples=300, deadline=None)
DEFERRED = "Deferred Revenue - PC"
TODAY = date(2025, 6, 15)
ZERO = Decimal("0")


def totals(lines: list[JournalLine]) -> tuple[Decimal, Decimal]:
	return sum((line.debit for line in lines), ZERO), sum((line.credit for line in lines), ZERO)


# -- journal lines --------------------------------------------------------------------------


def test_redeeming_one_visit_posts_dr_deferred_135_cr_visit_income_135():
	lines = recognition_lines(DEFERRED, [Credit("Visit Income - PC", "Main - PC", Decimal("135.00"))])

	assert lines == [
		JournalLine(DEFERRED, None, Decimal("135.00"), ZERO),
		JournalLine("Visit Income - PC", "Main - PC", ZERO, Decimal("135.00")),
	]


def test_one_entry_per_invoice_groups_rows_by_income_account_and_cost_center():
	credits = [
		Credit("Visit Income - PC", "Main - PC", Decimal("135.00")),
		Credit("Product Income - PC", "Main - PC", Decimal("72.00")),
		Credit("Visit Income - PC", "Main - PC", Decimal("135.00")),
		Credit("Visit Income - PC", "Clinic B - PC", Decimal("135.00")),
	]
	lines = recognition_lines(DEFERRED, credits, deferred_cost_center="Main - PC")

	assert lines == [
		JournalLine(DEFERRED, "Main - PC", Decimal("477.00"), ZERO),
		JournalLine("Visit Income - PC", "Main - PC", ZERO, Decimal("270.00")),
		JournalLine("Product Income - PC", "Main - PC", ZERO, Decimal("72.00")),
		JournalLine("Visit Income - PC", "Clinic B - PC", ZERO, Decimal("135.00")),
	]


def test_zero_value_rows_are_left_out_of_the_entry():
	credits = [
		Credit("Visit Income - PC", None, Decimal("0.00")),
		Credit("Lab Income - PC", None, Decimal("54.00")),
	]
	lines = recognition_lines(DEFERRED, credits)

	assert [line.account for line in lines] == [DEFERRED, "Lab Income - PC"]


def test_nothing_to_recognize_gives_no_entry():
	assert recognition_lines(DEFERRED, []) == []
	assert recognition_lines(DEFERRED, [Credit("Visit Income - PC", None, Decimal("0.00"))]) == []
	assert recognition_lines(DEFERRED, [], reverse=True) == []


def test_undo_reverses_the_entry_side_for_side():
	credits = [Credit("Visit Income - PC", "Main - PC", Decimal("135.00"))]
	reversal = recognition_lines(DEFERRED, credits, reverse=True)

	assert reversal == [
		JournalLine(DEFERRED, None, ZERO, Decimal("135.00")),
		JournalLine("Visit Income - PC", "Main - PC", Decimal("135.00"), ZERO),
	]


def test_amounts_given_as_text_or_float_are_read_exactly():
	lines = recognition_lines(DEFERRED, [Credit("A", None, "0.10"), Credit("A", None, 0.2)])
	assert lines[0].debit == Decimal("0.3") and lines[1].credit == Decimal("0.3")


CREDITS = st.lists(
	st.builds(
		Credit,
		account=st.sampled_from(["Visit Income - PC", "Lab Income - PC", "Product Income - PC"]),
		cost_center=st.sampled_from([None, "Main - PC", "Clinic B - PC"]),
		amount=st.one_of(
			st.just(Decimal("0.00")), st.integers(0, 10_000_000).map(lambda n: Decimal(n).scaleb(-2))
		),
	),
	max_size=15,
)


@PROPERTY
@given(CREDITS, st.sampled_from([None, "Main - PC"]))
def test_recognition_lines_are_balanced_grouped_and_reversible(credits, deferred_cost_center):
	lines = recognition_lines(DEFERRED, credits, deferred_cost_center)
	total = sum((credit.amount for credit in credits), ZERO)

	if not total:
		assert lines == []
		assert recognition_lines(DEFERRED, credits, deferred_cost_center, reverse=True) == []
		return

	debit, credit = totals(lines)
	assert debit == credit == total
	assert lines[0] == JournalLine(DEFERRED, deferred_cost_center, total, ZERO)

	expected = {}
	for c in credits:
		expected[(c.account, c.cost_center)] = expected.get((c.account, c.cost_center), ZERO) + c.amount
	income = {(line.account, line.cost_center): line.credit for line in lines[1:]}
	assert len(income) == len(lines) - 1, "one line per (account, cost center)"
	assert income == {key: amount for key, amount in expected.items() if amount}
	assert all(line.debit == 0 and line.credit > 0 for line in lines[1:])

	reversal = recognition_lines(DEFERRED, credits, deferred_cost_center, reverse=True)
	assert reversal == [
		JournalLine(line.account, line.cost_center, line.credit, line.debit) for line in lines
	]
	assert totals(reversal) == (total, total)


# -- balance status -------------------------------------------------------------------------


def status(**overrides) -> str:
	facts = {
		"cancelled": False,
		"refunded": False,
		"paid": True,
		"qty_remaining": Decimal(3),
		"expiry_date": TODAY + timedelta(days=30),
		"today": TODAY,
	}
	return balance_status(**{**facts, **overrides})


def test_a_paid_balance_with_units_left_is_active_and_unpaid_is_awaiting_payment():
	assert status() == ACTIVE
	assert status(expiry_date=None) == ACTIVE
	assert status(paid=False) == AWAITING_PAYMENT


def test_a_balance_expiring_today_is_still_active_and_expired_from_tomorrow():
	assert status(expiry_date=TODAY) == ACTIVE
	assert status(expiry_date=TODAY - timedelta(days=1)) == EXPIRED
	assert status(expiry_date=TODAY - timedelta(days=1), paid=False) == EXPIRED


def test_a_used_up_balance_is_exhausted_even_after_its_expiry():
	assert status(qty_remaining=Decimal(0)) == EXHAUSTED
	assert status(qty_remaining=Decimal(0), expiry_date=TODAY - timedelta(days=400)) == EXHAUSTED
	assert status(qty_remaining=Decimal(0), paid=False) == EXHAUSTED


def test_refunded_and_cancelled_override_everything_cancelled_first():
	assert status(refunded=True, qty_remaining=Decimal(0), expiry_date=TODAY - timedelta(days=1)) == REFUNDED
	assert status(cancelled=True, refunded=True, qty_remaining=Decimal(0)) == CANCELLED
	assert status(cancelled=True, paid=False) == CANCELLED


@PROPERTY
@given(
	cancelled=st.booleans(),
	refunded=st.booleans(),
	paid=st.booleans(),
	qty_remaining=st.integers(-1, 5).map(Decimal),
	expiry_offset=st.one_of(st.none(), st.integers(-5, 5)),
)
def test_status_precedence_cancelled_refunded_exhausted_expired_then_payment(
	cancelled, refunded, paid, qty_remaining, expiry_offset
):
	expiry_date = None if expiry_offset is None else TODAY + timedelta(days=expiry_offset)
	result = balance_status(
		cancelled=cancelled,
		refunded=refunded,
		paid=paid,
		qty_remaining=qty_remaining,
		expiry_date=expiry_date,
		today=TODAY,
	)
	expired = expiry_date is not None and expiry_date < TODAY

	assert result in STATUSES
	assert (result == CANCELLED) == cancelled
	assert (result == REFUNDED) == (refunded and not cancelled)
	assert (result == EXHAUSTED) == (not cancelled and not refunded and qty_remaining <= 0)
	assert (result == EXPIRED) == (not cancelled and not refunded and qty_remaining > 0 and expired)
	if result in (ACTIVE, AWAITING_PAYMENT):
		assert result == (ACTIVE if paid else AWAITING_PAYMENT)


# -- refunds and the worked example's life ------------------------------------------------------


def worked_example_balance(postpartum_care, visits_used=0, kits_used=0, labs_used=0) -> list[LineState]:
	visits, kit, labs = allocate(postpartum_care, "720.00", 2)
	return [LineState(visits, 4, visits_used), LineState(kit, 1, kits_used), LineState(labs, 2, labs_used)]


def test_an_unused_balance_refunds_its_whole_price(postpartum_care):
	balance = worked_example_balance(postpartum_care)
	assert refund_value(balance, allow_unused_refund=False, precision=2) == Decimal("720.00")
	assert refund_value(balance, allow_unused_refund=True, precision=2) == Decimal("720.00")


def test_a_used_balance_cannot_be_refunded(postpartum_care, refused):
	balance = worked_example_balance(postpartum_care, visits_used=1)
	error = refused(RefundNotAllowedError, refund_value, balance, False, 2)
	assert "redemption" in str(error)


def test_a_used_balance_refunds_its_deferred_value_when_the_practice_allows_it(postpartum_care):
	balance = worked_example_balance(postpartum_care, visits_used=1, kits_used=1)
	assert refund_value(balance, allow_unused_refund=True, precision=2) == Decimal("513.00")


def test_worked_example_life_sale_two_redemptions_then_breakage(postpartum_care):
	visits, kit, labs = allocate(postpartum_care, "720.00", 2)
	deferred = visits + kit + labs
	assert deferred == Decimal("720.00")

	visit_move = redemption_value(visits, 4, 0, 1, 2)
	kit_move = redemption_value(kit, 1, 0, 1, 2)
	entry = recognition_lines(
		DEFERRED,
		[
			Credit("Visit Income - PC", "Main - PC", visit_move),
			Credit("Product Income - PC", "Main - PC", kit_move),
		],
	)
	assert totals(entry) == (Decimal("207.00"), Decimal("207.00"))
	deferred -= entry[0].debit

	left = [deferred_value(visits, 4, 1, 2), deferred_value(kit, 1, 1, 2), deferred_value(labs, 2, 0, 2)]
	assert deferred == sum(left) == Decimal("513.00")
	assert (
		balance_status(
			cancelled=False,
			refunded=False,
			paid=True,
			qty_remaining=Decimal(5),
			expiry_date=TODAY,
			today=TODAY,
		)
		== ACTIVE
	)

	breakage = [
		breakage_amount(visits, 4, 1, 2),
		breakage_amount(kit, 1, 1, 2),
		breakage_amount(labs, 2, 0, 2),
	]
	entry = recognition_lines(DEFERRED, [Credit("Breakage Income - PC", None, amount) for amount in breakage])
	assert entry == [
		JournalLine(DEFERRED, None, Decimal("513.00"), ZERO),
		JournalLine("Breakage Income - PC", None, ZERO, Decimal("513.00")),
	]
	assert deferred - entry[0].debit == 0


@st.composite
def balances(draw):
	lines = []
	for _ in range(draw(st.integers(1, 6))):
		purchased = draw(st.integers(1, 20))
		allocated = Decimal(draw(st.integers(0, 10_000_000))).scaleb(-2)
		lines.append(LineState(allocated, purchased, draw(st.integers(0, purchased))))
	return lines


@PROPERTY
@given(balances())
def test_refund_returns_what_is_still_deferred_and_never_more_than_the_price(lines):
	price = sum((line.allocated for line in lines), ZERO)
	used = any(line.qty_redeemed > 0 for line in lines)

	if used:
		with pytest.raises(RefundNotAllowedError):
			refund_value(lines, allow_unused_refund=False, precision=2)
	else:
		assert refund_value(lines, allow_unused_refund=False, precision=2) == price

	refund = refund_value(lines, allow_unused_refund=True, precision=2)
	assert refund == sum(
		(deferred_value(line.allocated, line.qty_purchased, line.qty_redeemed, 2) for line in lines), ZERO
	)
	assert 0 <= refund <= price
