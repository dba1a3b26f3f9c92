"""Committed data the browser tests drive the desk and the POS page against (scripts/run-tests).

Run on a test site only: ``bench --site <site> execute package_bundles.tests.browser_fixtures.make_pos_scene``.
Idempotent: a till with an open shift for Administrator, and a patient whose paid package still
covers a visit. For the desk's Cancel (browser_tests/test_desk_cancel.py), a second patient with a
submitted POS Invoice that redeemed a visit and a submitted Package Opening Import: made again
whenever a run cancelled them.
"""

import frappe
from frappe.utils import add_days, nowdate

from package_bundles.tests.fixtures import (
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
CANCEL_PATIENT = "PKT Browser Cancel Patient"


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
	opening = open_till()
	cancel_scene = make_cancel_scene(package, opening)
	frappe.db.commit()
	return {
		"customer": patient,
		"item_code": VISIT,
		"visits_left": covered_visits(patient),
		**cancel_scene,
	}


def make_cancel_scene(package, opening) -> dict:
	"""A redeemed POS Invoice and an opening import, submitted, for the browser to cancel from their forms."""
	patient = make_patient(CANCEL_PATIENT)
	if covered_visits(patient) < 1:
		sell_and_pay(patient, package)
	pos_invoice = frappe.db.get_value(
		"POS Invoice",
		{"customer": patient, "docstatus": 1, "consolidated_invoice": ("is", "not set")},
		"name",
	) or redeem_at_the_till(patient, opening)
	opening_import = frappe.db.get_value(
		"Package Opening Import Line",
		{"customer": patient, "parenttype": "Package Opening Import", "docstatus": 1},
		"parent",
	) or import_opening(patient, package)
	return {"pos_invoice_to_cancel": pos_invoice, "opening_import_to_cancel": opening_import}


def redeem_at_the_till(customer: str, opening) -> str:
	"""A visit at the till, covered by the package: nothing to pay."""
	invoice = frappe.get_doc(
		{
			"doctype": "POS Invoice",
			"company": POS_COMPANY,
			"customer": customer,
			"pos_profile": opening.pos_profile,
			"is_pos": 1,
			"update_stock": 1,
			"selling_price_list": PRICE_LIST,
			"currency": "USD",
			"debit_to": account("Debtors", POS_ABBR),
			"posting_date": nowdate(),
			"items": [{"item_code": VISIT, "qty": 1}],
		}
	)
	invoice.set_missing_values()
	invoice.save()  # the app plans the redemption here, as on the POS page's Checkout
	due = invoice.rounded_total or invoice.grand_total
	invoice.payments = []
	invoice.append(
		"payments", {"mode_of_payment": "Cash", "account": account("Cash", POS_ABBR), "amount": due}
	)
	invoice.paid_amount = invoice.base_paid_amount = due
	invoice.submit()
	return invoice.name


def import_opening(customer: str, package) -> str:
	opening = frappe.get_doc(
		{
			"doctype": "Package Opening Import",
			"company": POS_COMPANY,
			"posting_date": nowdate(),
			"lines": [
				{
					"customer": customer,
					"prepaid_package": package.name,
					"original_reference": f"BROWSER-{frappe.generate_hash(length=8)}",
					"purchase_date": add_days(nowdate(), -30),
					"item_code": VISIT,
					"units_left": 2,
					"value_left": 200,
				}
			],
		}
	).insert(ignore_permissions=True)
	opening.submit()
	return opening.name


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
	from package_bundles.flows.redeem import load_holdings

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
