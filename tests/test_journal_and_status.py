"""Journal lines of a voucher's postings, and a balance's status from its lines (SPEC §2, §3, §4, §6)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from package_bundles.engine import (
	Entry,
	JournalLine,
	LineState,
	Redeem,
	Refund,
	Sell,
	allocate,
	balance_status,
	journal_lines,
	transition,
)
from package_bundles.engine import state as S

PROPERTY = settings(max_examples=300, deadline=None)
DEFERRED = ("Deferred Revenue - PC", "Main - PC")
VISITS = ("Visit Income - PC", "Main - PC")
KITS = ("Product Income - PC", "Main - PC")
ZERO = Decimal("0")


def totals(lines: list[JournalLine]) -> tuple[Decimal, Decimal]:
	return sum((line.debit for line in lines), ZERO), sum((line.credit for line in lines), ZERO)


# -- journal lines --------------------------------------------------------------------------


def test_redeeming_one_visit_posts_dr_deferred_135_cr_visit_income_135():
	assert journal_lines([Entry(DEFERRED, VISITS, Decimal("135.00"))]) == [
		JournalLine(DEFERRED, Decimal("135.00"), ZERO),
		JournalLine(VISITS, ZERO, Decimal("135.00")),
	]


def test_one_entry_per_invoice_groups_rows_by_account_key():
	other_center = ("Visit Income - PC", "Clinic B - PC")
	lines = journal_lines(
		[
			Entry(DEFERRED, VISITS, Decimal("135.00")),
			Entry(DEFERRED, KITS, Decimal("72.00")),
			Entry(DEFERRED, VISITS, Decimal("135.00")),
			Entry(DEFERRED, other_center, Decimal("135.00")),
		]
	)
	assert lines == [
		JournalLine(DEFERRED, Decimal("477.00"), ZERO),
		JournalLine(VISITS, ZERO, Decimal("270.00")),
		JournalLine(KITS, ZERO, Decimal("72.00")),
		JournalLine(other_center, ZERO, Decimal("135.00")),
	]


def test_nothing_to_move_gives_no_entry_and_opposite_moves_cancel_out():
	assert journal_lines([]) == []
	assert journal_lines([Entry(DEFERRED, VISITS, ZERO)]) == []
	assert journal_lines([Entry(DEFERRED, VISITS, Decimal("5")), Entry(VISITS, DEFERRED, Decimal("5"))]) == []


def test_a_negative_amount_moves_the_other_way():
	assert journal_lines([Entry(DEFERRED, VISITS, Decimal("-1.50"))]) == [
		JournalLine(VISITS, Decimal("1.50"), ZERO),
		JournalLine(DEFERRED, ZERO, Decimal("1.50")),
	]


KEYS = st.sampled_from(
	[DEFERRED, VISITS, KITS, ("Breakage Income - PC", None), ("Lab Income - PC", "Clinic B")]
)
ENTRIES = st.lists(
	st.builds(
		Entry,
		debit=KEYS,
		credit=KEYS,
		amount=st.integers(-10_000_000, 10_000_000).map(lambda n: Decimal(n).scaleb(-2)),
	),
	max_size=15,
)


@PROPERTY
@given(ENTRIES)
def test_journal_lines_are_balanced_one_per_key_and_net_what_each_key_moved(entries):
	lines = journal_lines(entries)
	debit, credit = totals(lines)

	assert debit == credit
	assert len({line.key for line in lines}) == len(lines)
	net = {}
	for entry in entries:
		net[entry.debit] = net.get(entry.debit, ZERO) + entry.amount
		net[entry.credit] = net.get(entry.credit, ZERO) - entry.amount
	assert {line.key: line.debit - line.credit for line in lines} == {k: v for k, v in net.items() if v}
	assert all((line.debit == 0) != (line.credit == 0) for line in lines)


# -- balance status -------------------------------------------------------------------------


def line(**values) -> LineState:
	state = transition(LineState(), Sell(Decimal("100.00"), Decimal(3))).state
	from dataclasses import replace

	return replace(state, **values)


def test_status_precedence_cancelled_refunded_exhausted_expired_then_payment():
	assert balance_status([line()]) == S.ACTIVE
	assert balance_status([line(paid=False)]) == S.AWAITING_PAYMENT
	assert balance_status([line(expiries=1)]) == S.EXPIRED
	assert balance_status([line(expiries=1, qty_redeemed=Decimal(3))]) == S.EXHAUSTED
	assert balance_status([line(refunds=1, qty_redeemed=Decimal(3))]) == S.REFUNDED
	assert balance_status([line(sales=0, refunds=1)]) == S.CANCELLED
	assert balance_status([]) == S.CANCELLED


def test_a_balance_is_exhausted_only_when_every_line_is_used_up():
	assert balance_status([line(qty_redeemed=Decimal(3)), line()]) == S.ACTIVE
	assert balance_status([line(qty_redeemed=Decimal(3)), line(qty_redeemed=Decimal(3))]) == S.EXHAUSTED


@PROPERTY
@given(
	sales=st.integers(0, 1),
	refunds=st.integers(0, 1),
	expiries=st.integers(0, 1),
	paid=st.booleans(),
	redeemed=st.integers(0, 3),
)
def test_status_is_one_of_the_six_and_follows_the_markers(sales, refunds, expiries, paid, redeemed):
	state = line(sales=sales, refunds=refunds, expiries=expiries, paid=paid, qty_redeemed=Decimal(redeemed))
	result = balance_status([state])

	assert result in S.STATUSES
	assert (result == S.CANCELLED) == (sales == 0)
	assert (result == S.REFUNDED) == (sales == 1 and refunds == 1)
	if result in (S.ACTIVE, S.AWAITING_PAYMENT):
		assert redeemed < 3 and expiries == 0
		assert result == (S.ACTIVE if paid else S.AWAITING_PAYMENT)


# -- the worked example's life ----------------------------------------------------------------


def worked_example(postpartum_care) -> list[LineState]:
	visits, kit, labs = allocate(postpartum_care, "720.00", 2)
	return [
		transition(LineState(), Sell(allocated, Decimal(qty))).state
		for allocated, qty in ((visits, 4), (kit, 1), (labs, 2))
	]


def test_an_unused_balance_refunds_its_whole_price(postpartum_care):
	refunds = [transition(state, Refund()).state.refunded for state in worked_example(postpartum_care)]
	assert sum(refunds, ZERO) == Decimal("720.00")


def test_a_used_balance_refunds_its_deferred_value_when_the_practice_allows_it(postpartum_care):
	visits, kit, labs = worked_example(postpartum_care)
	visits = transition(visits, Redeem(Decimal(1))).state
	kit = transition(kit, Redeem(Decimal(1))).state
	refunded = [transition(state, Refund(allow_used=True)).state.refunded for state in (visits, kit, labs)]
	assert sum(refunded, ZERO) == Decimal("513.00")


def test_worked_example_life_two_redemptions_then_breakage(postpartum_care):
	visits, kit, labs = worked_example(postpartum_care)
	moves = []
	visits_redeemed = transition(visits, Redeem(Decimal(1)))
	kit_redeemed = transition(kit, Redeem(Decimal(1)))
	moves += [Entry(DEFERRED, VISITS, p.amount) for p in visits_redeemed.postings]
	moves += [Entry(DEFERRED, KITS, p.amount) for p in kit_redeemed.postings]
	assert totals(journal_lines(moves)) == (Decimal("207.00"), Decimal("207.00"))

	lines = [visits_redeemed.state, kit_redeemed.state, labs]
	assert sum((state.deferred for state in lines), ZERO) == Decimal("513.00")
	assert balance_status(lines) == S.ACTIVE

	expired = [transition(state, S.Expire()).state for state in lines]
	broken = [transition(state, S.Break()) for state in expired]
	breakage = [Entry(DEFERRED, ("Breakage Income - PC", None), p.amount) for r in broken for p in r.postings]
	assert journal_lines(breakage) == [
		JournalLine(DEFERRED, Decimal("513.00"), ZERO),
		JournalLine(("Breakage Income - PC", None), ZERO, Decimal("513.00")),
	]
	assert all(result.state.deferred == 0 for result in broken)
	assert balance_status([result.state for result in broken]) == S.EXPIRED
