"""Frappe Health (issue 17): an invoice built with *Get Items from Healthcare Services* redeems like any
invoice (appointments, lab tests, clinical procedures); the GL, the ledger and the Package Deferred
Revenue report agree; Health still marks what it billed invoiced; cancelling gives the units back
(bench site with healthcare; skipped elsewhere)."""

import frappe
from frappe.utils import flt, nowdate

from package_bundles.package_bundles.doctype.package_balance.test_health_booking import (
	HealthBookingCase,
	book,
	units_left,
)
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
)
from package_bundles.tests.case import IGNORED_TEST_RECORDS, balances_of, deferred_liability
from package_bundles.tests.fixtures import (
	COMPANY,
	DEBTORS,
	DEFERRED,
	EXEMPT_TEMPLATE,
	LAB,
	LAB_INCOME,
	PRICE_LIST,
	VISIT,
	VISIT_INCOME,
	gl_balance,
	make_invoice,
	make_item,
	make_package,
	pay,
)
from package_bundles.tests.health import MEDICAL_DEPARTMENT, PRACTITIONER, VISIT_CHARGE

test_ignore = IGNORED_TEST_RECORDS

PROCEDURE = "PKT Minor Procedure Visit"
PROCEDURE_RATE = 200
PROCEDURE_TEMPLATE = "PKT Billing Minor Procedure"
LAB_TEMPLATE = "PKT Billing Lab Panel"
PACKAGE = "PKT Health Care Course"
LAB_RATE = 60


def make_billing_templates():
	"""A lab test template and a clinical procedure template billed with items packages cover."""
	make_item(PROCEDURE, "PKT Visits", PROCEDURE_RATE, VISIT_INCOME, EXEMPT_TEMPLATE, is_stock_item=0)
	if not frappe.db.exists("Lab Test Template", LAB_TEMPLATE):
		frappe.get_doc(
			{
				"doctype": "Lab Test Template",
				"lab_test_name": LAB_TEMPLATE,
				"lab_test_code": LAB_TEMPLATE,
				"lab_test_group": frappe.db.get_value("Item", LAB, "item_group"),
				"department": MEDICAL_DEPARTMENT,
				"lab_test_template_type": "No Result",
				"is_billable": 1,
				"link_existing_item": 1,
				"item": LAB,
				"lab_test_rate": LAB_RATE,
			}
		).insert(ignore_permissions=True)
	if not frappe.db.exists("Clinical Procedure Template", PROCEDURE_TEMPLATE):
		frappe.get_doc(
			{
				"doctype": "Clinical Procedure Template",
				"template": PROCEDURE_TEMPLATE,
				"item_code": PROCEDURE,
				"item_group": frappe.db.get_value("Item", PROCEDURE, "item_group"),
				"description": PROCEDURE_TEMPLATE,
				"is_billable": 1,
				"link_existing_item": 1,
				"item": PROCEDURE,
				"rate": PROCEDURE_RATE,
			}
		).insert(ignore_permissions=True)


def sell_course(customer: str, visits: int = 2, labs: int = 1, procedures: int = 1):
	items = [(code, qty) for code, qty in ((VISIT, visits), (LAB, labs), (PROCEDURE, procedures)) if qty]
	package = make_package(PACKAGE, items=items, price=400)
	invoice = make_invoice([(package.item, 1)], customer=customer)
	pay(invoice)
	return balances_of(invoice)[0]


def lab_test(patient: str) -> str:
	test = frappe.get_doc(
		{
			"doctype": "Lab Test",
			"template": LAB_TEMPLATE,
			"patient": patient,
			"patient_sex": "Female",
			"company": COMPANY,
			"practitioner": PRACTITIONER,
		}
	)
	test.insert(ignore_permissions=True)
	test.submit()
	return test.name


def clinical_procedure(patient: str) -> str:
	procedure = frappe.get_doc(
		{
			"doctype": "Clinical Procedure",
			"procedure_template": PROCEDURE_TEMPLATE,
			"patient": patient,
			"practitioner": PRACTITIONER,
			"company": COMPANY,
			"start_date": nowdate(),
		}
	)
	procedure.insert(ignore_permissions=True)
	procedure.submit()
	return procedure.name


def invoice_healthcare_services(patient: str, customer: str, submit: bool = True):
	"""The desk's *Get Items from Healthcare Services*: Health lists what the patient owes for and
	its Sales Invoice method adds the checked services as rows; then the invoice is saved. The
	list comes from the method the desk calls, whatever app overrides it."""
	method = "healthcare.healthcare.utils.get_healthcare_services_to_invoice"
	method = (frappe.get_hooks("override_whitelisted_methods").get(method) or [method])[-1]
	services = frappe.get_attr(method)(patient=patient, company=COMPANY)
	checked = [
		{
			"item": service["service"],
			"dt": service["reference_type"],
			"dn": service["reference_name"],
			"rate": service.get("rate") or False,
			"income_account": service.get("income_account") or False,
			"qty": service.get("qty") or False,
			"description": service.get("description") or False,
		}
		for service in services
	]
	invoice = frappe.new_doc("Sales Invoice")
	invoice.update(
		{
			"patient": patient,
			"customer": customer,
			"company": COMPANY,
			"selling_price_list": PRICE_LIST,
			"debit_to": DEBTORS,
			"posting_date": nowdate(),
			"due_date": nowdate(),
		}
	)
	invoice.set_healthcare_services(checked)
	invoice.insert(ignore_permissions=True)
	if submit:
		invoice.submit()
	return invoice


class TestGetItemsFromHealthcareServices(HealthBookingCase):
	def setUp(self):
		super().setUp()
		make_billing_templates()

	def assert_report_agrees_with_gl(self):
		totals = get_totals(COMPANY)
		self.assertEqual(round(totals["deferred"], 2), deferred_liability(COMPANY, DEFERRED))
		self.assertFalse(totals["difference"])
		self.assert_books_agree()

	def test_appointment_lab_test_and_procedure_redeem_and_health_marks_them_invoiced(self):
		balance = sell_course(self.customer)
		appointment = book(self.patient).name
		test = lab_test(self.patient)
		procedure = clinical_procedure(self.patient)
		deferred_before = deferred_liability(COMPANY, DEFERRED)
		visit_income_before = gl_balance(VISIT_INCOME)

		invoice = invoice_healthcare_services(self.patient, self.customer)

		rows = {row.reference_dn: row for row in invoice.items}
		self.assertEqual(set(rows), {appointment, test, procedure})
		for reference, item_code in ((appointment, VISIT), (test, LAB), (procedure, PROCEDURE)):
			self.assertEqual(rows[reference].item_code, item_code)
			self.assertEqual(rows[reference].package_balance, balance.name, reference)
			self.assertEqual(flt(rows[reference].rate), 0)
		self.assertEqual(flt(invoice.grand_total), 0)
		self.assertEqual(frappe.db.get_value("Patient Appointment", appointment, "invoiced"), 1)
		self.assertEqual(frappe.db.get_value("Lab Test", test, "invoiced"), 1)
		self.assertEqual(frappe.db.get_value("Clinical Procedure", procedure, "invoiced"), 1)
		self.assertEqual(
			{code: units_left(balance.name, code) for code in (VISIT, LAB, PROCEDURE)},
			{VISIT: 1, LAB: 0, PROCEDURE: 0},
		)
		logs = frappe.get_all(
			"Package Redemption",
			filters={"sales_invoice": invoice.name, "status": "Redeemed"},
			fields=["item_code", "amount"],
		)
		self.assertEqual(len(logs), 3)
		# what the redemptions moved out of the liability is what the GL shows leaving it
		redeemed = round(sum(flt(log.amount) for log in logs), 2)
		self.assertGreater(redeemed, 0)
		self.assertEqual(round(deferred_before - deferred_liability(COMPANY, DEFERRED), 2), redeemed)
		self.assertGreater(round(visit_income_before - gl_balance(VISIT_INCOME), 2), 0)
		self.assert_report_agrees_with_gl()

		invoice.reload()
		invoice.cancel()
		self.assertEqual(
			{code: units_left(balance.name, code) for code in (VISIT, LAB, PROCEDURE)},
			{VISIT: 2, LAB: 1, PROCEDURE: 1},
		)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), deferred_before)
		self.assertEqual(frappe.db.get_value("Patient Appointment", appointment, "invoiced"), 0)
		self.assertEqual(frappe.db.get_value("Lab Test", test, "invoiced"), 0)
		self.assertEqual(frappe.db.get_value("Clinical Procedure", procedure, "invoiced"), 0)
		self.assert_report_agrees_with_gl()

	def test_what_the_package_does_not_cover_is_charged_on_the_same_invoice(self):
		balance = sell_course(self.customer, visits=1, labs=0, procedures=0)
		first, second = book(self.patient).name, book(self.patient).name
		test = lab_test(self.patient)

		invoice = invoice_healthcare_services(self.patient, self.customer)

		rows = {row.reference_dn: row for row in invoice.items}
		redeemed = [ref for ref, row in rows.items() if row.package_balance]
		self.assertEqual(len(redeemed), 1)
		self.assertIn(redeemed[0], (first, second))
		self.assertFalse(rows[test].package_balance)
		self.assertEqual(flt(invoice.grand_total), VISIT_CHARGE + LAB_RATE)
		self.assertEqual(units_left(balance.name), 0)
		for appointment in (first, second):
			self.assertEqual(frappe.db.get_value("Patient Appointment", appointment, "invoiced"), 1)
		self.assert_report_agrees_with_gl()

	def test_a_draft_saved_then_submitted_keeps_its_redemption(self):
		balance = sell_course(self.customer)
		appointment = book(self.patient).name
		invoice = invoice_healthcare_services(self.patient, self.customer, submit=False)
		self.assertEqual(invoice.items[0].package_balance, balance.name)

		draft = frappe.get_doc("Sales Invoice", invoice.name)
		draft.submit()

		self.assertEqual(draft.items[0].package_balance, balance.name)
		self.assertEqual(frappe.db.get_value("Patient Appointment", appointment, "invoiced"), 1)
		self.assertEqual(units_left(balance.name), 1)
		self.assert_report_agrees_with_gl()
