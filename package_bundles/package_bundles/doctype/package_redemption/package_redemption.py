# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from package_bundles.exceptions import BalanceReadOnlyError


class PackageRedemption(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def validate(self):
		if not self.flags.written_by_package_bundles:
			frappe.throw(
				_("Package Redemptions are logged by the app from invoices; they cannot be created or edited by hand"),
				BalanceReadOnlyError,
			)

	def on_trash(self):
		self.validate()


def on_doctype_update():
	frappe.db.add_index("Package Redemption", ["sales_invoice", "status"])
