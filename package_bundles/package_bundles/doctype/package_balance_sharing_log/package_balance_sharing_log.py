# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""One sharer added to or removed from a Package Balance, who did it, when and why (issue 20)."""

from frappe.model.document import Document


class PackageBalanceSharingLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		action: DF.Literal["Added", "Removed"]
		changed_by: DF.Link | None
		changed_on: DF.Datetime | None
		customer: DF.Link | None
		customer_name: DF.Data | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		reason: DF.SmallText | None
	# end: auto-generated types

	pass
