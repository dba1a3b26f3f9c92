# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Ledger Entry: the immutable ledger every balance's state is folded from (SPEC §3 State).

The ledger lives in package_bundles/ledger/: package_ledger.py writes and reads entries,
posting.py posts a voucher (entries and its Journal Entry together) and undoes one on cancel,
balance_state.py derives the stored state, journal_entries.py builds the Journal Entries and
keeps them out of locked periods. Entries are never edited; a cancel marks them and, in a
locked period, adds reversing entries.
"""

import frappe
from frappe import _
from frappe.model.document import Document

from package_bundles.exceptions import BalanceReadOnlyError


class PackageLedgerEntry(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		company: DF.Link | None
		cost_center: DF.Link | None
		currency: DF.Link | None
		customer: DF.Link | None
		deferred_account: DF.Link | None
		deferred_change: DF.Currency
		event: DF.Literal[
			"Sale",
			"Opening",
			"Recognition Upon Purchase",
			"Redemption",
			"Redemption Return",
			"Rounding",
			"Refund",
			"Refund Recognition Reversal",
			"Breakage",
			"Breakage Reversal",
			"Expiry",
			"Breakage With Use",
			"Breakage With Use Reversal",
			"Transfer Out",
			"Transfer In",
			"Upgrade",
		]
		income_account: DF.Link | None
		is_cancelled: DF.Check
		is_reversal: DF.Check
		is_reversed: DF.Check
		item_code: DF.Link | None
		item_group: DF.Link | None
		journal_entry: DF.Link | None
		package_balance: DF.Link | None
		package_balance_item: DF.Data | None
		package_redemption: DF.Link | None
		posting_date: DF.Date | None
		prepaid_package: DF.Link | None
		purchase_invoice: DF.DynamicLink | None
		purchase_invoice_type: DF.Link | None
		qty_change: DF.Float
		revenue_change: DF.Currency
		voucher_detail_no: DF.Data | None
		voucher_no: DF.DynamicLink | None
		voucher_type: DF.Link | None
	# end: auto-generated types

	def validate(self):
		frappe.throw(_("Package Ledger Entries are written by the app only"), BalanceReadOnlyError)

	def on_trash(self):
		self.validate()


SUMMARY_INDEX = "package_ledger_summary_index"
SUMMARY_INDEX_FIELDS = (
	"company",
	"posting_date",
	"is_cancelled",
	"event",
	"item_group",
	"prepaid_package",
	"customer",
	"qty_change",
	"deferred_change",
	"revenue_change",
)


def on_doctype_update():
	frappe.db.add_index("Package Ledger Entry", ["company", "posting_date"])
	frappe.db.add_index("Package Ledger Entry", ["voucher_type", "voucher_no"])
	frappe.db.add_index("Package Ledger Entry", ["package_balance_item", "event"])
	frappe.db.add_index("Package Ledger Entry", ["package_redemption"])
	# the reports' filters: one customer, one package or item group, over a date range
	frappe.db.add_index("Package Ledger Entry", ["customer", "company", "posting_date"])
	frappe.db.add_index("Package Ledger Entry", ["prepaid_package", "posting_date"])
	frappe.db.add_index("Package Ledger Entry", ["item_group", "posting_date"])
	# the GL reconciliation: the Journal Entries the ledger names
	frappe.db.add_index("Package Ledger Entry", ["journal_entry"])
	# the summaries: every figure of a company's ledger up to a date read from the index alone
	frappe.db.add_index("Package Ledger Entry", list(SUMMARY_INDEX_FIELDS), SUMMARY_INDEX)
