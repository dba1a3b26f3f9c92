# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The Package Receipt print format on the worked example of SPEC §6.

A patient buys "Postpartum Care" (4 visits, 1 kit, 2 labs; valid 90 days) ten days ago
and pays; two visits today are each redeemed from it. The sale's receipt lists the
components; each visit's receipt names the package and what was left after that visit,
also once later visits used more.
"""

import os
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import frappe
from bs4 import BeautifulSoup
from frappe.utils import add_days, format_date, nowdate

from package_bundles.package_bundles.print_format.package_receipt.package_receipt import package_receipt
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import KIT, LAB, VISIT, make_invoice, make_package, pay

test_ignore = IGNORED_TEST_RECORDS

PRINT_FORMAT = "Package Receipt"


def day(offset: int) -> str:
	return add_days(nowdate(), offset)


def render(invoice) -> BeautifulSoup:
	html = frappe.get_print("Sales Invoice", invoice.name, print_format=PRINT_FORMAT, no_letterhead=1)
	return BeautifulSoup(html, "html.parser")


def row_text(page: BeautifulSoup, row_name: str) -> str:
	row = page.find("tr", attrs={"data-row": row_name})
	return " ".join(row.get_text(" ").split())


class TestPackageReceipt(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.package = make_package(valid_for_days=90)
		self.purchase = make_invoice([(self.package.item, 1)], posting_date=day(-10))
		pay(self.purchase)
		# the same day: the order of posting tells which visit came first
		self.first_visit = make_invoice([(VISIT, 1)])
		self.second_visit = make_invoice([(VISIT, 2), (LAB, 1)])
		self.balance = frappe.get_doc("Package Balance", {"sales_invoice": self.purchase.name})

	def test_print_format_is_selectable_not_the_default(self):
		print_format = frappe.get_doc("Print Format", PRINT_FORMAT)
		self.assertEqual(
			(print_format.doc_type, print_format.standard, print_format.module, print_format.disabled),
			("Sales Invoice", "Yes", "Package Bundles", 0),
		)
		self.assertFalse(frappe.get_meta("Sales Invoice").default_print_format == PRINT_FORMAT)

	def test_sale_lists_the_components(self):
		page = render(self.purchase)
		text = row_text(page, self.purchase.items[0].name)
		self.assertIn("Postpartum Care", text)
		components = [" ".join(li.get_text(" ").split()) for li in page.select("li.package-component")]
		self.assertEqual(components, ["4 Nos × Office Visit", "1 Nos × Lactation Kit", "2 Nos × Lab Panel"])
		self.assertIn(f"Valid until {format_date(self.balance.expiry_date)}", text)

	def test_redemption_says_where_from_and_what_was_left_after_each_visit(self):
		first = row_text(render(self.first_visit), self.first_visit.items[0].name)
		self.assertIn(f"Redeemed from package Postpartum Care (balance {self.balance.name})", first)
		# three visits were left after the first one, though the second visit used two more since
		self.assertIn("3 Nos left after this visit", first)
		self.assertIn(f"valid until {format_date(self.balance.expiry_date)}", first)
		self.assertIn("List price $ 150.00", first)

		page = render(self.second_visit)
		visit_row, lab_row = self.second_visit.items
		self.assertIn("1 Nos left after this visit", row_text(page, visit_row.name))
		self.assertIn("List price $ 150.00", row_text(page, visit_row.name))
		self.assertIn("1 Nos left after this visit", row_text(page, lab_row.name))
		self.assertIn("List price $ 60.00", row_text(page, lab_row.name))
		# redeemed rows are free; the receipt says what they would have cost
		self.assertEqual([row.rate for row in self.second_visit.items], [0, 0])
		covered = " ".join(page.select_one("div.covered-by-packages").get_text(" ").split())
		self.assertIn("$ 360.00 at list price", covered)

	def test_left_after_a_visit_ignores_later_returns_and_cancellations(self):
		from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

		credit_note = make_sales_return(self.second_visit.name)
		credit_note.posting_date = nowdate()
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(package_receipt(self.first_visit)[self.first_visit.items[0].name].qty_left, 3)
		self.assertEqual(package_receipt(self.second_visit)[self.second_visit.items[0].name].qty_left, 1)
		# a visit after the return sees the returned units again
		third = make_invoice([(VISIT, 1)])
		self.assertEqual(package_receipt(third)[third.items[0].name].qty_left, 2)

	def test_a_cancelled_visit_still_prints_what_it_redeemed(self):
		self.second_visit.cancel()
		receipt = package_receipt(self.second_visit)
		self.assertEqual([receipt[row.name].qty_left for row in self.second_visit.items], [1, 1])
		# for the visits around it, the cancelled one never happened
		self.assertEqual(package_receipt(self.first_visit)[self.first_visit.items[0].name].qty_left, 3)
		later = make_invoice([(VISIT, 1)])
		self.assertEqual(package_receipt(later)[later.items[0].name].qty_left, 2)

	def test_an_earlier_dated_visit_counts_before_later_ones(self):
		backdated = make_invoice([(LAB, 1)], posting_date=day(-3))
		receipt = package_receipt(backdated)[backdated.items[0].name]
		# both labs were there three days ago; today's visit took one after this one
		self.assertEqual(receipt.qty_left, 1)
		self.assertEqual(package_receipt(self.second_visit)[self.second_visit.items[1].name].qty_left, 0)
		# no selling price was valid on that date: the receipt prints no list price rather than 0
		if not backdated.items[0].price_list_rate:
			self.assertNotIn("List price", row_text(render(backdated), backdated.items[0].name))

	def test_draft_shows_what_it_would_leave(self):
		frappe.db.set_single_value("Print Settings", "allow_print_for_draft", 1)
		draft = make_invoice([(VISIT, 1)], submit=False)
		self.assertEqual(draft.items[0].package_balance, self.balance.name)
		text = row_text(render(draft), draft.items[0].name)
		self.assertIn("0 Nos left after this visit", text)

	def test_charged_rows_print_as_usual(self):
		invoice = make_invoice(
			[(KIT, 1)], customer="PKT Patient B", update_stock=1, set_warehouse="Stores - PKP"
		)
		self.assertEqual(package_receipt(invoice), {})
		text = row_text(render(invoice), invoice.items[0].name)
		self.assertNotIn("Redeemed from package", text)
		self.assertIn("80.00", text)

	def test_pdf(self):
		if not shutil.which("wkhtmltopdf"):
			self.skipTest("wkhtmltopdf is not installed")
		with assets_served() as host_name:
			frappe.local.conf.host_name = host_name
			try:
				pdf = frappe.get_print(
					"Sales Invoice", self.second_visit.name, print_format=PRINT_FORMAT, as_pdf=True
				)
			finally:
				frappe.local.conf.pop("host_name", None)
		self.assertTrue(pdf.startswith(b"%PDF"))


class assets_served:
	"""wkhtmltopdf loads the print stylesheet from the site's URL, which a test bench does not
	serve: a local server of /assets stands in for the web server."""

	def __enter__(self) -> str:
		assets = os.path.abspath(frappe.get_site_path("..", "assets"))
		handler = partial(AssetsOnly, directory=assets)
		self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
		threading.Thread(target=self.server.serve_forever, daemon=True).start()
		return f"http://127.0.0.1:{self.server.server_port}"

	def __exit__(self, *exc):
		self.server.shutdown()
		self.server.server_close()


class AssetsOnly(SimpleHTTPRequestHandler):
	def send_head(self):
		if not self.path.startswith("/assets/"):
			self.send_error(404)
			return None
		self.path = self.path.removeprefix("/assets")  # served from sites/assets, never above it
		return super().send_head()

	def log_message(self, *args):
		pass
