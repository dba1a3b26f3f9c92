# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class PackageBalanceExtension(Document):
	# begin: auto-generated types
	# end: auto-generated types

	pass
