"""Refusals the app makes, one class per kind so callers and tests can tell them apart."""

import frappe
from frappe import _


class PackageError(frappe.ValidationError):
	pass


class PackageItemError(PackageError):
	pass


class PackageValidityError(PackageError):
	pass


class PackageDisabledError(PackageError):
	pass


class PackageRateError(PackageError):
	pass


class PackageCurrencyError(PackageError):
	pass


class PackageTaxConflictError(PackageError):
	pass


class PackageDiscountError(PackageError):
	pass


class DeferredAccountMissingError(PackageError):
	pass


class PackageQuantityError(PackageError):
	pass


class BreakageRateError(PackageError):
	"""An expected breakage rate out of range, or given where the breakage method is not Proportional."""


class BalanceReadOnlyError(PackageError):
	pass


class BalanceAlreadyRedeemedError(PackageError):
	pass


class BalanceUnavailableError(PackageError):
	"""A balance no longer holds what an invoice wants to redeem from it."""


# --- household sharing (issue 20): who else may use a balance ----------------------------------


class SharingError(PackageError):
	"""A sharer of a balance refused; the subclasses say why."""


class ShareAcrossCompaniesError(SharingError):
	"""The customer belongs to another company: an internal customer representing it, or a customer
	whose accounts name only other companies."""


class ShareWithOwnerError(SharingError):
	pass


class AlreadySharedError(SharingError):
	pass


class ShareBalanceNotLiveError(SharingError):
	"""Only a live balance (active or awaiting payment, not past its expiry) is shared."""


class NotASharerError(SharingError):
	pass


class ShareCustomerError(SharingError):
	"""No customer to share with: none given, disabled, or a Patient without a Customer."""


class RefundNotAllowedError(PackageError):
	pass


class AppJournalEntryError(PackageError):
	pass


class BalanceRefundedError(PackageError):
	pass


class BalanceExpiredError(PackageError):
	pass


class BalanceCancelledError(PackageError):
	pass


class BalanceReturnedError(PackageError):
	pass


class BalanceUpgradedError(PackageError):
	"""The balance was exchanged for another package (issue 20)."""


class BalanceTransferredError(PackageError):
	"""Units of the balance left for another customer or package; that document is cancelled first."""


class BalanceUsedUpError(PackageError):
	pass


class BalanceUponPurchaseError(PackageError):
	"""An Upon Purchase balance defers nothing: there is no value to transfer or credit."""


class BalanceStateError(PackageError):
	"""An event the balance's state does not allow that no more specific class names."""


class BalanceFrozenError(PackageError):
	"""The balance is frozen on that day (issue 20, Freeze): nothing is redeemed or moved from it."""


class FreezeDateError(PackageError):
	"""A freeze whose dates the balance does not allow: ending before it starts, starting in the past
	or after the balance's expiry."""


class FreezeOverlapError(PackageError):
	"""A freeze sharing days with another freeze of the balance, or made while another is still to end."""


class UnfreezeError(PackageError):
	"""An early unfreeze of a freeze that is not submitted, is over, or was unfrozen already."""


# --- transfer (issue 20): a balance's unused units given to another customer of the company -----


class TransferError(PackageError):
	"""A Package Balance Transfer refused; the subclasses say why."""


class TransferCustomerError(TransferError):
	"""No customer to transfer to: unknown or disabled."""


class TransferToSameCustomerError(TransferError):
	"""The receiving customer is the one who holds the balance."""


class TransferAcrossCompaniesError(TransferError):
	"""The receiving customer belongs to another company: an internal customer representing it, or a
	customer whose accounts name only other companies."""


class TransferItemError(TransferError):
	"""A row naming no line of the balance, the same line twice, no units or a part of a whole unit."""


class TransferCostCenterError(TransferError):
	"""The receiving balance's cost center belongs to another company or is a group."""


class TransferReceiverUsedError(TransferError):
	"""The receiving balance was used (or moved on): cancel those invoices or documents first."""


# --- upgrade (issue 20): a balance exchanged for another package on the invoice that sells it ----


class UpgradeError(PackageError):
	"""An upgrade credit row refused; the subclasses say why."""


class UpgradeOtherPartyError(UpgradeError):
	"""The balance belongs to another customer, or company, than the invoice."""


class UpgradeInvoiceError(UpgradeError):
	"""An invoice that cannot carry an upgrade credit: a credit or debit note, a POS Invoice, one in a
	currency other than the company's."""


class UpgradeCreditRowError(UpgradeError):
	"""A credit row naming no balance, of a quantity other than 1, or on an invoice redeeming from it."""


class UpgradeDuplicateError(UpgradeError):
	"""Two credit rows of one invoice upgrading the same balance."""


class UpgradeWithoutPackageError(UpgradeError):
	"""No package sold on the invoice to credit toward, or a credit above what its package rows cost."""


class UpgradeNegativeRatesError(UpgradeError):
	"""ERPNext refuses the credit row's negative rate unless Selling Settings allow negative rates."""


class UpgradeCreditChangedError(UpgradeError):
	"""The balance moved between the invoice's save and its submit: save again."""


class OpeningImportError(PackageError):
	"""A line of a Package Opening Import that cannot become an opening balance."""


class OpeningAlreadyImportedError(OpeningImportError):
	"""The balance a line describes was already brought in by another import."""


class DemoSiteInUseError(PackageError):
	"""The demo would mix its documents with another company's transactions."""


class DemoExistsError(PackageError):
	"""The demo clinic was already built on this site."""


class HealthNotInstalledError(PackageError):
	"""A Frappe Health call (a Patient's balances, say) on a site where healthcare is not installed."""


class TherapyTemplateError(PackageError):
	"""A Therapy Plan Template that cannot become a package (a therapy type with no item or no sessions)."""


class TherapyPlanBilledBySessionsError(PackageError):
	"""A Therapy Plan billed as one item whose sessions a package pays for or were invoiced one by one."""


class ConsumableStockError(PackageError):
	"""An invoice that updates stock would issue a procedure's consumable Frappe Health issued already."""


def refuse(error, balance: str, item_code: str | None = None, context: str | None = None):
	"""Turn an engine refusal into a translated frappe.throw of the app's matching class."""
	from package_bundles import engine

	reasons = {
		engine.OverRedemptionError: (BalanceUnavailableError, _("not enough units are left")),
		engine.UnpaidLineError: (BalanceUnavailableError, _("its purchase invoice is not fully paid")),
		engine.LineExpiredError: (
			BalanceExpiredError,
			_("it has expired and its unused value was recognized as breakage; extend it first"),
		),
		engine.LineNotExpiredError: (BalanceStateError, _("it has not expired")),
		engine.LineRefundedError: (
			BalanceRefundedError,
			_("it was refunded; cancel the credit note that refunded it first"),
		),
		engine.LineCancelledError: (BalanceCancelledError, _("its purchase invoice was cancelled")),
		engine.LineReturnedError: (
			BalanceReturnedError,
			_("part of this redemption was given back by a credit note; cancel the credit note first"),
		),
		engine.LineRedeemedError: (
			BalanceAlreadyRedeemedError,
			_("it has redemptions; cancel those invoices (and their credit notes) first"),
		),
		engine.LineUpgradedError: (
			BalanceUpgradedError,
			_("it was exchanged for another package; cancel the invoice that upgraded it first"),
		),
		engine.LineTransferredError: (
			BalanceTransferredError,
			_("units of it were transferred or upgraded; cancel that transfer or upgrade first"),
		),
		engine.LineUsedUpError: (BalanceUsedUpError, _("every unit of it is used; nothing is left to move")),
		engine.UponPurchaseLineError: (
			BalanceUponPurchaseError,
			_(
				"it recognized its revenue at purchase and defers nothing to move; refund it and sell the new package instead"
			),
		),
		engine.RefundNotAllowedError: (
			RefundNotAllowedError,
			_(
				"it has redemptions and cannot be refunded; Package Settings can allow refunding the unused items of a partly used package"
			),
		),
	}
	exception, reason = reasons.get(type(error), (BalanceStateError, str(error)))
	where = frappe.bold(balance) + (f" ({frappe.bold(item_code)})" if item_code else "")
	message = _("Package balance {0}: {1}").format(where, reason)
	if context:
		message = f"{context}: {message}"
	frappe.throw(message, exception)
