"""Frappe Health (issue 17): a Patient answers for its Customer's packages (bench site with healthcare)."""

import frappe

from package_bundles.tests.fixtures import COMPANY, VISIT, VISIT_INCOME
from package_bundles.tests.health import (
	APPOINTMENT_TYPE,
	MEDICAL_DEPARTMENT,
	PRACTITIONER,
	HealthTestCase,
	make_health_patient,
)


class TestHealthPractice(HealthTestCase):
	def test_practice_bills_the_visit_the_package_covers(self):
		practitioner = frappe.get_doc("Healthcare Practitioner", PRACTITIONER)
		self.assertEqual(practitioner.op_consulting_charge_item, VISIT)
		self.assertEqual(practitioner.department, MEDICAL_DEPARTMENT)
		from healthcare.healthcare.doctype.healthcare_settings.healthcare_settings import get_income_account

		self.assertEqual(get_income_account(PRACTITIONER, COMPANY), VISIT_INCOME)
		from healthcare.healthcare.doctype.appointment_type.appointment_type import get_billing_details

		self.assertEqual(get_billing_details(APPOINTMENT_TYPE).op_consulting_charge_item, VISIT)

	def test_patient_is_linked_to_a_customer_of_its_name(self):
		patient, customer = make_health_patient("PKT Health Fixture")
		self.assertEqual(customer, "PKT Health Fixture")
		self.assertEqual(frappe.db.get_value("Patient", patient, "customer"), customer)
		self.assertEqual(make_health_patient("PKT Health Fixture"), (patient, customer))
