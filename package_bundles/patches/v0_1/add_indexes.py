"""Indexes the balance look-up and the reports rely on.

on_doctype_update runs only when a doctype's JSON is imported again, so sites
installed before an index was added get it here.
"""

import frappe

DOCTYPES = ("Package Balance", "Package Redemption", "Package Ledger Entry")


def execute():
	for doctype in DOCTYPES:
		module = frappe.get_module(
			f"package_bundles.package_bundles.doctype.{frappe.scrub(doctype)}.{frappe.scrub(doctype)}"
		)
		module.on_doctype_update()
