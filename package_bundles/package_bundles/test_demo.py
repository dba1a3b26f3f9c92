# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The demo clinic: built in one call, refused where it does not belong, and its books reconcile.

(Here, not beside setup/demo.py: bench run-tests --app skips test modules in the app's top package.)
"""

import frappe
from frappe.utils import add_days, nowdate

from package_bundles.exceptions import DemoExistsError, DemoSiteInUseError
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
)
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
)
from package_bundles.setup import demo
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, invariant_problems
from package_bundles.tests.fixtures import VISIT, make_invoice

test_ignore = IGNORED_TEST_RECORDS


def demo_is_built() -> bool:
	return bool(frappe.db.exists("Package Balance", {"company": demo.COMPANY}))


class TestDemo(PackageTestCase):
	def test_make_demo_builds_a_clinic_whose_books_reconcile(self):
		if demo_is_built():
			# someone ran the demo on this site: it is never built twice
			with self.assertRaises(DemoExistsError):
				demo.make_demo(force=True)
		else:
			make_invoice([(VISIT, 1)])  # the test practice's books
			with self.assertRaises(DemoSiteInUseError):
				demo.make_demo()
			built = demo.make_demo(force=True)
			self.assertEqual(
				built["balances"],
				{"Active": 5, "Awaiting Payment": 1, "Exhausted": 1, "Expired": 2, "Refunded": 2},
			)
			self.assertEqual(built["deferred_revenue"], 2493)
			with self.assertRaises(DemoExistsError):
				demo.make_demo(force=True)
			self.assert_every_screen_has_data()

		self.assertEqual(invariant_problems(demo.COMPANY), [])
		totals = get_totals(demo.COMPANY)
		self.assertEqual(totals["difference"], 0)
		self.assertGreater(totals["deferred"], 0)

		_columns, rows, _note, _chart, summary = roll_forward.execute(
			frappe._dict(company=demo.COMPANY, from_date=add_days(nowdate(), -365), to_date=nowdate())
		)
		figures = {item["label"]: item["value"] for item in summary}
		self.assertEqual(figures["Difference"], 0)
		self.assertEqual(rows[-1]["closing"], totals["deferred"])

	def assert_every_screen_has_data(self):
		company = {"company": demo.COMPANY}
		self.assertEqual(frappe.db.count("Prepaid Package", company), 3)
		self.assertEqual(
			len(frappe.get_all("Sales Invoice", filters=company, pluck="customer", distinct=True)), 10
		)
		events = set(frappe.get_all("Package Ledger Entry", filters=company, pluck="event", distinct=True))
		self.assertLessEqual(
			{
				"Sale",
				"Opening",
				"Recognition Upon Purchase",
				"Redemption",
				"Redemption Return",
				"Refund",
				"Breakage",
				"Expiry",
			},
			events,
		)
		self.assertTrue(frappe.db.exists("Package Opening Import", {**company, "docstatus": 1}))
		self.assertTrue(
			frappe.db.exists("Package Balance", {**company, "status": "Expired", "total_broken": (">", 0)})
		)

		# the portal patient sees her own balances and nobody else's
		from package_bundles.www import my_packages

		frappe.set_user(demo.PORTAL_USER)
		context = my_packages.get_context(frappe._dict())
		self.assertEqual({balance["customer"] for balance in context.balances}, {demo.PATIENTS[0]})
		self.assertTrue(context.usage)
		frappe.set_user("Administrator")
