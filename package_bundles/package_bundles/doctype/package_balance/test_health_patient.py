"""Frappe Health (issue 17): a Patient answers for its Customer's packages (bench site with healthcare).

The desk (the Patient form's balances), REST (``package_bundles.api.get_patient_balances``) and the
portal (/my-packages for the Patient's own portal user) read the balances of the Customer the
Patient is linked to, after checking the Patient may be read.
"""

import frappe
from frappe.utils import set_request
from frappe.website.serve import get_response

from package_bundles import api
from package_bundles.package_bundles.doctype.package_balance.test_package_balance_api import (
	REST_ITEM,
	REST_PACKAGE,
	balance_of,
	buy,
	make_api_user,
	make_portal_user,
	make_rest_fixtures,
	request,
)
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.tests.fixtures import (
	COMPANY,
	OTHER_ABBR,
	OTHER_COMPANY,
	OTHER_CUSTOMER,
	VISIT,
	VISIT_INCOME,
	account,
	call_as_request,
	make_invoice,
	make_package,
)
from package_bundles.tests.health import (
	APPOINTMENT_TYPE,
	MEDICAL_DEPARTMENT,
	PRACTITIONER,
	HealthTestCase,
	make_health_patient,
	set_health_settings,
)

PATIENT_NAME = "PKT Health Patient"


def permit(user: str, doctype: str, value: str) -> None:
	frappe.get_doc(
		{
			"doctype": "User Permission",
			"user": user,
			"allow": doctype,
			"for_value": value,
			"apply_to_all_doctypes": 1,
		}
	).insert(ignore_permissions=True)


class TestHealthPractice(HealthTestCase):
	def test_practice_bills_the_visit_the_package_covers(self):
		from healthcare.healthcare.doctype.appointment_type.appointment_type import get_billing_details
		from healthcare.healthcare.doctype.healthcare_settings.healthcare_settings import get_income_account

		practitioner = frappe.get_doc("Healthcare Practitioner", PRACTITIONER)
		self.assertEqual(practitioner.op_consulting_charge_item, VISIT)
		self.assertEqual(practitioner.department, MEDICAL_DEPARTMENT)
		self.assertEqual(get_income_account(PRACTITIONER, COMPANY), VISIT_INCOME)
		self.assertEqual(get_billing_details(APPOINTMENT_TYPE).op_consulting_charge_item, VISIT)

	def test_patient_is_linked_to_a_customer_of_its_name(self):
		patient, customer = make_health_patient("PKT Health Fixture")
		self.assertEqual(customer, "PKT Health Fixture")
		self.assertEqual(frappe.db.get_value("Patient", patient, "customer"), customer)
		self.assertEqual(make_health_patient("PKT Health Fixture"), (patient, customer))


class TestPatientBalances(HealthTestCase):
	def setUp(self):
		super().setUp()
		self.patient, self.customer = make_health_patient(PATIENT_NAME)
		self.package = make_package()

	def test_a_patient_answers_as_its_customer(self):
		active = balance_of(buy(self.package, customer=self.customer))
		awaiting = balance_of(buy(self.package, customer=self.customer, paid=False))
		buy(self.package, customer=OTHER_CUSTOMER)

		balances = api.get_patient_balances(self.patient)

		self.assertEqual(balances, api.get_customer_balances(self.customer))
		self.assertEqual(sorted(b.name for b in balances), sorted([active, awaiting]))
		by_name = {b.name: b for b in balances}
		self.assertEqual(by_name[active].status, "Active")
		self.assertEqual(by_name[awaiting].status, "Awaiting Payment")
		self.assertEqual(
			[(i.item_code, i.qty_remaining) for i in by_name[active]["items"]],
			[(row.item_code, row.qty) for row in self.package.items],
		)
		# the dotted path the Patient form calls answers the same, through the hooks
		self.assertEqual(
			call_as_request("package_bundles.api.get_patient_balances", patient=self.patient), balances
		)

	def test_a_visit_redeemed_shows_on_the_patient(self):
		balance = balance_of(buy(self.package, customer=self.customer))
		make_invoice([(VISIT, 1)], customer=self.customer, patient=self.patient)

		[shown] = api.get_patient_balances(self.patient)

		self.assertEqual(shown.name, balance)
		self.assertEqual({i.item_code: i.qty_remaining for i in shown["items"]}[VISIT], 3)

	def test_a_patient_linked_to_no_customer_has_no_balances(self):
		set_health_settings(link_customer_to_patient=0)
		patient = frappe.get_doc(
			{"doctype": "Patient", "first_name": "PKT Unbilled", "sex": "Female", "invite_user": 0}
		).insert(ignore_permissions=True)
		self.assertFalse(patient.customer)

		self.assertEqual(api.get_patient_balances(patient.name), [])

	def test_a_user_who_may_not_read_the_patient_is_refused(self):
		buy(self.package, customer=self.customer)
		user = make_user("pkt-health-accounts@example.com", ["Accounts User"])  # reads balances, not patients
		frappe.set_user(user)

		with self.assertRaises(frappe.PermissionError):
			api.get_patient_balances(self.patient)

	def test_a_physician_who_reads_packages_sees_the_patients(self):
		balance = balance_of(buy(self.package, customer=self.customer))
		user = make_user("pkt-health-physician@example.com", ["Physician", "Sales User"])
		frappe.set_user(user)

		self.assertEqual([b.name for b in api.get_patient_balances(self.patient)], [balance])

	def test_a_physician_limited_to_another_customer_is_refused(self):
		buy(self.package, customer=self.customer)
		user = make_user("pkt-health-limited@example.com", ["Physician", "Sales User"])
		permit(user, "Customer", OTHER_CUSTOMER)
		frappe.set_user(user)

		with self.assertRaises(frappe.PermissionError):
			api.get_patient_balances(self.patient)

	def test_the_patient_form_loads_the_balances_script(self):
		scripts = frappe.get_hooks("doctype_js", app_name="package_bundles")["Patient"]
		self.assertEqual(scripts, ["public/js/package_balances.js", "public/js/patient.js"])
		for script in scripts:
			source = open(frappe.get_app_path("package_bundles", script)).read()
			self.assertTrue(source)
		patient_js = open(frappe.get_app_path("package_bundles", "public/js/patient.js")).read()
		self.assertIn('frappe.new_doc("Sales Invoice", { customer, patient })', patient_js)
		self.assertIn("package_bundles.get_patient_balances(patient)", patient_js)
		# the form reads with a GET
		self.assertIn("GET", frappe.allowed_http_methods_for_whitelisted_func[api.get_patient_balances])


class TestPatientPortal(HealthTestCase):
	def setUp(self):
		super().setUp()
		request = getattr(frappe.local, "request", None)
		self.addCleanup(setattr, frappe.local, "request", request)
		self.patient, self.customer = make_health_patient(PATIENT_NAME)
		self.package = make_package()

	def render(self, user: str) -> str:
		frappe.set_user(user)
		set_request(method="GET", path="/my-packages")
		response = get_response("/my-packages")
		frappe.set_user("Administrator")
		self.assertEqual(response.status_code, 200)
		return response.get_data(as_text=True)

	def patient_user(self, email: str, patient: str) -> str:
		"""A website user with Health's Patient role who is the Patient's own user (Patient > User)."""
		make_user(email, ["Patient"])
		frappe.db.set_value("User", email, "user_type", "Website User")
		frappe.db.set_value("Patient", patient, "user_id", email)
		return email

	def test_the_patients_own_user_sees_the_customers_balances(self):
		own = balance_of(buy(self.package, customer=self.customer))
		others = balance_of(buy(self.package, customer=OTHER_CUSTOMER))
		make_invoice([(VISIT, 1)], customer=self.customer, patient=self.patient)
		user = self.patient_user("pkt-health-portal@example.com", self.patient)

		html = self.render(user)

		self.assertIn(own, html)
		self.assertNotIn(others, html)
		cells = html.split('<td class="text-right remaining">')[1:]
		self.assertEqual([cell.split("<", 1)[0].strip() for cell in cells], ["3", "1", "2"])

	def test_a_portal_user_of_the_patients_customer_sees_them_too(self):
		own = balance_of(buy(self.package, customer=self.customer))
		user = make_portal_user("pkt-health-family@example.com", self.customer)

		self.assertIn(own, self.render(user))

	def test_another_patients_user_sees_none_of_them(self):
		own = balance_of(buy(self.package, customer=self.customer))
		other_patient, _customer = make_health_patient("PKT Health Other")
		user = self.patient_user("pkt-health-other@example.com", other_patient)

		html = self.render(user)

		self.assertNotIn(own, html)
		self.assertIn("You have no prepaid packages.", html)


# --- REST: requests through Frappe's WSGI app, on a connection of their own (committed fixtures) ---

REST_PATIENT = "PKT REST Health Patient"


def delete_balances_of(customer: str):
	from package_bundles.flows.catalog import clear_catalog_cache

	for name in frappe.get_all("Package Balance", filters={"customer": customer}, pluck="name"):
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


class TestPatientBalancesOverRest(HealthTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.physician_token = make_api_user("pkt-rest-physician@example.com", ["Physician", "Sales User"])
		cls.accounts_token = make_api_user("pkt-rest-accounts@example.com", ["Accounts User"])
		cls.patient, cls.customer = make_health_patient(REST_PATIENT)
		delete_balances_of(cls.customer)  # left by an interrupted run
		package_item = make_rest_fixtures()
		cls.sale = make_invoice(
			[(package_item, 1)],
			customer=cls.customer,
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
		delete_balances_of(cls.customer)
		frappe.db.commit()

	def test_a_physician_reads_the_patients_balances(self):
		response = request(
			"GET",
			"/api/method/package_bundles.api.get_patient_balances",
			self.physician_token,
			query_string={"patient": self.patient},
		)

		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))
		[balance] = response.json["message"]
		self.assertEqual(
			(balance["name"], balance["customer"], balance["prepaid_package"]),
			(self.balance, self.customer, REST_PACKAGE),
		)
		self.assertEqual([(i["item_code"], i["qty_remaining"]) for i in balance["items"]], [(REST_ITEM, 3)])

	def test_a_user_who_may_not_read_patients_is_refused(self):
		response = request(
			"GET",
			"/api/method/package_bundles.api.get_patient_balances",
			self.accounts_token,
			query_string={"patient": self.patient},
		)

		self.assertEqual(response.status_code, 403, response.get_data(as_text=True))
		self.assertNotIn(self.balance, response.get_data(as_text=True))
