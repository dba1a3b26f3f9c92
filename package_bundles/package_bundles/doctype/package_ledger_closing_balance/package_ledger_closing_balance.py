# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The Package Ledger's figures summed up to a month end, per grain (issue 22).

Rows are written by package_bundles.ledger.closing in SQL (a build is one INSERT ... SELECT per
grain; a back-dated movement is an upsert), never through this controller.
"""

import frappe
from frappe.model.document import Document


class PackageLedgerClosingBalance(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		allocated: DF.Currency
		billed_breakage: DF.Currency
		billed_purchase: DF.Currency
		billed_redemption: DF.Currency
		broken: DF.Currency
		company: DF.Link
		currency: DF.Link | None
		customer: DF.Link | None
		deferred: DF.Currency
		grain: DF.Literal["Item Group and Package", "Customer"]
		item_group: DF.Link | None
		moved_breakage_at_expiry: DF.Currency
		moved_breakage_reversed: DF.Currency
		moved_breakage_with_use: DF.Currency
		moved_credited_to_upgrades: DF.Currency
		moved_opening_imports: DF.Currency
		moved_recognized_upon_purchase: DF.Currency
		moved_redeemed: DF.Currency
		moved_refunded: DF.Currency
		moved_returned: DF.Currency
		moved_sold: DF.Currency
		moved_transferred_in: DF.Currency
		moved_transferred_out: DF.Currency
		period_end: DF.Date
		prepaid_package: DF.Link | None
		qty_purchased: DF.Float
		qty_redeemed: DF.Float
		qty_remaining: DF.Float
		recognized: DF.Currency
		refunded: DF.Currency
	# end: auto-generated types

	pass


def on_doctype_update():
	# a summary reads one month end's rows of a grain; a page of customers ranks them by deferred
	# revenue (highest first, then by name) or by name, from these indexes alone (issue 22)
	frappe.db.add_index(
		"Package Ledger Closing Balance",
		["company", "period_end", "grain", "customer", "deferred"],
		"closing_customer_deferred_index",
	)
	frappe.db.add_index(
		"Package Ledger Closing Balance",
		["company", "period_end", "grain", "deferred desc", "customer"],
		"closing_deferred_rank_index",
	)
