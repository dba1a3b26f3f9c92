# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, add_months, nowdate

from package_bundles.exceptions import (
	BalanceReadOnlyError,
	PackageCurrencyError,
	PackageDisabledError,
	PackageDiscountError,
	PackageRateError,
)
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	balances_of,
	deferred_liability,
)
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	DEBTORS,
	DEFERRED,
	EURO_CUSTOMER,
	KIT,
	LAB,
	LAB_INCOME,
	PRODUCT_INCOME,
	SALES_TAX,
	VISIT,
	VISIT_INCOME,
	account,
	gl_balance,
	gl_entries,
	make_invoice,
	make_package,
	pay,
	reset_settings,
)

test_ignore = IGNORED_TEST_RECORDS

WRITES = ("Sales Invoice", "Package Balance", "GL Entry", "Journal Entry")


class TestPackageSale(PackageTestCase):
	def test_worked_example_sale(self):
		package = make_package()
		invoice = make_invoice([(package.item, 1)])

		row = invoice.items[0]
		self.assertEqual(row.rate, 720)
		self.assertEqual(row.income_account, DEFERRED)
		self.assertEqual(row.prepaid_package, package.name)
		self.assertIn("4 x Office Visit", row.description)
		self.assertEqual(invoice.total_taxes_and_charges, 5.76)
		self.assertEqual(invoice.grand_total, 725.76)
		self.assertEqual(gl_entries(invoice.name), {DEBTORS: 725.76, DEFERRED: -720.0, SALES_TAX: -5.76})

		[balance] = balances_of(invoice)
		self.assertEqual(balance.customer, CUSTOMER)
		self.assertEqual(balance.company, COMPANY)
		self.assertEqual(balance.prepaid_package, package.name)
		self.assertEqual(balance.sales_invoice_item, row.name)
		self.assertEqual(str(balance.purchase_date), str(invoice.posting_date))
		self.assertIsNone(balance.expiry_date)
		self.assertEqual(balance.revenue_recognition, "Upon Consumption")
		self.assertEqual(balance.status, "Awaiting Payment")
		snapshot = [
			(
				i.item_code,
				i.item_group,
				i.qty_purchased,
				i.qty_redeemed,
				i.qty_remaining,
				i.allocated_amount,
				i.deferred_amount,
				i.income_account,
			)
			for i in balance.items
		]
		self.assertEqual(
			snapshot,
			[
				(VISIT, "PKT Visits", 4, 0, 4, 540, 540, VISIT_INCOME),
				(KIT, "PKT Products", 1, 0, 1, 72, 72, PRODUCT_INCOME),
				(LAB, "PKT Labs", 2, 0, 2, 108, 108, LAB_INCOME),
			],
		)
		self.assertEqual(balance.total_deferred, 720)
		self.assert_reconciled()

	def test_payment_gates_the_balance_both_ways(self):
		package = make_package()
		invoice = make_invoice([(package.item, 1)])
		[balance] = balances_of(invoice)
		self.assertEqual(balance.status, "Awaiting Payment")

		partial = pay(invoice, amount=500)
		balance.reload()
		self.assertEqual(balance.status, "Awaiting Payment")

		rest = pay(invoice)
		balance.reload()
		self.assertEqual(balance.status, "Active")

		rest.cancel()
		balance.reload()
		self.assertEqual(balance.status, "Awaiting Payment")
		partial.cancel()

	def test_pos_invoice_paid_in_full_is_active_at_once(self):
		package = make_package()
		reset_settings(require_full_payment=0)
		invoice = make_invoice([(package.item, 1)])
		self.assertEqual(balances_of(invoice)[0].status, "Active")

	def test_three_instances_make_three_balances(self):
		package = make_package()
		invoice = make_invoice([(package.item, 3)])
		balances = balances_of(invoice)
		self.assertEqual(len(balances), 3)
		self.assertTrue(all(b.total_deferred == 720 for b in balances))
		self.assertEqual(invoice.total_taxes_and_charges, 17.28)
		self.assertEqual(gl_entries(invoice.name)[DEFERRED], -2160)
		self.assert_reconciled()

	def test_validity_sets_expiry_from_posting_date(self):
		posting = add_days(nowdate(), -3)
		by_days = make_package(name="Ten Days", items=[(VISIT, 1)], price=150, valid_for_days=10)
		by_months = make_package(name="Two Months", items=[(VISIT, 1)], price=150, valid_for_months=2)
		fixed = add_days(nowdate(), 100)
		by_date = make_package(name="Fixed", items=[(VISIT, 1)], price=150, expiry_date=fixed)
		invoice = make_invoice(
			[(by_days.item, 1), (by_months.item, 1), (by_date.item, 1)], posting_date=posting
		)
		expiry = {b.prepaid_package: str(b.expiry_date) for b in balances_of(invoice)}
		self.assertEqual(expiry["Ten Days"], str(add_days(posting, 10)))
		self.assertEqual(expiry["Two Months"], str(add_months(posting, 2)))
		self.assertEqual(expiry["Fixed"], str(fixed))

	def test_upon_purchase_recognizes_each_item_at_sale(self):
		package = make_package(revenue_recognition="Upon Purchase")
		invoice = make_invoice([(package.item, 1)])
		[balance] = balances_of(invoice)
		self.assertTrue(balance.recognition_journal_entry)
		self.assertEqual(
			gl_entries(balance.recognition_journal_entry),
			{DEFERRED: 720.0, VISIT_INCOME: -540.0, PRODUCT_INCOME: -72.0, LAB_INCOME: -108.0},
		)
		self.assertEqual(balance.total_recognized, 720)
		self.assertEqual(balance.total_deferred, 0)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_reconciled()

		invoice.reload()
		invoice.cancel()
		self.assertEqual(
			frappe.db.get_value("Journal Entry", balance.recognition_journal_entry, "docstatus"), 2
		)
		for ledger_account in (DEFERRED, VISIT_INCOME, PRODUCT_INCOME, LAB_INCOME):
			self.assertEqual(gl_balance(ledger_account), 0)

	def test_app_journal_entry_cannot_be_cancelled_by_hand(self):
		from package_bundles.exceptions import AppJournalEntryError

		package = make_package(revenue_recognition="Upon Purchase")
		invoice = make_invoice([(package.item, 1)])
		journal_entry = frappe.get_doc("Journal Entry", balances_of(invoice)[0].recognition_journal_entry)
		with self.assertRaises(AppJournalEntryError):
			journal_entry.cancel()

	def test_cancel_purchase_cancels_balances(self):
		package = make_package()
		invoice = make_invoice([(package.item, 2)])
		invoice.cancel()
		self.assertEqual({b.status for b in balances_of(invoice)}, {"Cancelled"})
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_reconciled()

	def test_rate_discount_and_disabled_package_are_refused_with_nothing_written(self):
		package = make_package()
		disabled = make_package(name="Old Package", items=[(VISIT, 1)], price=150)
		disabled.disabled = 1
		disabled.save()
		before = self.count_documents(*WRITES)
		cases = [
			(
				"changed rate",
				dict(rows=[{"item_code": package.item, "qty": 1, "rate": 700}]),
				PackageRateError,
			),
			(
				"row discount",
				dict(rows=[{"item_code": package.item, "qty": 1, "discount_percentage": 10}]),
				PackageRateError,
			),
			(
				"invoice discount",
				dict(rows=[(package.item, 1)], additional_discount_percentage=10),
				PackageDiscountError,
			),
			("disabled package", dict(rows=[(disabled.item, 1)]), PackageDisabledError),
			("fractional instances", dict(rows=[(package.item, 1.5)]), frappe.ValidationError),
			(
				"other currency",
				dict(
					rows=[(package.item, 1)],
					customer=EURO_CUSTOMER,
					currency="EUR",
					debit_to=account("Debtors EUR"),
					party_account_currency="EUR",
					conversion_rate=1.1,
					plc_conversion_rate=1,
				),
				PackageCurrencyError,
			),
		]
		for label, kwargs, exception in cases:
			with self.subTest(label):
				with self.assertRaises(exception) as caught:
					make_invoice(kwargs.pop("rows"), **kwargs)
				self.assertTrue(str(caught.exception))
				self.assertEqual(self.count_documents(*WRITES), before)

	def test_balances_are_read_only(self):
		package = make_package()
		[balance] = balances_of(make_invoice([(package.item, 1)]))
		balance.expiry_date = add_days(nowdate(), 5)
		with self.assertRaises(BalanceReadOnlyError):
			balance.save()
		with self.assertRaises(BalanceReadOnlyError):
			frappe.get_doc(
				{
					"doctype": "Package Balance",
					"customer": CUSTOMER,
					"company": COMPANY,
					"prepaid_package": package.name,
				}
			).insert()

	def test_sold_terms_are_locked(self):
		package = make_package()
		invoice = make_invoice([(package.item, 1)])
		[balance] = balances_of(invoice)
		before = [(i.item_code, i.qty_purchased, i.allocated_amount) for i in balance.items]

		package.reload()
		package.package_price = 600
		package.items = [row for row in package.items if row.item_code != LAB]
		package.valid_for_days = 5
		package.save()
		package.disabled = 1
		package.save()

		balance.reload()
		self.assertEqual([(i.item_code, i.qty_purchased, i.allocated_amount) for i in balance.items], before)
		self.assertIsNone(balance.expiry_date)
		self.assertEqual(balance.package_price, 720)

	def test_credit_note_refunds_unused_instances(self):
		package = make_package()
		invoice = make_invoice([(package.item, 2)])
		credit_note = make_sales_return(invoice.name)
		credit_note.items[0].qty = -1
		credit_note.insert()
		credit_note.submit()

		statuses = sorted(b.status for b in balances_of(invoice))
		self.assertEqual(statuses, ["Awaiting Payment", "Refunded"])
		self.assertEqual(gl_entries(credit_note.name), {DEBTORS: -725.76, DEFERRED: 720.0, SALES_TAX: 5.76})
		self.assert_reconciled()

		credit_note.cancel()
		self.assertEqual(
			sorted(b.status for b in balances_of(invoice)), ["Awaiting Payment", "Awaiting Payment"]
		)
		self.assert_reconciled()

	def test_credit_note_for_upon_purchase_nets_to_zero(self):
		package = make_package(revenue_recognition="Upon Purchase")
		invoice = make_invoice([(package.item, 1)])
		credit_note = make_sales_return(invoice.name)
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(balances_of(invoice)[0].status, "Refunded")
		for ledger_account in (DEFERRED, VISIT_INCOME, PRODUCT_INCOME, LAB_INCOME, SALES_TAX, DEBTORS):
			self.assertEqual(round(gl_balance(ledger_account), 2), 0, ledger_account)
		self.assert_reconciled()
