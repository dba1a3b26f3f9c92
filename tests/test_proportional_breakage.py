"""Breakage method per package (issue 21): At expiry (the default, unchanged) or Proportional.

A Proportional line expects a share r of its value never to be used (IFRS 15 B46,
ASC 606-10-55-48): each use of value v recognizes v x r / (1 - r) of breakage with it,
the rest is broken at expiry, and whatever gives a use back gives its breakage back.
"""

import hashlib
import random
from decimal import Decimal

import pytest
from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from package_bundles.engine import (
	AT_EXPIRY,
	PROPORTIONAL,
	Break,
	Cancel,
	EngineError,
	Expire,
	InvalidBreakageRateError,
	LineState,
	Pay,
	RecognizeUponPurchase,
	Redeem,
	Refund,
	ReturnRedemption,
	Sell,
	balance_status,
	expected_breakage,
	fold,
	invariant_violations,
	line_breakage_rate,
	propose_breakage_rate,
	transition,
)
from package_bundles.engine import state as S

D = Decimal
ZERO = D("0")
RATE = D("0.20")


def sold(allocated="540.00", qty=4, rate=RATE, upon_purchase=False) -> LineState:
	"""SPEC §6: the Postpartum Care visits line, 540.00 for 4 visits, with an expected breakage rate."""
	state = LineState(precision=2, upon_purchase=upon_purchase, breakage_rate=rate)
	state = transition(state, Sell(D(allocated), D(qty))).state
	if upon_purchase:
		state = transition(state, RecognizeUponPurchase()).state
	return state


def moved(result) -> list[tuple]:
	return [(m.event, m.qty, m.deferred, m.revenue) for m in result.movements]


def posted(result) -> list[tuple]:
	return [(p.debit, p.credit, p.amount) for p in result.postings]


def values(state: LineState) -> tuple:
	return (state.recognized, state.broken, state.refunded, state.deferred)


# --- the worked example: 4 visits for 540.00, 20% expected breakage ----------------------------


def test_a_visit_recognizes_135_and_33_75_of_breakage_with_it():
	result = transition(sold(), Redeem(D(1)))

	assert moved(result) == [
		(S.REDEMPTION, D(-1), D("-135.00"), D("135.00")),
		(S.BREAKAGE_WITH_USE, ZERO, D("-33.75"), D("33.75")),
	]
	assert posted(result) == [
		(S.DEFERRED, S.INCOME, D("135.00")),
		(S.DEFERRED, S.BREAKAGE_INCOME, D("33.75")),
	]
	assert values(result.state) == (D("135.00"), D("33.75"), ZERO, D("371.25"))
	assert result.state.broken_with_use == D("33.75") and result.state.broken_at_expiry == ZERO


def test_the_rest_is_broken_at_expiry_and_the_line_ends_at_its_allocation():
	state = transition(sold(), Redeem(D(1))).state
	state = transition(state, Expire()).state
	result = transition(state, Break())

	assert moved(result) == [(S.BREAKAGE, ZERO, D("-371.25"), D("371.25"))]
	assert posted(result) == [(S.DEFERRED, S.BREAKAGE_INCOME, D("371.25"))]
	# the same 405.00 broken as At expiry, 33.75 of it with the visit and 371.25 at expiry
	assert values(result.state) == (D("135.00"), D("405.00"), ZERO, ZERO)
	assert (result.state.broken_with_use, result.state.broken_at_expiry) == (D("33.75"), D("371.25"))
	assert balance_status([result.state]) == S.EXPIRED


def test_a_line_used_up_has_recognized_its_allocation_and_broken_nothing():
	state = sold()
	breakage = []
	for _ in range(3):
		result = transition(state, Redeem(D(1)))
		breakage.append(result.movements[-1].revenue)
		state = result.state
	assert breakage == [D("33.75")] * 3 and state.deferred == D("33.75")

	# the last visit needs 135.00 where 33.75 is deferred: the breakage ahead goes back first
	last = transition(state, Redeem(D(1)))
	assert moved(last) == [
		(S.BREAKAGE_WITH_USE_REVERSAL, ZERO, D("101.25"), D("-101.25")),
		(S.REDEMPTION, D(-1), D("-135.00"), D("135.00")),
	]
	assert posted(last) == [
		(S.BREAKAGE_INCOME, S.DEFERRED, D("101.25")),
		(S.DEFERRED, S.INCOME, D("135.00")),
	]
	assert values(last.state) == (D("540.00"), ZERO, ZERO, ZERO)
	assert balance_status([last.state]) == S.EXHAUSTED


def test_a_return_after_the_visit_gives_back_its_33_75_exactly():
	visit = transition(sold(), Redeem(D(1)))
	result = transition(visit.state, ReturnRedemption(D(1), D(1), D("135.00")))

	assert moved(result) == [
		(S.RETURN, D(1), D("135.00"), D("-135.00")),
		(S.BREAKAGE_WITH_USE_REVERSAL, ZERO, D("33.75"), D("-33.75")),
	]
	assert posted(result) == [
		(S.INCOME, S.DEFERRED, D("135.00")),
		(S.BREAKAGE_INCOME, S.DEFERRED, D("33.75")),
	]
	assert values(result.state) == values(sold()) and result.state.broken_with_use == ZERO
	assert result.state.qty_remaining == D(4)


def test_a_refund_gives_back_the_unused_value_and_reverses_the_breakage():
	state = transition(sold(), Redeem(D(1))).state
	result = transition(state, Refund(allow_used=True))

	assert moved(result) == [
		(S.BREAKAGE_WITH_USE_REVERSAL, ZERO, D("33.75"), D("-33.75")),
		(S.REFUND, ZERO, D("-405.00"), ZERO),
	]
	assert posted(result) == [(S.BREAKAGE_INCOME, S.DEFERRED, D("33.75"))]
	assert values(result.state) == (D("135.00"), ZERO, D("405.00"), ZERO)


def test_a_refund_after_expiry_reverses_both_kinds_of_breakage():
	state = transition(sold(), Redeem(D(1))).state
	state = transition(transition(state, Expire()).state, Break()).state
	result = transition(state, Refund(allow_used=True))

	assert [m.event for m in result.movements] == [
		S.BREAKAGE_WITH_USE_REVERSAL,
		S.BREAKAGE_REVERSAL,
		S.REFUND,
	]
	assert posted(result) == [
		(S.BREAKAGE_INCOME, S.DEFERRED, D("33.75")),
		(S.BREAKAGE_INCOME, S.DEFERRED, D("371.25")),
	]
	assert values(result.state) == (D("135.00"), ZERO, D("405.00"), ZERO)
	# cancelling the refund puts both back
	assert transition(result.state, Cancel(S.CANCEL_REFUND, result.movements)).state == state


def test_an_extension_reverses_the_true_up_and_keeps_the_breakage_with_use():
	state = transition(sold(), Redeem(D(1))).state
	expiry = transition(state, Expire())
	breakage = transition(expiry.state, Break())
	extended = transition(breakage.state, Cancel(S.CANCEL_EXTENSION, expiry.movements + breakage.movements))

	assert extended.movements == () and extended.postings == ()
	assert extended.state == state
	assert (extended.state.broken_with_use, extended.state.deferred) == (D("33.75"), D("371.25"))
	assert balance_status([extended.state]) == S.ACTIVE
	# the next visit carries its own breakage, as the first did
	assert posted(transition(extended.state, Redeem(D(1)))) == [
		(S.DEFERRED, S.INCOME, D("135.00")),
		(S.DEFERRED, S.BREAKAGE_INCOME, D("33.75")),
	]


def test_cancelling_the_redemption_takes_its_breakage_with_it():
	visit = transition(sold(), Redeem(D(1)))
	result = transition(visit.state, Cancel(S.CANCEL_REDEMPTION, visit.movements))

	assert result.movements == () and result.postings == ()
	assert result.state == sold()


def test_cancelling_an_earlier_redemption_leaves_the_breakage_the_later_use_carries():
	first = transition(sold(), Redeem(D(1)))
	second = transition(first.state, Redeem(D(3)))  # used up: the 33.75 went back
	result = transition(second.state, Cancel(S.CANCEL_REDEMPTION, first.movements))

	# undone exactly (135.00 back, the 33.75 it carried out), and the three visits left carry 101.25
	assert moved(result) == [(S.BREAKAGE_WITH_USE, ZERO, D("-135.00"), D("135.00"))]
	assert values(result.state) == (D("405.00"), D("101.25"), ZERO, D("33.75"))


def test_breakage_recognized_ahead_never_makes_a_use_smaller():
	state = sold(rate=D("0.5"))  # each visit expects as much breakage again
	first = transition(state, Redeem(D(1)))
	second = transition(first.state, Redeem(D(1)))
	assert [m.revenue for m in first.movements + second.movements] == [D(135), D(135), D(135), D(135)]
	assert second.state.deferred == ZERO

	third = transition(second.state, Redeem(D(1)))
	assert moved(third) == [
		(S.BREAKAGE_WITH_USE_REVERSAL, ZERO, D("135.00"), D("-135.00")),
		(S.REDEMPTION, D(-1), D("-135.00"), D("135.00")),
	]
	assert values(third.state) == (D("405.00"), D("135.00"), ZERO, ZERO)


def test_a_line_recognized_upon_purchase_ignores_the_rate():
	state = sold(upon_purchase=True)
	result = transition(state, Redeem(D(1)))

	assert moved(result) == [(S.REDEMPTION, D(-1), ZERO, ZERO)] and result.postings == ()
	assert result.state.broken == ZERO


def test_the_ledger_folds_to_the_same_state_with_the_rate_locked_at_sale():
	state, movements = LineState(breakage_rate=RATE), []
	for event in (Sell(D("540.00"), D(4)), Redeem(D(1)), Redeem(D(2)), Expire(), Break()):
		result = transition(state, event)
		state, movements = result.state, movements + list(result.movements)

	assert fold(movements, 2, False, True, RATE) == state
	assert values(state) == (D("405.00"), D("135.00"), ZERO, ZERO)


# --- the rate --------------------------------------------------------------------------------


def test_the_method_decides_the_rate_a_line_locks(refused):
	assert line_breakage_rate(AT_EXPIRY, D("0.2")) == ZERO
	assert line_breakage_rate(None) == ZERO
	assert line_breakage_rate(PROPORTIONAL, "0.2") == D("0.2")
	assert expected_breakage(D("135.00"), D("0.2"), 2) == D("33.75")
	refused(InvalidBreakageRateError, line_breakage_rate, PROPORTIONAL, D(1))
	refused(InvalidBreakageRateError, line_breakage_rate, PROPORTIONAL, D("-0.01"))
	refused(InvalidBreakageRateError, line_breakage_rate, "Sometimes", D("0.2"))
	refused(InvalidBreakageRateError, LineState, breakage_rate=D("1.5"))


def test_a_rate_is_proposed_from_what_ended_balances_broke():
	ended = [(D("540.00"), D("135.00")), (D("720.00"), ZERO), ("300", "300")]

	# 435 / 1560 = 0.278846..., rounded down
	assert propose_breakage_rate(ended, minimum_count=3) == D("0.2788")
	assert propose_breakage_rate(ended, minimum_count=3, precision=2) == D("0.27")
	assert propose_breakage_rate(ended, minimum_count=4) is None
	assert propose_breakage_rate([(ZERO, ZERO)], minimum_count=1) is None
	assert propose_breakage_rate([], minimum_count=0) is None
	# everything broken still proposes a usable rate, below 1
	assert propose_breakage_rate([(D(100), D(100))], minimum_count=1) == D("0.9999")
	assert propose_breakage_rate([(D(100), ZERO)], minimum_count=1) == ZERO


# --- At expiry is what it was ------------------------------------------------------------------

# the fields a line had before issue 21, and what random sequences moved through the engine of
# 7cc61e3 (before it): At expiry, and a rate of 0, must give exactly the same steps
AT_EXPIRY_FIELDS = (
	"precision",
	"upon_purchase",
	"paid",
	"qty_purchased",
	"qty_redeemed",
	"allocated",
	"recognized",
	"broken",
	"refunded",
	"sales",
	"redemptions",
	"refunds",
	"expiries",
)
AT_EXPIRY_DIGEST = "038754ec629dd084dce2ad3cea1fd13eb43986ca765f0bb4e71fdcce74fee9fb"


def random_sequence(seed: int, step, **line) -> None:
	"""One line through 40 random events drawn from ``seed``, with vouchers cancelled as ERPNext would.

	``step(state, event)`` runs each event and returns its transition, or None when refused.
	"""
	draw = random.Random(seed)
	state = LineState(
		precision=draw.choice([0, 2, 3]), upon_purchase=draw.random() < 0.2, paid=draw.random() < 0.8, **line
	)
	sale = step(
		state, Sell(D(draw.randint(0, 500000)).scaleb(-2), D(draw.randint(1, 9)), draw.random() < 0.1)
	)
	state = sale.state
	if state.upon_purchase:
		state = step(state, RecognizeUponPurchase()).state
	vouchers = []  # [kind, movements, redemption: [qty, value, returned]]
	for _ in range(40):
		choice, result = draw.randrange(10), None
		if choice <= 2:
			qty = D(draw.randint(1, 4))
			result = step(state, Redeem(qty))
			if result:
				value = next(m.revenue for m in result.movements if m.event == S.REDEMPTION)
				vouchers.append([S.CANCEL_REDEMPTION, result.movements, [qty, value, ZERO]])
		elif choice == 3:
			open_ = [v for v in vouchers if v[0] == S.CANCEL_REDEMPTION and v[2][2] < v[2][0]]
			if open_:
				voucher = draw.choice(open_)
				moved_qty, moved_value, returned = voucher[2]
				qty = D(draw.randint(1, int(moved_qty - returned)))
				result = step(state, ReturnRedemption(qty, moved_qty, moved_value, returned))
				if result:
					voucher[2][2] += qty
					vouchers.append([S.CANCEL_RETURN, result.movements, voucher[2]])
		elif choice == 4:
			result = step(state, Refund(allow_used=draw.random() < 0.5))
			if result:
				vouchers.append([S.CANCEL_REFUND, result.movements, None])
		elif choice in (5, 6):
			result = step(state, Expire() if choice == 5 else Break())
			if result:
				extension = next((v for v in vouchers if v[0] == S.CANCEL_EXTENSION), None)
				if extension is None:
					vouchers.append([S.CANCEL_EXTENSION, result.movements, None])
				else:
					extension[1] += result.movements
		elif choice in (7, 8):
			# ERPNext cancels a redemption invoice only after its credit notes
			live = [
				v
				for v in vouchers
				if v[0] != S.CANCEL_REDEMPTION
				or not any(r[0] == S.CANCEL_RETURN and r[2] is v[2] for r in vouchers)
			]
			if live:
				voucher = draw.choice(live)
				result = step(state, Cancel(voucher[0], voucher[1]))
				if result:
					vouchers.remove(voucher)
					if voucher[0] == S.CANCEL_RETURN:
						voucher[2][2] -= sum(m.qty for m in voucher[1] if m.event == S.RETURN)
		else:
			result = step(state, Pay(draw.random() < 0.8))
		if result:
			state = result.state


def at_expiry_steps(seeds, **line) -> str:
	"""Digest of every step of random event sequences: the state, movements and postings, or the refusal."""
	digest = hashlib.sha256()

	def step(state, event):
		try:
			result = transition(state, event)
		except EngineError as error:
			digest.update(f"refused {type(error).__name__}\n".encode())
			return None
		fields = [str(getattr(result.state, name)) for name in AT_EXPIRY_FIELDS]
		rows = [(m.event, str(m.qty), str(m.deferred), str(m.revenue), m.count) for m in result.movements]
		rows += [(p.debit, p.credit, str(p.amount)) for p in result.postings]
		digest.update(f"{fields} {rows}\n".encode())
		return result

	for seed in seeds:
		random_sequence(seed, step, **line)
	return digest.hexdigest()


@pytest.mark.parametrize("line", [{}, {"breakage_rate": ZERO}], ids=["at expiry", "rate 0"])
def test_at_expiry_and_a_rate_of_0_move_exactly_what_they_moved_before(line):
	assert at_expiry_steps(range(2000), **line) == AT_EXPIRY_DIGEST


@pytest.mark.parametrize("rate", ["0.05", "0.2", "0.5", "0.9"])
def test_random_sequences_keep_a_proportional_line_at_its_allocation(rate):
	seen = set()

	def step(state, event):
		try:
			result = transition(state, event)
		except EngineError:
			try:
				unchecked = S._HANDLERS[type(event)](state, event)
			except EngineError:
				return None  # refused by the event's own rule
			# refused by SPEC §4 only as At expiry is: a return worth more than the line still recognizes
			problems = invariant_violations(unchecked.state)
			assert all("recognized" in p or "qty_redeemed" in p for p in problems), problems
			return None
		after = result.state
		seen.update(m.event for m in result.movements)
		assert invariant_violations(after) == []
		assert after.recognized + after.broken + after.refunded + after.deferred == after.allocated
		assert net(result.postings, S.DEFERRED) == after.deferred - state.deferred or isinstance(
			event, (Sell, Cancel, Refund)
		)
		if isinstance(event, Break):
			assert after.deferred == ZERO
		if after.is_sold and not after.is_refunded and not after.upon_purchase and after.qty_remaining == 0:
			assert (after.recognized, after.broken, after.deferred) == (after.allocated, ZERO, ZERO)
		if after.upon_purchase:
			assert after.broken_with_use == ZERO
		return result

	for seed in range(500):
		random_sequence(seed, step, breakage_rate=D(rate))
	assert {S.BREAKAGE_WITH_USE, S.BREAKAGE_WITH_USE_REVERSAL, S.BREAKAGE, S.BREAKAGE_REVERSAL} <= seen


# --- random sequences: a Proportional line and its At expiry twin -------------------------------


def net(postings, role) -> Decimal:
	"""What a set of postings credited to a role, less what they debited to it."""
	total = ZERO
	for posting in postings:
		if posting.credit == role:
			total += posting.amount
		if posting.debit == role:
			total -= posting.amount
	return total


class ProportionalLineMachine(RuleBasedStateMachine):
	"""The same random events on a line with a random expected breakage rate and on an At expiry twin.

	After each event: SPEC §4 on both, the state is what its live ledger says and its
	postings moved, a line used up recognized its allocation and broke nothing, and the
	twins used and refunded the same: the rate moves value only between deferred and
	breakage, and never refuses what At expiry allows. The only thing the rate allows that
	At expiry refuses is a cancelled return taking its value back from breakage recognized
	ahead on an expired line; from there on the twins part and only the Proportional line goes on.
	"""

	def __init__(self):
		super().__init__()
		# voucher id -> [kind, (At expiry movements, Proportional movements), (their postings)]
		self.vouchers: dict[int, list] = {}
		self.redemptions: dict[int, tuple[Decimal, Decimal]] = {}  # voucher -> (qty, value)
		self.returned: dict[int, Decimal] = {}
		self.returns_of: dict[int, int] = {}  # return voucher -> redemption voucher
		self.next_id = 0
		self.twins = True

	@initialize(
		precision=st.sampled_from([0, 2, 3]),
		allocated=st.decimals(min_value=0, max_value=5000, places=3),
		qty=st.integers(min_value=1, max_value=12),
		upon_purchase=st.integers(min_value=0, max_value=9),
		unpaid=st.integers(min_value=0, max_value=3),
		rate=st.one_of(
			st.just(ZERO),
			st.sampled_from([D("0.2"), D("0.5"), D("0.9")]),
			st.decimals(min_value=D("0.0001"), max_value=D("0.9"), places=4),
		),
	)
	def sell(self, precision, allocated, qty, upon_purchase, unpaid, rate):
		self.rate = rate
		line = {"precision": precision, "upon_purchase": upon_purchase == 0, "paid": unpaid != 0}
		self.lines = [LineState(**line), LineState(**line, breakage_rate=rate)]
		self.record("purchase", Sell(allocated, D(qty)))
		if self.lines[1].upon_purchase:
			self.record("purchase", RecognizeUponPurchase(), voucher=0)

	@property
	def state(self) -> LineState:
		return self.lines[1]

	def record(self, kind, event, voucher=None, events=None):
		"""Run an event (or one per twin) on both lines; a refusal moves nothing."""
		events = events or (event, event)
		results = []
		for line, each in zip(self.lines, events, strict=True):
			try:
				results.append(transition(line, each))
			except EngineError:
				results.append(None)
		at_expiry, proportional = results
		if self.twins and at_expiry is not None:
			assert proportional is not None, f"the rate refused {events[1]} At expiry allows"
		if proportional is None:
			return None
		if self.twins and at_expiry is None:
			assert isinstance(events[1], Cancel) and events[1].kind == S.CANCEL_RETURN
			assert self.lines[1].is_expired and self.lines[1].broken_with_use
			self.twins = False
		if not self.twins:
			at_expiry = S.Transition(self.lines[0])
		self.lines = [at_expiry.state, proportional.state]
		if voucher is None:
			voucher, self.next_id = self.next_id, self.next_id + 1
			self.vouchers[voucher] = [kind, ((), ()), ((), ())]
		_, movements, postings = self.vouchers[voucher]
		self.vouchers[voucher][1] = (
			movements[0] + at_expiry.movements,
			movements[1] + proportional.movements,
		)
		self.vouchers[voucher][2] = (postings[0] + at_expiry.postings, postings[1] + proportional.postings)
		return voucher

	def live(self, kind):
		return sorted(v for v, (k, movements, _) in self.vouchers.items() if k == kind and movements[1])

	@rule(qty=st.integers(min_value=1, max_value=4))
	def redeem(self, qty):
		self.redeem_some(qty)

	@rule(qty=st.integers(min_value=1, max_value=2))
	def redeem_again(self, qty):
		self.redeem_some(qty)

	def redeem_some(self, qty):
		voucher = self.record("redemption", Redeem(D(qty)))
		if voucher is not None:
			movements = self.vouchers[voucher][1]
			values = [next(m.revenue for m in ms if m.event == S.REDEMPTION) for ms in movements]
			if self.twins:  # never a smaller use for the breakage recognized ahead
				assert values[0] == values[1]
			self.redemptions[voucher] = (D(qty), values[1])
			self.returned[voucher] = ZERO

	@rule(data=st.data())
	def return_part(self, data):
		open_ = [v for v in self.live("redemption") if self.returned[v] < self.redemptions[v][0]]
		assume(open_)
		voucher = data.draw(st.sampled_from(open_))
		moved_qty, moved_value = self.redemptions[voucher]
		qty = data.draw(st.integers(min_value=1, max_value=int(moved_qty - self.returned[voucher])))
		returned = self.record(
			"return", ReturnRedemption(D(qty), moved_qty, moved_value, self.returned[voucher])
		)
		if returned is not None:
			self.returned[voucher] += qty
			self.returns_of[returned] = voucher

	@rule(data=st.data())
	def cancel_another(self, data):
		self.cancel_something(data)

	@rule(data=st.data())
	def cancel_something(self, data):
		kinds = {
			"redemption": S.CANCEL_REDEMPTION,
			"return": S.CANCEL_RETURN,
			"refund": S.CANCEL_REFUND,
			"expiry": S.CANCEL_EXTENSION,
		}
		candidates = [(k, v) for k in kinds for v in self.live(k)]
		assume(candidates)
		kind, voucher = data.draw(st.sampled_from(candidates))
		# ERPNext cancels a redemption invoice only after its credit notes
		if kind == "redemption" and any(self.returns_of.get(r) == voucher for r in self.live("return")):
			return
		movements = self.vouchers[voucher][1]
		events = tuple(Cancel(kinds[kind], ms) for ms in movements)
		adjustment = self.record("adjustment", None, events=events)
		if adjustment is None:
			return
		# the voucher is undone; what its cancel moved besides (breakage, rounding) is a voucher of its own
		self.vouchers[voucher][1] = ((), ()) if self.twins else (movements[0], ())
		if kind == "return":
			self.returned[self.returns_of[voucher]] -= sum(m.qty for m in movements[1] if m.event == S.RETURN)

	@rule(allow=st.booleans(), chance=st.integers(min_value=0, max_value=9))
	def refund(self, allow, chance):
		if chance < 2:
			self.record("refund", Refund(allow_used=allow))

	@rule(chance=st.integers(min_value=0, max_value=9))
	def expire(self, chance):
		if chance < 3:
			self.record("expiry", Expire())

	@rule(chance=st.integers(min_value=0, max_value=9))
	def book_breakage(self, chance):
		expiries = self.live("expiry")
		if chance >= 5 or (not expiries and chance):
			return
		# the true-up belongs to the expiry it follows: an extension takes back every one
		voucher = self.record("expiry", Break(), voucher=expiries[-1] if expiries else None)
		if voucher is not None:
			assert self.state.deferred == ZERO
			if self.twins:
				assert self.lines[0].deferred == ZERO

	@rule(unpay=st.integers(min_value=0, max_value=4))
	def pay(self, unpay):
		# mostly paying; now and then a payment is cancelled
		if unpay < 2 or not self.state.paid:
			self.record("payment", Pay(unpay != 0))

	@invariant()
	def state_is_sound(self):
		if hasattr(self, "lines"):
			for line in self.lines if self.twins else self.lines[1:]:
				assert invariant_violations(line) == []
				assert line.recognized + line.broken + line.refunded + line.deferred == line.allocated
				assert line.deferred >= 0 and line.broken >= 0

	@invariant()
	def state_is_what_the_live_ledger_says_and_the_postings_moved(self):
		if not hasattr(self, "lines"):
			return
		state = self.state
		movements = [m for _, ms, _ in self.vouchers.values() for m in ms[1]]
		assert fold(movements, state.precision, state.upon_purchase, state.paid, self.rate) == state
		# a cancelled voucher's postings are cancelled with it
		postings = [p for _, ms, ps in self.vouchers.values() if ms[1] for p in ps[1]]
		sold_ = sum((m.deferred for m in movements if m.event == S.SALE), ZERO)
		refunded = sum((-m.deferred for m in movements if m.event == S.REFUND), ZERO)
		assert sold_ - refunded + net(postings, S.DEFERRED) == state.deferred
		assert net(postings, S.INCOME) == state.recognized
		assert net(postings, S.BREAKAGE_INCOME) == state.broken

	@invariant()
	def a_line_used_up_recognized_its_allocation_and_broke_nothing(self):
		if not hasattr(self, "lines"):
			return
		state = self.state
		if state.is_sold and not state.is_refunded and not state.upon_purchase and state.qty_remaining == 0:
			assert (state.recognized, state.broken, state.deferred) == (state.allocated, ZERO, ZERO)

	@invariant()
	def the_rate_moves_value_only_between_deferred_and_breakage(self):
		if not hasattr(self, "lines"):
			return
		at_expiry, proportional = self.lines
		assert at_expiry.broken_with_use == ZERO
		if not self.rate or proportional.upon_purchase:
			assert proportional.broken_with_use == ZERO
		if self.twins:
			for name in ("qty_redeemed", "allocated", "recognized", "refunded", "redemptions", "expiries"):
				assert getattr(at_expiry, name) == getattr(proportional, name), name
			assert at_expiry.broken + at_expiry.deferred == proportional.broken + proportional.deferred
			assert balance_status([at_expiry]) == balance_status([proportional])
		if not self.rate and self.twins:
			assert at_expiry == replace_rate(proportional)


def replace_rate(state: LineState) -> LineState:
	return LineState(**{**state.__dict__, "breakage_rate": ZERO})


ProportionalLineMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestProportionalLine = ProportionalLineMachine.TestCase
