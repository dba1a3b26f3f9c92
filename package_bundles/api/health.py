"""Whitelisted calls of the Frappe Health integration (issue 17); reached only where Health is installed.

Each checks permission on what it is asked about first: read on the Patient, then the app's
Company and Customer User Permissions on package reads (package_bundles.permissions).
"""

import frappe
from frappe import _

from package_bundles.exceptions import BalanceUnavailableError
from package_bundles.flows import appointments
from package_bundles.permissions import check_company_and_customer


def check_patient(patient: str) -> str | None:
	"""Refuse unless the user may read the Patient; its Customer."""
	if not frappe.has_permission("Patient", "read", doc=patient):
		frappe.throw(
			_("Not permitted to read patient {0}").format(frappe.bold(patient)), frappe.PermissionError
		)
	return frappe.db.get_value("Patient", patient, "customer")


@frappe.whitelist()
def appointment_coverage(
	patient: str,
	company: str,
	appointment_type: str | None = None,
	practitioner: str | None = None,
	appointment_date: str | None = None,
	department: str | None = None,
	service_unit: str | None = None,
	inpatient_record: str | None = None,
	appointment: str | None = None,
) -> dict:
	"""Whether a package pays for this visit, as the booking form shows it. Writes nothing.

	Returns covered, package_balance, prepaid_package, units_left_after (after this visit),
	expiry_date and item_code (the item Health bills the visit with); free_follow_up,
	fee_validity and valid_till when the visit is free under Fee Validity (no unit is used).
	``appointment``: the saved appointment, when there is one (a follow-up Health registered).
	"""
	customer = check_patient(patient)
	check_company_and_customer(company, customer, "Package Balance")
	if appointment and not frappe.db.exists("Patient Appointment", appointment):
		appointment = None
	visit = {
		"doctype": "Patient Appointment",
		"name": appointment,
		"patient": patient,
		"company": company,
		"appointment_type": appointment_type,
		"practitioner": practitioner,
		"appointment_date": appointment_date,
		"department": department,
		"service_unit": service_unit,
		"inpatient_record": inpatient_record,
	}
	return dict(appointments.coverage(visit, company))


@frappe.whitelist(methods=["POST"])
def bill_appointment_to_package(appointment: str) -> str | None:
	"""Bill a saved, uninvoiced appointment a package covers with nothing to pay (Automate
	Appointment Invoicing, a visit booked before its package); the invoice's name."""
	doc = frappe.get_doc("Patient Appointment", appointment)
	doc.check_permission("write")
	customer = check_patient(doc.patient)
	check_company_and_customer(doc.company, customer, "Package Balance")
	if not frappe.has_permission("Sales Invoice", "create"):
		frappe.throw(_("Not permitted to create Sales Invoices"), frappe.PermissionError)
	invoice = appointments.bill_covered_booking(doc, on_booking=False)
	if not invoice:
		frappe.throw(
			_("No prepaid package pays for appointment {0}").format(frappe.bold(appointment)),
			BalanceUnavailableError,
		)
	return invoice


# the Therapy Plan Template form calls it here; it lives with the therapy calls
from package_bundles.api.therapy import make_package_from_therapy_plan_template
