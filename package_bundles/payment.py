"""Keep Awaiting Payment / Active in step with what the purchase invoices still owe."""

import frappe
from frappe.query_builder import DocType
from frappe.utils import now

from package_bundles.package_bundles.doctype.package_settings.package_settings import is_paid


def refresh_paid_balances(doc, method=None):
	"""Payment Entry / Journal Entry on_submit and on_cancel."""
	if doc.doctype == "Payment Entry":
		invoices = {ref.reference_name for ref in doc.references if ref.reference_doctype == "Sales Invoice"}
	else:
		invoices = {row.reference_name for row in doc.accounts if row.reference_type == "Sales Invoice"}
	if invoices:
		refresh_for_invoices(invoices)


def refresh_for_invoices(invoices: set[str]):
	Balance = DocType("Package Balance")
	Invoice = DocType("Sales Invoice")
	rows = (
		frappe.qb.from_(Balance)
		.join(Invoice)
		.on(Invoice.name == Balance.sales_invoice)
		.select(Balance.name, Balance.status, Invoice.outstanding_amount)
		.where(Balance.sales_invoice.isin(sorted(invoices)))
		.where(Balance.status.isin(("Awaiting Payment", "Active")))
		.orderby(Balance.name)
		.run(as_dict=True)
	)
	for row in rows:
		status = "Active" if is_paid(row.outstanding_amount) else "Awaiting Payment"
		if status != row.status:
			frappe.qb.update(Balance).set(Balance.status, status).set(Balance.modified, now()).where(
				Balance.name == row.name
			).run()
