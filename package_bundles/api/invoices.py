"""Whitelisted previews of what an invoice would redeem (SPEC §7, the invoice form, the POS page)."""

import json

import frappe
from frappe import _

from package_bundles.flows import point_of_sale, redeem
from package_bundles.flows.catalog import get_package_item_map
from package_bundles.permissions import check_company_and_customer


@frappe.whitelist()
def preview_redemption(doc: str | dict) -> list[dict]:
	"""For a draft invoice (saved or not), which rows would redeem from which balance. Writes nothing."""
	invoice = frappe.get_doc(json.loads(doc) if isinstance(doc, str) else doc)
	validate_invoice_preview(invoice.doctype)
	if invoice.customer and not frappe.has_permission("Customer", "read", doc=invoice.customer):
		frappe.throw(
			_("Not permitted to read customer {0}").format(frappe.bold(invoice.customer)),
			frappe.PermissionError,
		)
	# the preview shows the customer's balances in the invoice's company
	check_company_and_customer(invoice.company, invoice.customer, "Package Balance")

	invoice.posting_date = invoice.posting_date or frappe.utils.nowdate()
	if not invoice.is_return:
		redeem.restore_redeemed_rows(invoice)
		redeem.apply_redemptions(invoice, fill_details=False)
	package_items = get_package_item_map()
	return [
		{
			"idx": row.idx,
			"item_code": row.item_code,
			"qty": row.qty,
			"package_balance": row.package_balance,
			"redeemed": bool(row.package_balance),
			"sells_package": package_items.get(row.item_code),
		}
		for row in invoice.items
	]


@frappe.whitelist()
def preview_row(doc: str | dict, child_docname: str) -> dict:
	"""A new row of a draft invoice as the app will redeem it, or nothing when no balance covers it whole.

	The invoice form and the POS page ask this after ERPNext answered for the row's details, so
	no ERPNext method is overridden. The user's User Permissions decide which balances it sees:
	none outside them, and then the row stays as ERPNext priced it.
	"""
	invoice = json.loads(doc) if isinstance(doc, str) else doc
	validate_invoice_preview((invoice or {}).get("doctype"))
	try:
		covered = point_of_sale.redeemed_details(invoice, child_docname)
	except Exception:
		# never let a preview stop an item from being added; the save plans again
		frappe.log_error(title=_("Package preview of an invoice row failed"))
		covered = None
	return covered or {}


def validate_invoice_preview(doctype: str | None) -> None:
	"""A preview is of a Sales or POS Invoice, for a user who may prepare one."""
	if doctype not in point_of_sale.INVOICE_DOCTYPES:
		frappe.throw(_("Preview needs a Sales Invoice or a POS Invoice"), frappe.ValidationError)
	if not frappe.has_permission(doctype, "create") and not frappe.has_permission(doctype, "write"):
		frappe.throw(_("Not permitted to prepare Sales Invoices"), frappe.PermissionError)
