# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class PackageOpeningImportLine(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		customer: DF.Link
		expiry_date: DF.Date | None
		item_code: DF.Link
		original_reference: DF.Data
		package_balance: DF.Link | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		prepaid_package: DF.Link
		purchase_date: DF.Date
		units_left: DF.Float
		value_left: DF.Currency
	# end: auto-generated types

	pass


def on_doctype_update():
	# re-imports are found by customer
	frappe.db.add_index("Package Opening Import Line", ["customer", "prepaid_package"])
