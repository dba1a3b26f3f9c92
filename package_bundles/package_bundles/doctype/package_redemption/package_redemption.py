# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Redemption: the log of one invoice row paid by a balance (as ERPNext's Loyalty Point Entry).

Written by flows/redeem.py when an invoice that redeems is submitted, cancelled with it; its
units returned (qty_returned) are written only by ledger/balance_state.py. Users read it only.
"""

import frappe
from frappe import _
from frappe.model.document import Document

from package_bundles.exceptions import BalanceReadOnlyError


class PackageRedemption(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amount: DF.Currency
		company: DF.Link | None
		cost_center: DF.Link | None
		currency: DF.Link | None
		customer: DF.Link | None
		income_account: DF.Link | None
		invoice_type: DF.Link | None
		item_code: DF.Link | None
		item_group: DF.Link | None
		journal_entry: DF.Link | None
		package_balance: DF.Link | None
		package_balance_item: DF.Data | None
		posting_date: DF.Date | None
		prepaid_package: DF.Link | None
		project: DF.Link | None
		purchase_invoice: DF.DynamicLink | None
		purchase_invoice_type: DF.Link | None
		qty: DF.Float
		qty_returned: DF.Float
		sales_invoice: DF.DynamicLink | None
		sales_invoice_item: DF.Data | None
		status: DF.Literal["Redeemed", "Reversed"]
		used_by_customer: DF.Link | None
	# end: auto-generated types

	def validate(self):
		if not self.flags.written_by_package_bundles:
			frappe.throw(
				_(
					"Package Redemptions are logged by the app from invoices; they cannot be created or edited by hand"
				),
				BalanceReadOnlyError,
			)

	def on_trash(self):
		self.validate()


SUMMARY_INDEX = "package_redemption_summary_index"
SUMMARY_INDEX_FIELDS = (
	"company",
	"posting_date",
	"status",
	"item_group",
	"prepaid_package",
	"customer",
	"qty",
	"qty_returned",
	"amount",
)


# issue 22: a summary by item group or by package reads the figures in its own group's order, from a
# narrower index (no temporary table for the groups): a year at a million balances in half the time
GROUPED_SUMMARY_INDEXES = {
	group_field: (
		f"package_redemption_{group_field}_summary_index",
		("company", group_field, "posting_date", "status", "qty", "qty_returned", "amount"),
	)
	for group_field in ("item_group", "prepaid_package")
}


def on_doctype_update():
	frappe.db.add_index("Package Redemption", ["sales_invoice", "status"])
	# the Package Usage report: a company's redemptions in a period
	frappe.db.add_index("Package Redemption", ["company", "posting_date"])
	# the Package Usage report filtered to one customer or package
	frappe.db.add_index("Package Redemption", ["customer", "posting_date"])
	frappe.db.add_index("Package Redemption", ["prepaid_package", "posting_date"])
	# the Package Usage summary reads its figures from this index alone
	frappe.db.add_index("Package Redemption", list(SUMMARY_INDEX_FIELDS), SUMMARY_INDEX)
	for index_name, fields in GROUPED_SUMMARY_INDEXES.values():
		frappe.db.add_index("Package Redemption", list(fields), index_name)
