"""Refusals the app makes, one class per kind so callers and tests can tell them apart."""

import frappe


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


class PackageDiscountError(PackageError):
	pass


class DeferredAccountMissingError(PackageError):
	pass


class PackageQuantityError(PackageError):
	pass


class BalanceReadOnlyError(PackageError):
	pass


class BalanceAlreadyRedeemedError(PackageError):
	pass


class BalanceUnavailableError(PackageError):
	"""A balance no longer holds what an invoice wants to redeem from it."""


class RefundNotAllowedError(PackageError):
	pass


class AppJournalEntryError(PackageError):
	pass
