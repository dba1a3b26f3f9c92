"""After the sale (issue 20): a transfer and an upgrade as transitions of the same line state.

A transfer moves unused units and the deferred value they carry from one customer's line
(Transfer Out) to a new line of another customer's balance (Transfer In). An upgrade moves all
of a line's unused units and value out toward a new package's price (the invoice that sells
it moves the value). Each is undone by cancel, exactly.
"""

from decimal import Decimal

import pytest
from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from package_bundles.engine import (
	Break,
	Cancel,
	EngineError,
	Expire,
	LineExpiredError,
	LineRedeemedError,
	LineState,
	LineTransferredError,
	LineUpgradedError,
	LineUsedUpError,
	OverRedemptionError,
	Pay,
	RecognizeUponPurchase,
	Redeem,
	Refund,
	ReturnRedemption,
	Sell,
	TransferIn,
	TransferOut,
	UnpaidLineError,
	Upgrade,
	UponPurchaseLineError,
	balance_status,
	fold,
	invariant_violations,
	transition,
)
from package_bundles.engine import state as S

D = Decimal
ZERO = D("0")


def sold(allocated="540.00", qty=4, rate="0", upon_purchase=False, paid=True) -> LineState:
	state = LineState(precision=2, upon_purchase=upon_purchase, paid=paid, breakage_rate=D(rate))
	state = transition(state, Sell(D(allocated), D(qty))).state
	if upon_purchase:
		state = transition(state, RecognizeUponPurchase()).state
	return state


def moved(result) -> list[tuple]:
	return [(m.event, m.qty, m.deferred, m.revenue) for m in result.movements]


def net(postings, role) -> Decimal:
	"""Net credit a set of postings leaves on a role."""
	total = ZERO
	for posting in postings:
		if posting.credit == role:
			total += posting.amount
		if posting.debit == role:
			total -= posting.amount
	return total


# --- transfer ----------------------------------------------------------------------------------


def test_a_whole_unused_line_moves_its_allocation_to_the_receiving_line():
	result = transition(sold(), TransferOut(D(4)))

	assert moved(result) == [(S.TRANSFER_OUT, D(-4), D("-540.00"), ZERO)]
	assert result.state.deferred == ZERO
	assert result.state.qty_remaining == ZERO
	assert net(result.postings, S.DEFERRED) == D("-540.00")
	assert net(result.postings, S.OTHER_DEFERRED) == D("540.00")
	received = transition(LineState(precision=2), TransferIn(D("540.00"), D(4)))
	assert received.state.deferred == D("540.00")
	assert net(received.postings, S.OTHER_DEFERRED) == D("-540.00")
	assert balance_status([result.state]) == S.TRANSFERRED
	assert balance_status([received.state]) == S.ACTIVE


def test_the_two_unused_visits_of_a_used_line_move_with_their_value_and_the_rest_stays_exact():
	state = transition(sold(), Redeem(D(1))).state  # 135.00 recognized, 405.00 deferred

	result = transition(state, TransferOut(D(2)))

	assert moved(result) == [(S.TRANSFER_OUT, D(-2), D("-270.00"), ZERO)]
	left = result.state
	assert (left.qty_remaining, left.deferred, left.qty_held, left.held_allocation) == (
		D(1),
		D("135.00"),
		D(2),
		D("270.00"),
	)
	# the last visit the line keeps recognizes exactly what it still defers
	last = transition(left, Redeem(D(1)))
	assert last.postings[0].amount == D("135.00")
	assert last.state.deferred == ZERO
	assert balance_status([last.state]) == S.EXHAUSTED


def test_uneven_values_split_by_what_the_unused_units_carry():
	state = sold("100.00", 3)

	result = transition(state, TransferOut(D(1)))
	assert result.movements[0].deferred == D("-33.33")
	rest = result.state
	for _ in range(2):
		rest = transition(rest, Redeem(D(1))).state
	assert rest.recognized == D("66.67")
	assert rest.deferred == ZERO
	assert invariant_violations(rest) == []


@pytest.mark.parametrize(
	("state", "qty", "error"),
	[
		(transition(sold(), Redeem(D(4))).state, D(1), LineUsedUpError),
		(transition(sold(), Expire()).state, D(1), LineExpiredError),
		(sold(upon_purchase=True), D(1), UponPurchaseLineError),
		(sold(paid=False), D(1), UnpaidLineError),
		(sold(), D(5), OverRedemptionError),
		(transition(sold(), Refund()).state, D(1), S.LineRefundedError),
	],
)
def test_a_transfer_is_refused_where_the_line_cannot_give_units(state, qty, error):
	with pytest.raises(error):
		transition(state, TransferOut(qty))


def test_cancelling_the_transfer_gives_the_units_back_and_the_purchase_waits_for_it():
	out = transition(sold(), TransferOut(D(3)))
	with pytest.raises(LineTransferredError):
		transition(
			out.state, Cancel(S.CANCEL_PURCHASE, (transition(LineState(), Sell(D("540"), D(4))).movements))
		)

	back = transition(out.state, Cancel(S.CANCEL_TRANSFER, out.movements))
	assert back.state == sold()


def test_a_line_that_gave_units_away_refunds_only_its_remainder_and_only_where_allowed():
	out = transition(sold(), TransferOut(D(1))).state

	with pytest.raises(S.RefundNotAllowedError):
		transition(out, Refund())
	refund = transition(out, Refund(allow_used=True))
	assert refund.movements[-1].deferred == D("-405.00")
	assert refund.state.deferred == ZERO


def test_the_receiving_line_cannot_be_taken_back_once_it_was_used():
	received = transition(LineState(precision=2), TransferIn(D("270.00"), D(2)))
	used = transition(received.state, Redeem(D(1))).state

	with pytest.raises(LineRedeemedError):
		transition(used, Cancel(S.CANCEL_PURCHASE, received.movements))


def test_a_proportional_line_takes_its_breakage_back_before_the_units_leave():
	state = transition(sold(rate="0.20"), Redeem(D(1))).state  # 135 + 33.75 breakage with use
	assert state.broken_with_use == D("33.75")

	result = transition(state, TransferOut(D(3)))

	assert [m.event for m in result.movements] == [S.BREAKAGE_WITH_USE_REVERSAL, S.TRANSFER_OUT]
	assert result.movements[1].deferred == D("-405.00")
	assert result.state.broken == ZERO
	assert result.state.deferred == ZERO
	assert net(result.postings, S.BREAKAGE_INCOME) == D("-33.75")


# --- upgrade -----------------------------------------------------------------------------------


def test_an_upgrade_moves_every_unused_unit_and_the_balance_ends_upgraded():
	state = transition(sold(), Redeem(D(1))).state

	result = transition(state, Upgrade())

	assert moved(result) == [(S.UPGRADE, D(-3), D("-405.00"), ZERO)]
	# the invoice that sells the new package moves the value: nothing for the app to post
	assert result.postings == ()
	assert result.state.deferred == ZERO
	assert balance_status([result.state]) == S.UPGRADED
	with pytest.raises(LineUpgradedError):
		transition(result.state, Redeem(D(1)))
	with pytest.raises(LineUpgradedError):
		transition(result.state, Refund())
	with pytest.raises(LineUpgradedError):
		transition(result.state, Upgrade())


def test_a_used_up_line_is_exchanged_with_its_balance_and_moves_nothing():
	state = transition(sold(), Redeem(D(4))).state

	result = transition(state, Upgrade())

	assert moved(result) == [(S.UPGRADE, ZERO, ZERO, ZERO)]
	assert result.state.is_upgraded


def test_cancelling_the_upgrade_restores_the_line_and_nothing_else_comes_back_before_it():
	redeemed = transition(sold(), Redeem(D(1)))
	upgraded = transition(redeemed.state, Upgrade())

	with pytest.raises(LineUpgradedError):
		transition(upgraded.state, Cancel(S.CANCEL_REDEMPTION, redeemed.movements))
	restored = transition(upgraded.state, Cancel(S.CANCEL_UPGRADE, upgraded.movements))
	assert restored.state == redeemed.state
	assert balance_status([restored.state]) == S.ACTIVE


@pytest.mark.parametrize(
	("state", "error"),
	[
		(transition(sold(), Expire()).state, LineExpiredError),
		(transition(sold(), Refund()).state, S.LineRefundedError),
		(sold(upon_purchase=True), UponPurchaseLineError),
	],
)
def test_an_upgrade_is_refused_on_an_expired_refunded_or_upon_purchase_line(state, error):
	with pytest.raises(error):
		transition(state, Upgrade())


# --- random sequences over a giving line and a receiving line ----------------------------------


class TransferMachine(RuleBasedStateMachine):
	"""Two lines, the source and the receiver of transfers, under random events.

	After each: both states sound and what their live ledgers fold to; each line's allocation
	split exactly into recognized + broken + refunded + deferred + moved out; what left the source
	by live transfers is what the receiver holds from them; the deferred revenue the postings
	leave equals the lines' deferred.
	"""

	def __init__(self):
		super().__init__()
		self.vouchers: dict[
			int, tuple[str, str, tuple, tuple]
		] = {}  # id -> (line, kind, movements, postings)
		self.states: dict[str, LineState] = {}
		self.next_id = 0

	@initialize(
		allocated=st.decimals(min_value=0, max_value=3000, places=2),
		qty=st.integers(min_value=1, max_value=10),
		rate=st.sampled_from([D("0"), D("0"), D("0.20"), D("0.35")]),
	)
	def sell(self, allocated, qty, rate):
		self.rate = rate
		self.states["source"] = LineState(precision=2, breakage_rate=rate)
		self.record("source", "purchase", Sell(allocated, D(qty)))

	def record(self, line, kind, event):
		before = self.states[line]
		try:
			result = transition(before, event)
		except EngineError:
			assert self.states[line] == before
			return None
		self.states[line] = result.state
		voucher, self.next_id = self.next_id, self.next_id + 1
		self.vouchers[voucher] = (line, kind, result.movements, result.postings)
		return voucher

	def live(self, line=None, kind=None):
		return sorted(
			v
			for v, (ln, k, movements, _) in self.vouchers.items()
			if movements and (line is None or ln == line) and (kind is None or k == kind)
		)

	@rule(line=st.sampled_from(["source", "source", "receiver"]), qty=st.integers(min_value=1, max_value=3))
	def redeem(self, line, qty):
		if line in self.states:
			self.record(line, "redemption", Redeem(D(qty)))

	@rule(qty=st.integers(min_value=1, max_value=4))
	def transfer(self, qty):
		out = self.record("source", "transfer", TransferOut(D(qty)))
		if out is None:
			return
		value = -sum(m.deferred for m in self.vouchers[out][2] if m.event == S.TRANSFER_OUT)
		# each transfer makes a new line on the receiving balance; one line is modelled, so a
		# second transfer waits until the first was undone
		if "receiver" in self.states and self.states["receiver"].is_sold:
			self.undo(out)
			return
		self.states["receiver"] = LineState(precision=2, breakage_rate=self.rate)
		received = self.record("receiver", "transfer in", TransferIn(value, D(qty)))
		assert received is not None
		self.pairs = (out, received)

	@rule()
	def upgrade(self):
		self.record("source", "upgrade", Upgrade())

	@rule(chance=st.integers(min_value=0, max_value=9))
	def expire(self, chance):
		if chance < 2 and self.record("source", "expiry", Expire()) is not None:
			self.record("source", "expiry", Break())

	@rule(chance=st.integers(min_value=0, max_value=9))
	def refund(self, chance):
		if chance < 2:
			self.record("source", "refund", Refund())

	@rule(unpay=st.integers(min_value=0, max_value=5))
	def pay(self, unpay):
		self.states["source"] = transition(self.states["source"], Pay(unpay != 0)).state

	@rule(data=st.data())
	def cancel_something(self, data):
		candidates = [v for v in self.live() if self.vouchers[v][1] != "purchase"]
		assume(candidates)
		self.undo(data.draw(st.sampled_from(candidates)))

	def undo(self, voucher):
		kind = self.vouchers[voucher][1]
		if kind in ("transfer", "transfer in"):
			# a transfer's cancel undoes both sides or neither
			out, received = getattr(self, "pairs", (voucher, None))
			if voucher not in (out, received) or received is None:
				self.cancel_one(voucher, S.CANCEL_TRANSFER)
				return
			# both sides are checked before either is written (cancel_entries with check_only)
			for voucher_, kind_ in ((out, S.CANCEL_TRANSFER), (received, S.CANCEL_PURCHASE)):
				line_, _, movements_, _ = self.vouchers[voucher_]
				try:
					transition(self.states[line_], Cancel(kind_, movements_))
				except EngineError:
					return
			assert self.cancel_one(received, S.CANCEL_PURCHASE)
			assert self.cancel_one(out, S.CANCEL_TRANSFER)
			return
		engine_kind = {
			"redemption": S.CANCEL_REDEMPTION,
			"refund": S.CANCEL_REFUND,
			"expiry": S.CANCEL_EXTENSION,
			"upgrade": S.CANCEL_UPGRADE,
			"adjustment": S.CANCEL_REDEMPTION,
		}[kind]
		self.cancel_one(voucher, engine_kind)

	def cancel_one(self, voucher, engine_kind) -> bool:
		line, kind, movements, _ = self.vouchers[voucher]
		before = self.states[line]
		try:
			result = transition(before, Cancel(engine_kind, movements))
		except EngineError:
			assert self.states[line] == before
			return False
		self.states[line] = result.state
		self.vouchers[voucher] = (line, kind, (), ())
		if result.movements:
			self.vouchers[self.next_id] = (line, "adjustment", result.movements, result.postings)
			self.next_id += 1
		return True

	@invariant()
	def states_are_sound_and_what_the_ledger_says(self):
		for line, state in self.states.items():
			assert invariant_violations(state) == []
			movements = [m for v in self.live(line) for m in self.vouchers[v][2]]
			assert fold(movements, 2, False, state.paid, self.rate) == state

	@invariant()
	def each_allocation_splits_exactly(self):
		for state in self.states.values():
			assert state.recognized + state.broken + state.refunded + state.deferred + state.moved_out == (
				state.allocated
			)
			assert state.deferred >= 0

	@invariant()
	def what_left_by_transfer_is_what_the_receiver_holds(self):
		left = sum(
			(
				-m.deferred
				for v in self.live("source", "transfer")
				for m in self.vouchers[v][2]
				if m.event == S.TRANSFER_OUT
			),
			ZERO,
		)
		received = sum(
			(m.deferred for v in self.live("receiver", "transfer in") for m in self.vouchers[v][2]),
			ZERO,
		)
		assert left == received

	@invariant()
	def postings_leave_in_deferred_revenue_what_the_lines_defer(self):
		sold_value = sum((m.deferred for v in self.live(None, "purchase") for m in self.vouchers[v][2]), ZERO)
		refunded = sum(
			(-m.deferred for v in self.live() for m in self.vouchers[v][2] if m.event == S.REFUND), ZERO
		)
		upgraded = sum(
			(-m.deferred for v in self.live() for m in self.vouchers[v][2] if m.event == S.UPGRADE), ZERO
		)
		postings = [p for v in self.live() for p in self.vouchers[v][3]]
		# the sale's, refund's and upgrade invoice's own GL move those; the app's postings the rest, and a
		# transfer's two sides net to nothing in deferred revenue taken together
		deferred = sum((state.deferred for state in self.states.values()), ZERO)
		posted = net(postings, S.DEFERRED) + net(postings, S.OTHER_DEFERRED)
		assert sold_value - refunded - upgraded + posted == deferred


TransferMachine.TestCase.settings = settings(max_examples=250, stateful_step_count=30, deadline=None)
TestTransferAndUpgrade = TransferMachine.TestCase
