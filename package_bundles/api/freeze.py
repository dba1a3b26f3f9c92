"""Whitelisted actions on freezes of package balances (issue 20, Freeze); permission checks first."""

import frappe
from frappe import _
from frappe.utils import getdate

from package_bundles.flows import freeze as freeze_flow
from package_bundles.permissions import check_company_and_customer


@frappe.whitelist(methods=["POST"])
def unfreeze(freeze: str, on_date: str | None = None) -> dict:
	"""End a submitted freeze early: the balance is usable again on ``on_date`` (today unless given)
	and its expiry moves back by the days given back. Who may submit a freeze may unfreeze it."""
	doc = frappe.get_doc("Package Balance Freeze", freeze)
	if not frappe.has_permission("Package Balance Freeze", "submit", doc=doc):
		frappe.throw(_("Not permitted to unfreeze {0}").format(frappe.bold(freeze)), frappe.PermissionError)
	check_company_and_customer(doc.company, doc.customer, "Package Balance Freeze")
	return freeze_flow.unfreeze_early(doc, getdate(on_date) if on_date else None)
