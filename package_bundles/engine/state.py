"""A balance line's state, derived from its ledger, and every event as one transition (SPEC §3 State).

The ledger of a balance line is a list of movements (sale, redemption, return,
refund, breakage, expiry ...). ``fold`` derives the line's state from them; the
same state is never kept anywhere else. ``transition(state, event)`` is the one
place that decides whether an event is allowed on a state and what it moves:
it returns the new state, the ledger movements to write and the postings the
general ledger must carry, or refuses with a specific error and moves nothing.

Cancelling a voucher is the event ``Cancel`` with that voucher's own movements:
the new state is the old one without them, so any number of vouchers can be
cancelled in any order and each gives back exactly what it moved.

A line sold with the Proportional breakage method carries its expected breakage rate
(``breakage_rate``; 0 is the At expiry method). Its breakage recognized with use is a
function of the state (``breakage_with_use_target``): every redemption and return, and
the cancel of one, moves it there with a movement of its own, so giving a use back gives
back exactly the breakage that went with it.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from package_bundles.engine.breakage import expected_breakage, validate_breakage_rate
from package_bundles.engine.errors import (
	InvalidQuantityError,
	LineCancelledError,
	LineExpiredError,
	LineNotExpiredError,
	LineRedeemedError,
	LineRefundedError,
	LineReturnedError,
	LineStateError,
	LineTransferredError,
	LineUpgradedError,
	LineUsedUpError,
	OverRedemptionError,
	RefundNotAllowedError,
	UnpaidLineError,
	UponPurchaseLineError,
)
from package_bundles.engine.money import ZERO, round_money, to_decimal
from package_bundles.engine.recognition import recognized_value, reversal_value

# ledger events
SALE = "Sale"
OPENING = "Opening"
RECOGNITION = "Recognition Upon Purchase"
REDEMPTION = "Redemption"
RETURN = "Redemption Return"
ROUNDING = "Rounding"
REFUND = "Refund"
REFUND_REVERSAL = "Refund Recognition Reversal"
BREAKAGE = "Breakage"
BREAKAGE_REVERSAL = "Breakage Reversal"
EXPIRY = "Expiry"
# Proportional method: breakage recognized with each use, and given back when a use needs it
BREAKAGE_WITH_USE = "Breakage With Use"
BREAKAGE_WITH_USE_REVERSAL = "Breakage With Use Reversal"
# after the sale (issue 20): unused units and their deferred value leave a line for another
# customer's balance (Transfer Out / Transfer In), or toward a new package's price (Upgrade)
TRANSFER_OUT = "Transfer Out"
TRANSFER_IN = "Transfer In"
UPGRADE = "Upgrade"
EVENTS = (
	SALE,
	OPENING,
	RECOGNITION,
	REDEMPTION,
	RETURN,
	ROUNDING,
	REFUND,
	REFUND_REVERSAL,
	BREAKAGE,
	BREAKAGE_REVERSAL,
	EXPIRY,
	BREAKAGE_WITH_USE,
	BREAKAGE_WITH_USE_REVERSAL,
	TRANSFER_OUT,
	TRANSFER_IN,
	UPGRADE,
)

# what a movement's revenue side is: recognized by use, or broken (at expiry, or with use)
RECOGNIZING = frozenset({RECOGNITION, REDEMPTION, RETURN, ROUNDING, REFUND_REVERSAL})
BREAKING_WITH_USE = frozenset({BREAKAGE_WITH_USE, BREAKAGE_WITH_USE_REVERSAL})
BREAKING_AT_EXPIRY = frozenset({BREAKAGE, BREAKAGE_REVERSAL})
BREAKING = BREAKING_AT_EXPIRY | BREAKING_WITH_USE
SELLING = frozenset({SALE, OPENING, TRANSFER_IN})
USING = frozenset({REDEMPTION, RETURN})
# units and value that left the line for another balance or a new package (not used, not refunded)
MOVING_OUT = frozenset({TRANSFER_OUT, UPGRADE})

# accounting roles a posting moves value between; the app maps them to accounts
DEFERRED = "deferred"
INCOME = "income"
BREAKAGE_INCOME = "breakage"
OPENING_ACCOUNT = "opening"
# the deferred revenue of the balance on the other side of a transfer (the app nets it away
# when both sides sit on the same account and dimensions)
OTHER_DEFERRED = "other deferred"

# balance statuses
AWAITING_PAYMENT = "Awaiting Payment"
ACTIVE = "Active"
EXHAUSTED = "Exhausted"
EXPIRED = "Expired"
REFUNDED = "Refunded"
CANCELLED = "Cancelled"
UPGRADED = "Upgraded"
TRANSFERRED = "Transferred"
STATUSES = (AWAITING_PAYMENT, ACTIVE, EXHAUSTED, EXPIRED, REFUNDED, CANCELLED, UPGRADED, TRANSFERRED)

# kinds of voucher a Cancel undoes; each has its own refusals
CANCEL_REDEMPTION = "redemption"
CANCEL_RETURN = "return"
CANCEL_REFUND = "refund"
CANCEL_PURCHASE = "purchase"
CANCEL_EXTENSION = "extension"
# the source side of a transfer, and an upgrade; a transfer's receiving side is a purchase
CANCEL_TRANSFER = "transfer"
CANCEL_UPGRADE = "upgrade"
CANCEL_KINDS = (
	CANCEL_REDEMPTION,
	CANCEL_RETURN,
	CANCEL_REFUND,
	CANCEL_PURCHASE,
	CANCEL_EXTENSION,
	CANCEL_TRANSFER,
	CANCEL_UPGRADE,
)


@dataclass(frozen=True)
class Movement:
	"""One ledger row's effect on a line. ``count`` is -1 on a row that reverses another."""

	event: str
	qty: Decimal = ZERO
	deferred: Decimal = ZERO
	revenue: Decimal = ZERO
	count: int = 1

	def __post_init__(self):
		if self.event not in EVENTS:
			raise LineStateError(f"Unknown ledger event {self.event!r}")
		for name in ("qty", "deferred", "revenue"):
			object.__setattr__(self, name, to_decimal(getattr(self, name)))

	def reversed(self) -> "Movement":
		return Movement(self.event, -self.qty, -self.deferred, -self.revenue, -self.count)


@dataclass(frozen=True)
class Posting:
	"""Value the general ledger must move from one role's account to another's."""

	debit: str
	credit: str
	amount: Decimal


@dataclass(frozen=True)
class LineState:
	"""Units and values of one balance line, and the markers events leave on it."""

	precision: int = 2
	upon_purchase: bool = False
	paid: bool = True
	qty_purchased: Decimal = ZERO
	qty_redeemed: Decimal = ZERO
	allocated: Decimal = ZERO
	recognized: Decimal = ZERO
	broken: Decimal = ZERO
	refunded: Decimal = ZERO
	sales: int = 0
	redemptions: int = 0
	refunds: int = 0
	expiries: int = 0
	# the expected breakage rate locked at sale (0: At expiry), and the part of ``broken``
	# recognized with use under it
	breakage_rate: Decimal = ZERO
	broken_with_use: Decimal = ZERO
	# units and value moved out to another balance or toward a new package; ``upgrades`` marks
	# a line exchanged for another package
	qty_moved_out: Decimal = ZERO
	moved_out: Decimal = ZERO
	upgrades: int = 0

	def __post_init__(self):
		object.__setattr__(self, "breakage_rate", validate_breakage_rate(self.breakage_rate))

	@property
	def deferred(self) -> Decimal:
		return self.allocated - self.recognized - self.broken - self.refunded - self.moved_out

	@property
	def qty_held(self) -> Decimal:
		"""Units the line still answers for: purchased, less what moved out."""
		return self.qty_purchased - self.qty_moved_out

	@property
	def held_allocation(self) -> Decimal:
		"""The allocation its held units carry: what use recognizes by cumulative rounding."""
		return self.allocated - self.moved_out

	@property
	def broken_at_expiry(self) -> Decimal:
		"""Breakage booked when the line expired (the true-up), as opposed to with use."""
		return self.broken - self.broken_with_use

	@property
	def breakage_with_use_target(self) -> Decimal:
		"""The breakage the use so far carries: recognized x r / (1 - r), never more than there is.

		Nothing for a line recognized at purchase, refunded or not sold, and nothing once
		every unit is used: a used-up line has recognized its whole allocation.
		"""
		if (
			not self.breakage_rate
			or self.upon_purchase
			or not self.is_sold
			or self.is_refunded
			or self.qty_remaining <= 0
		):
			return ZERO
		expected = expected_breakage(self.recognized, self.breakage_rate, self.precision)
		room = self.held_allocation - self.recognized - self.refunded - self.broken_at_expiry
		return max(min(expected, room), ZERO)

	@property
	def unused_deferred(self) -> Decimal:
		"""The deferred value the unused units carry, breakage recognized ahead of use included."""
		return self.deferred + self.broken_with_use

	@property
	def qty_remaining(self) -> Decimal:
		return self.qty_held - self.qty_redeemed

	@property
	def is_sold(self) -> bool:
		return self.sales > 0

	@property
	def is_refunded(self) -> bool:
		return self.refunds > 0

	@property
	def is_expired(self) -> bool:
		return self.expiries > 0

	@property
	def is_used(self) -> bool:
		return self.qty_redeemed > 0

	@property
	def is_upgraded(self) -> bool:
		return self.upgrades > 0

	@property
	def consumed_value(self) -> Decimal:
		"""What the units used so far are worth by cumulative rounding."""
		if not self.qty_held:
			return ZERO
		return recognized_value(self.held_allocation, self.qty_held, self.qty_redeemed, self.precision)

	@property
	def unused_value(self) -> Decimal:
		"""What a refund of this line gives back: the value its unused units still carry."""
		if self.upon_purchase:
			return self.held_allocation - self.refunded - self.consumed_value
		return self.deferred + self.broken

	def with_movement(self, movement: Movement) -> "LineState":
		changes = {"qty_purchased": self.qty_purchased, "qty_redeemed": self.qty_redeemed}
		if movement.event in SELLING:
			changes["qty_purchased"] += movement.qty
			changes["allocated"] = self.allocated + movement.deferred
			changes["sales"] = self.sales + movement.count
		elif movement.event in USING:
			changes["qty_redeemed"] -= movement.qty
		elif movement.event in MOVING_OUT:
			changes["qty_moved_out"] = self.qty_moved_out - movement.qty
			changes["moved_out"] = self.moved_out - movement.deferred
			if movement.event == UPGRADE:
				changes["upgrades"] = self.upgrades + movement.count
		if movement.event in RECOGNIZING:
			changes["recognized"] = self.recognized + movement.revenue
		elif movement.event in BREAKING:
			changes["broken"] = self.broken + movement.revenue
			if movement.event in BREAKING_WITH_USE:
				changes["broken_with_use"] = self.broken_with_use + movement.revenue
		elif movement.event == REFUND:
			changes["refunded"] = self.refunded - movement.deferred
			changes["refunds"] = self.refunds + movement.count
		elif movement.event == EXPIRY:
			changes["expiries"] = self.expiries + movement.count
		if movement.event == REDEMPTION:
			changes["redemptions"] = self.redemptions + movement.count
		return replace(self, **changes)


def fold(
	movements: Iterable[Movement],
	precision: int = 2,
	upon_purchase: bool = False,
	paid: bool = True,
	breakage_rate: Decimal = ZERO,
) -> LineState:
	"""The state a line's ledger describes (``breakage_rate``: locked at sale, 0 for At expiry)."""
	state = LineState(
		precision=precision, upon_purchase=upon_purchase, paid=paid, breakage_rate=breakage_rate
	)
	for movement in movements:
		state = state.with_movement(movement)
	return state


def apply(state: LineState, movements: Iterable[Movement]) -> LineState:
	for movement in movements:
		state = state.with_movement(movement)
	return state


def invariant_violations(state: LineState) -> list[str]:
	"""SPEC §4 for one line; empty when the state is sound."""
	problems = []
	for name in (
		"qty_purchased",
		"qty_redeemed",
		"allocated",
		"recognized",
		"broken",
		"refunded",
		"broken_with_use",
		"qty_moved_out",
		"moved_out",
	):
		if getattr(state, name) < 0:
			problems.append(f"{name} is negative ({getattr(state, name)})")
	if state.qty_remaining < 0:
		problems.append(f"qty_remaining is negative ({state.qty_remaining})")
	if state.deferred < 0:
		problems.append(f"deferred is negative ({state.deferred})")
	if state.broken_at_expiry < 0:
		problems.append(f"broken with use ({state.broken_with_use}) exceeds broken ({state.broken})")
	for name in ("sales", "redemptions", "refunds", "expiries", "upgrades"):
		if getattr(state, name) < 0:
			problems.append(f"{name} marker is negative")
	if state.refunds > 1:
		problems.append("refunded more than once")
	if state.upgrades > 1:
		problems.append("upgraded more than once")
	if (
		state.is_sold
		and not state.is_refunded
		and not state.upon_purchase
		and state.qty_remaining == 0
		and state.deferred + state.broken != 0
	):
		problems.append(f"used up but moved {state.recognized} of {state.allocated}")
	return problems


def check(state: LineState) -> LineState:
	problems = invariant_violations(state)
	if problems:
		raise LineStateError("; ".join(problems))
	return state


def balance_status(lines: Sequence[LineState], paid: bool | None = None) -> str:
	"""A balance's status from its lines' states, in one place."""
	if not lines or not any(line.is_sold for line in lines):
		return CANCELLED
	if any(line.is_refunded for line in lines):
		return REFUNDED
	if any(line.is_upgraded for line in lines):
		return UPGRADED
	if sum((line.qty_remaining for line in lines), ZERO) <= 0:
		# every unit gone: used (Exhausted), or given to another customer without any use
		if not any(line.is_used for line in lines) and any(line.qty_moved_out for line in lines):
			return TRANSFERRED
		return EXHAUSTED
	if any(line.is_expired for line in lines):
		return EXPIRED
	is_paid = all(line.paid for line in lines) if paid is None else paid
	return ACTIVE if is_paid else AWAITING_PAYMENT


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sell:
	"""A balance line sold (or, ``opening``, brought in from another system)."""

	allocated: Decimal
	qty: Decimal
	opening: bool = False


@dataclass(frozen=True)
class RecognizeUponPurchase:
	pass


@dataclass(frozen=True)
class Pay:
	paid: bool


@dataclass(frozen=True)
class Redeem:
	qty: Decimal


@dataclass(frozen=True)
class ReturnRedemption:
	"""Give back ``qty`` of a redemption that moved ``moved_qty`` units worth ``moved_value``."""

	qty: Decimal
	moved_qty: Decimal
	moved_value: Decimal
	returned_before: Decimal = ZERO


@dataclass(frozen=True)
class Refund:
	allow_used: bool = False


@dataclass(frozen=True)
class Expire:
	pass


@dataclass(frozen=True)
class Break:
	pass


@dataclass(frozen=True)
class TransferOut:
	"""Give ``qty`` unused units, and the deferred value they carry, to another customer's balance."""

	qty: Decimal


@dataclass(frozen=True)
class TransferIn:
	"""A line of the receiving balance, sold by a transfer: ``qty`` units worth ``allocated``."""

	allocated: Decimal
	qty: Decimal


@dataclass(frozen=True)
class Upgrade:
	"""Exchange the line for another package: its unused deferred value is credited toward it."""


@dataclass(frozen=True)
class Cancel:
	"""Undo a voucher's own movements on this line; ``kind`` says what the voucher was."""

	kind: str
	movements: tuple[Movement, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Transition:
	state: LineState
	movements: tuple[Movement, ...] = ()
	postings: tuple[Posting, ...] = ()


def transition(state: LineState, event) -> Transition:
	"""(line state, event) -> (new state, ledger movements, postings), or a specific refusal."""
	handler = _HANDLERS.get(type(event))
	if handler is None:
		raise LineStateError(f"Unknown event {event!r}")
	result = handler(state, event)
	check(result.state)
	return result


def _moved(state: LineState, movements: Sequence[Movement], postings: Sequence[Posting] = ()) -> Transition:
	movements = tuple(movements)
	return Transition(apply(state, movements), movements, tuple(p for p in postings if p.amount))


def _breakage_with_use(state: LineState) -> tuple[list[Movement], list[Posting]]:
	"""What brings the breakage a line recognized with use to what its use now carries."""
	change = state.breakage_with_use_target - state.broken_with_use
	if change > 0:
		return [Movement(BREAKAGE_WITH_USE, ZERO, -change, change)], [
			Posting(DEFERRED, BREAKAGE_INCOME, change)
		]
	if change < 0:
		return [Movement(BREAKAGE_WITH_USE_REVERSAL, ZERO, -change, change)], [
			Posting(BREAKAGE_INCOME, DEFERRED, -change)
		]
	return [], []


def _require_live(state: LineState, action: str) -> None:
	if not state.is_sold:
		raise LineCancelledError(f"Cannot {action}: the purchase of this balance was cancelled")
	if state.is_refunded:
		raise LineRefundedError(f"Cannot {action}: this balance was refunded")
	if state.is_upgraded:
		raise LineUpgradedError(f"Cannot {action}: this balance was exchanged for another package")


def _require_movable(state: LineState, action: str) -> None:
	"""What a transfer and an upgrade ask of the line their value leaves."""
	_require_live(state, action)
	if state.is_expired:
		raise LineExpiredError(f"Cannot {action}: this balance has expired")
	if not state.paid:
		raise UnpaidLineError(f"Cannot {action}: the purchase of this balance is not paid")
	if state.upon_purchase:
		raise UponPurchaseLineError(
			f"Cannot {action}: this balance recognized its revenue at purchase and defers nothing"
		)


def _moving_out(state: LineState, event: str, qty: Decimal) -> Transition:
	"""``qty`` unused units leave the line with their share of its unused deferred value.

	Breakage recognized ahead of use goes back to deferred first, so what leaves is the whole
	value the units carry; what stays recognizes its own breakage again from the use it keeps.
	"""
	movements, postings = [], []
	if state.broken_with_use:
		movements.append(
			Movement(BREAKAGE_WITH_USE_REVERSAL, ZERO, state.broken_with_use, -state.broken_with_use)
		)
		postings.append(Posting(BREAKAGE_INCOME, DEFERRED, state.broken_with_use))
	unused = state.unused_deferred
	value = (
		unused
		if qty == state.qty_remaining
		else round_money(unused * qty / state.qty_remaining, state.precision)
	)
	movements.append(Movement(event, -qty, -value, ZERO))
	if event == TRANSFER_OUT:
		postings.append(Posting(DEFERRED, OTHER_DEFERRED, value))
	breakage, breakage_postings = _breakage_with_use(apply(state, movements))
	return _moved(state, [*movements, *breakage], [*postings, *breakage_postings])


def _transfer_out(state: LineState, event: TransferOut) -> Transition:
	_require_movable(state, "transfer")
	qty = to_decimal(event.qty)
	if qty <= 0:
		raise InvalidQuantityError(f"Quantity transferred must be greater than zero, not {qty}")
	if state.qty_remaining <= 0:
		raise LineUsedUpError("Cannot transfer: every unit of this balance line is used")
	if qty > state.qty_remaining:
		raise OverRedemptionError(f"Cannot transfer {qty}: only {state.qty_remaining} left")
	return _moving_out(state, TRANSFER_OUT, qty)


def _transfer_in(state: LineState, event: TransferIn) -> Transition:
	if state.is_sold:
		raise LineStateError("This balance line is already sold")
	qty, allocated = to_decimal(event.qty), round_money(to_decimal(event.allocated), state.precision)
	if qty <= 0:
		raise InvalidQuantityError(f"Quantity transferred must be greater than zero, not {qty}")
	if allocated < 0:
		raise LineStateError(f"Value transferred cannot be negative, not {allocated}")
	return _moved(
		state, [Movement(TRANSFER_IN, qty, allocated)], [Posting(OTHER_DEFERRED, DEFERRED, allocated)]
	)


def _upgrade(state: LineState, event: Upgrade) -> Transition:
	"""All the unused units leave toward the new package; the invoice that sells it moves the value."""
	_require_movable(state, "upgrade")
	result = _moving_out(state, UPGRADE, state.qty_remaining)
	if state.qty_remaining > 0:
		return result
	# a used-up line is exchanged too (nothing to credit): its marker goes with the balance
	return _moved(state, [Movement(UPGRADE)])


def _sell(state: LineState, event: Sell) -> Transition:
	if state.is_sold:
		raise LineStateError("This balance line is already sold")
	qty, allocated = to_decimal(event.qty), round_money(to_decimal(event.allocated), state.precision)
	if qty <= 0:
		raise InvalidQuantityError(f"Quantity sold must be greater than zero, not {qty}")
	if allocated < 0:
		raise LineStateError(f"Allocated amount cannot be negative, not {allocated}")
	if event.opening:
		movement = Movement(OPENING, qty, allocated)
		return _moved(state, [movement], [Posting(OPENING_ACCOUNT, DEFERRED, allocated)])
	return _moved(state, [Movement(SALE, qty, allocated)])


def _recognize_upon_purchase(state: LineState, event: RecognizeUponPurchase) -> Transition:
	_require_live(state, "recognize revenue upon purchase")
	if not state.upon_purchase:
		raise LineStateError("Only an Upon Purchase balance recognizes its revenue at sale")
	if state.recognized:
		raise LineStateError("Revenue of this balance line was already recognized")
	amount = state.deferred
	return _moved(state, [Movement(RECOGNITION, ZERO, -amount, amount)], [Posting(DEFERRED, INCOME, amount)])


def _pay(state: LineState, event: Pay) -> Transition:
	return Transition(replace(state, paid=bool(event.paid)))


def _redeem(state: LineState, event: Redeem) -> Transition:
	_require_live(state, "redeem")
	qty = to_decimal(event.qty)
	if qty <= 0:
		raise InvalidQuantityError(f"Quantity redeemed must be greater than zero, not {qty}")
	if state.is_expired:
		raise LineExpiredError("Cannot redeem: this balance has expired")
	if not state.paid:
		raise UnpaidLineError("Cannot redeem: the purchase of this balance is not paid")
	if qty > state.qty_remaining:
		raise OverRedemptionError(f"Cannot redeem {qty}: only {state.qty_remaining} left")
	value = ZERO
	if not state.upon_purchase:
		target = recognized_value(
			state.held_allocation, state.qty_held, state.qty_redeemed + qty, state.precision
		)
		# breakage recognized ahead gives way to a use: the use is never made smaller by it
		value = min(max(target - state.recognized, ZERO), state.deferred + state.broken_with_use)
	movement = Movement(REDEMPTION, -qty, -value, value)
	posting = Posting(DEFERRED, INCOME, value)
	breakage, breakage_postings = _breakage_with_use(apply(state, [movement]))
	if breakage and breakage[0].event == BREAKAGE_WITH_USE_REVERSAL:
		# the breakage goes back to deferred first, and the use takes it from there
		return _moved(state, [*breakage, movement], [*breakage_postings, posting])
	return _moved(state, [movement, *breakage], [posting, *breakage_postings])


def _return_redemption(state: LineState, event: ReturnRedemption) -> Transition:
	_require_live(state, "return a redemption")
	qty, moved_qty = to_decimal(event.qty), to_decimal(event.moved_qty)
	returned_before = to_decimal(event.returned_before)
	if qty <= 0:
		raise InvalidQuantityError(f"Quantity returned must be greater than zero, not {qty}")
	if returned_before + qty > moved_qty:
		raise OverRedemptionError(
			f"Cannot return {qty}: only {moved_qty - returned_before} of that redemption are left to return"
		)
	value = ZERO
	if not state.upon_purchase:
		value = reversal_value(
			to_decimal(event.moved_value), moved_qty, returned_before, qty, state.precision
		)
	movement = Movement(RETURN, qty, value, -value)
	breakage, breakage_postings = _breakage_with_use(apply(state, [movement]))
	return _moved(state, [movement, *breakage], [Posting(INCOME, DEFERRED, value), *breakage_postings])


def _refund(state: LineState, event: Refund) -> Transition:
	_require_live(state, "refund")
	if state.is_used and not event.allow_used:
		raise RefundNotAllowedError("A package with redemptions cannot be refunded")
	if state.qty_moved_out and not event.allow_used:
		# like a partly used package: only its unused remainder, where the settings allow that
		raise RefundNotAllowedError("A package whose units were transferred cannot be refunded")
	movements, postings = [], []
	with_use, at_expiry = state.broken_with_use, state.broken_at_expiry
	if with_use:
		# breakage recognized with use goes back to deferred too
		movements.append(Movement(BREAKAGE_WITH_USE_REVERSAL, ZERO, with_use, -with_use))
		postings.append(Posting(BREAKAGE_INCOME, DEFERRED, with_use))
	if at_expiry:
		# breakage booked at expiry goes back to deferred, where the refund takes it
		movements.append(Movement(BREAKAGE_REVERSAL, ZERO, at_expiry, -at_expiry))
		postings.append(Posting(BREAKAGE_INCOME, DEFERRED, at_expiry))
	unused = state.unused_value
	if state.upon_purchase and unused:
		movements.append(Movement(REFUND_REVERSAL, ZERO, unused, -unused))
		postings.append(Posting(INCOME, DEFERRED, unused))
	movements.append(Movement(REFUND, ZERO, -unused, ZERO))
	return _moved(state, movements, postings)


def _expire(state: LineState, event: Expire) -> Transition:
	_require_live(state, "expire")
	if state.is_expired:
		raise LineExpiredError("This balance has already expired")
	return _moved(state, [Movement(EXPIRY)])


def _break(state: LineState, event: Break) -> Transition:
	_require_live(state, "book breakage")
	if not state.is_expired:
		raise LineNotExpiredError("Breakage is booked only on an expired balance")
	amount = state.deferred
	if amount <= 0:
		return Transition(state)
	movement = Movement(BREAKAGE, ZERO, -amount, amount)
	return _moved(state, [movement], [Posting(DEFERRED, BREAKAGE_INCOME, amount)])


def _cancel(state: LineState, event: Cancel) -> Transition:
	if event.kind not in CANCEL_KINDS:
		raise LineStateError(f"Unknown kind of cancellation {event.kind!r}")
	undone = tuple(movement.reversed() for movement in event.movements)
	if event.kind != CANCEL_REFUND and state.is_refunded:
		raise LineRefundedError(
			"This balance was refunded after this voucher; cancel the refund first, or its value "
			"would come back to a balance nothing can use"
		)
	if event.kind == CANCEL_PURCHASE and state.redemptions > 0:
		raise LineRedeemedError("This balance has redemptions; cancel those invoices first")
	if event.kind == CANCEL_PURCHASE and state.qty_moved_out > 0:
		raise LineTransferredError(
			"Units of this balance were transferred or upgraded; cancel that document first"
		)
	if state.is_upgraded and event.kind != CANCEL_UPGRADE:
		raise LineUpgradedError(
			"This balance was exchanged for another package after this voucher; cancel that invoice "
			"first, or what this voucher gives back would sit on a balance nothing can use"
		)
	after = apply(state, undone)
	if event.kind == CANCEL_REDEMPTION and (after.qty_redeemed < 0 or after.recognized < 0):
		raise LineReturnedError(
			"Part of this redemption was given back by a credit note; cancel the credit note first"
		)
	if after.qty_remaining < 0:
		raise OverRedemptionError(
			f"The units this voucher gave back were used again: only {state.qty_remaining} left"
		)
	# the postings that undo the voucher are its own, cancelled with it: no new posting, except
	# that the breakage recognized with use follows the use the line is left with
	breakage, breakage_postings = [], []
	if event.kind in (CANCEL_REDEMPTION, CANCEL_RETURN, CANCEL_TRANSFER, CANCEL_UPGRADE):
		breakage, breakage_postings = _breakage_with_use(after)
		after = apply(after, breakage)
	if after.deferred < 0:
		raise LineExpiredError(
			"The value this voucher gave back was recognized as breakage; extend the balance first"
		)
	result = Transition(after, tuple(breakage), tuple(breakage_postings))
	if event.kind == CANCEL_RETURN:
		result = _true_up(result)
	return result


def _true_up(result: Transition) -> Transition:
	"""A line used up again must have moved exactly its allocation (cumulative rounding's promise)."""
	state = result.state
	if state.upon_purchase or state.qty_remaining > 0 or not state.is_sold or state.is_refunded:
		return result
	difference = state.deferred
	if difference <= 0 or state.broken:
		return result
	rounding = Movement(ROUNDING, ZERO, -difference, difference)
	return Transition(
		apply(state, [rounding]),
		(*result.movements, rounding),
		(*result.postings, Posting(DEFERRED, INCOME, difference)),
	)


_HANDLERS = {
	Sell: _sell,
	RecognizeUponPurchase: _recognize_upon_purchase,
	Pay: _pay,
	Redeem: _redeem,
	ReturnRedemption: _return_redemption,
	Refund: _refund,
	Expire: _expire,
	Break: _break,
	TransferOut: _transfer_out,
	TransferIn: _transfer_in,
	Upgrade: _upgrade,
	Cancel: _cancel,
}
