"""Whitelisted help for trading a balance up (issue 20, Upgrade); permission checks first.

The upgrade itself is the Sales Invoice that sells the new package (flows/upgrade.py); this only
tells the balance form what to put on a new one.
"""

import frappe
from frappe import _

from package_bundles.exceptions import UpgradeCreditRowError
from package_bundles.permissions import check_company_and_customer
from package_bundles.setup.install import make_upgrade_credit_item


@frappe.whitelist(methods=["POST"])
def prepare_upgrade(balance: str) -> dict:
	"""The customer, company and credit row of a new Sales Invoice trading this balance up.

	Makes the item *Package Upgrade Credit* on a site that does not have it yet."""
	if not frappe.has_permission("Sales Invoice", "create"):
		frappe.throw(_("Not permitted to create a Sales Invoice"), frappe.PermissionError)
	doc = frappe.get_doc("Package Balance", balance)
	doc.check_permission("read")
	check_company_and_customer(doc.company, doc.customer, "Package Balance")
	item = make_upgrade_credit_item()
	if not item:
		frappe.throw(
			_("Finish the setup wizard first: the upgrade credit item needs the item group Packages"),
			UpgradeCreditRowError,
		)
	return {"balance": doc.name, "customer": doc.customer, "company": doc.company, "item_code": item}
