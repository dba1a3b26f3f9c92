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
from package_bundles.test_fixtures import (
	CUSTOMER,
	KIT,
	LAB,
	OTHER_CUSTOMER,
	VISIT,
	make_invoice,
	make_package,
	pay,
)
from package_bundles.testing import IGNORED_TEST_RECORDS, PackageTestCase

test_ignore = IGNORED_TEST_RECORDS

ROWS = [(VISIT, 1), (KIT, 1), (LAB, 1)]
RUNS = 5
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


def measure(customer: str, runs: int = RUNS) -> tuple[list[int], list[float], list]:
	"""Statements and milliseconds of ``runs`` invoices for ``customer``, after one warm-up."""
	make_invoice(ROWS, customer=customer)
	counts, times, invoices = [], [], []
	for _run in range(runs):
		with StatementCounter() as counter:
			invoices.append(make_invoice(ROWS, customer=customer))
		counts.append(counter.count)
		times.append(counter.seconds * 1000)
	return counts, times, invoices


class TestRedemptionCost(PackageTestCase):
	def setUp(self):
		super().setUp()
		# every row of the invoice is covered more often than the runs and their warm-up need
		package = make_package(name="Cost Visit Kit Lab", items=[(VISIT, 1), (KIT, 1), (LAB, 1)], price=200)
		pay(make_invoice([(package.item, RUNS + 3)], customer=CUSTOMER))
		buy_other = make_package(name="Cost Other Visits", items=[(VISIT, 1)], price=100)
		# the plain customer holds nothing; the items are ones some balance holds
		self.assertFalse(
			frappe.db.exists("Package Balance", {"customer": OTHER_CUSTOMER, "status": "Active"})
		)
		self.assertTrue(buy_other.name)

	def test_redeeming_three_rows_costs_at_most_115_percent_of_the_plain_invoice(self):
		plain_counts, plain_times, plain = measure(OTHER_CUSTOMER)
		redeemed_counts, redeemed_times, redeemed = measure(CUSTOMER)

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
