# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 16, item 5: every document whose cancel the app reverses cancels from its form.

The desk's Cancel button asks frappe.desk.form.linked_with.get_submitted_linked_docs for the
submitted documents linked to the form's document; when there are any, its Cancel All dialog
cancels them (cancel_all_linked_docs) before the document itself (frappe.desk.form.save.cancel).
These tests make the same calls, resolved the way a desk request resolves them (the hooks'
overrides, whitelisting checked), with the ignore lists the forms send.

The app's Journal Entries link back to the voucher they follow, so the dialog used to list them
and Cancel All cancelled them first: refused ("was posted by Package Bundles"), nothing could be
cancelled from the form.
"""

import json

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate

from package_bundles.exceptions import AppJournalEntryError
from package_bundles.package_bundles.doctype.package_balance.test_point_of_sale import pos_invoice
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	CUSTOMER,
	DEFERRED,
	KIT,
	LAB,
	POS_COMPANY,
	PRICE_LIST,
	VISIT,
	VISIT_INCOME,
	gl_balance,
	make_invoice,
	make_package,
	make_patient,
	make_till,
	open_till,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

LIST_LINKED = "frappe.desk.form.linked_with.get_submitted_linked_docs"
CANCEL_ALL = "frappe.desk.form.linked_with.cancel_all_linked_docs"
CANCEL = "frappe.desk.form.save.cancel"

# frm.ignore_doctypes_on_cancel_all as the forms set it (ERPNext 15: sales_invoice.js,
# pos_invoice.js and transaction.js onload); the app's forms set none
FORM_IGNORES = {
	"Sales Invoice": [
		"POS Invoice",
		"Timesheet",
		"POS Invoice Merge Log",
		"POS Closing Entry",
		"Journal Entry",
		"Payment Entry",
		"Repost Payment Ledger",
		"Repost Accounting Ledger",
		"Unreconcile Payment",
		"Unreconcile Payment Entries",
		"Serial and Batch Bundle",
		"Bank Transaction",
	],
	"POS Invoice": ["POS Invoice Merge Log", "POS Closing Entry", "Serial and Batch Bundle"],
	"Sales Order": ["Serial and Batch Bundle"],
}


def desk_call(method: str, **kwargs):
	"""Call a whitelisted method as a desk request does (frappe.handler.execute_cmd)."""
	function = frappe.get_attr(frappe.override_whitelisted_method(method))
	frappe.is_whitelisted(function)
	return frappe.call(function, **kwargs)


def listed_by_dialog(doctype: str, name: str, ignore: list | None = None) -> list[dict]:
	return desk_call(
		LIST_LINKED, doctype=doctype, name=name, ignore_doctypes_on_cancel_all=json.dumps(ignore or [])
	)["docs"]


def cancel_from_form(doctype: str, name: str) -> list[dict]:
	"""The form's Cancel: the dialog's documents first (Cancel All), then the document. Returns what it listed."""
	ignore = FORM_IGNORES.get(doctype, [])
	docs = listed_by_dialog(doctype, name, ignore)
	if docs:
		desk_call(CANCEL_ALL, docs=json.dumps(docs), ignore_doctypes_on_cancel_all=json.dumps(ignore))
	desk_call(CANCEL, doctype=doctype, name=name)
	return docs


def journal_entries_of(voucher_name: str) -> list[str]:
	return frappe.get_all(
		"Journal Entry", filters={"package_voucher_no": voucher_name}, pluck="name", order_by="name asc"
	)


def docstatus(doctype: str, name: str) -> int:
	return frappe.db.get_value(doctype, name, "docstatus")


def remaining(balance_name: str) -> dict[str, float]:
	return dict(
		frappe.get_all(
			"Package Balance Item",
			filters={"parent": balance_name},
			fields=["item_code", "qty_remaining"],
			as_list=True,
			order_by="idx asc",
		)
	)


class TestCancelFromTheDesk(PackageTestCase):
	def sell_paid_package(self, customer=CUSTOMER):
		package = make_package()
		sale = make_invoice([(package.item, 1)], customer=customer)
		pay(sale)
		[balance] = balances_of(sale)
		return balance.name

	def assert_dialog_lists_no_app_journal_entry(self, doctype: str, name: str, journal_entries: list[str]):
		"""Whatever ignore list a form sends, none at all included: the app's entries follow their voucher."""
		self.assertTrue(journal_entries)
		for ignore in (FORM_IGNORES.get(doctype, []), []):
			listed = {doc["name"] for doc in listed_by_dialog(doctype, name, ignore)}
			self.assertFalse(listed & set(journal_entries), (doctype, ignore))

	def test_a_redeemed_sales_invoice_cancels_from_its_form(self):
		balance = self.sell_paid_package()
		visit = make_invoice([(VISIT, 2)], taxes=False)
		[journal_entry] = journal_entries_of(visit.name)
		self.assertEqual(remaining(balance)[VISIT], 2)
		self.assert_dialog_lists_no_app_journal_entry("Sales Invoice", visit.name, [journal_entry])

		cancel_from_form("Sales Invoice", visit.name)

		self.assertEqual(
			(docstatus("Sales Invoice", visit.name), docstatus("Journal Entry", journal_entry)), (2, 2)
		)
		self.assertEqual(remaining(balance), {VISIT: 4, KIT: 1, LAB: 2})
		self.assertEqual(
			set(frappe.get_all("Package Redemption", filters={"sales_invoice": visit.name}, pluck="status")),
			{"Reversed"},
		)
		self.assertEqual(round(gl_balance(VISIT_INCOME, voucher_no=journal_entry), 2), 0)
		self.assertEqual(invariant_problems(), [])

	def test_a_credit_note_against_a_redemption_cancels_from_its_form(self):
		balance = self.sell_paid_package()
		visit = make_invoice([(VISIT, 2)], taxes=False)
		credit_note = make_sales_return(visit.name)
		credit_note.items[0].qty = -1
		credit_note.insert()
		credit_note.submit()
		[journal_entry] = journal_entries_of(credit_note.name)
		self.assertEqual(remaining(balance)[VISIT], 3)
		self.assert_dialog_lists_no_app_journal_entry("Sales Invoice", credit_note.name, [journal_entry])

		cancel_from_form("Sales Invoice", credit_note.name)

		self.assertEqual(
			(docstatus("Sales Invoice", credit_note.name), docstatus("Journal Entry", journal_entry)), (2, 2)
		)
		# the visit is drawn again, as before the credit note
		self.assertEqual(remaining(balance)[VISIT], 2)
		self.assertEqual(round(-gl_balance(DEFERRED, voucher_no=journal_entry), 2), 0)
		self.assertEqual(invariant_problems(), [])

	def test_a_redemption_with_a_credit_note_cancels_both_through_cancel_all(self):
		"""The invoice's dialog lists its credit note, cancelled first; each takes its own entry with it."""
		balance = self.sell_paid_package()
		visit = make_invoice([(VISIT, 2)], taxes=False)
		credit_note = make_sales_return(visit.name)
		credit_note.items[0].qty = -1
		credit_note.insert()
		credit_note.submit()
		journal_entries = journal_entries_of(visit.name) + journal_entries_of(credit_note.name)
		self.assertEqual(len(journal_entries), 2)

		listed = cancel_from_form("Sales Invoice", visit.name)

		self.assertEqual(
			[(doc["doctype"], doc["name"]) for doc in listed], [("Sales Invoice", credit_note.name)]
		)
		self.assertEqual(
			[docstatus("Sales Invoice", name) for name in (credit_note.name, visit.name)]
			+ [docstatus("Journal Entry", name) for name in journal_entries],
			[2, 2, 2, 2],
		)
		self.assertEqual(remaining(balance), {VISIT: 4, KIT: 1, LAB: 2})
		self.assertEqual(invariant_problems(), [])

	def test_an_invoice_made_from_an_order_cancels_with_the_order_through_cancel_all(self):
		"""The order's dialog lists the invoice (cancelled first, its Journal Entry with it), never the entry."""
		from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

		balance = self.sell_paid_package()
		order = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"company": frappe.db.get_value("Package Balance", balance, "company"),
				"customer": CUSTOMER,
				"selling_price_list": PRICE_LIST,
				"transaction_date": nowdate(),
				"delivery_date": add_days(nowdate(), 7),
				"items": [{"item_code": VISIT, "qty": 1, "delivery_date": add_days(nowdate(), 7)}],
			}
		).insert(ignore_permissions=True)
		order.submit()
		invoice = make_sales_invoice(order.name)
		invoice.insert()
		invoice.submit()
		self.assertTrue(invoice.items[0].package_balance)
		[journal_entry] = journal_entries_of(invoice.name)

		listed = cancel_from_form("Sales Order", order.name)

		self.assertEqual([(doc["doctype"], doc["name"]) for doc in listed], [("Sales Invoice", invoice.name)])
		self.assertEqual(
			(
				docstatus("Sales Order", order.name),
				docstatus("Sales Invoice", invoice.name),
				docstatus("Journal Entry", journal_entry),
			),
			(2, 2, 2),
		)
		self.assertEqual(remaining(balance)[VISIT], 4)
		self.assertEqual(invariant_problems(), [])

	def test_an_opening_import_cancels_from_its_form(self):
		make_package()
		customer = make_patient(f"PKT Desk Cancel Patient {frappe.generate_hash(length=6)}")
		opening = frappe.get_doc(
			{
				"doctype": "Package Opening Import",
				"company": frappe.db.get_value("Prepaid Package", "Postpartum Care", "company"),
				"posting_date": add_days(nowdate(), -10),
				"lines": [
					{
						"customer": customer,
						"prepaid_package": "Postpartum Care",
						"original_reference": f"OLD-{frappe.generate_hash(length=6)}",
						"purchase_date": add_days(nowdate(), -100),
						"item_code": VISIT,
						"units_left": 3,
						"value_left": 405,
					}
				],
			}
		).insert()
		opening.submit()
		opening.reload()
		balance = frappe.db.get_value("Package Balance", {"opening_import": opening.name}, "name")
		self.assertEqual(round(-gl_balance(DEFERRED, voucher_no=opening.journal_entry), 2), 405)
		self.assert_dialog_lists_no_app_journal_entry(opening.doctype, opening.name, [opening.journal_entry])

		cancel_from_form(opening.doctype, opening.name)

		self.assertEqual(
			(docstatus(opening.doctype, opening.name), docstatus("Journal Entry", opening.journal_entry)),
			(2, 2),
		)
		self.assertEqual(frappe.db.get_value("Package Balance", balance, "status"), "Cancelled")
		self.assertEqual(round(gl_balance(DEFERRED, voucher_no=opening.journal_entry), 2), 0)
		self.assertEqual(invariant_problems(), [])

	def test_an_app_journal_entry_still_cannot_be_cancelled_alone(self):
		self.sell_paid_package()
		visit = make_invoice([(VISIT, 1)], taxes=False)
		[journal_entry] = journal_entries_of(visit.name)

		with self.assertRaises(AppJournalEntryError):
			cancel_from_form("Journal Entry", journal_entry)
		# a dialog built before (a stale page) that still names the entry: Cancel All leaves it to its invoice
		desk_call(
			CANCEL_ALL,
			docs=json.dumps([{"doctype": "Journal Entry", "name": journal_entry, "docstatus": 1}]),
		)
		self.assertEqual(
			(docstatus("Journal Entry", journal_entry), docstatus("Sales Invoice", visit.name)), (1, 1)
		)


class TestCancelPointOfSaleFromTheDesk(PackageTestCase):
	"""The POS Invoice form, whose ignore list (ERPNext's) leaves Journal Entries in the dialog."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_till()
		frappe.db.commit()

	def test_a_pos_invoice_that_redeemed_a_visit_cancels_from_its_form_and_so_does_the_sale(self):
		suffix = frappe.generate_hash(length=6)
		patient = make_patient(f"PKT Desk Cancel Till Patient {suffix}")
		open_till()
		package = frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": f"Desk Cancel Visits {suffix}",
				"company": POS_COMPANY,
				"selling_price_list": PRICE_LIST,
				"package_price": 600,
				"items": [{"item_code": VISIT, "qty": 4}],
			}
		).insert(ignore_permissions=True)
		sale = pos_invoice(patient, [(package.item, 1)])
		[balance] = frappe.get_all("Package Balance", filters={"sales_invoice": sale.name}, pluck="name")
		visit = pos_invoice(patient, [(VISIT, 1)])
		self.assertEqual(visit.items[0].package_balance, balance)
		[journal_entry] = journal_entries_of(visit.name)
		self.assert_dialog_lists_no_app_journal_entry("POS Invoice", visit.name, [journal_entry])

		cancel_from_form("POS Invoice", visit.name)

		self.assertEqual(
			(docstatus("POS Invoice", visit.name), docstatus("Journal Entry", journal_entry)), (2, 2)
		)
		self.assertEqual(remaining(balance), {VISIT: 4})
		self.assertEqual(
			frappe.db.get_value("Package Redemption", {"sales_invoice": visit.name}, "status"), "Reversed"
		)
		self.assertEqual(frappe.db.count("GL Entry", {"voucher_no": journal_entry, "is_cancelled": 0}), 0)

		# the unused package itself then cancels from its form too
		cancel_from_form("POS Invoice", sale.name)
		self.assertEqual(docstatus("POS Invoice", sale.name), 2)
		self.assertEqual(frappe.db.get_value("Package Balance", balance, "status"), "Cancelled")
		self.assertEqual(
			frappe.db.count("Package Ledger Entry", {"package_balance": balance, "is_cancelled": 0}), 0
		)

	assert_dialog_lists_no_app_journal_entry = TestCancelFromTheDesk.assert_dialog_lists_no_app_journal_entry
