# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The Packages workspace's number cards and charts agree with the reports; the Customer
form's Connections list package balances and redemptions.

A patient bought "Postpartum Care" two months ago and paid; a visit was redeemed last
month, the lactation kit this month. A second package, "Quick Labs", sold this month,
expires in 20 days.
"""

import json

import frappe
from frappe.desk.notifications import get_open_count
from frappe.utils import add_days, add_months, get_first_day, get_last_day, getdate, nowdate

from package_bundles.api import dashboard
from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
)
from package_bundles.package_bundles.report.package_usage import package_usage
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	COMPANY,
	KIT,
	LAB,
	OTHER_COMPANY,
	STORES,
	VISIT,
	get_or_make,
	make_invoice,
	make_package,
	make_patient,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

CARDS = {
	"Deferred Revenue in Packages": "package_bundles.api.dashboard.deferred_liability",
	"Active Package Balances": "package_bundles.api.dashboard.active_balances",
	"Package Balances Expiring in 30 Days": "package_bundles.api.dashboard.balances_expiring_soon",
	"Package Redemptions This Month": "package_bundles.api.dashboard.redemptions_this_month",
}
CHARTS = {
	"Package Deferred Revenue by Month": "Package Deferred Revenue Timeline",
	"Package Redemptions by Item Group": "Package Redemptions by Item Group",
}
FILTERS = json.dumps({"company": COMPANY})


def make_customer() -> str:
	return make_patient(f"PKT Glance Patient {frappe.generate_hash(length=6)}")


def this_month_day(offset_from_start: int) -> str:
	"""A day of this month no later than today."""
	return min(add_days(get_first_day(nowdate()), offset_from_start), getdate(nowdate())).isoformat()


def figures() -> dict:
	return {
		"deferred": dashboard.deferred_liability(FILTERS)["value"],
		"active": dashboard.active_balances(FILTERS)["value"],
		"expiring": dashboard.balances_expiring_soon(FILTERS)["value"],
		"redemptions": dashboard.redemptions_this_month(FILTERS)["value"],
	}


def usage_rows(from_date, to_date) -> list[dict]:
	return package_usage.execute(
		frappe._dict(company=COMPANY, from_date=from_date, to_date=to_date, show_details=1)
	)[1]


class TestPackagesAtAGlance(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.before = figures()
		self.chart_before = dashboard.deferred_liability_by_month(FILTERS)["datasets"][0]["values"]
		self.customer = make_customer()
		package = make_package()
		self.purchase = make_invoice(
			[(package.item, 1)], customer=self.customer, posting_date=add_months(this_month_day(0), -2)
		)
		pay(self.purchase)
		self.visit = make_invoice(
			[(VISIT, 1)], customer=self.customer, posting_date=add_months(this_month_day(0), -1)
		)
		self.kit = make_invoice(
			[(KIT, 1)],
			customer=self.customer,
			posting_date=this_month_day(0),
			update_stock=1,
			set_warehouse=STORES,
		)
		labs = make_package("Quick Labs", items=[(LAB, 2)], price=100, expiry_date=add_days(nowdate(), 20))
		self.labs = make_invoice([(labs.item, 1)], customer=self.customer, posting_date=this_month_day(0))
		pay(self.labs)

	def test_number_cards_match_the_reports(self):
		after = figures()
		self.assertEqual(after["deferred"], get_totals(COMPANY)["deferred"])
		self.assertEqual(round(after["deferred"] - self.before["deferred"], 2), 405 + 108 + 100)

		balances = package_balances.execute(frappe._dict(company=COMPANY, show_details=1))[1]
		self.assertEqual(after["active"], len([row for row in balances if row.status == "Active"]))
		self.assertEqual(after["active"] - self.before["active"], 2)

		window = (getdate(nowdate()), getdate(add_days(nowdate(), 30)))
		expiring = [
			row
			for row in balances
			if row.status in ("Active", "Awaiting Payment")
			and row.expiry_date
			and window[0] <= getdate(row.expiry_date) <= window[1]
		]
		self.assertEqual(after["expiring"], len(expiring))
		self.assertEqual(after["expiring"] - self.before["expiring"], 1)

		month = usage_rows(get_first_day(nowdate()), get_last_day(nowdate()))
		self.assertEqual(after["redemptions"], len([row for row in month if row.status == "Redeemed"]))
		self.assertEqual(after["redemptions"] - self.before["redemptions"], 1)

	def test_a_cancelled_redemption_leaves_the_month(self):
		redemptions = figures()["redemptions"]
		self.kit.cancel()
		self.assertEqual(figures()["redemptions"], redemptions - 1)

	def test_deferred_revenue_chart_is_the_report_at_each_month_end(self):
		chart = dashboard.deferred_liability_by_month(FILTERS)
		months = dashboard.month_starts()
		self.assertEqual(len(chart["labels"]), 12)
		expected = [
			get_totals(COMPANY, min(get_last_day(month), getdate(nowdate())))["deferred"] for month in months
		]
		self.assertEqual(chart["datasets"][0]["values"], expected)
		# this test's documents: two months ago the sale (720), last month a visit (-135),
		# this month the kit (-72) and Quick Labs (+100)
		added = [
			round(a - b, 2) for a, b in zip(chart["datasets"][0]["values"], self.chart_before, strict=True)
		]
		self.assertEqual(added, [0] * 9 + [720, 585, 613])

	def test_redemptions_chart_is_the_usage_report_by_item_group(self):
		chart = dashboard.redemptions_by_item_group(FILTERS)
		months = dashboard.month_starts()
		rows = usage_rows(months[0], get_last_day(months[-1]))
		expected: dict[str, list[float]] = {}
		for row in rows:
			if row.status != "Redeemed":
				continue
			values = expected.setdefault(row.item_group, [0.0] * 12)
			index = next(
				i for i, month in enumerate(months) if get_first_day(row.posting_date) == getdate(month)
			)
			values[index] += row.qty - row.qty_returned
		self.assertEqual({d["name"]: d["values"] for d in chart["datasets"]}, expected)
		self.assertGreaterEqual(expected["PKT Visits"][-2], 1)
		self.assertGreaterEqual(expected["PKT Products"][-1], 1)

	def test_figures_are_per_company(self):
		other = json.dumps({"company": OTHER_COMPANY})
		self.assertEqual(dashboard.deferred_liability(other)["value"], get_totals(OTHER_COMPANY)["deferred"])
		# the list form of filters a card may send
		as_list = json.dumps([["Package Balance", "company", "=", COMPANY]])
		self.assertEqual(dashboard.active_balances(as_list)["value"], figures()["active"])

	def test_figures_need_read_permission(self):
		user = make_user("pkt-glance-sales@example.com", "Sales User")
		frappe.set_user(user)
		# a sales user reads balances and redemptions, not the ledger
		self.assertEqual(dashboard.active_balances(FILTERS)["value"], figures_as_admin()["active"])
		with self.assertRaises(frappe.PermissionError):
			dashboard.deferred_liability(FILTERS)
		with self.assertRaises(frappe.PermissionError):
			dashboard.deferred_liability_by_month(FILTERS)

	def test_workspace_shows_the_cards_and_charts(self):
		workspace = frappe.get_doc("Workspace", "Packages")
		self.assertEqual([row.number_card_name for row in workspace.number_cards], list(CARDS))
		self.assertEqual([row.chart_name for row in workspace.charts], list(CHARTS))
		# the page's blocks name their widgets by the rows' labels
		content = json.loads(workspace.content)
		blocks = {
			block["data"].get("number_card_name") or block["data"].get("chart_name") for block in content
		}
		labels = {row.label for row in workspace.number_cards} | {row.label for row in workspace.charts}
		self.assertEqual(len(labels), 6)
		self.assertTrue(labels <= blocks)
		for name, method in CARDS.items():
			card = frappe.get_doc("Number Card", name)
			self.assertEqual((card.type, card.method, card.is_standard), ("Custom", method, 1))
			self.assertEqual(frappe.get_attr(card.method)(FILTERS), frappe.get_attr(method)(FILTERS))
		for name, source in CHARTS.items():
			chart = frappe.get_doc("Dashboard Chart", name)
			self.assertEqual((chart.chart_type, chart.source), ("Custom", source))
			self.assertTrue(frappe.db.exists("Dashboard Chart Source", source))


class TestCustomerConnections(PackageTestCase):
	def test_customer_connections_list_package_balances_and_redemptions(self):
		data = frappe.get_meta("Customer").get_dashboard_data()
		groups = {group["label"]: group["items"] for group in data.transactions}
		self.assertEqual(groups["Prepaid Packages"], ["Package Balance", "Package Redemption"])
		self.assertEqual(data.fieldname, "customer")

		customer = make_customer()
		package = make_package()
		purchase = make_invoice([(package.item, 1)], customer=customer)
		pay(purchase)
		make_invoice([(VISIT, 1)], customer=customer)
		counts = {
			row["doctype"]: row["count"]
			for row in get_open_count("Customer", customer)["count"]["external_links_found"]
		}
		self.assertEqual((counts["Package Balance"], counts["Package Redemption"]), (1, 1))


def figures_as_admin() -> dict:
	user = frappe.session.user
	frappe.set_user("Administrator")
	try:
		return figures()
	finally:
		frappe.set_user(user)


def make_user(email: str, role: str) -> str:
	if not frappe.db.exists("User", email):
		user = frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": "Glance", "send_welcome_email": 0}
		)
		user.insert(ignore_permissions=True)
		user.add_roles(role)
	return email


class TestWorkspaceLinks(PackageTestCase):
	def test_every_report_and_the_opening_import_are_linked(self):
		workspace = frappe.get_doc("Workspace", "Packages")
		links = {(row.link_type, row.link_to) for row in workspace.links if row.type == "Link"}
		reports = frappe.get_all("Report", {"module": "Package Bundles"}, pluck="name")
		self.assertEqual(len(reports), 5)
		for report in reports:
			self.assertIn(("Report", report), links)
		self.assertIn(("DocType", "Package Opening Import"), links)
		# each card's count covers the links under it
		count, expected = None, {}
		for row in workspace.links:
			if row.type == "Card Break":
				count = row.label
				expected[count] = (row.link_count, 0)
			else:
				declared, seen = expected[count]
				expected[count] = (declared, seen + 1)
		for card, (declared, seen) in expected.items():
			self.assertEqual(declared, seen, card)
