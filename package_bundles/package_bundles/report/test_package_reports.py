# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The four package reports on real documents: the worked example of SPEC §6, dated.

A patient buys "Postpartum Care" (720) five days ago and pays; an office visit
is redeemed three days ago (135) and the lactation kit, from stock, yesterday (72).
"""

from contextlib import contextmanager

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.desk.query_report import run as run_report
from frappe.utils import add_days, nowdate

from package_bundles.flows import expire
from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_billed_revenue import package_billed_revenue
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_usage import package_usage
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	CASH,
	COMPANY,
	DEFERRED,
	KIT,
	LAB,
	MAIN_COST_CENTER,
	STORES,
	VISIT,
	get_or_make,
	make_invoice,
	make_package,
	make_patient,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

VISITS, PRODUCTS, LABS = "PKT Visits", "PKT Products", "PKT Labs"


def day(offset: int) -> str:
	return add_days(nowdate(), offset)


def make_customer() -> str:
	"""A patient of this test alone, so rows other tests committed never show up."""
	return make_patient(f"PKT Report Patient {frappe.generate_hash(length=6)}")


def report_data(report, **filters) -> list[dict]:
	return report.execute(frappe._dict({"company": COMPANY, **filters}))[1]


def total_row_value(result: dict, fieldname: str):
	"""The desk's total row is a list in column order."""
	index = [column["fieldname"] for column in result["columns"]].index(fieldname)
	return result["result"][-1][index]


def project(rows: list[dict], *fields: str) -> list[tuple]:
	return [tuple(row.get(field) for field in fields) for row in rows]


class WorkedExampleTestCase(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.customer = make_customer()
		self.package = make_package()
		self.purchase = make_invoice([(self.package.item, 1)], customer=self.customer, posting_date=day(-5))
		pay(self.purchase)
		self.visit = make_invoice([(VISIT, 1)], customer=self.customer, posting_date=day(-3))
		self.kit = make_invoice(
			[(KIT, 1)], customer=self.customer, posting_date=day(-1), update_stock=1, set_warehouse=STORES
		)
		self.balance = frappe.db.get_value("Package Balance", {"sales_invoice": self.purchase.name})

	def journal_entry_of(self, invoice) -> str:
		return frappe.db.get_value("Package Redemption", {"sales_invoice": invoice.name}, "journal_entry")


class TestPackageDeferredRevenue(WorkedExampleTestCase):
	def lines(self, as_of, **filters):
		return report_data(package_deferred_revenue, as_of_date=as_of, customer=self.customer, **filters)

	def test_lines_as_of_today(self):
		lines = self.lines(day(0))
		self.assertEqual(
			project(lines, "item_code", "item_group", "qty_purchased", "qty_redeemed", "qty_remaining"),
			[(VISIT, VISITS, 4, 1, 3), (KIT, PRODUCTS, 1, 1, 0), (LAB, LABS, 2, 0, 2)],
		)
		self.assertEqual(
			project(lines, "allocated", "recognized", "deferred"),
			[(540, 135, 405), (72, 72, 0), (108, 0, 108)],
		)
		self.assertEqual(sum(line.deferred for line in lines), 513)
		for line in lines:
			self.assertEqual(
				(line.customer, line.prepaid_package, line.package_balance, line.purchase_invoice),
				(self.customer, self.package.name, self.balance, self.purchase.name),
			)

	def test_lines_as_of_earlier_dates(self):
		expected = {
			-6: [],  # not sold yet
			-5: [(4, 0, 4, 540), (1, 0, 1, 72), (2, 0, 2, 108)],
			-4: [(4, 0, 4, 540), (1, 0, 1, 72), (2, 0, 2, 108)],
			-3: [(4, 1, 3, 405), (1, 0, 1, 72), (2, 0, 2, 108)],
			-2: [(4, 1, 3, 405), (1, 0, 1, 72), (2, 0, 2, 108)],
			-1: [(4, 1, 3, 405), (1, 1, 0, 0), (2, 0, 2, 108)],
		}
		for offset, rows in expected.items():
			with self.subTest(as_of=offset):
				lines = self.lines(day(offset))
				self.assertEqual(
					project(lines, "qty_purchased", "qty_redeemed", "qty_remaining", "deferred"), rows
				)

	def test_totals_reconcile_with_the_gl_at_every_date(self):
		deferred_by_day = {-6: 0, -5: 720, -4: 720, -3: 585, -2: 585, -1: 513, 0: 513}
		for offset, deferred in deferred_by_day.items():
			with self.subTest(as_of=offset):
				self.assertEqual(sum(line.deferred for line in self.lines(day(offset))), deferred)
				totals = package_deferred_revenue.get_totals(COMPANY, day(offset))
				self.assertEqual(totals["deferred"], totals["gl_balance"])
				self.assertEqual(totals["difference"], 0)

	def test_summary_shows_the_reconciliation(self):
		totals = package_deferred_revenue.get_totals(COMPANY, day(0))
		# the summary view, which the desk runs at once rather than as a Prepared Report
		result = run_report(
			"Package Deferred Revenue",
			{"company": COMPANY, "as_of_date": day(0)},
			ignore_prepared_report=True,
		)
		[deferred] = result["report_summary"]
		self.assertEqual(deferred["value"], totals["deferred"])
		self.assertGreaterEqual(totals["deferred"], 513)
		self.assertEqual(round(total_row_value(result, "deferred"), 2), totals["deferred"])
		# the page then asks for the reconciliation with the GL; REST may ask for it with the rows
		reconciled = run_report(
			"Package Deferred Revenue",
			{"company": COMPANY, "as_of_date": day(0), "reconcile": 1},
			ignore_prepared_report=True,
		)["report_summary"]
		cards = package_deferred_revenue.get_reconciliation(COMPANY, day(0))
		self.assertEqual(cards, reconciled)
		deferred, gl_balance, difference = cards
		self.assertEqual(
			(deferred["value"], gl_balance["value"], difference["value"]),
			(totals["deferred"], totals["gl_balance"], 0),
		)
		self.assertEqual(difference["indicator"], "Green")

	def test_other_postings_to_the_deferred_account_are_left_out(self):
		before = package_deferred_revenue.get_totals(COMPANY, day(0))
		journal_entry = frappe.get_doc(
			{
				"doctype": "Journal Entry",
				"company": COMPANY,
				"posting_date": day(0),
				"accounts": [
					{"account": DEFERRED, "credit_in_account_currency": 50, "cost_center": MAIN_COST_CENTER},
					{"account": CASH, "debit_in_account_currency": 50, "cost_center": MAIN_COST_CENTER},
				],
			}
		)
		journal_entry.insert(ignore_permissions=True)
		journal_entry.submit()
		self.assertEqual(package_deferred_revenue.get_totals(COMPANY, day(0)), before)

	def test_filters(self):
		cases = {
			"item group": ({"item_group": VISITS}, [VISIT]),
			"parent item group": ({"item_group": "All Item Groups"}, [VISIT, KIT, LAB]),
			"package": ({"prepaid_package": self.package.name}, [VISIT, KIT, LAB]),
			"other package": ({"prepaid_package": "No Such Package"}, []),
		}
		for label, (filters, items) in cases.items():
			with self.subTest(label):
				self.assertEqual([line.item_code for line in self.lines(day(0), **filters)], items)

	def test_cancelled_redemption_leaves_the_ledger(self):
		self.visit.cancel()
		lines = self.lines(day(0))
		self.assertEqual(project(lines, "qty_redeemed", "deferred"), [(0, 540), (1, 0), (0, 108)])
		self.assertEqual(package_deferred_revenue.get_totals(COMPANY, day(0))["difference"], 0)


class TestPackageBilledRevenue(WorkedExampleTestCase):
	def lines(self, **filters):
		filters = {"from_date": day(-5), "to_date": day(0), "customer": self.customer, **filters}
		return report_data(package_billed_revenue, **filters)

	def test_each_redemption_with_both_invoices(self):
		lines = self.lines()
		self.assertEqual(
			project(lines, "posting_date", "item_code", "item_group", "source", "amount"),
			[
				(frappe.utils.getdate(day(-3)), VISIT, VISITS, "Redemption", 135),
				(frappe.utils.getdate(day(-1)), KIT, PRODUCTS, "Redemption", 72),
			],
		)
		self.assertEqual(
			project(lines, "redemption_invoice", "purchase_invoice", "journal_entry", "package_balance"),
			[
				(self.visit.name, self.purchase.name, self.journal_entry_of(self.visit), self.balance),
				(self.kit.name, self.purchase.name, self.journal_entry_of(self.kit), self.balance),
			],
		)

	def test_total_row(self):
		filters = {"company": COMPANY, "from_date": day(-5), "to_date": day(0), "customer": self.customer}
		result = run_report("Package Billed Revenue", filters, ignore_prepared_report=True)
		self.assertEqual([row["amount"] for row in result["result"][:-1]], [135, 72])
		self.assertEqual(total_row_value(result, "amount"), 207)
		self.assertTrue(result["add_total_row"])

	def test_grouped_by_item_group(self):
		filters = {"company": COMPANY, "from_date": day(-5), "to_date": day(0), "customer": self.customer}
		columns, rows, _message, chart, _summary, skip_total_row = package_billed_revenue.execute(
			frappe._dict({**filters, "group_by_item_group": 1})
		)
		self.assertEqual(columns[0]["fieldname"], "item_group")
		self.assertEqual(
			project(rows, "indent", "item_group", "item_code", "amount"),
			[
				(0, PRODUCTS, None, 72),
				(1, PRODUCTS, KIT, 72),
				(0, VISITS, None, 135),
				(1, VISITS, VISIT, 135),
				(0, "Total", None, 207),
			],
		)
		self.assertEqual(chart["data"]["labels"], [PRODUCTS, VISITS])
		self.assertEqual(chart["data"]["datasets"][0]["values"], [72, 135])
		self.assertTrue(skip_total_row)
		# through the desk, no second total row is added
		result = run_report(
			"Package Billed Revenue", {**filters, "group_by_item_group": 1}, ignore_prepared_report=True
		)
		self.assertEqual(len(result["result"]), 5)

	def test_period_item_group_and_source_filters(self):
		cases = {
			"period": ({"from_date": day(-2)}, [KIT]),
			"item group": ({"item_group": VISITS}, [VISIT]),
			"redemption": ({"source": "Redemption"}, [VISIT, KIT]),
			"purchase": ({"source": "Purchase"}, []),
			"breakage": ({"source": "Breakage"}, []),
		}
		for label, (filters, items) in cases.items():
			with self.subTest(label):
				self.assertEqual([line.item_code for line in self.lines(**filters)], items)

	def test_credit_note_shows_as_negative_redemption(self):
		credit_note = make_sales_return(self.visit.name)
		credit_note.insert()
		credit_note.submit()
		lines = self.lines(item_group=VISITS)
		self.assertEqual(
			project(lines, "event", "source", "amount", "redemption_invoice"),
			[
				("Redemption", "Redemption", 135, self.visit.name),
				("Redemption Return", "Redemption", -135, credit_note.name),
			],
		)

	def test_purchase_and_breakage_sources(self):
		upon_purchase = make_package(
			name="Immediate Care", items=[(VISIT, 2)], price=300, revenue_recognition="Upon Purchase"
		)
		immediate = make_invoice([(upon_purchase.item, 1)], customer=self.customer, posting_date=day(-4))
		short = make_package(name="Short Care", items=[(LAB, 1)], price=60, valid_for_days=1)
		short_sale = make_invoice([(short.item, 1)], customer=self.customer, posting_date=day(-5))
		pay(short_sale)
		expire.expire_balances()  # expired on day -4: breakage on day -3

		purchase_lines = self.lines(source="Purchase")
		self.assertEqual(
			project(purchase_lines, "event", "item_code", "amount", "purchase_invoice", "redemption_invoice"),
			[("Recognition Upon Purchase", VISIT, 300, immediate.name, None)],
		)
		self.assertTrue(purchase_lines[0].journal_entry)
		breakage_lines = self.lines(source="Breakage")
		self.assertEqual(
			project(breakage_lines, "posting_date", "item_code", "amount", "purchase_invoice"),
			[(frappe.utils.getdate(day(-3)), LAB, 60, short_sale.name)],
		)
		self.assertEqual(
			breakage_lines[0].journal_entry,
			frappe.db.get_value(
				"Package Balance", {"sales_invoice": short_sale.name}, "breakage_journal_entry"
			),
		)
		self.assertEqual(package_deferred_revenue.get_totals(COMPANY, day(0))["difference"], 0)


class TestPackageBalances(WorkedExampleTestCase):
	def test_remaining_units(self):
		[row] = report_data(package_balances, customer=self.customer)
		self.assertEqual(
			(row.package_balance, row.status, row.units_purchased, row.units_remaining, row.total_deferred),
			(self.balance, "Active", 7, 5, 513),
		)
		self.assertEqual(row.remaining_items, "3 x Office Visit, 2 x Lab Panel")
		self.assertEqual((row.sales_invoice, row.expiry_date), (self.purchase.name, None))

	def test_order_and_filters(self):
		lasting = make_package(name="Lab Month", items=[(LAB, 1)], price=60, valid_for_days=30)
		lab_sale = make_invoice([(lasting.item, 1)], customer=self.customer)
		lab_balance = frappe.db.get_value("Package Balance", {"sales_invoice": lab_sale.name})
		# earliest expiry first, balances that never expire last
		rows = report_data(package_balances, customer=self.customer)
		self.assertEqual([row.package_balance for row in rows], [lab_balance, self.balance])
		self.assertEqual(rows[0].status, "Awaiting Payment")
		self.assertEqual(rows[0].remaining_items, "1 x Lab Panel")

		awaiting = report_data(package_balances, customer=self.customer, status="Awaiting Payment")
		self.assertEqual([row.package_balance for row in awaiting], [lab_balance])
		by_package = report_data(package_balances, customer=self.customer, prepaid_package=self.package.name)
		self.assertEqual([row.package_balance for row in by_package], [self.balance])


class TestPackageUsage(WorkedExampleTestCase):
	def test_redemptions_and_reversal(self):
		rows = report_data(package_usage, customer=self.customer, from_date=day(-5), to_date=day(0))
		self.assertEqual(
			project(rows, "item_code", "item_group", "qty", "amount", "sales_invoice", "status"),
			[
				(VISIT, VISITS, 1, 135, self.visit.name, "Redeemed"),
				(KIT, PRODUCTS, 1, 72, self.kit.name, "Redeemed"),
			],
		)
		self.assertEqual(
			{(row.package_balance, row.prepaid_package) for row in rows}, {(self.balance, self.package.name)}
		)

		self.visit.cancel()
		rows = report_data(package_usage, customer=self.customer)
		self.assertEqual(project(rows, "item_code", "status"), [(VISIT, "Reversed"), (KIT, "Redeemed")])

	def test_filters(self):
		cases = {
			"item": ({"item_code": KIT}, [KIT]),
			"from date": ({"from_date": day(-2)}, [KIT]),
			"to date": ({"to_date": day(-2)}, [VISIT]),
			"package": ({"prepaid_package": self.package.name}, [VISIT, KIT]),
		}
		for label, (filters, items) in cases.items():
			with self.subTest(label):
				rows = report_data(package_usage, customer=self.customer, **filters)
				self.assertEqual([row.item_code for row in rows], items)


# --- queries do not grow with the data -------------------------------------------


@contextmanager
def counting_queries():
	counter = {"queries": 0}
	original = frappe.db.sql

	def counting_sql(*args, **kwargs):
		counter["queries"] += 1
		return original(*args, **kwargs)

	frappe.db.sql = counting_sql
	try:
		yield counter
	finally:
		frappe.db.sql = original


class TestReportQueryCounts(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.customer = make_customer()
		self.package = make_package(name="Counted Care", items=[(VISIT, 1), (LAB, 1)], price=200)

	def sell_and_redeem(self, balances: int):
		"""``balances`` more balances, each with one visit redeemed."""
		purchase = make_invoice([(self.package.item, balances)], customer=self.customer, posting_date=day(-2))
		pay(purchase)
		make_invoice([(VISIT, balances)], customer=self.customer, posting_date=day(-1))

	def report_runs(self) -> dict:
		period = {"from_date": day(-5), "to_date": day(0)}
		every_filter = {"customer": self.customer, "prepaid_package": self.package.name, "item_group": VISITS}
		return {
			"deferred revenue": (package_deferred_revenue, {"as_of_date": day(0)}),
			"deferred revenue, filtered": (package_deferred_revenue, {"as_of_date": day(0), **every_filter}),
			"billed revenue": (package_billed_revenue, period),
			"billed revenue, grouped": (package_billed_revenue, {**period, "group_by_item_group": 1}),
			"billed revenue, filtered": (
				package_billed_revenue,
				{**period, "customer": self.customer, "item_group": VISITS, "source": "Redemption"},
			),
			"balances": (package_balances, {"customer": self.customer}),
			"usage": (package_usage, {**period, "customer": self.customer}),
		}

	def count_queries(self) -> dict[str, tuple[int, int]]:
		"""Queries and rows per report run; each report runs once first so caches are warm."""
		counts = {}
		for label, (report, filters) in self.report_runs().items():
			filters = frappe._dict({"company": COMPANY, **filters})
			report.execute(filters)
			with counting_queries() as counter:
				rows = report.execute(frappe._dict(filters))[1]
			counts[label] = (counter["queries"], len(rows))
		return counts

	def test_query_count_does_not_grow_with_balances(self):
		self.sell_and_redeem(1)
		with_one = self.count_queries()
		self.sell_and_redeem(29)
		with_thirty = self.count_queries()

		for label in with_one:
			with self.subTest(label):
				self.assertEqual(with_one[label][0], with_thirty[label][0])
				self.assertLessEqual(with_thirty[label][0], 4)
		self.assertEqual(with_thirty["balances"][1], 30)
		self.assertEqual(with_thirty["usage"][1], 30)
		self.assertGreater(
			with_thirty["deferred revenue, filtered"][1], with_one["deferred revenue, filtered"][1]
		)
