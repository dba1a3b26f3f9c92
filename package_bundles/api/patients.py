"""Whitelisted reads for Frappe Health's Patient (issue 17): a patient answers as its Customer.

Frappe Health is optional; on a site without it these calls refuse with HealthNotInstalledError
before reading anything.
"""

import frappe
from frappe import _

from package_bundles.api.balances import customer_balances
from package_bundles.exceptions import HealthNotInstalledError
from package_bundles.flows.patients import health_installed, patient_customer
from package_bundles.permissions import check_customer


@frappe.whitelist()
def get_patient_balances(patient: str, include_closed: bool = False) -> list[dict]:
	"""The balances of the patient's Customer with their items, as get_customer_balances returns them.

	Read permission on the Patient first (and the user's Customer User Permissions); a patient
	linked to no customer has no balances.
	"""
	if not health_installed():
		frappe.throw(
			_("Frappe Health is not installed on this site: there are no patients"), HealthNotInstalledError
		)
	if not frappe.has_permission("Patient", "read", doc=patient):
		frappe.throw(
			_("Not permitted to read patient {0}").format(frappe.bold(patient)), frappe.PermissionError
		)
	customer = patient_customer(patient)
	if not customer:
		return []
	check_customer(customer, "Package Balance")
	return customer_balances(customer, include_closed)
