"""Frappe Health (issue 17): booking shows coverage, Fee Validity first, money paid at booking kept,
cancelling gives the unit back (bench site with healthcare; skipped elsewhere)."""

import frappe
from frappe.utils import add_days, flt, nowdate

from package_bundles.api import health as health_api
from package_bundles.flows import appointments
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.tests.case import IGNORED_TEST_RECORDS, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	CASH,
	COMPANY,
	DEBTORS,
	LAB,
	OTHER_COMPANY,
	VISIT,
	gl_balance,
	gl_entries,
	make_invoice,
	make_package,
	pay,
)
from package_bundles.tests.health import (
	APPOINTMENT_TYPE,
	MEDICAL_DEPARTMENT,
	PRACTITIONER,
	VISIT_CHARGE,
	HealthTestCase,
	make_health_patient,
	set_health_settings,
)

test_ignore = IGNORED_TEST_RECORDS

PACKAGE = "PKT Health Visits"
PATIENT = "PKT Booking Patient"


def sell_visits(customer: str, visits: int = 4, labs: int = 2, **package_values):
	"""A paid package of visits (and labs) for the customer; its balance."""
	items = [(item_code, qty) for item_code, qty in ((VISIT, visits), (LAB, labs)) if qty]
	package = make_package(PACKAGE, items=items, price=600, **package_values)
	invoice = make_invoice([(package.item, 1)], customer=customer)
	pay(invoice)
	return balances_of(invoice)[0]


def units_left(balance: str, item_code: str = VISIT) -> float:
	return flt(
		frappe.db.get_value(
			"Package Balance Item", {"parent": balance, "item_code": item_code}, "qty_remaining"
		)
	)


_times = iter(range(8 * 60, 20 * 60, 25))


def book(patient: str, date=None, **values):
	"""A Patient Appointment as the desk books it (each at a time of its own: no overlaps)."""
	minutes = next(_times)
	appointment = frappe.get_doc(
		{
			"doctype": "Patient Appointment",
			"patient": patient,
			"appointment_for": "Practitioner",
			"practitioner": PRACTITIONER,
			"department": MEDICAL_DEPARTMENT,
			"appointment_type": APPOINTMENT_TYPE,
			"company": COMPANY,
			"appointment_date": date or nowdate(),
			"appointment_time": f"{minutes // 60:02d}:{minutes % 60:02d}:00",
			"duration": 20,
			**values,
		}
	)
	appointment.insert(ignore_permissions=True)
	return appointment


def coverage(patient: str, **values) -> dict:
	args = {
		"practitioner": PRACTITIONER,
		"appointment_type": APPOINTMENT_TYPE,
		"department": MEDICAL_DEPARTMENT,
		"appointment_date": nowdate(),
		**values,
	}
	return health_api.appointment_coverage(patient, COMPANY, **args)


def cancel_appointment(name: str) -> None:
	from healthcare.healthcare.doctype.patient_appointment.patient_appointment import update_status

	update_status(name, "Cancelled")


class HealthBookingCase(HealthTestCase):
	def setUp(self):
		super().setUp()
		set_health_settings(show_payment_popup=0, enable_free_follow_ups=0, max_visits=0, valid_days=0)
		self.patient, self.customer = make_health_patient(PATIENT)

	def assert_books_agree(self):
		self.assertEqual(invariant_problems(COMPANY), [])


class TestBookingShowsCoverage(HealthBookingCase):
	def test_coverage_names_the_balance_units_left_after_the_visit_and_expiry(self):
		balance = sell_visits(self.customer)
		invoices = frappe.db.count("Sales Invoice")

		shown = coverage(self.patient)

		self.assertTrue(shown["covered"])
		self.assertFalse(shown["free_follow_up"])
		self.assertEqual(shown["item_code"], VISIT)
		self.assertEqual(shown["package_balance"], balance.name)
		self.assertEqual(shown["prepaid_package"], PACKAGE)
		self.assertEqual(shown["units_left_after"], 3)
		self.assertEqual(str(shown["expiry_date"]), str(balance.expiry_date))
		self.assertEqual(frappe.db.count("Sales Invoice"), invoices, "coverage writes nothing")
		self.assertEqual(units_left(balance.name), 4)

	def test_by_appointment_type_alone_or_practitioner_alone(self):
		balance = sell_visits(self.customer)
		by_type = coverage(self.patient, practitioner=None)
		self.assertEqual((by_type["covered"], by_type["item_code"]), (True, VISIT))
		by_practitioner = coverage(self.patient, appointment_type=None)
		self.assertEqual(by_practitioner["package_balance"], balance.name)

	def test_the_last_unit_leaves_none(self):
		sell_visits(self.customer, visits=1)
		self.assertEqual(coverage(self.patient)["units_left_after"], 0)

	def test_no_package_no_coverage(self):
		shown = coverage(self.patient)
		self.assertFalse(shown["covered"])
		self.assertFalse(shown["holds_packages"])
		self.assertEqual(shown["item_code"], VISIT)
		self.assertIsNone(shown["package_balance"])

	def test_a_package_of_other_items_says_the_visit_is_charged(self):
		sell_visits(self.customer, visits=0, labs=2)
		shown = coverage(self.patient)
		self.assertFalse(shown["covered"])
		self.assertTrue(shown["holds_packages"])

	def test_an_expired_or_other_company_package_does_not_cover(self):
		balance = sell_visits(self.customer, valid_for_days=30)
		self.assertFalse(coverage(self.patient, appointment_date=add_days(nowdate(), 45))["covered"])
		self.assertTrue(coverage(self.patient, appointment_date=add_days(nowdate(), 10))["covered"])
		self.assertFalse(
			health_api.appointment_coverage(self.patient, OTHER_COMPANY, APPOINTMENT_TYPE)["covered"]
		)
		self.assertEqual(units_left(balance.name), 4)

	def test_a_user_who_may_not_read_the_patient_is_refused(self):
		sell_visits(self.customer)
		user = make_user("pkt-h2-no-patients@example.com", ["Accounts User"])
		frappe.set_user(user)
		with self.assertRaises(frappe.PermissionError):
			coverage(self.patient)

	def test_a_user_limited_to_another_company_is_refused(self):
		sell_visits(self.customer)
		user = make_user("pkt-h2-west-desk@example.com", ["Healthcare Administrator", "Accounts User"])
		frappe.get_doc(
			{"doctype": "User Permission", "user": user, "allow": "Company", "for_value": OTHER_COMPANY}
		).insert(ignore_permissions=True)
		frappe.clear_cache(user=user)
		frappe.set_user(user)
		with self.assertRaises(frappe.PermissionError):
			coverage(self.patient)

	def test_health_not_configured_shows_nothing_and_raises_nothing(self):
		sell_visits(self.customer)
		shown = health_api.appointment_coverage(self.patient, COMPANY)  # neither type nor practitioner
		self.assertFalse(shown["covered"])
		self.assertIsNone(shown["item_code"])
		self.assertFalse(any("Configure" in str(m) for m in frappe.local.message_log or []))


class TestFeeValidityFirst(HealthBookingCase):
	def setUp(self):
		super().setUp()
		set_health_settings(enable_free_follow_ups=1, max_visits=2, valid_days=10)

	def test_a_free_follow_up_shows_free_and_uses_no_unit(self):
		balance = sell_visits(self.customer)
		self.assertTrue(coverage(self.patient)["covered"], "the first visit starts the Fee Validity")
		first = book(self.patient)
		validity = frappe.db.get_value("Fee Validity", {"patient_appointment": first.name})
		self.assertTrue(validity, "Health made a Fee Validity for the first visit")

		shown = coverage(self.patient)
		self.assertTrue(shown["free_follow_up"])
		self.assertFalse(shown["covered"])
		self.assertEqual(shown["fee_validity"], validity)
		self.assertIsNone(shown["package_balance"])
		# the first visit itself is still the one the package pays for
		self.assertTrue(coverage(self.patient, appointment=first.name)["covered"])

		follow_up = book(self.patient)
		self.assertTrue(coverage(self.patient, appointment=follow_up.name)["free_follow_up"])
		self.assertEqual(units_left(balance.name), 4)

	def test_no_invoice_redeems_a_free_follow_up(self):
		from healthcare.healthcare.utils import get_healthcare_services_to_invoice

		balance = sell_visits(self.customer)
		first = book(self.patient)
		follow_up = book(self.patient)
		listed = {row["reference_name"] for row in get_healthcare_services_to_invoice(self.patient, COMPANY)}
		self.assertIn(first.name, listed)
		self.assertNotIn(follow_up.name, listed, "Health does not bill a free follow-up")

		# billed by hand anyway: charged as written, never redeemed
		invoice = make_invoice(
			[
				{
					"item_code": VISIT,
					"qty": 1,
					"reference_dt": "Patient Appointment",
					"reference_dn": first.name,
				},
				{
					"item_code": VISIT,
					"qty": 1,
					"reference_dt": "Patient Appointment",
					"reference_dn": follow_up.name,
				},
			],
			customer=self.customer,
			patient=self.patient,
			taxes=False,
		)
		rows = {row.reference_dn: row for row in invoice.items}
		self.assertEqual(rows[first.name].package_balance, balance.name)
		self.assertFalse(rows[follow_up.name].package_balance)
		self.assertEqual(rows[follow_up.name].skip_package_redemption, 1)
		self.assertEqual(flt(invoice.grand_total), VISIT_CHARGE)
		self.assertEqual(units_left(balance.name), 3)
		self.assert_books_agree()

	def test_with_automated_invoicing_the_package_pays_the_first_visit_and_not_the_follow_up(self):
		set_health_settings(show_payment_popup=1)
		balance = sell_visits(self.customer)
		first = book(self.patient, mode_of_payment="Cash")
		self.assertEqual(first.invoiced, 1)
		self.assertEqual(
			frappe.db.get_value("Fee Validity", {"patient_appointment": first.name}, "status"), "Active"
		)
		follow_up = book(self.patient, mode_of_payment="Cash")
		self.assertFalse(follow_up.invoiced)
		self.assertFalse(frappe.db.exists("Sales Invoice Item", {"reference_dn": follow_up.name}))
		self.assertEqual(units_left(balance.name), 3)
		self.assert_books_agree()


class TestAutomatedInvoicing(HealthBookingCase):
	def setUp(self):
		super().setUp()
		set_health_settings(show_payment_popup=1)

	def test_a_covered_booking_is_billed_to_the_package_with_nothing_to_pay(self):
		balance = sell_visits(self.customer)
		cash_before = gl_balance(CASH)

		appointment = book(self.patient, mode_of_payment="Cash")

		self.assertEqual(appointment.invoiced, 1, "the form finds the booking invoiced: no payment popup")
		saved = frappe.db.get_value(
			"Patient Appointment",
			appointment.name,
			["invoiced", "ref_sales_invoice", "paid_amount", "mode_of_payment"],
			as_dict=True,
		)
		self.assertEqual((saved.invoiced, flt(saved.paid_amount), saved.mode_of_payment), (1, 0, None))
		invoice = frappe.get_doc("Sales Invoice", saved.ref_sales_invoice)
		self.assertEqual(invoice.docstatus, 1)
		self.assertEqual(invoice.is_pos, 0)
		self.assertEqual(flt(invoice.grand_total), 0)
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		self.assertEqual(invoice.items[0].reference_dn, appointment.name)
		self.assertEqual(units_left(balance.name), 3)
		self.assertEqual(gl_balance(CASH), cash_before)
		self.assertFalse(frappe.db.exists("Payment Entry", {"reference_no": invoice.name}))
		self.assert_books_agree()

	def test_a_booking_no_package_covers_is_left_to_health(self):
		appointment = book(self.patient, mode_of_payment="Cash")
		self.assertFalse(appointment.invoiced)
		self.assertEqual(
			flt(frappe.db.get_value("Patient Appointment", appointment.name, "paid_amount")), VISIT_CHARGE
		)

	def test_money_paid_at_booking_for_a_covered_visit_stays_as_the_customers_advance(self):
		"""Booked (and priced) before the package, paid through Health's popup after it was bought."""
		from healthcare.healthcare.doctype.patient_appointment.patient_appointment import invoice_appointment

		appointment = book(self.patient)
		self.assertEqual(flt(appointment.paid_amount), VISIT_CHARGE)
		balance = sell_visits(self.customer)
		cash_before, debtors_before = gl_balance(CASH), gl_balance(DEBTORS)
		frappe.db.set_value("Patient Appointment", appointment.name, "mode_of_payment", "Cash")

		invoice_appointment(appointment.name)

		invoice = frappe.get_doc(
			"Sales Invoice", frappe.db.get_value("Patient Appointment", appointment.name, "ref_sales_invoice")
		)
		self.assertEqual(invoice.is_pos, 1)
		self.assertEqual(flt(invoice.grand_total), 0)
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		self.assertEqual(flt(invoice.paid_amount), 0, "the invoice owes nothing")
		advance = frappe.get_all(
			"Payment Entry",
			filters={"reference_no": invoice.name, "docstatus": 1},
			fields=["name", "party", "paid_amount", "unallocated_amount", "paid_to", "mode_of_payment"],
		)
		self.assertEqual(len(advance), 1)
		self.assertEqual(advance[0].party, self.customer)
		self.assertEqual(flt(advance[0].paid_amount), VISIT_CHARGE)
		self.assertEqual(flt(advance[0].unallocated_amount), VISIT_CHARGE)
		self.assertEqual((advance[0].paid_to, advance[0].mode_of_payment), (CASH, "Cash"))
		# the cash is in the drawer and in the GL, owed back to the patient (a credit on Debtors)
		self.assertEqual(round(gl_balance(CASH) - cash_before, 2), VISIT_CHARGE)
		self.assertEqual(round(gl_balance(DEBTORS) - debtors_before, 2), -VISIT_CHARGE)
		self.assertEqual(gl_entries(advance[0].name), {CASH: VISIT_CHARGE, DEBTORS: -VISIT_CHARGE})
		self.assertEqual(units_left(balance.name), 3)
		self.assert_books_agree()

		# cancelling the invoice gives the unit back; the money stays the customer's advance
		invoice.reload()
		invoice.cancel()
		self.assertEqual(units_left(balance.name), 4)
		self.assertEqual(frappe.db.get_value("Payment Entry", advance[0].name, "docstatus"), 1)
		self.assert_books_agree()

	def test_a_visit_booked_before_its_package_is_billed_to_it_from_the_form(self):
		appointment = book(self.patient)
		balance = sell_visits(self.customer)

		name = health_api.bill_appointment_to_package(appointment.name)

		invoice = frappe.get_doc("Sales Invoice", name)
		self.assertEqual((invoice.is_pos, flt(invoice.grand_total)), (0, 0))
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		self.assertEqual(frappe.db.get_value("Patient Appointment", appointment.name, "invoiced"), 1)
		self.assertEqual(units_left(balance.name), 3)
		with self.assertRaises(frappe.ValidationError):
			health_api.bill_appointment_to_package(book(self.patient, date=add_days(nowdate(), 1)).name)
		self.assert_books_agree()

	def test_cancelling_the_appointment_gives_the_unit_back(self):
		balance = sell_visits(self.customer)
		appointment = book(self.patient, mode_of_payment="Cash")
		invoice = appointment.ref_sales_invoice
		self.assertEqual(units_left(balance.name), 3)

		cancel_appointment(appointment.name)

		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice, "docstatus"), 2)
		self.assertEqual(units_left(balance.name), 4)
		self.assertEqual(
			frappe.db.get_value("Package Redemption", {"sales_invoice": invoice}, "status"), "Reversed"
		)
		self.assertTrue(coverage(self.patient)["covered"])
		self.assertEqual(coverage(self.patient)["units_left_after"], 3)
		self.assert_books_agree()

	def test_a_desk_pos_payment_filled_before_redemption_is_trimmed_not_kept(self):
		"""The desk fills an is_pos invoice's payment with the total before redemption: no money."""
		set_health_settings(show_payment_popup=0)
		appointment = book(self.patient)
		balance = sell_visits(self.customer)
		invoice = make_invoice(
			[
				{
					"item_code": VISIT,
					"qty": 1,
					"rate": VISIT_CHARGE,
					"reference_dt": "Patient Appointment",
					"reference_dn": appointment.name,
				}
			],
			customer=self.customer,
			patient=self.patient,
			taxes=False,
			is_pos=1,
			payments=[{"mode_of_payment": "Cash", "amount": VISIT_CHARGE}],
		)
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		self.assertEqual(flt(invoice.paid_amount), 0)
		self.assertFalse(frappe.db.exists("Payment Entry", {"reference_no": invoice.name}))
		self.assertEqual(frappe.db.get_value("Patient Appointment", appointment.name, "invoiced"), 1)
		self.assert_books_agree()

	def test_a_failed_invoice_leaves_the_booking_as_health_made_it(self):
		sell_visits(self.customer)
		original = appointments.invoice_without_payment

		def fail(appointment):
			original(appointment)
			raise frappe.ValidationError("the invoice failed")

		appointments.invoice_without_payment = fail
		try:
			appointment = book(self.patient, mode_of_payment="Cash")
		finally:
			appointments.invoice_without_payment = original
		self.assertFalse(appointment.invoiced)
		saved = frappe.db.get_value(
			"Patient Appointment",
			appointment.name,
			["invoiced", "paid_amount", "mode_of_payment"],
			as_dict=True,
		)
		self.assertEqual(
			(saved.invoiced, flt(saved.paid_amount), saved.mode_of_payment), (0, VISIT_CHARGE, "Cash")
		)
		self.assertFalse(frappe.db.exists("Sales Invoice Item", {"reference_dn": appointment.name}))
		frappe.db.delete("Error Log", {"method": "Billing a covered appointment to its package failed"})
