"""Frappe Health's Patient (issue 17): a patient's packages are its Customer's.

Frappe Health is optional: nothing here touches a Health table unless ``healthcare`` is
installed on the site, so the app runs unchanged without it.
"""

import frappe

HEALTHCARE = "healthcare"


def health_installed() -> bool:
	return HEALTHCARE in frappe.get_installed_apps()


def patient_customer(patient: str) -> str | None:
	"""The Customer a Patient is billed as (Patient.customer), None when it has none."""
	if not health_installed():
		return None
	return frappe.db.get_value("Patient", patient, "customer")


def customers_of_patient_user(user: str) -> list[str]:
	"""Customers of the Patients whose portal user is ``user`` (Patient.user_id): theirs to see."""
	if not health_installed() or not user or user == "Guest":
		return []
	patient = frappe.qb.DocType("Patient")
	return (
		frappe.qb.from_(patient)
		.select(patient.customer)
		.distinct()
		.where(patient.user_id == user)
		.where(patient.customer.isnotnull())
		.where(patient.customer != "")
		.orderby(patient.customer)
	).run(pluck=True)
