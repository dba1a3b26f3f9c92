"""The desk's Cancel and Cancel All dialog (frappe.desk.form.linked_with) for what the app reverses.

The app's Journal Entries link back to the invoice, opening import or balance they follow
(package_voucher_type / package_voucher_no, package_balance), so Frappe's dialog would list
them among the submitted documents to cancel first, and cancel them before the document the
user is cancelling; journal_entries.prevent_manual_cancel refuses that, and the dialog stopped. They
are never the user's to cancel: the voucher's own cancel reverses them (flows.invoice.on_cancel,
flows.import_opening.cancel_import). So the dialog never lists them and Cancel All never cancels one, on any
form (a POS Invoice, a Package Opening Import, or a Sales Order whose invoice redeemed).
Registered in hooks ``override_whitelisted_methods``; both call Frappe's own.
"""

import json

import frappe
from frappe.desk.form import linked_with

from package_bundles.ledger.journal_entries import posted_by_app


@frappe.whitelist()
def get_submitted_linked_docs(doctype: str, name: str, ignore_doctypes_on_cancel_all=None) -> dict:
	linked = linked_with.get_submitted_linked_docs(doctype, name, ignore_doctypes_on_cancel_all)
	docs = without_app_journal_entries(linked["docs"])
	return {"docs": docs, "count": len(docs)}


@frappe.whitelist()
def cancel_all_linked_docs(docs, ignore_doctypes_on_cancel_all=None):
	if isinstance(docs, str):
		docs = json.loads(docs)
	return linked_with.cancel_all_linked_docs(
		json.dumps(without_app_journal_entries(docs)), ignore_doctypes_on_cancel_all
	)


def without_app_journal_entries(docs: list[dict]) -> list[dict]:
	app_entries = posted_by_app([doc["name"] for doc in docs if doc.get("doctype") == "Journal Entry"])
	return [doc for doc in docs if not (doc.get("doctype") == "Journal Entry" and doc["name"] in app_entries)]
