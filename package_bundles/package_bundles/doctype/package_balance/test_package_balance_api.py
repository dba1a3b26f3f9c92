# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""What integrators, the desk and the portal read: whitelisted methods, REST and /my-packages."""

import json
from threading import Thread

import frappe
from frappe.utils import get_test_client, set_request
from frappe.website.serve import get_response

from package_bundles import api
from package_bundles.flows.catalog import clear_catalog_cache
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	BOTOX,
	COMPANY,
	CUSTOMER,
	KIT,
	LAB,
	OTHER_ABBR,
	OTHER_COMPANY,
	OTHER_CUSTOMER,
	PRICE_LIST,
	VISIT,
	account,
	get_or_make,
	make_invoice,
	make_package,
	pay,
	set_price,
)

test_ignore = IGNORED_TEST_RECORDS

SPEC_ITEMS = [(VISIT, 4), (KIT, 1), (LAB, 2)]
WRITES = (
	"Sales Invoice",
	"Package Balance",
	"Package Redemption",
	"Package Ledger Entry",
	"Journal Entry",
	"GL Entry",
)


def buy(package, customer=CUSTOMER, paid=True):
	invoice = make_invoice([(package.item, 1)], customer=customer)
	if paid:
		pay(invoice)
	return invoice


def balance_of(invoice) -> str:
	return frappe.db.get_value("Package Balance", {"sales_invoice": invoice.name}, "name")


def make_portal_user(email: str, customer: str) -> str:
	"""A website user with the Customer role, listed as a portal user of ``customer``."""
	make_user(email, ["Customer"])
	doc = frappe.get_doc("Customer", customer)
	if not any(row.user == email for row in doc.portal_users):
		doc.append("portal_users", {"user": email})
		doc.flags.ignore_permissions = True
		doc.save()
	return email


class TestCustomerBalances(PackageTestCase):
	def test_live_balances_with_their_items(self):
		package = make_package()
		active = balance_of(buy(package))
		awaiting = balance_of(buy(package, paid=False))
		cancelled_sale = buy(package, paid=False)
		cancelled = balance_of(cancelled_sale)
		cancelled_sale.cancel()
		others = balance_of(buy(package, customer=OTHER_CUSTOMER))

		balances = {b["name"]: b for b in api.get_customer_balances(CUSTOMER)}

		self.assertEqual(set(balances), {active, awaiting})
		self.assertNotIn(others, balances)
		self.assertEqual(balances[active]["status"], "Active")
		self.assertEqual(balances[awaiting]["status"], "Awaiting Payment")
		balance = balances[active]
		for field in (
			"customer",
			"company",
			"prepaid_package",
			"sales_invoice",
			"purchase_date",
			"expiry_date",
		):
			self.assertIn(field, balance)
		self.assertEqual(
			(balance["customer"], balance["company"], balance["prepaid_package"]),
			(CUSTOMER, COMPANY, package.name),
		)
		self.assertEqual(balance["total_deferred"], 720)
		self.assertEqual(
			[
				(
					i["item_code"],
					i["item_group"],
					i["qty_purchased"],
					i["qty_redeemed"],
					i["qty_remaining"],
					i["allocated_amount"],
					i["recognized_amount"],
					i["deferred_amount"],
				)
				for i in balance["items"]
			],
			[
				(VISIT, "PKT Visits", 4, 0, 4, 540, 0, 540),
				(KIT, "PKT Products", 1, 0, 1, 72, 0, 72),
				(LAB, "PKT Labs", 2, 0, 2, 108, 0, 108),
			],
		)

		everything = {b["name"]: b for b in api.get_customer_balances(CUSTOMER, include_closed=True)}
		self.assertEqual(set(everything), {active, awaiting, cancelled})
		self.assertEqual(everything[cancelled]["status"], "Cancelled")

	def test_balances_follow_redemptions(self):
		package = make_package()
		balance = balance_of(buy(package))
		make_invoice([(VISIT, 1)])

		[result] = api.get_customer_balances(CUSTOMER)
		self.assertEqual(result["name"], balance)
		visits = next(i for i in result["items"] if i["item_code"] == VISIT)
		self.assertEqual((visits["qty_redeemed"], visits["qty_remaining"]), (1, 3))
		self.assertEqual((visits["recognized_amount"], visits["deferred_amount"]), (135, 405))

	def test_sales_user_may_read_a_customers_balances(self):
		package = make_package()
		balance = balance_of(buy(package))
		clerk = make_user("pkt-api-clerk@example.com", ["Sales User"])

		frappe.set_user(clerk)
		self.assertEqual([b["name"] for b in api.get_customer_balances(CUSTOMER)], [balance])

	def test_refused_without_customer_read_permission(self):
		package = make_package()
		buy(package)
		# a Package Manager reads balances, but not customers
		manager = make_user("pkt-api-manager@example.com", ["Package Manager"])
		patient = make_user("pkt-api-patient@example.com", ["Customer"])

		for user in (manager, patient):
			with self.subTest(user=user):
				frappe.set_user(user)
				self.assertFalse(frappe.has_permission("Customer", "read", doc=CUSTOMER))
				with self.assertRaises(frappe.PermissionError):
					api.get_customer_balances(CUSTOMER)
				frappe.set_user("Administrator")


class TestPreviews(PackageTestCase):
	def draft_invoice(self, rows, customer=CUSTOMER) -> dict:
		"""An invoice as the desk sends it before the first save."""
		return {
			"doctype": "Sales Invoice",
			"__islocal": 1,
			"company": COMPANY,
			"customer": customer,
			"currency": "USD",
			"selling_price_list": PRICE_LIST,
			"items": [{"doctype": "Sales Invoice Item", "item_code": code, "qty": qty} for code, qty in rows],
		}

	def test_preview_redemption_tells_which_rows_redeem_and_writes_nothing(self):
		package = make_package()
		balance = balance_of(buy(package))
		before = self.count_documents(*WRITES)

		preview = api.preview_redemption(json.dumps(self.draft_invoice([(VISIT, 5), (BOTOX, 2), (LAB, 1)])))

		self.assertEqual(
			[(r["item_code"], r["qty"], r["package_balance"], r["redeemed"]) for r in preview],
			[
				(VISIT, 4, balance, True),
				(VISIT, 1, None, False),
				(BOTOX, 2, None, False),
				(LAB, 1, balance, True),
			],
		)
		self.assertEqual([r["idx"] for r in preview], [1, 2, 3, 4])
		self.assertEqual(self.count_documents(*WRITES), before)
		remaining = dict(
			frappe.get_all(
				"Package Balance Item",
				filters={"parent": balance},
				fields=["item_code", "qty_remaining"],
				as_list=True,
			)
		)
		self.assertEqual(remaining, {VISIT: 4, KIT: 1, LAB: 2})

	def test_preview_redemption_of_an_unpaid_or_foreign_balance_redeems_nothing(self):
		package = make_package()
		buy(package, paid=False)
		buy(package, customer=OTHER_CUSTOMER)

		preview = api.preview_redemption(self.draft_invoice([(VISIT, 1)]))

		self.assertEqual([(r["package_balance"], r["redeemed"]) for r in preview], [(None, False)])

	def test_preview_redemption_names_a_package_sale(self):
		package = make_package()

		[row] = api.preview_redemption(self.draft_invoice([(package.item, 1)]))

		self.assertEqual((row["sells_package"], row["redeemed"]), (package.name, False))

	def test_preview_package_gives_the_worked_example_without_saving(self):
		before = self.count_documents("Prepaid Package", "Item", "Item Price", "Item Tax Template")
		form = {
			"doctype": "Prepaid Package",
			"__islocal": 1,
			"package_name": "Postpartum Care",
			"company": COMPANY,
			"selling_price_list": PRICE_LIST,
			"package_price": 720,
			"items": [
				{"doctype": "Package Item", "item_code": code, "qty": qty, "idx": idx}
				for idx, (code, qty) in enumerate(SPEC_ITEMS, start=1)
			],
		}

		preview = api.preview_package(json.dumps(form))

		self.assertEqual(preview["default_price"], 800)
		self.assertEqual(preview["package_price"], 720)
		self.assertEqual(preview["taxable_amount"], 72)
		self.assertEqual(
			[
				(
					r["item_code"],
					r["rate"],
					r["amount"],
					r["allocated_amount"],
					r["allocated_rate"],
					r["taxable"],
				)
				for r in preview["items"]
			],
			[
				(VISIT, 150, 600, 540, 135, 0),
				(KIT, 80, 80, 72, 72, 1),
				(LAB, 60, 120, 108, 54, 0),
			],
		)
		self.assertFalse(frappe.db.exists("Prepaid Package", "Postpartum Care"))
		self.assertEqual(
			self.count_documents("Prepaid Package", "Item", "Item Price", "Item Tax Template"), before
		)

		form["package_price"] = 0
		self.assertEqual(api.preview_package(form)["package_price"], 800)  # a new package defaults to it

	def test_preview_package_needs_create_permission(self):
		clerk = make_user("pkt-api-clerk@example.com", ["Sales User"])
		frappe.set_user(clerk)
		with self.assertRaises(frappe.PermissionError):
			api.preview_package(
				{
					"doctype": "Prepaid Package",
					"__islocal": 1,
					"package_name": "Postpartum Care",
					"company": COMPANY,
					"items": [{"item_code": VISIT, "qty": 1}],
				}
			)


class TestPortal(PackageTestCase):
	def setUp(self):
		super().setUp()
		request = getattr(frappe.local, "request", None)
		self.addCleanup(setattr, frappe.local, "request", request)

	def render(self, user: str):
		frappe.set_user(user)
		set_request(method="GET", path="/my-packages")
		response = get_response("/my-packages")
		frappe.set_user("Administrator")
		return response

	def test_customer_sees_only_their_own_balances_and_usage(self):
		package = make_package()
		own = balance_of(buy(package))
		make_invoice([(VISIT, 1)])
		others = balance_of(buy(package, customer=OTHER_CUSTOMER))
		patient = make_portal_user("pkt-portal-a@example.com", CUSTOMER)

		response = self.render(patient)
		html = response.get_data(as_text=True)

		self.assertEqual(response.status_code, 200)
		self.assertIn(own, html)
		self.assertNotIn(others, html)
		self.assertIn("Postpartum Care", html)
		cells = html.split('<td class="text-right remaining">')[1:]
		self.assertEqual([cell.split("<", 1)[0].strip() for cell in cells], ["3", "1", "2"])
		self.assertIn("Usage history", html)

	def test_customer_without_packages_sees_none(self):
		package = make_package()
		others = balance_of(buy(package, customer=OTHER_CUSTOMER))
		patient = make_portal_user("pkt-portal-a@example.com", CUSTOMER)

		html = self.render(patient).get_data(as_text=True)

		self.assertNotIn(others, html)
		self.assertIn("You have no prepaid packages.", html)

	def test_guest_is_refused(self):
		package = make_package()
		balance = balance_of(buy(package))

		response = self.render("Guest")

		self.assertEqual(response.status_code, 403)
		self.assertNotIn(balance, response.get_data(as_text=True))


# --- REST ----------------------------------------------------------------------
#
# Requests go through frappe's WSGI application in a thread of their own, as
# FrappeAPITestCase does, so they run on a second database connection and see only
# committed data. The fixtures of this class are therefore committed, and kept apart
# from every other test: their own customer, service item and package, in the second
# company (no test reads its ledgers). When the class ends the sale is cancelled and
# its balance deleted, so no balance ever "held" an item another test uses.

REST_CUSTOMER = "PKT REST Patient"
REST_ITEM = "PKT REST Consult"
REST_PACKAGE = "PKT REST Consults"


def make_rest_fixtures() -> str:
	"""Customer, item and package of the REST tests; returns the package's sales item."""
	get_or_make(
		"Customer",
		REST_CUSTOMER,
		{
			"customer_name": REST_CUSTOMER,
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}),
			"territory": frappe.db.get_value("Territory", {"is_group": 0}),
		},
	)
	get_or_make(
		"Item",
		REST_ITEM,
		{
			"item_code": REST_ITEM,
			"item_group": "PKT Visits",
			"stock_uom": "Nos",
			"is_stock_item": 0,
			"is_sales_item": 1,
		},
	)
	set_price(REST_ITEM, 100)
	if frappe.db.exists("Prepaid Package", REST_PACKAGE):
		return frappe.db.get_value("Prepaid Package", REST_PACKAGE, "item")
	return make_package(name=REST_PACKAGE, items=[(REST_ITEM, 3)], price=270, company=OTHER_COMPANY).item


def delete_rest_balances():
	"""Balances are the app's to write; the fixture removes its own, with their ledger."""
	for name in frappe.get_all("Package Balance", filters={"customer": REST_CUSTOMER}, pluck="name"):
		frappe.db.delete("Package Ledger Entry", {"package_balance": name})
		frappe.delete_doc(
			"Package Balance",
			name,
			force=True,
			ignore_permissions=True,
			ignore_on_trash=True,
			delete_permanently=True,
		)
	clear_catalog_cache()


def make_api_user(email: str, roles: list[str]) -> str:
	"""User with an API key; returns the ``key:secret`` token."""
	from frappe.core.doctype.user.user import generate_keys

	make_user(email, roles)
	secret = generate_keys(email)["api_secret"]
	return f"{frappe.db.get_value('User', email, 'api_key')}:{secret}"


def request(method: str, path: str, token: str | None = None, **kwargs):
	headers = {"X-Frappe-Site-Name": frappe.local.site}
	if token:
		headers["Authorization"] = f"token {token}"
	outcome = {}

	def run():
		client = get_test_client(use_cookies=False)
		outcome["response"] = client.open(path, method=method, headers=headers, **kwargs)

	thread = Thread(target=run)
	thread.start()
	thread.join()
	return outcome["response"]


class TestRestAPI(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.accounts_token = make_api_user("pkt-rest-accounts@example.com", ["Accounts User"])
		cls.portal_token = make_api_user("pkt-rest-portal@example.com", ["Customer"])
		delete_rest_balances()  # left by an interrupted run
		package_item = make_rest_fixtures()
		cls.sale = make_invoice(
			[(package_item, 1)],
			customer=REST_CUSTOMER,
			company=OTHER_COMPANY,
			debit_to=account("Debtors", OTHER_ABBR),
			taxes=False,
		)
		cls.balance = balance_of(cls.sale)
		frappe.db.commit()
		cls.addClassCleanup(cls.cancel_sale)

	@classmethod
	def cancel_sale(cls):
		frappe.set_user("Administrator")
		frappe.db.rollback()
		frappe.get_doc("Sales Invoice", cls.sale.name).cancel()
		delete_rest_balances()
		frappe.db.commit()

	def test_accounts_user_lists_balances(self):
		response = request(
			"GET",
			"/api/resource/Package Balance",
			self.accounts_token,
			query_string={
				"filters": json.dumps({"customer": REST_CUSTOMER}),
				"fields": json.dumps(["name", "customer", "status", "prepaid_package"]),
			},
		)

		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertEqual(
			response.json["data"],
			[
				{
					"name": self.balance,
					"customer": REST_CUSTOMER,
					"status": "Awaiting Payment",
					"prepaid_package": REST_PACKAGE,
				}
			],
		)

	def test_accounts_user_reads_a_balance_with_its_items(self):
		response = request("GET", f"/api/resource/Package Balance/{self.balance}", self.accounts_token)

		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		data = response.json["data"]
		self.assertEqual(
			[(i["item_code"], i["qty_purchased"], i["qty_remaining"]) for i in data["items"]],
			[(REST_ITEM, 3, 3)],
		)

	def test_nobody_writes_balances_over_rest(self):
		response = request(
			"PUT",
			f"/api/resource/Package Balance/{self.balance}",
			self.accounts_token,
			json={"status": "Active"},
		)

		self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
		self.assertEqual(frappe.db.get_value("Package Balance", self.balance, "status"), "Awaiting Payment")

	def test_portal_user_reads_no_balances(self):
		for path in ("/api/resource/Package Balance", f"/api/resource/Package Balance/{self.balance}"):
			with self.subTest(path=path):
				response = request("GET", path, self.portal_token)
				self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
				self.assertNotIn(self.balance, response.get_data(as_text=True))

	def test_guest_reads_no_balances(self):
		response = request("GET", "/api/resource/Package Balance")

		self.assertEqual(response.status_code, 403, response.get_data(as_text=True))

	def test_customer_balances_method(self):
		path = "/api/method/package_bundles.api.get_customer_balances"

		response = request("POST", path, self.accounts_token, json={"customer": REST_CUSTOMER})
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		[balance] = response.json["message"]
		self.assertEqual((balance["name"], balance["company"]), (self.balance, OTHER_COMPANY))
		self.assertEqual([i["item_code"] for i in balance["items"]], [REST_ITEM])

		response = request("POST", path, self.portal_token, json={"customer": REST_CUSTOMER})
		self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
