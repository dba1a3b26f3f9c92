# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class PackageBalanceItem(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		allocated_amount: DF.Currency
		breakage_amount: DF.Currency
		breakage_with_use_amount: DF.Currency
		cost_center: DF.Link | None
		deferred_amount: DF.Currency
		income_account: DF.Link | None
		is_stock_item: DF.Check
		item_code: DF.Link | None
		item_group: DF.Link | None
		item_name: DF.Data | None
		moved_out_amount: DF.Currency
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		qty_moved_out: DF.Float
		qty_purchased: DF.Float
		qty_redeemed: DF.Float
		qty_remaining: DF.Float
		recognized_amount: DF.Currency
		refunded_amount: DF.Currency
		uom: DF.Link | None
		whole_number: DF.Check
	# end: auto-generated types

	pass
