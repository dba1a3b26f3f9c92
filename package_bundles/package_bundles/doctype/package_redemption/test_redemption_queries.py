# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""What redeeming costs, side by side with the same invoice charged in full (issue 16 item 14).

The same Sales Invoice (a visit, a kit and a lab, taxed) is inserted and submitted for a
customer whose balances cover every row and for one without balances. Every SQL statement
of the whole save and submit is counted (ERPNext's and the app's), and the wall time of each
run measured; redeeming must cost at most 1.15 times the plain invoice's statements.
"""

import statistics
import time

import frappe

from package_bundles.package_bundles.doctype.package_redemption.test_package_redemption import QueryCounter
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	CUSTOMER,
	KIT,
	LAB,
	OTHER_CUSTOMER,
	VISIT,
	make_invoice,
	make_package,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

ROWS = [(VISIT, 1), (KIT, 1), (LAB, 1)]
RUNS = 7
MAX_QUERY_RATIO = 1.15


class StatementCounter:
	"""Every frappe.db.sql call while active: the whole insert and submit of an invoice."""

	def __enter__(self):
		self.statements: list[str] = []
		self._sql = frappe.db.sql

		def counting_sql(query, *args, **kwargs):
			self.statements.append(str(query))
			return self._sql(query, *args, **kwargs)

		frappe.db.sql = counting_sql
		self.started = time.perf_counter()
		return self

	def __exit__(self, *exc):
		self.seconds = time.perf_counter() - self.started
		frappe.db.sql = self._sql

	@property
	def count(self) -> int:
		return len(self.statements)


def measure(customers: tuple[str, ...], runs: int = RUNS) -> dict[str, tuple[list[int], list[float], list]]:
	"""Statements and milliseconds of ``runs`` invoices per customer, after one warm-up each.

	The customers take turns, so a busy moment of the machine falls on both alike."""
	for customer in customers:
		make_invoice(ROWS, customer=customer)
	measured = {customer: ([], [], []) for customer in customers}
	for _run in range(runs):
		for customer in customers:
			counts, times, invoices = measured[customer]
			with StatementCounter() as counter:
				invoices.append(make_invoice(ROWS, customer=customer))
			counts.append(counter.count)
			times.append(counter.seconds * 1000)
	return measured


class TestRedemptionCost(PackageTestCase):
	def setUp(self):
		super().setUp()
		# every row of the invoice is covered more often than the runs and their warm-up need
		package = make_package(name="Cost Visit Kit Lab", items=[(VISIT, 1), (KIT, 1), (LAB, 1)], price=200)
		pay(make_invoice([(package.item, RUNS + 3)], customer=CUSTOMER))
		# the plain customer holds nothing; the items are ones the other customer's balances hold
		self.assertFalse(frappe.db.exists("Package Balance", {"customer": OTHER_CUSTOMER}))

	def test_redeeming_three_rows_costs_at_most_115_percent_of_the_plain_invoice(self):
		measured = measure((OTHER_CUSTOMER, CUSTOMER))
		plain_counts, plain_times, plain = measured[OTHER_CUSTOMER]
		redeemed_counts, redeemed_times, redeemed = measured[CUSTOMER]

		self.assertTrue(all(not row.package_balance for invoice in plain for row in invoice.items))
		self.assertTrue(all(row.package_balance for invoice in redeemed for row in invoice.items))
		# caches warm up over the first runs: the steady cost is the last run's
		self.assertEqual(plain_counts[-1], plain_counts[-2], plain_counts)
		self.assertEqual(redeemed_counts[-1], redeemed_counts[-2], redeemed_counts)
		ratio = redeemed_counts[-1] / plain_counts[-1]
		time_ratio = statistics.median(redeemed_times) / statistics.median(plain_times)
		print(
			f"\nredemption cost: plain {plain_counts} statements, "
			f"{statistics.median(plain_times):.0f} ms; redeemed {redeemed_counts} statements, "
			f"{statistics.median(redeemed_times):.0f} ms; ratio {ratio:.3f} (time {time_ratio:.3f})"
		)
		self.assertLessEqual(ratio, MAX_QUERY_RATIO)

	def test_customer_without_balances_costs_one_indexed_query(self):
		make_invoice(ROWS, customer=OTHER_CUSTOMER)  # warm the caches
		with QueryCounter() as counter:
			make_invoice(ROWS, customer=OTHER_CUSTOMER)
		self.assertEqual(counter.counts, {"before_validate": 1, "validate": 0, "on_submit": 0})

	def test_logs_take_consecutive_names_of_their_series(self):
		invoice = make_invoice(ROWS, customer=CUSTOMER)
		logs = frappe.get_all(
			"Package Redemption",
			filters={"sales_invoice": invoice.name},
			fields=["name", "sales_invoice_item", "status", "qty", "qty_returned"],
			order_by="name asc",
		)
		self.assertEqual([log.sales_invoice_item for log in logs], [row.name for row in invoice.items])
		self.assertEqual({(log.status, log.qty, log.qty_returned) for log in logs}, {("Redeemed", 1, 0)})
		prefix = logs[0].name.rsplit("-", 1)[0]
		numbers = [int(log.name.rsplit("-", 1)[1]) for log in logs]
		self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 3)))
		Series = frappe.qb.DocType("Series")
		current = frappe.qb.from_(Series).select(Series.current).where(Series.name == prefix + "-").run()
		self.assertEqual(current[0][0], numbers[-1])
		# the next invoice continues the series
		later = make_invoice(ROWS, customer=CUSTOMER)
		first_later = frappe.get_all(
			"Package Redemption", filters={"sales_invoice": later.name}, pluck="name", order_by="name asc"
		)[0]
		self.assertEqual(int(first_later.rsplit("-", 1)[1]), numbers[-1] + 1)
