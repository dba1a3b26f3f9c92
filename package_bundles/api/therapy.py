"""Whitelisted calls of the Frappe Health therapy integration (issue 17); reached only where Health is
installed. The rules live in package_bundles.flows.therapy. Each checks permission first.

``make_package_from_therapy_plan_template`` answers at ``package_bundles.api.health`` too (the
Therapy Plan Template form calls it there).
"""

import frappe
from frappe import _

from package_bundles.flows import therapy
from package_bundles.permissions import check_company


def check_read(doctype: str, name: str) -> None:
	if not frappe.has_permission(doctype, "read", doc=name):
		frappe.throw(
			_("Not permitted to read {0} {1}").format(_(doctype), frappe.bold(name)), frappe.PermissionError
		)


@frappe.whitelist(methods=["POST"])
def make_package_from_therapy_plan_template(
	template: str, company: str, package_price: float | None = None
) -> str:
	"""A new, saved Prepaid Package of the template's sessions (each therapy type's item, as many
	units as sessions); the price given, else the template's total. Returns the package's name."""
	if not frappe.has_permission("Prepaid Package", "create"):
		frappe.throw(_("Not permitted to create a Prepaid Package"), frappe.PermissionError)
	check_read("Therapy Plan Template", template)
	check_company(company, "Prepaid Package")
	return therapy.make_package_from_template(template, company, package_price)


@frappe.whitelist()
def get_healthcare_services_to_invoice(patient: str, company: str) -> list[dict]:
	"""Health's *Get Items from Healthcare Services* (hooks override_whitelisted_methods): Health's own
	list, where a template plan the patient's package pays for lists its sessions instead."""
	check_read("Patient", patient)
	from healthcare.healthcare.utils import get_healthcare_services_to_invoice as health_services

	return therapy.services_to_invoice(patient, company, health_services(patient, company) or [])


@frappe.whitelist()
def therapy_session_billed_by_package(session: str) -> bool:
	"""Whether the session form offers Health's Sales Invoice button for a session of a template plan
	(Health offers it only for plans without a template)."""
	check_read("Therapy Session", session)
	return therapy.session_billed_by_package_plan(session)
