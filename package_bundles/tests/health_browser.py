"""Committed data browser_tests/test_health_booking.py books against, on a site with Frappe Health.

Run on a test site only (allow_tests), by the browser test itself (a whitelisted call as
Administrator) or by hand:
``bench --site <health site> execute package_bundles.tests.health_browser.make_booking_scene``.
Idempotent: the Health practice, a patient whose paid package still covers a visit, Automate
Appointment Invoicing and free follow-ups off (the form's headline is all the test looks at),
and none of the patient's earlier uninvoiced bookings (each run books one).

The package is sold and paid in a company of its own (DESK_COMPANY): this data is committed,
and the bench tests that run on the same site assert the test company's figures.
"""

import frappe

from package_bundles.tests.case import balances_of
from package_bundles.tests.fixtures import (
	LAB,
	VISIT,
	account,
	make_accounts,
	make_company,
	make_invoice,
	make_package,
	set_company_defaults,
)
from package_bundles.tests.health import (
	APPOINTMENT_TYPE,
	MEDICAL_DEPARTMENT,
	PRACTITIONER,
	health_installed,
	make_health_patient,
	make_health_practice,
	set_health_settings,
)

PATIENT = "PKT Browser Health Patient"
PACKAGE = "PKT Health Desk Visits"
DESK_COMPANY = "Package Practice Health Desk"
DESK_ABBR = "PKHD"


@frappe.whitelist()
def make_booking_scene() -> dict:
	if not frappe.conf.get("allow_tests"):
		frappe.throw("The browser scene is made on test sites only (allow_tests)")
	frappe.only_for("System Manager")
	if not health_installed():
		frappe.throw("The booking scene needs Frappe Health (healthcare) on the site")
	frappe.set_user("Administrator")
	make_health_practice()
	make_desk_company()
	set_health_settings(show_payment_popup=0, enable_free_follow_ups=0)
	patient, customer = make_health_patient(PATIENT)
	for booked in frappe.get_all(
		"Patient Appointment", filters={"patient": patient, "invoiced": 0}, fields=["name", "event"]
	):
		frappe.delete_doc("Patient Appointment", booked.name, force=True, ignore_permissions=True)
		if booked.event and frappe.db.exists("Event", booked.event):
			frappe.delete_doc("Event", booked.event, force=True, ignore_permissions=True)
	balance = covering_balance(customer)
	if not balance:
		if not frappe.db.exists("Prepaid Package", PACKAGE):
			make_package(PACKAGE, items=[(VISIT, 10), (LAB, 2)], price=900, company=DESK_COMPANY)
		invoice = make_invoice(
			[(frappe.db.get_value("Prepaid Package", PACKAGE, "item"), 1)],
			customer=customer,
			company=DESK_COMPANY,
			debit_to=account("Debtors", DESK_ABBR),
			taxes=False,
		)
		pay_in_cash(invoice)
		balance = balances_of(invoice)[0].name
	frappe.db.commit()
	return {
		"patient": patient,
		"customer": customer,
		"package": PACKAGE,
		"package_balance": balance,
		"visits_left": frappe.db.get_value(
			"Package Balance Item", {"parent": balance, "item_code": VISIT}, "qty_remaining"
		),
		"practitioner": PRACTITIONER,
		"appointment_type": APPOINTMENT_TYPE,
		"department": MEDICAL_DEPARTMENT,
		"company": DESK_COMPANY,
	}


def make_desk_company() -> None:
	"""A company of the scene's own: its accounts, the visit's income there, the practitioner's too."""
	make_company(DESK_COMPANY, DESK_ABBR)
	make_accounts(DESK_ABBR)
	set_company_defaults(DESK_COMPANY, DESK_ABBR)
	visit_income = account("Visit Income", DESK_ABBR)
	item = frappe.get_doc("Item", VISIT)
	if not any(row.company == DESK_COMPANY for row in item.item_defaults):
		item.append(
			"item_defaults",
			{
				"company": DESK_COMPANY,
				"income_account": visit_income,
				"selling_cost_center": account("Main", DESK_ABBR),
				"default_warehouse": account("Stores", DESK_ABBR),
			},
		)
		item.save(ignore_permissions=True)
	practitioner = frappe.get_doc("Healthcare Practitioner", PRACTITIONER)
	if not any(row.company == DESK_COMPANY for row in practitioner.accounts):
		practitioner.append("accounts", {"company": DESK_COMPANY, "account": visit_income})
		practitioner.save(ignore_permissions=True)


def pay_in_cash(invoice) -> None:
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	payment = get_payment_entry("Sales Invoice", invoice.name, bank_account=account("Cash", DESK_ABBR))
	payment.reference_no = f"PKT-{invoice.name}"
	payment.reference_date = invoice.posting_date
	payment.insert(ignore_permissions=True)
	payment.submit()


def covering_balance(customer: str) -> str | None:
	for name in frappe.get_all(
		"Package Balance",
		filters={
			"customer": customer,
			"company": DESK_COMPANY,
			"status": "Active",
			"prepaid_package": PACKAGE,
		},
		pluck="name",
		order_by="expiry_date asc",
	):
		if frappe.db.get_value("Package Balance Item", {"parent": name, "item_code": VISIT}, "qty_remaining"):
			return name
	return None
