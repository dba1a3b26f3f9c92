"""Whitelisted methods of the Prepaid Package form: the preview of its default price, allocation and
tax (SPEC §5), and an expected breakage rate proposed from its history (issue 21)."""

import json

import frappe
from frappe import _
from frappe.utils import cint

from package_bundles.flows import breakage


@frappe.whitelist()
def preview_package(doc: str | dict) -> dict:
	"""Default price, allocation and tax of a Prepaid Package form, without saving it."""
	package = frappe.get_doc(json.loads(doc) if isinstance(doc, str) else doc)
	if package.doctype != "Prepaid Package":
		frappe.throw(_("Preview needs a Prepaid Package"), frappe.ValidationError)
	package.check_permission("write" if not package.is_new() else "create")
	package.set_selling_price_list()
	package.validate_items()
	package.set_standard_rates()
	package.set_allocation()
	package.set_tax_details()
	return {
		"default_price": package.default_price,
		"package_price": package.package_price,
		"taxable_amount": package.taxable_amount,
		"items": [
			{
				"idx": row.idx,
				"item_code": row.item_code,
				"rate": row.rate,
				"amount": row.amount,
				"allocated_amount": row.allocated_amount,
				"allocated_rate": row.allocated_rate,
				"taxable": row.taxable,
				"item_tax_template": row.item_tax_template,
			}
			for row in package.items
		],
	}


@frappe.whitelist()
def propose_breakage_rate(package: str, from_date: str, to_date: str, minimum_count: int = 10) -> dict:
	"""An expected breakage rate for the package from its balances that ended between the dates.

	``rate`` (in %) is None when fewer than ``minimum_count`` balances ended in the window; the
	figures (count, sold, broken, the window) come with it, and ``source`` is what the package
	keeps as the origin of the rate once it is taken.
	"""
	frappe.has_permission("Prepaid Package", "read", doc=package, throw=True)
	return breakage.propose_rate(package, from_date, to_date, cint(minimum_count))
