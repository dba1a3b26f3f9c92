# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class PackageBalanceExtension(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		extended_by: DF.Link | None
		extended_on: DF.Datetime | None
		new_expiry_date: DF.Date | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		previous_expiry_date: DF.Date | None
		reason: DF.SmallText | None
		reversed_breakage_journal_entry: DF.Link | None
	# end: auto-generated types

	pass
