# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 8: one state model. Each flow here once ended with money wrong or a document stuck."""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate

from package_bundles.exceptions import (
	BalanceRefundedError,
	BalanceUnavailableError,
	RefundNotAllowedError,
)
from package_bundles.flows import expire
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	balances_of,
	deferred_liability,
	invariant_problems,
)
from package_bundles.tests.fixtures import (
	ABBR,
	COMPANY,
	DEFERRED,
	LAB_INCOME,
	PRODUCT_INCOME,
	VISIT,
	VISIT_INCOME,
	account,
	gl_balance,
	gl_entries,
	make_account,
	make_invoice,
	make_package,
	pay,
	reset_settings,
)

test_ignore = IGNORED_TEST_RECORDS


def statuses(invoice) -> list[str]:
	return [balance.status for balance in balances_of(invoice)]


def remaining(balance_name: str) -> float:
	return sum(
		frappe.get_all("Package Balance Item", filters={"parent": balance_name}, pluck="qty_remaining")
	)


def cancel_payments(invoice):
	for payment in frappe.get_all(
		"Payment Entry Reference",
		filters={"reference_name": invoice.name, "docstatus": 1},
		pluck="parent",
		order_by="parent asc",
	):
		frappe.get_doc("Payment Entry", payment).cancel()


class TestBalanceState(PackageTestCase):
	def assert_exact(self):
		self.assertEqual(invariant_problems(), [])

	def test_two_credit_note_rows_against_one_purchase_row_refund_each_instance_once(self):
		reset_settings(allow_unused_refund=1)
		package = make_package(name="Two Visits", items=[(VISIT, 2)], price=100)
		purchase = make_invoice([(package.item, 3)])
		pay(purchase)
		used, *_ = balances_of(purchase)
		make_invoice([(VISIT, 1)])  # the oldest instance is now half used: 50 left

		credit_note = make_sales_return(purchase.name)
		credit_note.items[0].qty = -2
		partly_used = credit_note.append("items", credit_note.items[0].as_dict(no_default_fields=True))
		partly_used.qty = -1
		credit_note.insert()
		self.assertEqual([row.rate for row in credit_note.items], [100, 50])
		self.assertNotIn(used.name, credit_note.items[0].refunded_package_balances)
		self.assertEqual(credit_note.items[1].refunded_package_balances, used.name)
		credit_note.submit()

		self.assertEqual(credit_note.grand_total, -250)
		self.assertEqual(statuses(purchase), ["Refunded", "Refunded", "Refunded"])
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_exact()

	def test_a_row_mixing_used_and_unused_instances_must_be_split(self):
		reset_settings(allow_unused_refund=1)
		package = make_package(name="Two Visits", items=[(VISIT, 2)], price=100)
		purchase = make_invoice([(package.item, 2)])
		pay(purchase)
		make_invoice([(VISIT, 1)])

		credit_note = make_sales_return(purchase.name)
		with self.assertRaises(RefundNotAllowedError):
			credit_note.insert()

	def test_refunding_an_expired_balance_takes_back_its_breakage(self):
		package = make_package(name="Five Day Care", valid_for_days=5)
		purchase = make_invoice([(package.item, 1)], posting_date=add_days(nowdate(), -10))
		pay(purchase)
		expire.expire_balances()
		[balance] = balances_of(purchase)
		self.assertEqual((balance.status, balance.total_broken), ("Expired", 720))

		credit_note = make_sales_return(purchase.name)
		credit_note.insert()
		self.assertEqual(credit_note.items[0].rate, 720)
		credit_note.submit()
		balance.reload()
		self.assertEqual((balance.status, balance.total_broken, balance.total_refunded), ("Refunded", 0, 720))
		for income in (VISIT_INCOME, PRODUCT_INCOME, LAB_INCOME):
			self.assertEqual(round(gl_balance(income), 2), 0, income)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_exact()

		credit_note.cancel()
		balance.reload()
		self.assertEqual((balance.status, balance.total_broken, balance.total_refunded), ("Expired", 720, 0))
		self.assertEqual(round(gl_balance(VISIT_INCOME), 2), -540)
		self.assert_exact()

	def test_a_refund_takes_breakage_back_from_the_account_it_was_booked_to(self):
		breakage_income = account("Breakage Income")
		reset_settings(accounts=[{"company": COMPANY, "breakage_income_account": breakage_income}])
		package = make_package(name="Five Day Care", valid_for_days=5)
		purchase = make_invoice([(package.item, 1)], posting_date=add_days(nowdate(), -10))
		pay(purchase)
		expire.expire_balances()
		self.assertEqual(round(gl_balance(breakage_income), 2), -720)

		reset_settings(accounts=[])  # the practice now books breakage to each item's income account
		credit_note = make_sales_return(purchase.name)
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(round(gl_balance(breakage_income), 2), 0)
		self.assertEqual(round(gl_balance(VISIT_INCOME), 2), 0)
		self.assert_exact()

	def test_cancelling_a_purchase_after_breakage_takes_the_breakage_back(self):
		package = make_package(name="Five Day Care", valid_for_days=5)
		purchase = make_invoice([(package.item, 1)], posting_date=add_days(nowdate(), -10))
		pay(purchase)
		expire.expire_balances()
		[balance] = balances_of(purchase)
		breakage_entry = balance.breakage_journal_entry
		self.assertTrue(breakage_entry)

		cancel_payments(purchase)
		purchase.reload()
		purchase.cancel()
		balance.reload()
		self.assertEqual(balance.status, "Cancelled")
		self.assertEqual(frappe.db.get_value("Journal Entry", breakage_entry, "docstatus"), 2)
		for income in (VISIT_INCOME, PRODUCT_INCOME, LAB_INCOME, DEFERRED):
			self.assertEqual(round(gl_balance(income), 2), 0, income)
		self.assert_exact()

	def test_two_credit_notes_against_one_redemption_row_cancel_in_either_order(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
		purchase = make_invoice([(package.item, 1)])
		pay(purchase)
		[balance] = balances_of(purchase)

		for first_cancelled in (0, 1):
			redemption = make_invoice([(VISIT, 3)])
			credit_notes = []
			for _ in range(2):
				credit_note = make_sales_return(redemption.name)
				credit_note.items[0].qty = -1
				credit_note.insert()
				credit_note.submit()
				credit_notes.append(credit_note)
			self.assertEqual(remaining(balance.name), 2)
			self.assertEqual(deferred_liability(COMPANY, DEFERRED), 66.66)
			self.assert_exact()

			credit_notes[first_cancelled].cancel()
			self.assertEqual(remaining(balance.name), 1)
			self.assert_exact()
			credit_notes[1 - first_cancelled].cancel()
			self.assertEqual(remaining(balance.name), 0)
			self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
			self.assert_exact()
			redemption.cancel()
			self.assertEqual(remaining(balance.name), 3)
			self.assert_exact()

	def test_cancelling_a_return_whose_units_were_used_again_is_refused(self):
		"""Found by the random sequences (seed 31): the units a credit note gave back were redeemed again."""
		package = make_package(
			name="Two Visits", items=[(VISIT, 2)], price=100, revenue_recognition="Upon Purchase"
		)
		purchase = make_invoice([(package.item, 1)])
		pay(purchase)
		first = make_invoice([(VISIT, 1)])
		credit_note = make_sales_return(first.name)
		credit_note.insert()
		credit_note.submit()
		make_invoice([(VISIT, 2)])

		before = self.count_documents("Package Ledger Entry", "Journal Entry", "GL Entry")
		with self.assertRaises(BalanceUnavailableError):
			credit_note.cancel()
		self.assertEqual(self.count_documents("Package Ledger Entry", "Journal Entry", "GL Entry"), before)
		self.assertEqual(statuses(purchase), ["Exhausted"])

	def test_a_line_used_up_again_by_a_cancelled_return_moves_exactly_its_allocation(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
		purchase = make_invoice([(package.item, 1)])
		pay(purchase)
		[balance] = balances_of(purchase)
		make_invoice([(VISIT, 1)])  # 33.33
		second = make_invoice([(VISIT, 1)])  # 33.33
		credit_note = make_sales_return(second.name)  # 33.33 back
		credit_note.insert()
		credit_note.submit()
		make_invoice([(VISIT, 1)])  # 66.66 - 33.33 = 33.33
		self.assertEqual(remaining(balance.name), 1)

		credit_note.cancel()  # the unit is taken again: the line is used up with 0.01 left over
		balance.reload()
		self.assertEqual(
			(remaining(balance.name), balance.total_recognized, balance.total_deferred), (0, 100, 0)
		)
		rounding = frappe.get_all(
			"Package Ledger Entry",
			filters={"package_balance": balance.name, "event": "Rounding", "is_cancelled": 0},
			fields=["revenue_change", "journal_entry"],
		)
		self.assertEqual([row.revenue_change for row in rounding], [0.01])
		self.assertEqual(gl_entries(rounding[0].journal_entry), {DEFERRED: 0.01, VISIT_INCOME: -0.01})
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_exact()

	def test_cancelling_a_redemption_of_a_refunded_balance_waits_for_the_refund_to_be_cancelled(self):
		reset_settings(allow_unused_refund=1)
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
		purchase = make_invoice([(package.item, 1)])
		pay(purchase)
		redemption = make_invoice([(VISIT, 1)])
		refund = make_sales_return(purchase.name)
		refund.insert()
		refund.submit()
		self.assertEqual(refund.grand_total, -66.67)

		before = self.count_documents("Package Ledger Entry", "Journal Entry", "GL Entry")
		with self.assertRaises(BalanceRefundedError):
			redemption.cancel()
		# refused in before_cancel: neither ERPNext nor the app has written anything
		self.assertEqual(self.count_documents("Package Ledger Entry", "Journal Entry", "GL Entry"), before)

		refund.reload()
		refund.cancel()
		redemption.reload()
		redemption.cancel()
		self.assertEqual(statuses(purchase), ["Active"])
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 100)
		self.assert_exact()

	def test_the_deferred_account_captured_at_sale_is_used_for_life(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
		purchase = make_invoice([(package.item, 1)])
		pay(purchase)
		new_deferred = make_account("Package Deferred Revenue New", ABBR, "Current Liabilities")
		frappe.db.set_value("Company", COMPANY, "default_deferred_revenue_account", new_deferred)
		frappe.clear_document_cache("Company", COMPANY)
		frappe.local.cache = {}
		try:
			redemption = make_invoice([(VISIT, 1)])
			journal_entry = frappe.db.get_value(
				"Package Redemption", {"sales_invoice": redemption.name}, "journal_entry"
			)
			self.assertEqual(gl_entries(journal_entry), {DEFERRED: 33.33, VISIT_INCOME: -33.33})
			self.assertEqual(gl_balance(new_deferred), 0)
			self.assert_exact()
		finally:
			frappe.db.set_value("Company", COMPANY, "default_deferred_revenue_account", DEFERRED)
			frappe.clear_document_cache("Company", COMPANY)

	def test_an_immutable_ledger_reverses_on_the_day_of_cancellation(self):
		frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 1)
		try:
			package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
			purchase = make_invoice([(package.item, 1)], posting_date=add_days(nowdate(), -5))
			pay(purchase)
			redemption = make_invoice([(VISIT, 1)], posting_date=add_days(nowdate(), -3))
			redemption.cancel()

			entries = frappe.get_all(
				"Package Ledger Entry",
				filters={"voucher_no": redemption.name},
				fields=["posting_date", "deferred_change", "is_reversal", "is_reversed", "is_cancelled"],
				order_by="is_reversal asc",
			)
			self.assertEqual(
				[
					(str(e.posting_date), e.deferred_change, e.is_reversal, e.is_reversed, e.is_cancelled)
					for e in entries
				],
				[(add_days(nowdate(), -3), -33.33, 0, 1, 0), (nowdate(), 33.33, 1, 0, 0)],
			)
			for day in (-4, -3, -1, 0):
				as_of = add_days(nowdate(), day)
				ledger = frappe.db.sql(
					"""select sum(deferred_change) from `tabPackage Ledger Entry`
					where company = %s and is_cancelled = 0 and posting_date <= %s""",
					(COMPANY, as_of),
				)[0][0]
				self.assertEqual(
					round(ledger or 0, 2), deferred_liability(COMPANY, DEFERRED, upto=as_of), day
				)
			self.assertEqual(deferred_liability(COMPANY, DEFERRED), 100)
			self.assert_exact()
		finally:
			frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 0)


class TestAccountingDimensions(PackageTestCase):
	"""Journal Entries carry the dimensions of the rows they stand for; old balances survive a new rule."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		for branch in ("PKT North", "PKT South"):
			if not frappe.db.exists("Branch", branch):
				frappe.get_doc({"doctype": "Branch", "branch": branch}).insert(ignore_permissions=True)
		if not frappe.db.exists("Accounting Dimension", {"document_type": "Branch"}):
			frappe.get_doc(
				{"doctype": "Accounting Dimension", "document_type": "Branch", "label": "Branch"}
			).insert(ignore_permissions=True)
		frappe.db.commit()

	def set_rule(self, mandatory: bool, default=None):
		dimension = frappe.get_doc("Accounting Dimension", {"document_type": "Branch"})
		dimension.dimension_defaults = []
		dimension.append(
			"dimension_defaults",
			{
				"company": COMPANY,
				"reference_document": "Branch",
				"mandatory_for_bs": int(mandatory),
				"mandatory_for_pl": int(mandatory),
				"default_dimension": default,
			},
		)
		dimension.save(ignore_permissions=True)
		frappe.flags.accounting_dimensions_details = None

	def tearDown(self):
		super().tearDown()
		frappe.flags.accounting_dimensions_details = None

	def dimension_of(self, journal_entry) -> dict:
		return {
			row.account: row.branch
			for row in frappe.get_all(
				"GL Entry",
				filters={"voucher_no": journal_entry, "is_cancelled": 0},
				fields=["account", "branch"],
				order_by="account asc",
			)
		}

	def test_redemption_and_breakage_carry_the_sale_and_row_dimensions(self):
		self.set_rule(mandatory=False)
		package = make_package(name="Five Day Care", valid_for_days=5)
		purchase = make_invoice(
			[{"item_code": package.item, "qty": 1, "branch": "PKT North"}],
			posting_date=add_days(nowdate(), -10),
		)
		pay(purchase)
		[balance] = balances_of(purchase)
		redemption = make_invoice(
			[{"item_code": VISIT, "qty": 1, "branch": "PKT South"}], posting_date=add_days(nowdate(), -8)
		)
		journal_entry = frappe.db.get_value(
			"Package Redemption", {"sales_invoice": redemption.name}, "journal_entry"
		)
		self.assertEqual(self.dimension_of(journal_entry), {DEFERRED: "PKT North", VISIT_INCOME: "PKT South"})

		self.set_rule(mandatory=True)
		expire.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertEqual(set(self.dimension_of(balance.breakage_journal_entry).values()), {"PKT North"})
		self.assertEqual(invariant_problems(), [])

	def test_a_balance_sold_before_a_dimension_became_mandatory_still_redeems_and_breaks(self):
		self.set_rule(mandatory=False)
		package = make_package(name="Five Day Care", valid_for_days=5)
		purchase = make_invoice([(package.item, 1)], posting_date=add_days(nowdate(), -10))
		pay(purchase)
		[balance] = balances_of(purchase)

		self.set_rule(mandatory=True, default="PKT North")
		redemption = make_invoice(
			[{"item_code": VISIT, "qty": 1, "branch": "PKT South"}],
			posting_date=add_days(nowdate(), -8),
			branch="PKT South",
		)
		journal_entry = frappe.db.get_value(
			"Package Redemption", {"sales_invoice": redemption.name}, "journal_entry"
		)
		self.assertEqual(self.dimension_of(journal_entry), {DEFERRED: "PKT South", VISIT_INCOME: "PKT South"})
		expire.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertEqual(set(self.dimension_of(balance.breakage_journal_entry).values()), {"PKT North"})
		self.assertEqual(invariant_problems(), [])
