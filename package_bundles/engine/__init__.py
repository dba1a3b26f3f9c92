"""The money and quantity rules of package_bundles (SPEC §3).

Plain Python on Decimal: no frappe import, no database. Controllers and hooks
translate documents into these types and apply the plans they return.
"""

from package_bundles.engine.allocation import (
	PackageLine,
	allocate,
	default_price,
	largest_remainder,
	standard_amounts,
	validate_package_lines,
	validate_quantity,
)
from package_bundles.engine.breakage import (
	AT_EXPIRY,
	BREAKAGE_METHODS,
	PROPORTIONAL,
	expected_breakage,
	line_breakage_rate,
	propose_breakage_rate,
	validate_breakage_rate,
)
from package_bundles.engine.errors import (
	DuplicateItemError,
	EngineError,
	FractionalQuantityError,
	FreezeError,
	FreezeOverError,
	FreezeOverlapError,
	InvalidBreakageRateError,
	InvalidFreezePeriodError,
	InvalidPrecisionError,
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
	NegativePriceError,
	NoItemsError,
	OverRedemptionError,
	RefundNotAllowedError,
	UnpaidLineError,
	UponPurchaseLineError,
)
from package_bundles.engine.freeze import (
	FreezePeriod,
	current_or_next,
	expiry_after_cancel,
	expiry_after_freeze,
	expiry_after_unfreeze,
	frozen_days,
	is_frozen_on,
	move_expiry,
	overlapping,
	period_on_record,
	unfreeze,
	unused_days,
	validate_freeze_period,
	validate_no_overlap,
)
from package_bundles.engine.ledger import Entry, JournalLine, journal_lines
from package_bundles.engine.money import floor_money, quantum, round_money, to_decimal
from package_bundles.engine.recognition import (
	breakage_amount,
	deferred_value,
	recognized_value,
	redemption_value,
	reversal_value,
)
from package_bundles.engine.redemption import Holding, InvoiceRow, Portion, RowPlan, plan_redemption
from package_bundles.engine.state import (
	BREAKAGE_WITH_USE,
	BREAKAGE_WITH_USE_REVERSAL,
	Break,
	Cancel,
	Expire,
	LineState,
	Movement,
	Pay,
	Posting,
	RecognizeUponPurchase,
	Redeem,
	Refund,
	ReturnRedemption,
	Sell,
	TransferIn,
	TransferOut,
	Transition,
	Upgrade,
	apply,
	balance_status,
	fold,
	invariant_violations,
	transition,
)
from package_bundles.engine.tax import (
	Component,
	PackageTax,
	TaxConflictError,
	TaxRow,
	component_tax,
	invoice_tax,
	weighted_tax_rates,
)
