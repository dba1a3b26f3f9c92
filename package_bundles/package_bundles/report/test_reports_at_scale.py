# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The reports at scale: summary first, detail on request, background detail, indexes, replica,
and User Permissions on Company and Customer (issue 12, issue 9 item 7).

Two patients of their own: one buys the worked example and redeems a visit and the kit; the
other buys a second package and redeems a lab. Every summary must equal its detail summed up.
"""

from collections import defaultdict
from typing import ClassVar
from unittest.mock import patch

import frappe
from frappe.core.doctype.prepared_report.prepared_report import generate_report, make_prepared_report
from frappe.desk.query_report import get_prepared_report_result
from frappe.desk.query_report import run as run_report
from frappe.utils import flt

from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_billed_revenue import package_billed_revenue
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_usage import package_usage
from package_bundles.package_bundles.report.test_package_reports import day, make_customer
from package_bundles.tests.benchmarks.report_benchmark import recording_queries
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	COMPANY,
	KIT,
	LAB,
	OTHER_COMPANY,
	STORES,
	VISIT,
	make_invoice,
	make_package,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

REPORTS = ("Package Deferred Revenue", "Package Billed Revenue", "Package Balances", "Package Usage")
PERIOD = {"from_date": day(-30), "to_date": day(0)}


def run(report, **filters) -> tuple[list[dict], list[dict]]:
	result = report.execute(frappe._dict({"company": COMPANY, **filters}))
	return result[0], result[1]


def summed_by(rows: list[dict], key: str, fields: tuple[str, ...]) -> dict:
	sums = defaultdict(lambda: defaultdict(float))
	for row in rows:
		for field in fields:
			sums[row[key]][field] = flt(sums[row[key]][field] + flt(row.get(field)), 6)
	return {group: dict(values) for group, values in sums.items()}


class ReportsTestCase(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.first, self.second = make_customer(), make_customer()
		self.package = make_package()
		self.lab_pack = make_package(name="Scale Lab Pack", items=[(LAB, 2), (VISIT, 1)], price=250)
		for customer, package in ((self.first, self.package), (self.second, self.lab_pack)):
			pay(make_invoice([(package.item, 1)], customer=customer, posting_date=day(-5)))
		make_invoice([(VISIT, 1)], customer=self.first, posting_date=day(-3))
		make_invoice(
			[(KIT, 1)], customer=self.first, posting_date=day(-2), update_stock=1, set_warehouse=STORES
		)
		make_invoice([(LAB, 1)], customer=self.second, posting_date=day(-1))
		self.ours = {self.first, self.second}

	def mine(self, rows: list[dict]) -> list[dict]:
		return [row for row in rows if row.get("customer") in self.ours]


class TestSummaryFirst(ReportsTestCase):
	def test_deferred_revenue_summaries_equal_their_lines(self):
		fields = ("qty_purchased", "qty_redeemed", "qty_remaining", "allocated", "recognized", "deferred")
		_columns, lines = run(package_deferred_revenue, show_details=1)
		for group_by, field in (("Item Group", "item_group"), ("Prepaid Package", "prepaid_package")):
			with self.subTest(group_by):
				columns, summary = run(package_deferred_revenue, group_by=group_by)
				self.assertEqual(columns[0]["fieldname"], field)
				self.assertEqual(summed_by(summary, field, fields), summed_by(lines, field, fields))
		_columns, by_customer = run(package_deferred_revenue, group_by="Customer")
		self.assertEqual(
			summed_by(self.mine(by_customer), "customer", fields),
			summed_by(self.mine(lines), "customer", fields),
		)
		self.assertEqual(
			summed_by(self.mine(by_customer), "customer", ("deferred",))[self.first]["deferred"], 513
		)

	def test_one_customer_shows_lines(self):
		columns, rows = run(package_deferred_revenue, customer=self.first)
		self.assertIn("package_balance", [column["fieldname"] for column in columns])
		self.assertEqual(
			[(row.item_code, row.qty_remaining) for row in rows], [(VISIT, 3), (KIT, 0), (LAB, 2)]
		)

	def test_billed_revenue_summary_by_source(self):
		_columns, lines = run(package_billed_revenue, show_details=1, **PERIOD)
		_columns, summary = run(package_billed_revenue, group_by="Customer", **PERIOD)
		by_customer = {row.customer: row for row in self.mine(summary)}
		self.assertEqual(by_customer[self.first].redemption, 135 + 72)
		self.assertEqual(by_customer[self.second].amount, by_customer[self.second].redemption)
		for customer in self.ours:
			self.assertEqual(
				by_customer[customer].amount,
				flt(sum(line.amount for line in lines if line.customer == customer)),
			)
		columns, summary = run(package_billed_revenue, **PERIOD)
		self.assertEqual(columns[0]["fieldname"], "item_group")
		self.assertEqual(
			{row.item_group: row.amount for row in summary},
			{
				group: values["amount"]
				for group, values in summed_by(lines, "item_group", ("amount",)).items()
			},
		)

	def test_balances_summary_counts_balances(self):
		_columns, details = run(package_balances, show_details=1)
		_columns, summary = run(package_balances, group_by="Prepaid Package")
		by_package = {row["prepaid_package"]: row for row in summary}
		for package in (self.package.name, self.lab_pack.name):
			own = [row for row in details if row.prepaid_package == package]
			self.assertEqual(by_package[package]["balances"], len(own))
			self.assertEqual(by_package[package]["units_remaining"], sum(row.units_remaining for row in own))
			self.assertEqual(
				by_package[package]["total_deferred"], flt(sum(row.total_deferred for row in own))
			)
		_columns, by_status = run(package_balances, group_by="Status")
		self.assertEqual(sum(row["balances"] for row in by_status), len(details))

	def test_usage_summary_counts_redemptions(self):
		_columns, details = run(package_usage, show_details=1, **PERIOD)
		_columns, summary = run(package_usage, group_by="Customer", **PERIOD)
		by_customer = {row.customer: row for row in self.mine(summary)}
		self.assertEqual((by_customer[self.first].redemptions, by_customer[self.first].qty), (2, 2))
		self.assertEqual(
			by_customer[self.second].amount, flt(sum(r.amount for r in details if r.customer == self.second))
		)

	def test_unknown_group_by_is_refused(self):
		with self.assertRaises(frappe.ValidationError):
			run(package_usage, group_by="Item", **PERIOD)


class TestBackgroundDetail(ReportsTestCase):
	def test_reports_are_prepared_and_summaries_run_at_once(self):
		for name in REPORTS:
			with self.subTest(name):
				self.assertTrue(frappe.db.get_value("Report", name, "prepared_report"))
				filters = {"company": COMPANY, **PERIOD, "as_of_date": day(0)}
				queued = run_report(name, filters=filters)
				self.assertTrue(queued["prepared_report"])
				now = run_report(name, filters=filters, ignore_prepared_report=True)
				self.assertFalse(now.get("prepared_report"))
				self.assertTrue(now["result"])

	def test_detail_of_everything_comes_from_the_background_job(self):
		filters = {"company": COMPANY, "as_of_date": day(0), "show_details": 1}
		prepared = make_prepared_report("Package Deferred Revenue", filters)["name"]
		with patch.object(frappe.db, "commit"):  # the job commits its progress; the test rolls back
			generate_report(prepared)
		self.assertEqual(frappe.db.get_value("Prepared Report", prepared, "status"), "Completed")
		report = frappe.get_doc("Report", "Package Deferred Revenue")
		result = get_prepared_report_result(report, filters, prepared)
		_columns, lines = run(package_deferred_revenue, as_of_date=day(0), show_details=1)
		stored = [
			row for row in result["result"] if isinstance(row, dict) and row.get("customer") in self.ours
		]
		self.assertEqual(
			sorted((row["customer"], row["item_code"], row["deferred"]) for row in stored),
			sorted((row.customer, row.item_code, row.deferred) for row in self.mine(lines)),
		)


class TestIndexedQueries(ReportsTestCase):
	"""Every filter the reports offer can be served by an index (EXPLAIN's possible_keys).

	On a test site the tables are small and MariaDB may still scan them; the benchmark shows the
	keys chosen at 100,000 balances.
	"""

	VIEWS: ClassVar[dict] = {
		"deferred revenue, summary": (package_deferred_revenue, {"as_of_date": day(0)}),
		"deferred revenue, one customer": (package_deferred_revenue, {"as_of_date": day(0), "customer": "?"}),
		"deferred revenue, package": (
			package_deferred_revenue,
			{"as_of_date": day(0), "prepaid_package": "Postpartum Care", "show_details": 1},
		),
		"billed revenue, summary": (package_billed_revenue, PERIOD),
		"billed revenue, one customer": (package_billed_revenue, {**PERIOD, "customer": "?"}),
		"balances, summary": (package_balances, {}),
		"balances, one customer": (package_balances, {"customer": "?"}),
		"balances, status": (package_balances, {"status": "Active", "show_details": 1}),
		"usage, summary": (package_usage, PERIOD),
		"usage, one customer": (package_usage, {**PERIOD, "customer": "?"}),
		"usage, package": (
			package_usage,
			{**PERIOD, "prepaid_package": "Postpartum Care", "show_details": 1},
		),
	}
	TABLES = ("tabPackage Ledger Entry", "tabPackage Balance", "tabPackage Redemption")

	def test_every_filter_has_an_index(self):
		for label, (report, filters) in self.VIEWS.items():
			filters = {key: (self.first if value == "?" else value) for key, value in filters.items()}
			with self.subTest(label), recording_queries() as statements:
				run(report, **filters)
				plans = [
					step
					for query, args in statements
					if query.lstrip().lower().startswith("select")
					for step in frappe.db.sql(f"explain {query}", *args[:1], as_dict=True)
					if step.table in self.TABLES
				]
				self.assertTrue(plans, f"{label}: no query on the app's tables")
				for step in plans:
					self.assertTrue(step.possible_keys, f"{label}: {step.table} has no usable index")


class TestReplica(ReportsTestCase):
	def test_reports_read_from_the_replica(self):
		"""With read_from_replica on, frappe's report runner swaps in the replica connection."""
		seen = []
		original = package_usage.execute

		def spying_execute(filters=None):
			primary = getattr(frappe.local, "primary_db", None)
			seen.append(primary is not None and frappe.local.db is not primary)
			return original(filters)

		replica = {"read_from_replica": 1, "replica_host": frappe.conf.db_host or "127.0.0.1"}
		try:
			with (
				patch.dict(frappe.local.conf, replica),
				patch.object(package_usage, "execute", spying_execute),
			):
				result = run_report(
					"Package Usage", filters={"company": COMPANY, **PERIOD}, ignore_prepared_report=True
				)
			self.assertEqual(seen, [True])
			self.assertIn("result", result)
			# the primary connection is back, with this test's uncommitted rows
			self.assertIs(frappe.local.db, frappe.local.primary_db)
			self.assertTrue(frappe.db.exists("Package Redemption", {"customer": self.first}))
		finally:
			for attribute in ("replica_db", "primary_db"):
				if hasattr(frappe.local, attribute):
					delattr(frappe.local, attribute)


class TestUserPermissions(ReportsTestCase):
	def setUp(self):
		super().setUp()
		self.user = make_user("package-report-reader@example.com", ["Accounts User", "Package Manager"])
		frappe.db.delete("User Permission", {"user": self.user})

	def permit(self, doctype: str, value: str):
		frappe.get_doc(
			{"doctype": "User Permission", "user": self.user, "allow": doctype, "for_value": value}
		).insert(ignore_permissions=True)
		frappe.clear_cache(user=self.user)

	def test_customer_permission_limits_every_report(self):
		self.permit("Customer", self.first)
		frappe.set_user(self.user)
		views = {
			"deferred revenue": (package_deferred_revenue, {"show_details": 1}),
			"deferred revenue by customer": (package_deferred_revenue, {"group_by": "Customer"}),
			"billed revenue": (package_billed_revenue, {**PERIOD, "show_details": 1}),
			"billed revenue by customer": (package_billed_revenue, {**PERIOD, "group_by": "Customer"}),
			"balances": (package_balances, {"show_details": 1}),
			"balances by customer": (package_balances, {"group_by": "Customer"}),
			"usage": (package_usage, {**PERIOD, "show_details": 1}),
			"usage by customer": (package_usage, {**PERIOD, "group_by": "Customer"}),
		}
		for label, (report, filters) in views.items():
			with self.subTest(label):
				_columns, rows = run(report, **filters)
				self.assertTrue(rows)
				self.assertEqual({row["customer"] for row in rows}, {self.first})
		# the company's GL is not shown to a user who sees only some of its customers
		result = package_deferred_revenue.execute(
			frappe._dict({"company": COMPANY, "group_by": "Customer", "reconcile": 1})
		)
		self.assertEqual([card["value"] for card in result[4]], [513])
		self.assertEqual(package_deferred_revenue.get_reconciliation(COMPANY), [])
		with self.assertRaises(frappe.PermissionError):
			run(package_usage, customer=self.second, **PERIOD)

	def test_company_permission_refuses_other_companies(self):
		self.permit("Company", OTHER_COMPANY)
		frappe.set_user(self.user)
		for report, filters in (
			(package_deferred_revenue, {}),
			(package_billed_revenue, PERIOD),
			(package_balances, {}),
			(package_usage, PERIOD),
		):
			with self.subTest(report.__name__), self.assertRaises(frappe.PermissionError):
				run(report, **filters)

	def test_the_reconciliation_needs_report_permission(self):
		outsider = make_user("package-report-outsider@example.com", ["Website Manager"])
		frappe.set_user(outsider)
		with self.assertRaises(frappe.PermissionError):
			package_deferred_revenue.get_reconciliation(COMPANY)

	def test_unrestricted_user_sees_everyone(self):
		frappe.set_user(self.user)
		_columns, rows = run(package_usage, group_by="Customer", **PERIOD)
		self.assertEqual({row.customer for row in self.mine(rows)}, self.ours)
