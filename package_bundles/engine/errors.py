"""Exceptions raised by the engine.

The engine never imports frappe, so these derive from ValueError; the app maps
them to translated ``frappe.throw`` messages with the same class names.
"""


class EngineError(ValueError):
	"""Base class for every refusal the engine makes."""


class NoItemsError(EngineError):
	pass


class InvalidQuantityError(EngineError):
	pass


class FractionalQuantityError(InvalidQuantityError):
	pass


class NegativePriceError(EngineError):
	pass


class DuplicateItemError(EngineError):
	pass


class InvalidPrecisionError(EngineError):
	pass


class InvalidBreakageRateError(EngineError):
	"""An expected breakage rate outside 0 <= r < 1, or a breakage method the engine does not know."""


class OverRedemptionError(EngineError):
	"""More units asked of a balance line than it still holds."""


class RefundNotAllowedError(EngineError):
	pass


class LineStateError(EngineError):
	"""An event the state of a balance line does not allow, or a state that breaks SPEC §4."""


class LineCancelledError(LineStateError):
	pass


class LineRefundedError(LineStateError):
	pass


class LineExpiredError(LineStateError):
	pass


class LineNotExpiredError(LineStateError):
	pass


class LineRedeemedError(LineStateError):
	"""A purchase whose balance was redeemed cannot be cancelled."""


class UnpaidLineError(LineStateError):
	pass


class LineReturnedError(LineStateError):
	"""A redemption cannot be undone while a credit note has given part of it back."""


class LineUpgradedError(LineStateError):
	"""The balance was exchanged for another package: nothing more happens on it."""


class LineTransferredError(LineStateError):
	"""Units of the line left for another balance or package; that document is undone first."""


class LineUsedUpError(LineStateError):
	"""Every unit of the line is used: nothing is left to move."""


class UponPurchaseLineError(LineStateError):
	"""An Upon Purchase line recognized its revenue at sale: it has no deferred value to move."""


class FreezeError(EngineError):
	"""A freeze of a balance its dates do not allow."""


class InvalidFreezePeriodError(FreezeError):
	"""A freeze period that ends before it starts."""


class FreezeOverlapError(FreezeError):
	"""A freeze period that shares a day with another live freeze of the same balance.

	``args[1]`` is the other period (engine.freeze.FreezePeriod).
	"""


class FreezeOverError(FreezeError):
	"""An early unfreeze of a freeze that is over, or was unfrozen already: no days are left to give back."""
