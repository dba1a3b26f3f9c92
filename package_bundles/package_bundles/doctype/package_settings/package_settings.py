# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, flt

from package_bundles.engine.breakage import AT_EXPIRY, PROPORTIONAL
from package_bundles.exceptions import BreakageRateError, DeferredAccountMissingError, PackageError


class PackageSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from package_bundles.package_bundles.doctype.package_settings_account.package_settings_account import (
			PackageSettingsAccount,
		)

		accounts: DF.Table[PackageSettingsAccount]
		allow_unused_refund: DF.Check
		expiry_reminder_template: DF.Link | None
		package_before_membership: DF.Check
		recognize_breakage: DF.Check
		reminder_days: DF.Int
		require_full_payment: DF.Check
		send_expiry_reminders: DF.Check
	# end: auto-generated types

	def validate(self):
		self.validate_accounts()
		self.validate_breakage_defaults()
		self.validate_reminders()

	def validate_accounts(self):
		seen = set()
		for row in self.accounts:
			if row.company in seen:
				frappe.throw(
					_("Row #{0}: Company {1} is listed more than once").format(
						row.idx, frappe.bold(row.company)
					),
					PackageError,
				)
			seen.add(row.company)
			for fieldname in ("deferred_revenue_account", "breakage_income_account"):
				account = row.get(fieldname)
				if account and frappe.db.get_value("Account", account, "company") != row.company:
					frappe.throw(
						_("Row #{0}: Account {1} does not belong to company {2}").format(
							row.idx, frappe.bold(account), frappe.bold(row.company)
						),
						PackageError,
					)

	def validate_breakage_defaults(self):
		for row in self.accounts:
			row.breakage_method = row.breakage_method or AT_EXPIRY
			validate_breakage_terms(
				row.breakage_method,
				row.expected_breakage_rate,
				_("Row #{0} (company {1})").format(row.idx, frappe.bold(row.company)),
			)

	def validate_reminders(self):
		if self.send_expiry_reminders and cint(self.reminder_days) < 1:
			frappe.throw(_("Days Before Expiry must be at least 1 to send expiry reminders"), PackageError)


def get_settings() -> "PackageSettings":
	return frappe.get_cached_doc("Package Settings")


def _company_row(company: str):
	return next((row for row in get_settings().accounts if row.company == company), None)


def get_deferred_revenue_account(company: str) -> str:
	"""Package Settings' account for the company, else Company.default_deferred_revenue_account."""
	row = _company_row(company)
	account = (row and row.deferred_revenue_account) or frappe.get_cached_value(
		"Company", company, "default_deferred_revenue_account"
	)
	if not account:
		frappe.throw(
			_(
				"Set a Default Deferred Revenue Account on company {0} (or one in Package Settings) before selling prepaid packages"
			).format(frappe.bold(company)),
			DeferredAccountMissingError,
		)
	return account


def is_paid(outstanding_amount) -> bool:
	"""A purchase counts as paid once it owes nothing, or always when full payment is not required."""
	return not get_settings().require_full_payment or flt(outstanding_amount) <= 0


def get_breakage_income_account(company: str) -> str | None:
	"""None means: each item's own income account."""
	row = _company_row(company)
	return row.breakage_income_account if row else None


def get_company_breakage_terms(company: str) -> tuple[str, float]:
	"""The breakage method and expected rate (a percentage) of the company's packages that set none."""
	row = _company_row(company)
	method = (row and row.breakage_method) or AT_EXPIRY
	return method, flt(row.expected_breakage_rate) if row and method == PROPORTIONAL else 0.0


def validate_breakage_terms(method: str | None, rate, where: str) -> None:
	"""An expected breakage rate is at least 0% and below 100%, and only the Proportional method has one."""
	rate = flt(rate)
	if rate < 0 or rate >= 100:
		frappe.throw(
			_("{0}: the expected breakage rate must be at least 0% and less than 100%, not {1}%").format(
				where, rate
			),
			BreakageRateError,
		)
	if rate and method != PROPORTIONAL:
		frappe.throw(
			_(
				"{0}: an expected breakage rate applies only to the Proportional breakage method; choose Proportional or clear the rate"
			).format(where),
			BreakageRateError,
		)
