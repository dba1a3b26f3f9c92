"""Keep Awaiting Payment / Active in step with what the purchase invoices still owe."""

import frappe

from package_bundles import balance_state


def refresh_paid_balances(doc, method=None):
	"""Payment Entry / Journal Entry on_submit and on_cancel."""
	if doc.doctype == "Payment Entry":
		invoices = {ref.reference_name for ref in doc.references if ref.reference_doctype == "Sales Invoice"}
	else:
		invoices = {row.reference_name for row in doc.accounts if row.reference_type == "Sales Invoice"}
	if invoices:
		refresh_for_invoices(invoices)


def refresh_for_invoices(invoices: set[str]):
	balances = frappe.get_all(
		"Package Balance",
		filters={"sales_invoice": ("in", sorted(invoices)), "status": ("in", ("Awaiting Payment", "Active"))},
		pluck="name",
		order_by="name asc",
	)
	balance_state.refresh(balances)
