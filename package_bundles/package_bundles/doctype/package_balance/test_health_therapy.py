"""Frappe Health therapy plans (issue 17): a package made from a Therapy Plan Template, and the sessions
of a Therapy Plan drawing from it one by one (bench site with healthcare; skipped elsewhere)."""

import frappe
from frappe.utils import flt, nowdate

from package_bundles.exceptions import TherapyPlanBilledBySessionsError
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.tests.case import IGNORED_TEST_RECORDS, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	COMPANY,
	DEFERRED,
	call_as_request,
	gl_balance,
	make_invoice,
	pay,
	set_price,
)
from package_bundles.tests.health import HealthTestCase, make_health_patient

test_ignore = IGNORED_TEST_RECORDS

PHYSIO = "PKT Physio Session"  # therapy type, and the item Health makes for it
HYDRO = "PKT Hydrotherapy Session"
TEMPLATE = "PKT Recovery Course"
TEMPLATE_ITEM = "PKT Recovery Course Item"
RATES = {PHYSIO: 90, HYDRO: 60}
SESSIONS = {PHYSIO: 3, HYDRO: 2}  # the template: 3 x 90 + 2 x 60 = 390
PATIENT = "PKT Therapy Patient"
OTHER_PATIENT = "PKT Therapy Patient Two"

MAKE_PACKAGE = "package_bundles.api.health.make_package_from_therapy_plan_template"
GET_ITEMS = "healthcare.healthcare.utils.get_healthcare_services_to_invoice"


def make_therapy_type(name: str) -> str:
	if not frappe.db.exists("Therapy Type", name):
		frappe.get_doc(
			{
				"doctype": "Therapy Type",
				"therapy_type": name,
				"default_duration": 30,
				"is_billable": 1,
				"rate": RATES[name],
				"item_code": name,
				"item_name": name,
				"item_group": "PKT Visits",
			}
		).insert(ignore_permissions=True)
	item = frappe.db.get_value("Therapy Type", name, "item")
	set_price(item, RATES[name])  # the tests' invoices sell at the practice's price list
	return item


def make_template() -> str:
	if not frappe.db.exists("Therapy Plan Template", TEMPLATE):
		template = frappe.get_doc(
			{
				"doctype": "Therapy Plan Template",
				"plan_name": TEMPLATE,
				"item_code": TEMPLATE_ITEM,
				"item_name": TEMPLATE_ITEM,
				"item_group": "PKT Visits",
				"therapy_types": [
					{
						"therapy_type": therapy_type,
						"no_of_sessions": SESSIONS[therapy_type],
						"rate": RATES[therapy_type],
						"amount": RATES[therapy_type] * SESSIONS[therapy_type],
					}
					for therapy_type in (PHYSIO, HYDRO)
				],
			}
		)
		template.insert(ignore_permissions=True)
	set_price(frappe.db.get_value("Therapy Plan Template", TEMPLATE, "linked_item"), 390)
	return TEMPLATE


def make_plan(patient: str, template: str | None = None, sessions: dict | None = None) -> str:
	plan = frappe.new_doc("Therapy Plan")
	plan.update({"patient": patient, "company": COMPANY, "start_date": nowdate()})
	if template:
		plan.therapy_plan_template = template
		plan.set_therapy_details_from_template()
	else:
		for therapy_type, count in (sessions or SESSIONS).items():
			plan.append("therapy_plan_details", {"therapy_type": therapy_type, "no_of_sessions": count})
	plan.insert(ignore_permissions=True)
	return plan.name


_minutes = iter(range(7 * 60, 22 * 60, 35))


def hold_session(plan: str, patient: str, therapy_type: str = PHYSIO) -> str:
	"""A submitted Therapy Session, as the plan's Create > Therapy Session makes it."""
	from healthcare.healthcare.doctype.therapy_plan.therapy_plan import make_therapy_session

	session = frappe.get_doc(make_therapy_session(plan, patient, therapy_type, COMPANY))
	minutes = next(_minutes)
	session.start_date = nowdate()
	session.start_time = f"{minutes // 60:02d}:{minutes % 60:02d}:00"
	session.insert(ignore_permissions=True)
	session.submit()
	return session.name


def invoice_session(session: str):
	"""The session's Create > Sales Invoice (Health's invoice_therapy_session), saved and submitted."""
	from healthcare.healthcare.doctype.therapy_session.therapy_session import invoice_therapy_session

	invoice = invoice_therapy_session(session)
	invoice.insert(ignore_permissions=True)
	invoice.submit()
	return invoice


def invoice_services(patient: str, services: list[dict], submit: bool = True, **values):
	"""A Sales Invoice of the services *Get Items from Healthcare Services* listed, all ticked (Health's
	set_healthcare_services, as its dialog calls it), saved and submitted."""
	customer = frappe.db.get_value("Patient", patient, "customer")
	invoice = frappe.new_doc("Sales Invoice")
	invoice.update(
		{"company": COMPANY, "patient": patient, "customer": customer, "due_date": nowdate(), **values}
	)
	invoice.set_healthcare_services(
		[
			{
				"item": service["service"],
				"qty": service.get("qty"),
				"rate": service.get("rate"),
				"income_account": service.get("income_account"),
				"dt": service["reference_type"],
				"dn": service["reference_name"],
				"description": service.get("description"),
			}
			for service in services
		]
	)
	invoice.insert(ignore_permissions=True)
	if submit:
		invoice.submit()
	return invoice


def units_left(balance: str, item_code: str) -> float:
	return flt(
		frappe.db.get_value(
			"Package Balance Item", {"parent": balance, "item_code": item_code}, "qty_remaining"
		)
	)


class TestHealthTherapy(HealthTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.items = {therapy_type: make_therapy_type(therapy_type) for therapy_type in (PHYSIO, HYDRO)}
		make_template()
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		self.patient, self.customer = make_health_patient(PATIENT)

	def sell_template_package(self, customer: str | None = None, price: float | None = None):
		"""A package made from the template, sold to the customer and paid; its balance."""
		package = call_as_request(MAKE_PACKAGE, template=TEMPLATE, company=COMPANY, package_price=price)
		invoice = make_invoice(
			[(frappe.db.get_value("Prepaid Package", package, "item"), 1)],
			customer=customer or self.customer,
			taxes=False,
		)
		pay(invoice)
		return balances_of(invoice)[0]

	def assert_books_agree(self):
		self.assertEqual(invariant_problems(), [])

	# --- a package from a template -----------------------------------------------------------------

	def test_a_package_made_from_a_template_holds_its_sessions(self):
		name = call_as_request(MAKE_PACKAGE, template=TEMPLATE, company=COMPANY)
		package = frappe.get_doc("Prepaid Package", name)
		self.assertEqual(
			[(row.item_code, row.qty) for row in package.items],
			[(self.items[PHYSIO], 3), (self.items[HYDRO], 2)],
		)
		self.assertEqual(package.company, COMPANY)
		# priced as Health prices the course: the template's total
		self.assertEqual(flt(package.package_price), 390)
		self.assertEqual(flt(package.default_price), 390)
		self.assertTrue(package.item and frappe.db.exists("Item", package.item))
		self.assertNotEqual(
			package.item, frappe.db.get_value("Therapy Plan Template", TEMPLATE, "linked_item")
		)

		again = call_as_request(MAKE_PACKAGE, template=TEMPLATE, company=COMPANY, package_price=350)
		self.assertNotEqual(again, name)
		self.assertEqual(flt(frappe.db.get_value("Prepaid Package", again, "package_price")), 350)

	def test_making_a_package_from_a_template_needs_create_on_packages_and_read_on_the_template(self):
		user = make_user("pkt-therapy-sales@example.com", ["Sales User"])  # reads packages, creates none
		packages = frappe.db.count("Prepaid Package")
		frappe.set_user(user)
		with self.assertRaises(frappe.PermissionError):
			call_as_request(MAKE_PACKAGE, template=TEMPLATE, company=COMPANY)
		frappe.set_user("Administrator")
		self.assertEqual(frappe.db.count("Prepaid Package"), packages)

	# --- sessions drawing from the package ---------------------------------------------------------

	def test_sessions_of_a_plan_are_billed_and_redeemed_one_by_one(self):
		balance = self.sell_template_package()
		plan = make_plan(self.patient)
		sessions = [hold_session(plan, self.patient) for _ in range(3)]
		physio = self.items[PHYSIO]
		allocated = frappe.db.get_value(
			"Package Balance Item",
			{"parent": balance.name, "item_code": physio},
			["allocated_amount", "qty_purchased"],
			as_dict=True,
		)
		rate = flt(allocated.allocated_amount) / flt(allocated.qty_purchased)
		self.assertEqual(rate, 90)  # sold at its default price: each session carries its list price

		# Get Items from Healthcare Services lists each session with the therapy type's item
		listed = call_as_request(GET_ITEMS, patient=self.patient, company=COMPANY)
		self.assertEqual(
			sorted(
				(s["reference_name"], s["service"])
				for s in listed
				if s["reference_type"] == "Therapy Session"
			),
			sorted((session, physio) for session in sessions),
		)

		deferred = -gl_balance(DEFERRED)
		invoices = []
		for count, session in enumerate(sessions, start=1):
			invoice = invoice_session(session)
			invoices.append(invoice)
			[row] = invoice.items
			self.assertEqual((row.item_code, row.package_balance, flt(row.rate)), (physio, balance.name, 0))
			self.assertEqual(flt(invoice.grand_total), 0)
			self.assertEqual(frappe.db.get_value("Therapy Session", session, "invoiced"), 1)
			self.assertEqual(units_left(balance.name, physio), 3 - count)
			self.assertEqual(-gl_balance(DEFERRED), deferred - 90 * count)
			self.assert_books_agree()
		self.assertEqual(units_left(balance.name, self.items[HYDRO]), 2)

		# cancelling a session's invoice gives its unit back; the session can be billed again
		invoices[-1].cancel()
		self.assertEqual(units_left(balance.name, physio), 1)
		self.assertEqual(frappe.db.get_value("Therapy Session", sessions[-1], "invoiced"), 0)
		self.assertEqual(-gl_balance(DEFERRED), deferred - 180)
		self.assert_books_agree()
		again = invoice_session(sessions[-1])
		self.assertEqual(again.items[0].package_balance, balance.name)
		self.assertEqual(units_left(balance.name, physio), 0)
		self.assert_books_agree()

		# past the package, a session is charged as Health charges it
		extra = invoice_session(hold_session(plan, self.patient))
		self.assertEqual((extra.items[0].package_balance, flt(extra.items[0].rate)), (None, 90))
		self.assert_books_agree()

	def test_get_items_bills_a_plans_sessions_from_the_package(self):
		balance = self.sell_template_package()
		plan = make_plan(self.patient)
		sessions = [hold_session(plan, self.patient, HYDRO) for _ in range(2)]
		listed = call_as_request(GET_ITEMS, patient=self.patient, company=COMPANY)
		invoice = invoice_services(self.patient, [s for s in listed if s["reference_name"] in sessions])
		self.assertEqual(
			sorted(
				(row.item_code, row.reference_dn, row.package_balance, flt(row.rate)) for row in invoice.items
			),
			sorted((self.items[HYDRO], session, balance.name, 0) for session in sessions),
		)
		self.assertEqual(units_left(balance.name, self.items[HYDRO]), 0)
		self.assert_books_agree()
		invoice.cancel()
		self.assertEqual(units_left(balance.name, self.items[HYDRO]), 2)
		self.assert_books_agree()

	# --- a plan made from the template ---------------------------------------------------------------

	def test_a_template_plan_the_package_pays_for_is_billed_by_its_sessions_never_as_one_item(self):
		from healthcare.healthcare.doctype.therapy_plan.therapy_plan import make_sales_invoice

		balance = self.sell_template_package()
		plan = make_plan(self.patient, TEMPLATE)
		session = hold_session(plan, self.patient, HYDRO)

		# Health lists neither the plan (it is never submitted) nor its sessions; here its sessions
		listed = call_as_request(GET_ITEMS, patient=self.patient, company=COMPANY)
		self.assertEqual(
			[
				(s["reference_type"], s["reference_name"])
				for s in listed
				if s["reference_type"].startswith("Therapy")
			],
			[("Therapy Session", session)],
		)
		self.assertTrue(
			call_as_request("package_bundles.api.therapy.therapy_session_billed_by_package", session=session)
		)

		# the course as one item would charge the patient again for what the package paid
		whole = make_sales_invoice(plan, self.patient, COMPANY, TEMPLATE)
		whole.due_date = nowdate()
		with self.assertRaises(TherapyPlanBilledBySessionsError):
			whole.insert(ignore_permissions=True)

		invoice = invoice_session(session)
		self.assertEqual((invoice.items[0].package_balance, flt(invoice.grand_total)), (balance.name, 0))
		self.assertEqual(units_left(balance.name, self.items[HYDRO]), 1)
		self.assert_books_agree()

	def test_a_template_plan_no_package_pays_for_is_billed_as_health_bills_it(self):
		from healthcare.healthcare.doctype.therapy_plan.therapy_plan import make_sales_invoice

		patient, _customer = make_health_patient(OTHER_PATIENT)
		plan = make_plan(patient, TEMPLATE)
		session = hold_session(plan, patient)
		listed = call_as_request(GET_ITEMS, patient=patient, company=COMPANY)
		self.assertNotIn(session, [s["reference_name"] for s in listed])
		self.assertFalse(
			call_as_request("package_bundles.api.therapy.therapy_session_billed_by_package", session=session)
		)
		whole = make_sales_invoice(plan, patient, COMPANY, TEMPLATE)
		whole.due_date = nowdate()
		whole.insert(ignore_permissions=True)
		whole.submit()
		self.assertEqual(
			[(row.item_code, row.reference_dt, row.package_balance) for row in whole.items],
			[(frappe.db.get_value("Therapy Plan Template", TEMPLATE, "linked_item"), "Therapy Plan", None)],
		)
		self.assertEqual(frappe.db.get_value("Therapy Plan", plan, "invoiced"), 1)

		# a package bought after the course was invoiced whole does not pay for its sessions again
		self.sell_template_package(customer=_customer)
		listed = call_as_request(GET_ITEMS, patient=patient, company=COMPANY)
		self.assertNotIn(session, [s["reference_name"] for s in listed])
		self.assert_books_agree()

	def test_a_template_plan_one_of_whose_sessions_was_billed_alone_is_not_billed_whole_as_well(self):
		from healthcare.healthcare.doctype.therapy_plan.therapy_plan import make_sales_invoice

		patient, _customer = make_health_patient(OTHER_PATIENT)
		plan = make_plan(patient, TEMPLATE)
		alone = invoice_session(hold_session(plan, patient))  # no package: charged as Health prices it
		self.assertEqual((alone.items[0].package_balance, flt(alone.items[0].rate)), (None, 90))
		whole = make_sales_invoice(plan, patient, COMPANY, TEMPLATE)
		whole.due_date = nowdate()
		with self.assertRaises(TherapyPlanBilledBySessionsError):
			whole.insert(ignore_permissions=True)
		# its other sessions are listed one by one, as for a plan without a template
		later = hold_session(plan, patient, HYDRO)
		listed = call_as_request(GET_ITEMS, patient=patient, company=COMPANY)
		self.assertIn(
			("Therapy Session", later), [(s["reference_type"], s["reference_name"]) for s in listed]
		)
		self.assert_books_agree()
