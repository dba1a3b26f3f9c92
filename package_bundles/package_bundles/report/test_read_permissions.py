# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Every read of package figures honours Company and Customer User Permissions (issue 16 item 7).

Two practices hold packages: a patient of the main practice bought the worked example and
redeemed a visit, a second patient of it holds a package too, and a patient of the second
practice ("West") bought two visits and redeemed one. An Accounts User limited by a User
Permission to the main practice, or to one patient, reads the Liability Roll-forward, the
workspace's cards and charts, the GL reconciliation, the redemption preview, the POS item
details and the expiry extension: nothing of West, or of another patient, reaches them.
The last class makes the same reads over HTTP, through Frappe's WSGI application.
"""

import json

import frappe
from frappe.query_builder import DocType
from frappe.query_builder.functions import Sum
from frappe.utils import add_days, nowdate, set_request
from frappe.website.serve import get_response

from package_bundles import api
from package_bundles.api import dashboard
from package_bundles.package_bundles.doctype.package_balance.test_delete_transactions import (
	give_other_company_visit_defaults,
)
from package_bundles.package_bundles.doctype.package_balance.test_invoices_as_written import pay_other
from package_bundles.package_bundles.doctype.package_balance.test_package_balance_api import (
	make_api_user,
	make_portal_user,
	make_rest_fixtures,
	request,
)
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
)
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of
from package_bundles.tests.fixtures import (
	COMPANY,
	OTHER_ABBR,
	OTHER_COMPANY,
	VISIT,
	account,
	invoice_dict,
	item_details_args,
	make_invoice,
	make_package,
	make_patient,
	pay,
	row_as_the_form_shows,
)

test_ignore = IGNORED_TEST_RECORDS

READER = "pkt-limited-reader@example.com"
CARDS = (
	dashboard.deferred_liability,
	dashboard.active_balances,
	dashboard.balances_expiring_soon,
	dashboard.redemptions_this_month,
)
CHARTS = (dashboard.deferred_liability_by_month, dashboard.redemptions_by_item_group)
PERIOD = {"from_date": add_days(nowdate(), -30), "to_date": nowdate()}
WEST_DEBTORS = account("Debtors", OTHER_ABBR)


def permit(user: str, doctype: str, value: str) -> None:
	frappe.get_doc({"doctype": "User Permission", "user": user, "allow": doctype, "for_value": value}).insert(
		ignore_permissions=True
	)
	frappe.clear_cache(user=user)


def ledger_deferred_of(customer: str, company: str = COMPANY) -> float:
	Entry = DocType("Package Ledger Entry")
	return float(
		frappe.qb.from_(Entry)
		.select(Sum(Entry.deferred_change))
		.where(Entry.customer == customer)
		.where(Entry.company == company)
		.where(Entry.is_cancelled == 0)
		.run()[0][0]
		or 0
	)


class TestReadsOfALimitedUser(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.home = make_patient(f"PKT Home Reader {frappe.generate_hash(length=6)}")
		self.neighbour = make_patient(f"PKT Home Neighbour {frappe.generate_hash(length=6)}")
		self.package = make_package()
		for customer in (self.home, self.neighbour):
			pay(make_invoice([(self.package.item, 1)], customer=customer))
			make_invoice([(VISIT, 1)], customer=customer)
		[self.home_balance] = frappe.get_all("Package Balance", {"customer": self.home}, pluck="name")

		give_other_company_visit_defaults()
		self.west = make_patient(f"PKT West Reader {frappe.generate_hash(length=6)}")
		west_package = make_package(
			name=f"West Visits {frappe.generate_hash(length=6)}",
			items=[(VISIT, 2)],
			price=200,
			company=OTHER_COMPANY,
		)
		sale = make_invoice(
			[(west_package.item, 1)],
			customer=self.west,
			taxes=False,
			company=OTHER_COMPANY,
			debit_to=WEST_DEBTORS,
		)
		pay_other(sale, OTHER_ABBR)
		[self.west_balance] = balances_of(sale)
		visit = make_invoice(
			[(VISIT, 1)], customer=self.west, taxes=False, company=OTHER_COMPANY, debit_to=WEST_DEBTORS
		)
		self.assertEqual(visit.items[0].package_balance, self.west_balance.name)

		make_user(READER, ["Accounts User"])
		frappe.db.delete("User Permission", {"user": READER})
		frappe.clear_cache(user=READER)

	def limit_to_company(self):
		permit(READER, "Company", COMPANY)
		frappe.set_user(READER)

	def limit_to_customer(self):
		permit(READER, "Company", COMPANY)
		permit(READER, "Customer", self.home)
		frappe.set_user(READER)

	# --- the Liability Roll-forward ------------------------------------------------------------

	def test_roll_forward_refuses_another_company(self):
		self.limit_to_company()
		with self.assertRaises(frappe.PermissionError):
			roll_forward.execute(frappe._dict({"company": OTHER_COMPANY, **PERIOD}))
		_columns, rows, _note, _chart, summary = roll_forward.execute(
			frappe._dict({"company": COMPANY, **PERIOD})
		)
		self.assertTrue(rows)
		self.assertIn("Difference", [card["label"] for card in summary])

	def test_roll_forward_of_a_user_limited_to_one_patient(self):
		self.limit_to_customer()
		_columns, rows, note, _chart, summary = roll_forward.execute(
			frappe._dict({"company": COMPANY, **PERIOD, "group_by": "Prepaid Package"})
		)
		total = rows[-1]
		# the worked example, less the visit redeemed: 720 - 135
		self.assertEqual(total["closing"], 585)
		self.assertEqual(total["closing"], ledger_deferred_of(self.home))
		self.assertEqual(total["sold"], 720)
		self.assertEqual(total["redeemed"], -135)
		# the company's GL covers every patient: not shown
		self.assertEqual(
			[card["label"] for card in summary], ["Opening Deferred", "Net Movements", "Closing Deferred"]
		)
		self.assertEqual(note, "The figures cover the customers you are permitted to see.")

	# --- number cards and charts --------------------------------------------------------------

	def test_cards_and_charts_refuse_another_company(self):
		self.limit_to_company()
		for method in (*CARDS, *CHARTS):
			with self.subTest(method.__name__), self.assertRaises(frappe.PermissionError):
				method(json.dumps({"company": OTHER_COMPANY}))

	def test_cards_and_charts_count_only_the_permitted_patient(self):
		self.limit_to_customer()
		filters = json.dumps({"company": COMPANY})
		self.assertEqual(dashboard.deferred_liability(filters)["value"], 585)
		self.assertEqual(dashboard.active_balances(filters)["value"], 1)
		self.assertEqual(dashboard.redemptions_this_month(filters)["value"], 1)
		self.assertEqual(dashboard.balances_expiring_soon(filters)["value"], 0)
		timeline = dashboard.deferred_liability_by_month(filters)
		self.assertEqual(timeline["datasets"][0]["values"][-1], 585)
		by_group = dashboard.redemptions_by_item_group(filters)
		self.assertEqual(
			{dataset["name"]: sum(dataset["values"]) for dataset in by_group["datasets"]}, {"PKT Visits": 1}
		)

	# --- the GL reconciliation -------------------------------------------------------------------

	def test_reconciliation_refuses_another_company(self):
		self.limit_to_company()
		with self.assertRaises(frappe.PermissionError):
			package_deferred_revenue.get_reconciliation(OTHER_COMPANY)
		cards = package_deferred_revenue.get_reconciliation(COMPANY)
		self.assertIn("Difference", [card["label"] for card in cards])

	def test_reconciliation_is_empty_for_a_user_limited_to_one_patient(self):
		self.limit_to_customer()
		self.assertEqual(package_deferred_revenue.get_reconciliation(COMPANY), [])

	# --- single documents: preview, item details, extension, balances ---------------------------------

	def test_preview_redemption_refuses_another_company(self):
		frappe.set_user("Administrator")
		west_invoice = invoice_dict(self.west, OTHER_COMPANY, debit_to=WEST_DEBTORS)
		self.assertEqual(
			api.preview_redemption(json.dumps(west_invoice))[0]["package_balance"], self.west_balance.name
		)
		self.limit_to_company()
		with self.assertRaises(frappe.PermissionError):
			api.preview_redemption(json.dumps(west_invoice))
		[row] = api.preview_redemption(json.dumps(invoice_dict(self.home, COMPANY)))
		self.assertEqual(row["package_balance"], self.home_balance)

	def test_preview_redemption_refuses_another_patient(self):
		self.limit_to_customer()
		with self.assertRaises(frappe.PermissionError):
			api.preview_redemption(json.dumps(invoice_dict(self.neighbour, COMPANY)))

	def test_item_details_name_no_balance_of_another_company(self):
		west_invoice = invoice_dict(self.west, OTHER_COMPANY, debit_to=WEST_DEBTORS)
		args = json.dumps(item_details_args(west_invoice))
		self.assertEqual(
			row_as_the_form_shows(args, json.dumps(west_invoice)).get("package_balance"),
			self.west_balance.name,
		)
		self.limit_to_company()
		details = row_as_the_form_shows(args, json.dumps(west_invoice))
		# ERPNext's answer, without the patient's package
		self.assertEqual(details.get("item_code"), VISIT)
		self.assertIsNone(details.get("package_balance"))
		self.assertEqual(details.get("price_list_rate"), 150)
		self.assertFalse(details.get("is_free_item"))
		home_invoice = invoice_dict(self.home, COMPANY)
		details = row_as_the_form_shows(json.dumps(item_details_args(home_invoice)), json.dumps(home_invoice))
		self.assertEqual((details.get("package_balance"), details.get("rate")), (self.home_balance, 0))

	def test_extension_refuses_a_balance_of_another_company(self):
		frappe.get_doc("User", READER).add_roles("Package Manager")
		self.limit_to_company()
		before = frappe.db.get_value("Package Balance", self.west_balance.name, "expiry_date")
		with self.assertRaises(frappe.PermissionError):
			api.extend_expiry(self.west_balance.name, add_days(nowdate(), 400), "Goodwill")
		self.assertEqual(
			frappe.db.get_value("Package Balance", self.west_balance.name, "expiry_date"), before
		)
		self.assertFalse(frappe.db.exists("Package Balance Extension", {"parent": self.west_balance.name}))

	def test_customer_balances_leave_out_another_company(self):
		self.limit_to_company()
		self.assertEqual(api.get_customer_balances(self.west), [])
		self.assertEqual([b["name"] for b in api.get_customer_balances(self.home)], [self.home_balance])

	def test_portal_of_a_patient_of_both_practices_limited_to_one(self):
		patient = make_portal_user("pkt-portal-limited@example.com", self.west)
		home_sale = make_invoice([(self.package.item, 1)], customer=self.west)
		[home_balance] = balances_of(home_sale)
		permit(patient, "Company", COMPANY)
		request = getattr(frappe.local, "request", None)
		self.addCleanup(setattr, frappe.local, "request", request)
		frappe.set_user(patient)
		set_request(method="GET", path="/my-packages")
		html = get_response("/my-packages").get_data(as_text=True)
		frappe.set_user("Administrator")
		self.assertIn(home_balance.name, html)
		self.assertNotIn(self.west_balance.name, html)


# --- over HTTP ---------------------------------------------------------------------------------
#
# Requests run on a second database connection (test_package_balance_api.request), so this
# class commits its fixtures: the REST tests' package of the second company, sold and paid to
# a patient of its own, and a reader limited to the main company. Its cleanup cancels the sale
# and deletes the balance, as the REST tests do.

HTTP_READER = "pkt-rest-limited-reader@example.com"
HTTP_PATIENT = "PKT REST Limited Patient"


def delete_balances_of(customer: str) -> None:
	for name in frappe.get_all("Package Balance", filters={"customer": customer}, pluck="name"):
		frappe.db.delete("Package Ledger Entry", {"package_balance": name})
		frappe.db.delete("Package Redemption", {"package_balance": name})
		frappe.delete_doc(
			"Package Balance",
			name,
			force=True,
			ignore_permissions=True,
			ignore_on_trash=True,
			delete_permanently=True,
		)


class TestReadsOverHTTP(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.token = make_api_user(HTTP_READER, ["Accounts User"])
		frappe.db.delete("User Permission", {"user": HTTP_READER})
		permit(HTTP_READER, "Company", COMPANY)
		delete_balances_of(HTTP_PATIENT)  # left by an interrupted run
		make_patient(HTTP_PATIENT)
		package_item = make_rest_fixtures()
		cls.sale = make_invoice(
			[(package_item, 1)],
			customer=HTTP_PATIENT,
			company=OTHER_COMPANY,
			debit_to=WEST_DEBTORS,
			taxes=False,
		)
		pay_other(cls.sale, OTHER_ABBR)
		cls.payment = frappe.db.get_value(
			"Payment Entry Reference", {"reference_name": cls.sale.name, "docstatus": 1}, "parent"
		)
		[cls.balance] = balances_of(cls.sale)
		frappe.db.commit()
		cls.addClassCleanup(cls.cleanup)

	@classmethod
	def cleanup(cls):
		frappe.set_user("Administrator")
		frappe.db.rollback()
		for doctype, name in (("Payment Entry", cls.payment), ("Sales Invoice", cls.sale.name)):
			doc = frappe.get_doc(doctype, name)
			if doc.docstatus == 1:
				doc.cancel()
		delete_balances_of(HTTP_PATIENT)
		frappe.db.delete("User Permission", {"user": HTTP_READER})
		frappe.db.commit()

	def call(self, method: str, **data):
		return request("POST", f"/api/method/{method}", self.token, json=data)

	def test_roll_forward_report(self):
		method = "frappe.desk.query_report.run"
		report = {"report_name": "Package Liability Roll-forward", "ignore_prepared_report": 1}
		response = self.call(method, **report, filters={"company": OTHER_COMPANY})
		self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
		self.assertNotIn(self.balance.prepaid_package, response.get_data(as_text=True))
		response = self.call(method, **report, filters={"company": COMPANY})
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))

	def test_preview_redemption(self):
		invoice = invoice_dict(HTTP_PATIENT, OTHER_COMPANY, self.balance.items[0].item_code, WEST_DEBTORS)
		response = self.call("package_bundles.api.preview_redemption", doc=invoice)
		self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
		self.assertNotIn(self.balance.name, response.get_data(as_text=True))

	def test_item_details(self):
		invoice = invoice_dict(HTTP_PATIENT, OTHER_COMPANY, self.balance.items[0].item_code, WEST_DEBTORS)
		response = self.call(
			"erpnext.stock.get_item_details.get_item_details",
			args=item_details_args(invoice),
			doc=invoice,
		)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertNotIn(self.balance.name, response.get_data(as_text=True))

	def test_preview_row(self):
		invoice = invoice_dict(HTTP_PATIENT, OTHER_COMPANY, self.balance.items[0].item_code, WEST_DEBTORS)
		child_docname = invoice["items"][0]["name"]
		response = self.call("package_bundles.api.preview_row", doc=invoice, child_docname=child_docname)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertNotIn(self.balance.name, response.get_data(as_text=True))

	def test_cards_charts_and_reconciliation(self):
		for method in (
			"package_bundles.api.dashboard.deferred_liability",
			"package_bundles.api.dashboard.active_balances",
			"package_bundles.api.dashboard.balances_expiring_soon",
			"package_bundles.api.dashboard.redemptions_this_month",
			"package_bundles.api.dashboard.deferred_liability_by_month",
			"package_bundles.api.dashboard.redemptions_by_item_group",
		):
			with self.subTest(method):
				response = self.call(method, filters=json.dumps({"company": OTHER_COMPANY}))
				self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
				response = self.call(method, filters=json.dumps({"company": COMPANY}))
				self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		reconciliation = (
			"package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue"
			".get_reconciliation"
		)
		response = self.call(reconciliation, company=OTHER_COMPANY)
		self.assertEqual(response.status_code, 403, response.get_data(as_text=True))

	def test_customer_balances(self):
		response = self.call("package_bundles.api.get_customer_balances", customer=HTTP_PATIENT)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		self.assertEqual(response.json["message"], [])
