# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""A Customer a Package Balance is shared with (issue 20, household sharing); written by flows/share.py."""

import frappe
from frappe.model.document import Document


class PackageBalanceSharer(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		added_by: DF.Link | None
		added_on: DF.Datetime | None
		customer: DF.Link
		customer_name: DF.Data | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
	# end: auto-generated types

	pass


def on_doctype_update():
	# redemption's look-up of the balances shared with an invoice's customer (flows.redeem.load_holdings)
	frappe.db.add_index("Package Balance Sharer", ["customer", "parent"])
