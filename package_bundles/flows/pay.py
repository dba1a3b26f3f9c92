"""Keep Awaiting Payment / Active in step with what the purchase invoices still owe (SPEC §3 Payment).

ERPNext recomputes an invoice's outstanding amount from its Payment Ledger in one place,
``erpnext.accounts.utils.update_voucher_outstanding``, for every path that changes it: a Payment
Entry or Journal Entry submitted or cancelled, Payment Reconciliation, Unreconcile Payment, a
credit note against it, a write-off. It then sets the invoice's status with ``db_set``, which
runs the invoice's ``on_change``: the one hook here. The purchase invoice's own submit and cancel
write its balances themselves (sell.py).
"""

import frappe

from package_bundles.flows.catalog import get_package_item_map
from package_bundles.ledger import balance_state

PAYABLE_STATUSES = ("Awaiting Payment", "Active")


def refresh_sold_balances(doc, method=None):
	"""Sales Invoice / POS Invoice on_change: the balances it sold follow its outstanding amount.

	on_change also runs on every ordinary save; no query unless the invoice is submitted and
	sells a package. (Not frappe.flags.currently_saving: a save that failed earlier in the same
	request leaves its name there for good.)
	"""
	if doc.docstatus != 1 or doc.get("is_return") or doc.get("is_consolidated"):
		return
	if getattr(doc, "_action", None) == "submit":
		return  # its own submit: sell.create_balances has just written them from this outstanding
	package_items = get_package_item_map()
	if not package_items or not any(row.item_code in package_items for row in doc.items):
		return
	refresh_for_invoices({doc.name})


def refresh_for_invoices(invoices: set[str]):
	balances = frappe.get_all(
		"Package Balance",
		filters={"sales_invoice": ("in", sorted(invoices)), "status": ("in", PAYABLE_STATUSES)},
		pluck="name",
		order_by="name asc",
	)
	balance_state.refresh(balances)
