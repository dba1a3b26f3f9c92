# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 16, items 2, 3 and 9: paid is what ERPNext's Payment Ledger says however the purchase
invoice's outstanding changed; debit notes neither redeem nor sell; the invoice hooks never crash."""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from erpnext.controllers.accounts_controller import InvalidQtyError
from erpnext.controllers.sales_and_purchase_return import StockOverReturnError
from erpnext.utilities.transaction_base import UOMMustBeIntegerError
from frappe.utils import nowdate

from package_bundles.exceptions import BalanceUnavailableError, PackageQuantityError, RefundNotAllowedError
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	CASH,
	COMPANY,
	CUSTOMER,
	DEBTORS,
	MAIN_COST_CENTER,
	POS_COMPANY,
	PRICE_LIST,
	VISIT,
	account,
	gl_entries,
	make_invoice,
	make_package,
	make_patient,
	make_till,
	open_till,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

PRICE = 725.76  # SPEC §6: 720 plus 5.76 tax


def advance_payment(amount=PRICE):
	"""Money received from the patient with no invoice named: an unallocated advance."""
	payment = frappe.get_doc(
		{
			"doctype": "Payment Entry",
			"payment_type": "Receive",
			"company": COMPANY,
			"posting_date": nowdate(),
			"party_type": "Customer",
			"party": CUSTOMER,
			"paid_from": DEBTORS,
			"paid_to": CASH,
			"paid_amount": amount,
			"received_amount": amount,
			"source_exchange_rate": 1,
			"target_exchange_rate": 1,
			"reference_no": f"ADV-{frappe.generate_hash(length=6)}",
			"reference_date": nowdate(),
		}
	)
	payment.insert(ignore_permissions=True)
	payment.submit()
	return payment


def journal_entry(rows):
	entry = frappe.get_doc(
		{
			"doctype": "Journal Entry",
			"company": COMPANY,
			"posting_date": nowdate(),
			"user_remark": "package payment test",
			"accounts": [{"cost_center": MAIN_COST_CENTER, **row} for row in rows],
		}
	)
	entry.insert(ignore_permissions=True)
	entry.submit()
	return entry


def reconcile(invoice, voucher_no):
	"""ERPNext's Payment Reconciliation tool: allocate an unallocated payment to the invoice."""
	tool = frappe.new_doc("Payment Reconciliation")
	tool.company = COMPANY
	tool.party_type = "Customer"
	tool.party = CUSTOMER
	tool.receivable_payable_account = DEBTORS
	tool.get_unreconciled_entries()
	invoices = [row.as_dict() for row in tool.invoices if row.invoice_number == invoice.name]
	payments = [row.as_dict() for row in tool.payments if row.reference_name == voucher_no]
	assert invoices and payments, (tool.invoices, tool.payments)
	tool.allocate_entries(frappe._dict({"invoices": invoices, "payments": payments}))
	tool.reconcile()


def unreconcile(voucher_type, voucher_no):
	"""ERPNext's Unreconcile Payment: take the payment off the invoices it was allocated to."""
	document = frappe.get_doc(
		{
			"doctype": "Unreconcile Payment",
			"company": COMPANY,
			"voucher_type": voucher_type,
			"voucher_no": voucher_no,
		}
	)
	document.add_references()
	document.insert(ignore_permissions=True)
	document.submit()
	return document


class TestPaidFollowsThePaymentLedger(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.package = make_package()

	def sell(self, rows=None):
		invoice = make_invoice(rows or [(self.package.item, 1)])
		return invoice, balances_of(invoice)[0]

	def assert_status(self, balance, status):
		self.assertEqual(frappe.db.get_value("Package Balance", balance.name, "status"), status)

	def assert_visit_redeems(self, balance):
		visit = make_invoice([(VISIT, 1)])
		self.assertEqual((visit.items[0].package_balance, visit.items[0].rate), (balance.name, 0))
		self.assertEqual(frappe.db.count("Package Redemption", {"sales_invoice": visit.name}), 1)
		return visit

	def assert_visit_charged(self):
		visit = make_invoice([(VISIT, 1)])
		self.assertEqual((visit.items[0].package_balance, visit.items[0].rate), (None, 150))
		self.assertEqual(frappe.db.count("Package Redemption", {"sales_invoice": visit.name}), 0)
		return visit

	# --- Payment Reconciliation --------------------------------------------------------------------

	def test_an_advance_allocated_by_payment_reconciliation_pays_the_package(self):
		invoice, balance = self.sell()
		payment = advance_payment()
		self.assert_status(balance, "Awaiting Payment")

		reconcile(invoice, payment.name)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount"), 0)
		self.assert_status(balance, "Active")
		self.assert_visit_redeems(balance)
		self.assertEqual(invariant_problems(), [])

	def test_a_credit_journal_entry_allocated_by_payment_reconciliation_pays_the_package(self):
		invoice, balance = self.sell()
		credit = journal_entry(
			[
				{"account": CASH, "debit_in_account_currency": PRICE},
				{
					"account": DEBTORS,
					"party_type": "Customer",
					"party": CUSTOMER,
					"credit_in_account_currency": PRICE,
					"is_advance": "Yes",
				},
			]
		)
		self.assert_status(balance, "Awaiting Payment")

		reconcile(invoice, credit.name)
		self.assert_status(balance, "Active")
		self.assert_visit_redeems(balance)

	def test_cancelling_a_reconciled_advance_puts_the_balance_back_to_awaiting_payment(self):
		invoice, balance = self.sell()
		payment = advance_payment()
		reconcile(invoice, payment.name)
		self.assert_status(balance, "Active")

		frappe.get_doc("Payment Entry", payment.name).cancel()
		self.assert_status(balance, "Awaiting Payment")
		self.assert_visit_charged()

	def test_a_purchase_whose_first_submit_failed_still_follows_its_payments(self):
		"""A refused save leaves the invoice's name in frappe.flags.currently_saving for the request."""
		invoice = make_invoice([(self.package.item, 1)], submit=False)
		invoice.items[0].qty = 0
		with self.assertRaises(InvalidQtyError):
			invoice.submit()
		invoice = frappe.get_doc("Sales Invoice", invoice.name)
		invoice.submit()
		[balance] = balances_of(invoice)
		self.assert_status(balance, "Awaiting Payment")

		pay(invoice)
		self.assert_status(balance, "Active")

	# --- Unreconcile Payment -----------------------------------------------------------------------

	def test_unreconciling_the_payment_puts_the_balance_back_to_awaiting_payment(self):
		invoice, balance = self.sell()
		payment = pay(invoice)
		self.assert_status(balance, "Active")

		unreconcile("Payment Entry", payment.name)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount"), PRICE)
		self.assert_status(balance, "Awaiting Payment")
		self.assert_visit_charged()
		self.assertEqual(invariant_problems(), [])

	def test_a_stale_active_status_never_lets_an_unpaid_balance_redeem_and_nothing_loops(self):
		"""The planner reads the live outstanding: what it plans at save passes the submit re-check."""
		_invoice, balance = self.sell()
		frappe.db.set_value("Package Balance", balance.name, "status", "Active", update_modified=False)

		visit = make_invoice([(VISIT, 1)], submit=False)
		self.assertEqual((visit.items[0].package_balance, visit.items[0].rate), (None, 150))
		visit.submit()
		self.assertEqual(frappe.db.count("Package Redemption", {"sales_invoice": visit.name}), 0)

	def test_a_draft_planned_while_paid_is_refused_at_submit_once_unpaid_and_saving_again_charges_it(self):
		invoice, balance = self.sell()
		payment = pay(invoice)
		visit = make_invoice([(VISIT, 1)], submit=False)
		self.assertEqual(visit.items[0].package_balance, balance.name)

		unreconcile("Payment Entry", payment.name)
		frappe.db.savepoint("before_submit")
		with self.assertRaises(BalanceUnavailableError):
			frappe.get_doc("Sales Invoice", visit.name).submit()

		frappe.db.rollback(save_point="before_submit")  # as the failed request would

		visit = frappe.get_doc("Sales Invoice", visit.name)
		visit.save()
		self.assertEqual((visit.items[0].package_balance, visit.items[0].rate), (None, 150))
		visit.submit()
		self.assertEqual(visit.docstatus, 1)

	# --- credit notes, write-offs, invoice advances --------------------------------------------------

	def test_a_credit_note_for_another_row_that_clears_the_outstanding_makes_the_package_usable(self):
		"""A credit note counts like a payment: what the purchase invoice still owes decides."""
		invoice, balance = self.sell([(self.package.item, 1), (VISIT, 1)])
		pay(invoice, amount=PRICE)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount"), 150)
		self.assert_status(balance, "Awaiting Payment")

		credit_note = self.credit_note_for_the_visit(invoice)
		credit_note.update_outstanding_for_self = 0
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount"), 0)
		self.assert_status(balance, "Active")

		credit_note.cancel()
		self.assert_status(balance, "Awaiting Payment")

	def test_a_credit_note_kept_open_and_reconciled_later_makes_the_package_usable(self):
		"""ERPNext's default: the credit note keeps its own outstanding until reconciled."""
		invoice, balance = self.sell([(self.package.item, 1), (VISIT, 1)])
		pay(invoice, amount=PRICE)
		credit_note = self.credit_note_for_the_visit(invoice)
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount"), 150)
		self.assert_status(balance, "Awaiting Payment")

		reconcile(invoice, credit_note.name)
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount"), 0)
		self.assert_status(balance, "Active")
		self.assert_visit_redeems(balance)

	def credit_note_for_the_visit(self, invoice):
		credit_note = make_sales_return(invoice.name)
		credit_note.items = [row for row in credit_note.items if row.item_code == VISIT]
		credit_note.calculate_taxes_and_totals()  # as the form does when a row is removed
		return credit_note

	def test_a_write_off_of_the_rest_makes_the_package_usable(self):
		invoice, balance = self.sell()
		pay(invoice, amount=700)
		self.assert_status(balance, "Awaiting Payment")

		write_off = journal_entry(
			[
				{"account": account("Write Off"), "debit_in_account_currency": 25.76},
				{
					"account": DEBTORS,
					"party_type": "Customer",
					"party": CUSTOMER,
					"credit_in_account_currency": 25.76,
					"reference_type": "Sales Invoice",
					"reference_name": invoice.name,
				},
			]
		)
		self.assert_status(balance, "Active")
		visit = self.assert_visit_redeems(balance)

		visit.cancel()
		write_off.cancel()
		self.assert_status(balance, "Awaiting Payment")

	def test_an_advance_allocated_on_the_purchase_invoice_itself_pays_it_at_once(self):
		payment = advance_payment()
		invoice = make_invoice([(self.package.item, 1)], submit=False)
		invoice.set_advances()
		self.assertEqual([row.reference_name for row in invoice.advances], [payment.name])
		invoice.save()
		invoice.submit()
		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount"), 0)
		[balance] = balances_of(invoice)
		self.assertEqual(balance.status, "Active")

		unreconcile("Payment Entry", payment.name)
		self.assert_status(balance, "Awaiting Payment")


class TestDebitNotes(PackageTestCase):
	def setUp(self):
		super().setUp()
		package = make_package()
		sale = make_invoice([(package.item, 1)])
		pay(sale)
		[self.balance] = balances_of(sale)
		self.visit = make_invoice([(VISIT, 1)])
		self.assertEqual(self.visit.items[0].package_balance, self.balance.name)

	def assert_nothing_redeemed_by(self, note):
		self.assertEqual(frappe.db.count("Package Redemption", {"sales_invoice": note.name}), 0)
		self.assertEqual(frappe.db.count("Package Ledger Entry", {"voucher_no": note.name}), 0)
		remaining = frappe.db.get_value(
			"Package Balance Item", {"parent": self.balance.name, "item_code": VISIT}, "qty_remaining"
		)
		self.assertEqual(remaining, 3)

	def test_a_debit_note_against_a_redemption_invoice_charges_a_covered_item_in_full(self):
		note = make_invoice([(VISIT, 1)], is_debit_note=1, return_against=self.visit.name)
		row = note.items[0]
		self.assertEqual((row.package_balance, row.is_free_item, row.rate), (None, 0, 150))
		self.assertEqual(gl_entries(note.name)[DEBTORS], 150)
		self.assert_nothing_redeemed_by(note)

	def test_a_debit_note_copied_from_a_redeemed_row_draws_nothing(self):
		"""The desk's Duplicate copies the row's balance link; a debit note still charges it."""
		copied = self.visit.items[0].as_dict(no_default_fields=True, no_child_table_fields=True)
		copied.pop("sales_invoice_item", None)
		note = make_invoice([copied], is_debit_note=1, return_against=self.visit.name)
		row = note.items[0]
		self.assertEqual((row.package_balance, row.is_free_item, row.rate), (None, 0, 150))
		self.assert_nothing_redeemed_by(note)


class TestNoRawCrash(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.package = make_package()

	def test_a_second_credit_note_against_a_fully_refunded_purchase_gets_erpnexts_message(self):
		sale = make_invoice([(self.package.item, 1)])
		first = make_sales_return(sale.name)
		first.insert()
		first.submit()

		second = make_sales_return(sale.name)
		with self.assertRaises(StockOverReturnError):
			second.insert()

		second = make_sales_return(sale.name)
		second.items[0].qty = -1
		with self.assertRaises(RefundNotAllowedError):
			second.insert()

	def test_a_credit_note_row_with_quantity_zero_or_a_fraction_is_refused_clearly(self):
		sale = make_invoice([(self.package.item, 2)])
		for qty, error in ((0, PackageQuantityError), (-0.5, UOMMustBeIntegerError)):
			credit_note = make_sales_return(sale.name)
			credit_note.items[0].qty = qty
			with self.assertRaises(error):
				credit_note.insert()
		self.assertEqual([b.status for b in balances_of(sale)], ["Awaiting Payment"] * 2)

	def test_a_credit_note_row_whose_original_row_is_gone_is_refused_clearly(self):
		sale = make_invoice([(self.package.item, 1)])
		credit_note = make_sales_return(sale.name)
		credit_note.items[0].sales_invoice_item = "no-such-row"
		with self.assertRaises(RefundNotAllowedError):
			credit_note.insert()

	def test_a_return_row_cleared_of_the_package_item_is_refused_and_nothing_is_written(self):
		"""ERPNext checks a return row against its original only when it has an item; without one the
		row would take the package's price out of deferred revenue while its balance stays sold."""
		sale = make_invoice([(self.package.item, 1)])
		before = self.count_documents("Sales Invoice", "GL Entry", "Package Ledger Entry")
		credit_note = make_sales_return(sale.name)
		credit_note.items[0].item_code = None
		with self.assertRaises(RefundNotAllowedError):
			credit_note.insert()
		self.assertEqual(self.count_documents("Sales Invoice", "GL Entry", "Package Ledger Entry"), before)
		self.assertEqual(balances_of(sale)[0].status, "Awaiting Payment")


class TestNoRawCrashAtTheTill(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_till()
		frappe.db.commit()

	def test_a_second_pos_return_of_a_refunded_package_is_refused_clearly(self):
		from erpnext.accounts.doctype.pos_invoice.pos_invoice import make_sales_return as make_pos_return

		from package_bundles.package_bundles.doctype.package_balance.test_point_of_sale import pos_invoice

		open_till()
		patient = make_patient("PKT Twice Returned Patient")
		package = frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": "Two Till Visits",
				"company": POS_COMPANY,
				"selling_price_list": PRICE_LIST,
				"package_price": 300,
				"items": [{"item_code": VISIT, "qty": 2}],
			}
		).insert(ignore_permissions=True)
		sale = pos_invoice(patient, [(package.item, 1)])
		first = make_pos_return(sale.name)
		first.insert()
		first.submit()
		self.assertEqual(
			frappe.db.get_value("Package Balance", {"sales_invoice": sale.name}, "status"), "Refunded"
		)

		second = make_pos_return(sale.name)
		self.assertEqual(second.items[0].qty, 0)  # nothing left to return
		with self.assertRaises(frappe.ValidationError) as caught:
			second.insert()
		self.assertIs(type(caught.exception), frappe.ValidationError)
		self.assertIn("'0' qty Items are not allowed", str(caught.exception))

		second = make_pos_return(sale.name)
		second.items[0].qty = -1
		with self.assertRaises(RefundNotAllowedError):
			second.insert()
