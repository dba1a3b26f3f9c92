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
