# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Balance: what one customer holds of one package sold (SPEC §3). Read-only to users.

Its behaviour lives outside this controller, by what the practice does:
- sold by flows/sell.py (a Sales or POS Invoice's package row) or flows/import_opening.py;
- redeemed by flows/redeem.py, refunded by flows/refund.py, expired and extended by
  flows/expire.py (api.extend_expiry is the whitelisted door), paid through flows/pay.py;
- its stored state (units, values, status) is written only by ledger/balance_state.py, folded
  from its Package Ledger Entries by the engine (package_bundles/engine/state.py).
"""

import frappe
from frappe import _
from frappe.model.document import Document

from package_bundles.exceptions import BalanceReadOnlyError


class PackageBalance(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from package_bundles.package_bundles.doctype.package_balance_extension.package_balance_extension import (
			PackageBalanceExtension,
		)
		from package_bundles.package_bundles.doctype.package_balance_item.package_balance_item import (
			PackageBalanceItem,
		)
		from package_bundles.package_bundles.doctype.package_balance_sharer.package_balance_sharer import (
			PackageBalanceSharer,
		)
		from package_bundles.package_bundles.doctype.package_balance_sharing_log.package_balance_sharing_log import (
			PackageBalanceSharingLog,
		)

		breakage_amount: DF.Currency
		breakage_date: DF.Date | None
		breakage_journal_entry: DF.Link | None
		breakage_method: DF.Literal["At expiry", "Proportional"]
		breakage_rate: DF.Percent
		breakage_rate_source: DF.SmallText | None
		company: DF.Link | None
		cost_center: DF.Link | None
		currency: DF.Link | None
		customer: DF.Link | None
		customer_name: DF.Data | None
		deferred_revenue_account: DF.Link | None
		expiry_date: DF.Date | None
		expiry_error: DF.SmallText | None
		extensions: DF.Table[PackageBalanceExtension]
		frozen_from: DF.Date | None
		frozen_until: DF.Date | None
		invoice_type: DF.Link | None
		is_opening: DF.Check
		items: DF.Table[PackageBalanceItem]
		opening_import: DF.Link | None
		opening_reference: DF.Data | None
		package_balance_transfer: DF.Link | None
		package_price: DF.Currency
		prepaid_package: DF.Link | None
		project: DF.Link | None
		purchase_date: DF.Date | None
		recognition_journal_entry: DF.Link | None
		refund_invoice: DF.DynamicLink | None
		refund_invoice_type: DF.Link | None
		refund_journal_entry: DF.Link | None
		revenue_recognition: DF.Literal["Upon Consumption", "Upon Purchase"]
		sales_invoice: DF.DynamicLink | None
		sales_invoice_item: DF.Data | None
		sharers: DF.Table[PackageBalanceSharer]
		sharing_log: DF.Table[PackageBalanceSharingLog]
		status: DF.Literal["Awaiting Payment", "Active", "Exhausted", "Expired", "Refunded", "Cancelled", "Upgraded", "Transferred"]
		total_allocated: DF.Currency
		total_broken: DF.Currency
		total_deferred: DF.Currency
		total_recognized: DF.Currency
		total_refunded: DF.Currency
		transferred_from: DF.Link | None
		units_purchased: DF.Float
		units_remaining: DF.Float
		upgraded_from: DF.Link | None
		upgraded_to: DF.Link | None
	# end: auto-generated types

	def validate(self):
		self.validate_written_by_app()

	def on_trash(self):
		self.validate_written_by_app()

	def validate_written_by_app(self):
		if not self.flags.written_by_package_bundles:
			frappe.throw(
				_(
					"Package Balances are written by the app from invoices; they cannot be created or edited by hand"
				),
				BalanceReadOnlyError,
			)


def write_balance(balance: PackageBalance):
	"""Insert a balance's terms on the app's behalf; its state comes from the ledger (balance_state)."""
	balance.flags.written_by_package_bundles = True
	balance.flags.ignore_permissions = True
	balance.insert()
	return balance


SUMMARY_INDEX = "package_balance_summary_index"
SUMMARY_INDEX_FIELDS = (
	"company",
	"status",
	"prepaid_package",
	"customer",
	"total_deferred",
	"units_purchased",
	"units_remaining",
)
# the same figures in the order a summary by package groups them
PACKAGE_SUMMARY_INDEX = "package_balance_package_summary_index"
PACKAGE_SUMMARY_INDEX_FIELDS = (
	"company",
	"prepaid_package",
	"status",
	"customer",
	"total_deferred",
	"units_purchased",
	"units_remaining",
)


def on_doctype_update():
	frappe.db.add_index("Package Balance", ["customer", "company", "status"])
	frappe.db.add_index("Package Balance", ["status", "expiry_date"])
	# the Package Balances report: a company's balances, by package or status
	frappe.db.add_index("Package Balance", ["company", "prepaid_package", "status"])
	frappe.db.add_index("Package Balance", ["company", "status"])
	# the deferred accounts a company's packages were sold into (the GL reconciliation)
	frappe.db.add_index("Package Balance", ["company", "deferred_revenue_account"])
	# the Package Balances summaries read their figures from this index alone (issue 22)
	frappe.db.add_index("Package Balance", list(SUMMARY_INDEX_FIELDS), SUMMARY_INDEX)
	frappe.db.add_index("Package Balance", list(PACKAGE_SUMMARY_INDEX_FIELDS), PACKAGE_SUMMARY_INDEX)
	# the Proportional balances whose expected breakage a summary adds up
	frappe.db.add_index("Package Balance", ["breakage_method", "company"])
