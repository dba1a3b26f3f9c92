"""Test support for the Frappe Health integration (issue 17): a small Health practice on the test company.

Bench tests of the integration are named ``test_health_*.py`` and derive from ``HealthTestCase``;
on a site without the ``healthcare`` app the whole class is skipped (the test command runs them
on a site with Health as its health tier). Nothing here is imported by product code.

The practice: one Medical Department, one Healthcare Practitioner whose outpatient consulting is
billed with ``fixtures.VISIT`` (the item the Postpartum Care package covers) and whose income goes
to ``fixtures.VISIT_INCOME``, one Appointment Type billed with the same item, and Patients each
linked to a Customer of their own name.
"""

import unittest

import frappe

from package_bundles.tests.case import PackageTestCase
from package_bundles.tests.fixtures import (
	COMPANY,
	PRICE_LIST,
	VISIT,
	VISIT_INCOME,
	get_or_make,
	make_practice,
)

MEDICAL_DEPARTMENT = "PKT General Practice"
PRACTITIONER = "PKT Dr Ada Quill"  # Health names a practitioner by first and last name
APPOINTMENT_TYPE = "PKT Office Visit Appointment"
VISIT_CHARGE = 150  # the practitioner's and the appointment type's charge: VISIT's list price
HEALTH_PATIENT = "PKT Health Patient"


def health_installed() -> bool:
	return "healthcare" in frappe.get_installed_apps()


class HealthTestCase(PackageTestCase):
	"""A PackageTestCase on a site with Frappe Health: the Health practice is built and committed once."""

	@classmethod
	def setUpClass(cls):
		if not health_installed():
			raise unittest.SkipTest("Frappe Health (healthcare) is not installed on this site")
		super().setUpClass()
		make_health_practice()
		frappe.db.commit()


def make_health_practice():
	"""Idempotent: department, practitioner, appointment type and the settings they need."""
	make_practice()
	if frappe.flags.package_health_practice_ready:
		return
	set_health_settings(collect_registration_fee=0, link_customer_to_patient=1)
	make_medical_department()
	make_practitioner()
	make_appointment_type()
	frappe.flags.package_health_practice_ready = True


def set_health_settings(**values):
	"""Set Healthcare Settings fields directly (no validation), as Health's own tests do."""
	for field, value in values.items():
		frappe.db.set_single_value("Healthcare Settings", field, value)


def make_medical_department() -> str:
	return get_or_make("Medical Department", MEDICAL_DEPARTMENT, {"department": MEDICAL_DEPARTMENT}).name


def make_practitioner() -> str:
	if frappe.db.exists("Healthcare Practitioner", PRACTITIONER):
		return PRACTITIONER
	first_name, last_name = PRACTITIONER.rsplit(" ", 1)
	practitioner = frappe.get_doc(
		{
			"doctype": "Healthcare Practitioner",
			"first_name": first_name,
			"last_name": last_name,
			"practitioner_name": PRACTITIONER,  # Health names the practitioner from it before validate
			"gender": "Female",
			"department": MEDICAL_DEPARTMENT,
			"op_consulting_charge_item": VISIT,
			"op_consulting_charge": VISIT_CHARGE,
			"accounts": [{"company": COMPANY, "account": VISIT_INCOME}],
		}
	)
	practitioner.insert(ignore_permissions=True)
	assert practitioner.name == PRACTITIONER, practitioner.name
	return practitioner.name


def make_appointment_type() -> str:
	return get_or_make(
		"Appointment Type",
		APPOINTMENT_TYPE,
		{
			"appointment_type": APPOINTMENT_TYPE,
			"allow_booking_for": "Practitioner",
			"default_duration": 20,
			"price_list": PRICE_LIST,
			"items": [{"op_consulting_charge_item": VISIT, "op_consulting_charge": VISIT_CHARGE}],
		},
	).name


def make_health_patient(name: str = HEALTH_PATIENT) -> tuple[str, str]:
	"""A Patient linked to a Customer both called ``name``: returns (patient, customer).

	The Customer is made first (or reused) so its name is ``name`` whatever Health's settings say;
	the Patient is found by its customer, so calling again returns the same pair.
	"""
	customer = get_or_make(
		"Customer",
		name,
		{
			"customer_name": name,
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}) or "All Customer Groups",
			"territory": frappe.db.get_value("Territory", {"is_group": 0}) or "All Territories",
			"default_price_list": PRICE_LIST,
		},
	).name
	patient = frappe.db.get_value("Patient", {"customer": customer}, "name", order_by="creation asc")
	if patient:
		return patient, customer
	first_name, _sep, last_name = name.partition(" ")
	doc = frappe.get_doc(
		{
			"doctype": "Patient",
			"first_name": first_name,
			"last_name": last_name or None,
			"sex": "Female",
			"customer": customer,
			"default_price_list": PRICE_LIST,
			"invite_user": 0,
		}
	)
	doc.insert(ignore_permissions=True)
	return doc.name, customer
