# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class PackageItem(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		allocated_amount: DF.Currency
		allocated_rate: DF.Currency
		amount: DF.Currency
		is_stock_item: DF.Check
		item_code: DF.Link
		item_group: DF.Link | None
		item_name: DF.Data | None
		item_tax_template: DF.Link | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		qty: DF.Float
		rate: DF.Currency
		taxable: DF.Check
		uom: DF.Link | None
	# end: auto-generated types

	pass
