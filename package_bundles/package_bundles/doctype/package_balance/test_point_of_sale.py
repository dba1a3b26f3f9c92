# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 10: the point of sale. POS Invoices sell and redeem like Sales Invoices; the Sales Invoice
ERPNext consolidates them into at closing keeps their rows and posts nothing again; the cash in the
GL is the cash taken.

POS closing commits its work (ERPNext's merge log does), so this practice has a company of its own
and each run its own patients and package.
"""

import frappe
from frappe.utils import flt, nowdate

from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
)
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, invariant_problems
from package_bundles.tests.fixtures import (
	KIT,
	LAB,
	POS_ABBR,
	POS_COMPANY,
	PRICE_LIST,
	TILL_PROFILE,
	VISIT,
	account,
	gl_balance,
	make_patient,
	make_till,
	open_till,
)

test_ignore = IGNORED_TEST_RECORDS


def pos_invoice(customer, rows, pay=True, **values):
	"""A POS Invoice as the POS page submits it: saved, paid in cash at the till, submitted."""
	invoice = frappe.new_doc("POS Invoice")
	invoice.update(
		{
			"company": POS_COMPANY,
			"customer": customer,
			"pos_profile": TILL_PROFILE,
			"is_pos": 1,
			"update_stock": 1,
			"selling_price_list": PRICE_LIST,
			"currency": "USD",
			"debit_to": account("Debtors", POS_ABBR),
			"posting_date": nowdate(),
			"items": [row if isinstance(row, dict) else {"item_code": row[0], "qty": row[1]} for row in rows],
			**values,
		}
	)
	invoice.set_missing_values()
	invoice.save()  # the page saves on Checkout; the app plans here
	if pay:
		# the page's payment screen: cash for what is due, the paid amount its sum
		due = invoice.rounded_total or invoice.grand_total
		invoice.payments = []
		invoice.append(
			"payments", {"mode_of_payment": "Cash", "account": account("Cash", POS_ABBR), "amount": due}
		)
		invoice.paid_amount = invoice.base_paid_amount = due
	invoice.submit()
	return invoice


class TestPointOfSale(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_till()
		frappe.db.commit()

	def test_a_day_at_the_till_then_closing(self):
		from erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry import (
			make_closing_entry_from_opening,
		)
		from erpnext.accounts.doctype.pos_invoice.pos_invoice import make_sales_return

		suffix = frappe.generate_hash(length=6)
		patient = make_patient(f"PKT Till Patient {suffix}")
		opening = open_till()
		package = frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": f"Till Care {suffix}",
				"company": POS_COMPANY,
				"selling_price_list": PRICE_LIST,
				"package_price": 720,
				"items": [
					{"item_code": VISIT, "qty": 4},
					{"item_code": KIT, "qty": 1},
					{"item_code": LAB, "qty": 2},
				],
			}
		).insert(ignore_permissions=True)
		deferred = account("Package Deferred Revenue", POS_ABBR)
		# earlier runs' days stay on this till's books (closing commits): measure this day's change
		deferred_before = -gl_balance(deferred, company=POS_COMPANY)
		ledger_before = get_totals(POS_COMPANY)["deferred"]

		# a package sold at the till: its balance exists as soon as the POS Invoice is paid and submitted
		sale = pos_invoice(patient, [(package.item, 1)])
		[balance] = frappe.get_all(
			"Package Balance", filters={"sales_invoice": sale.name}, fields=["name", "status", "invoice_type"]
		)
		self.assertEqual((balance.status, balance.invoice_type), ("Active", "POS Invoice"))

		# the next visit redeems it: rate 0, the balance drawn, the value moved by a Journal Entry now
		visit = pos_invoice(patient, [(VISIT, 1), (KIT, 1)])
		self.assertEqual(
			[(r.item_code, r.rate, r.package_balance) for r in visit.items],
			[(VISIT, 0, balance.name), (KIT, 0, balance.name)],
		)
		self.assertEqual(visit.grand_total, 0)
		journal_entry = frappe.db.get_value(
			"Package Redemption", {"sales_invoice": visit.name, "item_code": VISIT}, "journal_entry"
		)
		self.assertEqual(
			frappe.db.get_value("Journal Entry", journal_entry, "package_voucher_type"), "POS Invoice"
		)
		self.assertEqual(
			round(
				gl_balance(account("Visit Income", POS_ABBR), company=POS_COMPANY, voucher_no=journal_entry),
				2,
			),
			-135,
		)

		# a visit the patient pays in cash, on purpose: it stays charged, at closing too
		paid_visit = pos_invoice(patient, [{"item_code": VISIT, "qty": 1, "skip_package_redemption": 1}])
		self.assertEqual((paid_visit.items[0].rate, paid_visit.items[0].package_balance), (150, None))

		# the kit comes back at the till: its unit and value go back to the balance
		returned = make_sales_return(visit.name)
		returned.items = [row for row in returned.items if row.item_code == KIT]
		returned.payments = []
		returned.append(
			"payments", {"mode_of_payment": "Cash", "account": account("Cash", POS_ABBR), "amount": 0}
		)
		returned.insert()
		returned.submit()
		remaining = dict(
			frappe.get_all(
				"Package Balance Item",
				filters={"parent": balance.name},
				fields=["item_code", "qty_remaining"],
				as_list=True,
			)
		)
		self.assertEqual(remaining, {VISIT: 3, KIT: 1, LAB: 2})

		# another patient changes her mind: the unused package is refunded in cash at the till
		second = make_patient(f"PKT Till Patient B {suffix}")
		second_sale = pos_invoice(second, [(package.item, 1)])
		refund = make_sales_return(second_sale.name)
		refund.payments = []
		refund.append(
			"payments", {"mode_of_payment": "Cash", "account": account("Cash", POS_ABBR), "amount": -720}
		)
		refund.paid_amount = refund.base_paid_amount = -720
		refund.insert()
		self.assertEqual(refund.items[0].rate, 720)
		refund.submit()
		self.assertEqual(
			frappe.db.get_value("Package Balance", {"sales_invoice": second_sale.name}, "status"), "Refunded"
		)

		tickets = (sale, visit, paid_visit, returned, second_sale, refund)
		cash_taken = sum(flt(ticket.paid_amount) for ticket in tickets)
		self.assertEqual(cash_taken, 720 + 150)
		before = {
			doctype: frappe.db.count(doctype)
			for doctype in ("Package Ledger Entry", "Journal Entry", "Package Balance", "Package Redemption")
		}
		cash_before = gl_balance(account("Cash", POS_ABBR), company=POS_COMPANY)

		closing = make_closing_entry_from_opening(frappe.get_doc("POS Opening Entry", opening.name))
		for payment in closing.payment_reconciliation:
			payment.closing_amount = payment.expected_amount
		closing.insert()
		closing.submit()  # consolidates (committed by ERPNext)

		consolidated = {
			frappe.db.get_value("POS Invoice", name, "consolidated_invoice")
			for name in (ticket.name for ticket in tickets)
		}
		self.assertNotIn(None, consolidated)
		for name in consolidated:
			self.assertEqual(
				frappe.db.get_value("Sales Invoice", name, ("docstatus", "is_consolidated")), (1, 1)
			)
		after = {doctype: frappe.db.count(doctype) for doctype in before}
		self.assertEqual(after, before, "closing posts nothing of the app's again")

		self.assertEqual(
			round(gl_balance(account("Cash", POS_ABBR), company=POS_COMPANY) - cash_before, 2), cash_taken
		)
		self.assertEqual(round(-gl_balance(deferred, company=POS_COMPANY) - deferred_before, 2), 720 - 135)
		totals = get_totals(POS_COMPANY)
		self.assertEqual(round(totals["deferred"] - ledger_before, 2), 585)
		self.assertEqual((totals["gl_balance"], totals["difference"]), (totals["deferred"], 0))
		self.assertEqual(invariant_problems(POS_COMPANY), [])
