"""Committed data the browser tests drive the desk and the POS page against (scripts/run-tests).

Run on a test site only: ``bench --site <site> execute package_bundles.browser_fixtures.make_pos_scene``.
Idempotent: a till with an open shift for Administrator, and a patient whose paid package still
covers a visit.
"""

import frappe
from frappe.utils import nowdate

from package_bundles.test_fixtures import (
	POS_ABBR,
	POS_COMPANY,
	PRICE_LIST,
	VISIT,
	account,
	make_patient,
	make_practice,
	make_till,
	open_till,
)

PATIENT = "PKT Browser Patient"
PACKAGE = "Browser Visits"


def make_pos_scene() -> dict:
	if not frappe.conf.get("allow_tests"):
		frappe.throw("The browser scene is made on test sites only (allow_tests)")
	frappe.set_user("Administrator")
	make_practice()
	make_till()
	patient = make_patient(PATIENT)
	package = ensure_package()
	if not covered_visits(patient):
		sell_and_pay(patient, package)
	open_till()
	frappe.db.commit()
	return {"customer": patient, "item_code": VISIT, "visits_left": covered_visits(patient)}


def ensure_package():
	if frappe.db.exists("Prepaid Package", PACKAGE):
		return frappe.get_doc("Prepaid Package", PACKAGE)
	return frappe.get_doc(
		{
			"doctype": "Prepaid Package",
			"package_name": PACKAGE,
			"company": POS_COMPANY,
			"selling_price_list": PRICE_LIST,
			"package_price": 1000,
			"items": [{"item_code": VISIT, "qty": 10}],
		}
	).insert(ignore_permissions=True)


def covered_visits(customer: str) -> float:
	from package_bundles.redemption import load_holdings

	return sum(
		holding.qty_remaining
		for holding in load_holdings(customer, POS_COMPANY, {VISIT})
		if holding.status == "Active"
	)


def sell_and_pay(customer: str, package) -> None:
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	invoice = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"company": POS_COMPANY,
			"customer": customer,
			"selling_price_list": PRICE_LIST,
			"currency": "USD",
			"debit_to": account("Debtors", POS_ABBR),
			"posting_date": nowdate(),
			"items": [{"item_code": package.item, "qty": 1}],
		}
	).insert(ignore_permissions=True)
	invoice.submit()
	payment = get_payment_entry("Sales Invoice", invoice.name, bank_account=account("Cash", POS_ABBR))
	payment.reference_no = f"PKT-{invoice.name}"
	payment.reference_date = invoice.posting_date
	payment.insert(ignore_permissions=True)
	payment.submit()
