# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from package_bundles.exceptions import BalanceReadOnlyError


class PackageLedgerEntry(Document):
	# begin: auto-generated types
	# end: auto-generated types

	def validate(self):
		frappe.throw(_("Package Ledger Entries are written by the app only"), BalanceReadOnlyError)

	def on_trash(self):
		self.validate()


def on_doctype_update():
	frappe.db.add_index("Package Ledger Entry", ["company", "posting_date"])
	frappe.db.add_index("Package Ledger Entry", ["voucher_type", "voucher_no"])
