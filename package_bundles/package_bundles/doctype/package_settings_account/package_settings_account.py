# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class PackageSettingsAccount(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		breakage_income_account: DF.Link | None
		breakage_method: DF.Literal["At expiry", "Proportional"]
		company: DF.Link
		deferred_revenue_account: DF.Link | None
		expected_breakage_rate: DF.Percent
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
	# end: auto-generated types

	pass
