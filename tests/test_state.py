"""One state model for a balance line (SPEC §3 State, §4): every event is a transition of the state
derived from the line's ledger; refusals move nothing; cancelling a voucher undoes exactly its own movements.
"""

from decimal import Decimal

import pytest
from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from package_bundles.engine import (
	Break,
	Cancel,
	Expire,
	LineCancelledError,
	LineExpiredError,
	LineNotExpiredError,
	LineRedeemedError,
	LineRefundedError,
	LineReturnedError,
	LineState,
	LineStateError,
	Movement,
	OverRedemptionError,
	Pay,
	RecognizeUponPurchase,
	Redeem,
	Refund,
	RefundNotAllowedError,
	ReturnRedemption,
	Sell,
	UnpaidLineError,
	apply,
	balance_status,
	fold,
	invariant_violations,
	transition,
)
from package_bundles.engine import state as S

D = Decimal
ZERO = D("0")


def sold(allocated="540.00", qty=4, upon_purchase=False, paid=True) -> LineState:
	state = LineState(precision=2, upon_purchase=upon_purchase, paid=paid)
	state = transition(state, Sell(D(allocated), D(qty))).state
	if upon_purchase:
		state = transition(state, RecognizeUponPurchase()).state
	return state


def deferred_moved(postings) -> Decimal:
	"""Net credit to the deferred revenue role of a set of postings."""
	total = ZERO
	for posting in postings:
		if posting.credit == S.DEFERRED:
			total += posting.amount
		if posting.debit == S.DEFERRED:
			total -= posting.amount
	return total


# --- the worked example, event by event -------------------------------------------------------


def test_sale_leaves_the_allocation_deferred():
	state = sold()

	assert (state.qty_remaining, state.deferred, state.recognized) == (D(4), D("540.00"), ZERO)
	assert balance_status([state]) == S.ACTIVE


def test_redeeming_one_visit_moves_135_from_deferred_to_income():
	result = transition(sold(), Redeem(D(1)))

	assert result.movements == (Movement(S.REDEMPTION, D(-1), D("-135.00"), D("135.00")),)
	assert [(p.debit, p.credit, p.amount) for p in result.postings] == [(S.DEFERRED, S.INCOME, D("135.00"))]
	assert (result.state.qty_remaining, result.state.deferred) == (D(3), D("405.00"))


def test_uneven_values_move_33_33_33_33_33_34():
	state = sold("100.00", 3)
	moved = []
	for _ in range(3):
		result = transition(state, Redeem(D(1)))
		moved.append(result.postings[0].amount)
		state = result.state

	assert moved == [D("33.33"), D("33.33"), D("33.34")]
	assert state.deferred == ZERO and balance_status([state]) == S.EXHAUSTED


def test_upon_purchase_recognizes_at_sale_and_redeems_units_only():
	state = sold(upon_purchase=True)
	result = transition(state, Redeem(D(1)))

	assert state.recognized == D("540.00") and state.deferred == ZERO
	assert result.postings == () and result.state.qty_remaining == D(3)


def test_unpaid_line_waits_for_payment():
	state = sold(paid=False)

	assert balance_status([state]) == S.AWAITING_PAYMENT
	with pytest.raises(UnpaidLineError):
		transition(state, Redeem(D(1)))
	assert balance_status([transition(state, Pay(True)).state]) == S.ACTIVE


# --- cancel undoes exactly one voucher ---------------------------------------------------------


def test_two_returns_against_one_redemption_cancel_in_any_order():
	state = sold("100.00", 3)
	redemption = transition(state, Redeem(D(3)))
	state = redemption.state
	first = transition(state, ReturnRedemption(D(1), D(3), D("100.00"), ZERO))
	state = first.state
	second = transition(state, ReturnRedemption(D(1), D(3), D("100.00"), D(1)))
	state = second.state
	assert (state.qty_remaining, state.deferred) == (D(2), D("66.66"))

	# cancel the first credit note, then the second: each gives back what it moved
	state = transition(state, Cancel(S.CANCEL_RETURN, first.movements)).state
	assert (state.qty_remaining, state.deferred) == (D(1), D("33.33"))
	state = transition(state, Cancel(S.CANCEL_RETURN, second.movements)).state
	assert (state.qty_remaining, state.deferred, state.recognized) == (ZERO, ZERO, D("100.00"))


def test_a_redemption_partly_given_back_cannot_be_undone_before_its_credit_note():
	redemption = transition(sold("100.00", 3), Redeem(D(2)))
	returned = transition(redemption.state, ReturnRedemption(D(1), D(2), D("66.66")))

	with pytest.raises(LineReturnedError):
		transition(returned.state, Cancel(S.CANCEL_REDEMPTION, redemption.movements))


def test_cancelling_a_return_whose_units_were_used_again_is_refused():
	state = sold("100.00", 3)
	state = transition(state, Redeem(D(3))).state
	returned = transition(state, ReturnRedemption(D(1), D(3), D("100.00")))
	state = transition(returned.state, Redeem(D(1))).state

	with pytest.raises(OverRedemptionError):
		transition(state, Cancel(S.CANCEL_RETURN, returned.movements))


def test_a_line_used_up_again_by_a_cancelled_return_is_rounded_to_its_allocation():
	state = sold("100.00", 3)
	first = transition(state, Redeem(D(1)))  # 33.33
	state = transition(first.state, Redeem(D(1))).state  # 33.33
	returned = transition(state, ReturnRedemption(D(1), D(1), D("33.33")))  # 33.33 back
	state = transition(returned.state, Redeem(D(1))).state  # 66.66 - 33.33 = 33.33
	result = transition(state, Cancel(S.CANCEL_RETURN, returned.movements))

	assert result.movements == (Movement(S.ROUNDING, ZERO, D("-0.01"), D("0.01")),)
	assert result.state.recognized == D("100.00") and result.state.deferred == ZERO


# --- refunds ----------------------------------------------------------------------------------


def test_unused_balance_refunds_its_whole_allocation():
	result = transition(sold(), Refund())

	assert result.movements == (Movement(S.REFUND, ZERO, D("-540.00"), ZERO),)
	assert result.state.deferred == ZERO and balance_status([result.state]) == S.REFUNDED


def test_used_balance_is_refunded_only_when_allowed_and_at_its_unused_value():
	state = transition(sold(), Redeem(D(1))).state

	with pytest.raises(RefundNotAllowedError):
		transition(state, Refund())
	result = transition(state, Refund(allow_used=True))
	assert result.state.refunded == D("405.00") and result.state.deferred == ZERO


def test_no_instance_is_refunded_twice():
	state = transition(sold(), Refund()).state

	with pytest.raises(LineRefundedError):
		transition(state, Refund())


def test_refund_of_an_expired_balance_reverses_its_breakage_first():
	state = transition(sold(), Expire()).state
	state = transition(state, Break()).state
	assert (state.broken, state.deferred) == (D("540.00"), ZERO)

	result = transition(state, Refund())
	assert [m.event for m in result.movements] == [S.BREAKAGE_REVERSAL, S.REFUND]
	assert [(p.debit, p.credit, p.amount) for p in result.postings] == [
		(S.BREAKAGE_INCOME, S.DEFERRED, D("540.00"))
	]
	assert (result.state.broken, result.state.refunded, result.state.deferred) == (ZERO, D("540.00"), ZERO)


def test_upon_purchase_refund_takes_back_the_revenue_of_the_unused_units():
	state = transition(sold(upon_purchase=True), Redeem(D(1))).state
	result = transition(state, Refund(allow_used=True))

	assert [(p.debit, p.credit, p.amount) for p in result.postings] == [(S.INCOME, S.DEFERRED, D("405.00"))]
	assert (result.state.recognized, result.state.refunded, result.state.deferred) == (
		D("135.00"),
		D("405.00"),
		ZERO,
	)


def test_undo_after_a_refund_is_refused_until_the_refund_is_cancelled():
	redemption = transition(sold(), Redeem(D(1)))
	refund = transition(redemption.state, Refund(allow_used=True))

	with pytest.raises(LineRefundedError):
		transition(refund.state, Cancel(S.CANCEL_REDEMPTION, redemption.movements))
	state = transition(refund.state, Cancel(S.CANCEL_REFUND, refund.movements)).state
	state = transition(state, Cancel(S.CANCEL_REDEMPTION, redemption.movements)).state
	assert state == sold()


# --- expiry, breakage, extension, purchase cancel ----------------------------------------------


def test_breakage_only_on_an_expired_line_and_extension_gives_it_back():
	with pytest.raises(LineNotExpiredError):
		transition(sold(), Break())
	expired = transition(transition(sold(), Redeem(D(1))).state, Expire())
	broken = transition(expired.state, Break())
	assert broken.postings[0].amount == D("405.00") and balance_status([broken.state]) == S.EXPIRED
	with pytest.raises(LineExpiredError):
		transition(broken.state, Redeem(D(1)))

	extended = transition(broken.state, Cancel(S.CANCEL_EXTENSION, expired.movements + broken.movements))
	assert extended.state.deferred == D("405.00") and balance_status([extended.state]) == S.ACTIVE


def test_purchase_with_redemptions_cannot_be_cancelled():
	state = sold()
	redeemed = transition(state, Redeem(D(1))).state

	with pytest.raises(LineRedeemedError):
		transition(redeemed, Cancel(S.CANCEL_PURCHASE, (Movement(S.SALE, D(4), D("540.00")),)))
	cancelled = transition(state, Cancel(S.CANCEL_PURCHASE, (Movement(S.SALE, D(4), D("540.00")),))).state
	assert balance_status([cancelled]) == S.CANCELLED and cancelled.deferred == ZERO
	with pytest.raises(LineCancelledError):
		transition(cancelled, Redeem(D(1)))


def test_refused_events_name_their_reason(refused):
	state = sold()
	refused(OverRedemptionError, transition, state, Redeem(D(5)))
	refused(LineStateError, transition, state, Sell(D(1), D(1)))
	refused(LineNotExpiredError, transition, state, Break())


def test_opening_balance_posts_against_the_opening_account():
	result = transition(LineState(), Sell(D("270.00"), D(2), opening=True))

	assert [(p.debit, p.credit, p.amount) for p in result.postings] == [
		(S.OPENING_ACCOUNT, S.DEFERRED, D("270.00"))
	]
	assert transition(result.state, Redeem(D(1))).postings[0].amount == D("135.00")


# --- random sequences: the stateful model -------------------------------------------------------


class BalanceLineMachine(RuleBasedStateMachine):
	"""Random events on one line; after each: the invariants, state = fold(live ledger), deferred = GL."""

	def __init__(self):
		super().__init__()
		self.vouchers: dict[int, tuple[str, tuple, tuple]] = {}  # id -> (kind, movements, postings)
		self.redemptions: dict[int, tuple[Decimal, Decimal]] = {}  # voucher id -> (qty, value)
		self.returned: dict[int, Decimal] = {}
		self.returns_of: dict[int, int] = {}  # return voucher -> redemption voucher
		self.next_id = 0
		self.allow_used = False

	@initialize(
		allocated=st.decimals(min_value=0, max_value=5000, places=2),
		qty=st.integers(min_value=1, max_value=12),
		upon_purchase=st.booleans(),
		paid=st.booleans(),
	)
	def sell(self, allocated, qty, upon_purchase, paid):
		self.state = LineState(precision=2, upon_purchase=upon_purchase, paid=paid)
		self.record("purchase", Sell(allocated, D(qty)))
		if upon_purchase:
			self.record("purchase", RecognizeUponPurchase(), voucher=0)

	def record(self, kind, event, voucher=None):
		"""Apply an event; a refusal must leave the state as it was."""
		before = self.state
		try:
			result = transition(self.state, event)
		except LineStateError:
			assert self.state == before
			return None
		except (OverRedemptionError, RefundNotAllowedError):
			assert self.state == before
			return None
		self.state = result.state
		if voucher is None:
			voucher, self.next_id = self.next_id, self.next_id + 1
			self.vouchers[voucher] = (kind, (), ())
		old_kind, movements, postings = self.vouchers[voucher]
		self.vouchers[voucher] = (old_kind, movements + result.movements, postings + result.postings)
		return voucher

	def live(self, kind):
		return sorted(v for v, (k, movements, _) in self.vouchers.items() if k == kind and movements)

	@rule(qty=st.integers(min_value=1, max_value=4))
	def redeem(self, qty):
		self.redeem_some(qty)

	@rule(qty=st.integers(min_value=1, max_value=2))
	def redeem_again(self, qty):
		self.redeem_some(qty)

	def redeem_some(self, qty):
		voucher = self.record("redemption", Redeem(D(qty)))
		if voucher is not None:
			_, movements, _ = self.vouchers[voucher]
			self.redemptions[voucher] = (D(qty), -movements[0].deferred)
			self.returned[voucher] = ZERO

	@rule(data=st.data())
	def return_part(self, data):
		open_ = [v for v in self.live("redemption") if self.returned[v] < self.redemptions[v][0]]
		assume(open_)
		voucher = data.draw(st.sampled_from(open_))
		moved_qty, moved_value = self.redemptions[voucher]
		qty = data.draw(st.integers(min_value=1, max_value=int(moved_qty - self.returned[voucher])))
		event = ReturnRedemption(D(qty), moved_qty, moved_value, self.returned[voucher])
		returned = self.record("return", event)
		if returned is not None:
			self.returned[voucher] += qty
			self.returns_of[returned] = voucher

	@rule(data=st.data())
	def cancel_something(self, data):
		kinds = ["redemption", "return", "refund", "expiry"]
		candidates = [(k, v) for k in kinds for v in self.live(k)]
		assume(candidates)
		kind, voucher = data.draw(st.sampled_from(candidates))
		# ERPNext cancels a redemption invoice only after its credit notes
		if kind == "redemption" and any(self.returns_of.get(r) == voucher for r in self.live("return")):
			return
		_, movements, _ = self.vouchers[voucher]
		engine_kind = {
			"redemption": S.CANCEL_REDEMPTION,
			"return": S.CANCEL_RETURN,
			"refund": S.CANCEL_REFUND,
			"expiry": S.CANCEL_EXTENSION,
		}[kind]
		before = self.state
		try:
			result = transition(self.state, Cancel(engine_kind, movements))
		except (LineStateError, OverRedemptionError):
			assert self.state == before
			return
		self.state = result.state
		self.vouchers[voucher] = (kind, (), ())
		if result.movements:  # a rounding true-up is a voucher of its own
			self.vouchers[self.next_id] = ("rounding", result.movements, result.postings)
			self.next_id += 1
		if kind == "return":
			self.returned[self.returns_of[voucher]] -= sum(m.qty for m in movements if m.event == S.RETURN)

	@rule(allow=st.booleans(), chance=st.integers(min_value=0, max_value=9))
	def refund(self, allow, chance):
		if chance < 3:
			self.record("refund", Refund(allow_used=allow))

	@rule(book_breakage=st.booleans(), chance=st.integers(min_value=0, max_value=9))
	def expire(self, book_breakage, chance):
		if chance >= 3:
			return
		voucher = self.record("expiry", Expire())
		if voucher is not None and book_breakage:
			self.record("expiry", Break(), voucher=voucher)

	@rule(unpay=st.integers(min_value=0, max_value=4))
	def pay(self, unpay):
		# mostly paying; now and then a payment is cancelled
		self.state = transition(self.state, Pay(unpay != 0)).state

	@rule(chance=st.integers(min_value=0, max_value=9))
	def cancel_purchase(self, chance):
		_, movements, _ = self.vouchers[0]
		if chance or not movements:
			return  # rare, and only once
		# the purchase takes its balance's expiry and breakage with it
		expiries = self.live("expiry")
		movements += tuple(m for v in expiries for m in self.vouchers[v][1])
		try:
			result = transition(self.state, Cancel(S.CANCEL_PURCHASE, movements))
		except (LineStateError, OverRedemptionError):
			return
		self.state = result.state
		for voucher in [0, *expiries]:
			self.vouchers[voucher] = (self.vouchers[voucher][0], (), ())

	@invariant()
	def state_is_sound(self):
		if hasattr(self, "state"):
			assert invariant_violations(self.state) == []

	@invariant()
	def state_is_what_the_live_ledger_says(self):
		if hasattr(self, "state"):
			movements = [m for _, ms, _ in self.vouchers.values() for m in ms]
			derived = fold(movements, 2, self.state.upon_purchase, self.state.paid)
			assert derived == self.state

	@invariant()
	def deferred_equals_what_the_postings_left_in_deferred_revenue(self):
		if hasattr(self, "state"):
			sale_credit = sum(
				(m.deferred for _, ms, _ in self.vouchers.values() for m in ms if m.event == S.SALE), ZERO
			)
			refunds = sum(
				(-m.deferred for _, ms, _ in self.vouchers.values() for m in ms if m.event == S.REFUND), ZERO
			)
			posted = sum((deferred_moved(ps) for _, _, ps in self.vouchers.values()), ZERO)
			# the sale's and refund's own invoices move deferred revenue; the app's postings the rest
			assert sale_credit - refunds + posted == self.state.deferred

	@invariant()
	def never_recognizes_more_than_it_sold(self):
		if hasattr(self, "state"):
			state = self.state
			assert state.recognized + state.broken + state.refunded <= state.allocated


BalanceLineMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
TestBalanceLine = BalanceLineMachine.TestCase


def test_fold_of_a_movement_and_its_reversal_is_nothing():
	movement = Movement(S.REDEMPTION, D(-1), D("-135.00"), D("135.00"))
	state = sold()

	assert apply(state, [movement, movement.reversed()]) == state
