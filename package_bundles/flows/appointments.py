"""Frappe Health appointments and prepaid packages (issue 17): coverage at booking, Fee Validity first,
and money paid at booking never lost.

The order a visit meets (README, "Frappe Health"):

1. Fee Validity first. A follow-up under an active Fee Validity is free: Health does not invoice it,
   the coverage says so, and a Sales Invoice row that bills it anyway is charged normally, never
   redeemed (no package unit is used for a free visit).
2. Then the package. The visit is covered when the patient's customer holds a balance for the
   item Health bills the visit with (its practitioner's, appointment type's or Healthcare
   Settings' consulting item); the planner of flows.redeem decides which balance, as for any
   invoice row.
3. Then payment. With *Automate Appointment Invoicing* (Healthcare Settings' show_payment_popup)
   a covered visit is billed on booking through Health's own invoice_appointment with nothing to
   pay: the appointment's paid amount and mode of payment are cleared first, so the invoice is
   not a POS invoice and its row is redeemed. A payment that still arrives on an is_pos invoice
   whose appointment row was redeemed (the popup's Make Payment on an appointment booked before
   the package) is not trimmed away: what the redemption made unnecessary becomes an
   unallocated Payment Entry, the customer's advance.

Only reached where Health is installed (its doctypes' hooks, the Health API), except the two
Sales Invoice steps, which return at once on an invoice without Health's reference fields.
Health's modules are imported inside functions.
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import flt, getdate, nowdate

from package_bundles.flows import redeem

APPOINTMENT = "Patient Appointment"


def automates_invoicing() -> bool:
	"""Health bills an appointment on booking (Automate Appointment Invoicing, the payment popup)."""
	return bool(frappe.db.get_single_value("Healthcare Settings", "show_payment_popup"))


def free_follow_ups() -> bool:
	return bool(frappe.db.get_single_value("Healthcare Settings", "enable_free_follow_ups"))


# --- what the visit is billed with -----------------------------------------------------------------


def billing_item(appointment) -> str | None:
	"""The item Health bills the appointment with, asked of Health itself; None when Health cannot
	tell (its configuration is missing: Health refuses to invoice such a visit too)."""
	from healthcare.healthcare.utils import get_appointment_billing_item_and_rate

	message_log = getattr(frappe.local, "message_log", None)
	logged = len(message_log) if message_log is not None else 0
	try:
		return get_appointment_billing_item_and_rate(appointment).get("service_item")
	except frappe.ValidationError:
		# Health throws for a missing charge or item; the booking form's hint must not show it
		if message_log is not None:
			del message_log[logged:]
		return None


def billing_date(appointment):
	"""When the visit will be invoiced: on booking where Health automates invoicing, else when it
	happens (not before today)."""
	today = getdate(nowdate())
	if automates_invoicing() or not appointment.get("appointment_date"):
		return today
	return max(today, getdate(appointment.appointment_date))


# --- Fee Validity first ------------------------------------------------------------------------------


def free_follow_up(appointment) -> frappe._dict | None:
	"""The Fee Validity under which this visit is a free follow-up, or None.

	A saved appointment Health registered as a follow-up (Fee Validity Reference) is free, as
	Health's *Get Items from Healthcare Services* skips it; a visit being booked is free when an
	active Fee Validity of its patient and practitioner covers its date and was not started by
	this very appointment (the visit that starts a Fee Validity is paid, by cash or a package).
	"""
	if not free_follow_ups() or not appointment.get("practitioner") or not appointment.get("patient"):
		return None
	FeeValidity = DocType("Fee Validity")
	Reference = DocType("Fee Validity Reference")
	fields = (FeeValidity.name, FeeValidity.valid_till, FeeValidity.status)
	name = appointment.get("name")
	if name and not appointment.get("__islocal"):
		registered = (
			frappe.qb.from_(FeeValidity)
			.join(Reference)
			.on(Reference.parent == FeeValidity.name)
			.select(*fields)
			.where(Reference.appointment == name)
			.where(FeeValidity.status != "Cancelled")
			.limit(1)
			.run(as_dict=True)
		)
		if registered:
			return registered[0]
	date = getdate(appointment.get("appointment_date") or nowdate())
	query = (
		frappe.qb.from_(FeeValidity)
		.select(*fields)
		.where(FeeValidity.patient == appointment.patient)
		.where(FeeValidity.practitioner == appointment.practitioner)
		.where(FeeValidity.status == "Active")
		.where(FeeValidity.start_date <= date)
		.where(FeeValidity.valid_till >= date)
		.orderby(FeeValidity.valid_till)
		.limit(1)
	)
	if name:
		query = query.where(
			FeeValidity.patient_appointment.isnull() | (FeeValidity.patient_appointment != name)
		)
	found = query.run(as_dict=True)
	return found[0] if found else None


# --- then the package -------------------------------------------------------------------------------


def coverage(appointment, company: str | None = None) -> frappe._dict:
	"""Whether a package pays for this visit: which balance, how many units it has left after it,
	until when; or that the visit is free under Fee Validity. Writes nothing.

	``appointment``: a Patient Appointment, saved or not, or a dict of its fields.
	"""
	if isinstance(appointment, dict):
		appointment = frappe._dict({"doctype": APPOINTMENT, **appointment})
	company = company or appointment.get("company")
	customer = frappe.db.get_value("Patient", appointment.get("patient"), "customer")
	result = frappe._dict(
		covered=False,
		free_follow_up=False,
		fee_validity=None,
		valid_till=None,
		customer=customer,
		item_code=None,
		package_balance=None,
		prepaid_package=None,
		units_left_after=None,
		expiry_date=None,
		holds_packages=False,
		billed_on_booking=automates_invoicing(),
	)
	validity = free_follow_up(appointment)
	if validity:
		result.update(free_follow_up=True, fee_validity=validity.name, valid_till=validity.valid_till)
		return result
	result.item_code = billing_item(appointment)
	if not customer or not company or not result.item_code:
		return result
	result.holds_packages = bool(
		frappe.db.exists(
			"Package Balance",
			{"customer": customer, "company": company, "status": ("in", redeem.REDEEMABLE_STATUSES)},
		)
	)
	if not result.holds_packages:
		return result

	balance = planned_balance(customer, company, result.item_code, billing_date(appointment))
	if not balance:
		return result
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	held = (
		frappe.qb.from_(Balance)
		.join(Item)
		.on(Item.parent == Balance.name)
		.select(Balance.prepaid_package, Balance.expiry_date, Item.qty_remaining)
		.where(Balance.name == balance)
		.where(Item.parenttype == "Package Balance")
		.where(Item.item_code == result.item_code)
		.run(as_dict=True)
	)[0]
	result.update(
		covered=True,
		package_balance=balance,
		prepaid_package=held.prepaid_package,
		units_left_after=flt(held.qty_remaining) - 1,
		expiry_date=held.expiry_date,
	)
	return result


def planned_balance(customer: str, company: str, item_code: str, posting_date) -> str | None:
	"""The balance the app's planner would redeem one unit of ``item_code`` from on an invoice of
	this customer and company on ``posting_date``; None when it would charge the row."""
	invoice = frappe.new_doc("Sales Invoice")
	invoice.update({"customer": customer, "company": company, "posting_date": posting_date})
	stock_uom = frappe.get_cached_value("Item", item_code, "stock_uom")
	invoice.append(
		"items",
		{"item_code": item_code, "qty": 1, "uom": stock_uom, "stock_uom": stock_uom, "conversion_factor": 1},
	)
	redeem.apply_redemptions(invoice, fill_details=False)
	rows = invoice.items
	# one unit either comes whole from one balance or is charged
	return rows[0].package_balance if len(rows) == 1 else None


# --- booking with Automate Appointment Invoicing ----------------------------------------------------


def bill_covered_booking(appointment, on_booking: bool = True) -> str | None:
	"""A visit a package covers is billed with nothing to pay; returns the invoice's name.

	after_insert (``on_booking``): Health's after_insert has put the visit's charge in paid_amount;
	the app clears it and the mode of payment, then asks Health to invoice the appointment as its
	payment popup would (Fee Validity and all). The invoice carries no payment, its row is
	redeemed, and the form finds the appointment invoiced, so Health's popup asks for nothing.
	Should that invoice fail, the booking stands as Health left it and the error is logged.
	Not on booking (the form's Bill to Package, for a visit booked before its package), an
	error is the caller's to see.
	"""
	if appointment.get("invoiced") or not automates_invoicing():
		return None
	if not coverage(appointment).covered:
		return None
	if not on_booking:
		return invoice_without_payment(appointment)
	fields = ("paid_amount", "mode_of_payment", "invoiced", "ref_sales_invoice")
	before = {field: appointment.get(field) for field in fields}
	frappe.db.savepoint("package_booking")
	try:
		return invoice_without_payment(appointment)
	except Exception:
		frappe.db.rollback(save_point="package_booking")
		appointment.update(before)
		frappe.log_error(title=_("Billing a covered appointment to its package failed"))
		return None


def invoice_without_payment(appointment) -> str | None:
	from healthcare.healthcare.doctype.patient_appointment.patient_appointment import invoice_appointment

	appointment.db_set({"paid_amount": 0, "mode_of_payment": None}, update_modified=False)
	invoice_appointment(appointment.name)
	invoiced, invoice = frappe.db.get_value(APPOINTMENT, appointment.name, ["invoiced", "ref_sales_invoice"])
	# the form reads the saved appointment from this object: it must know it is billed
	appointment.invoiced, appointment.ref_sales_invoice = invoiced, invoice
	return invoice


# --- Sales Invoices that bill Health's services -----------------------------------------------------


def appointment_rows(doc) -> list:
	return [row for row in doc.items if row.get("reference_dt") == APPOINTMENT and row.get("reference_dn")]


def before_planning(doc) -> None:
	"""before_validate, before the app plans: Fee Validity first, and the payments Health put on an
	invoice billing an appointment at booking remembered before the planner trims them."""
	rows = appointment_rows(doc)
	if not rows or doc.get("is_return") or (doc.docstatus == 1 and not doc.is_new()):
		return  # submitting a saved draft keeps the rows and payments it was saved with
	charge_free_follow_ups(rows)
	remember_booking_payments(doc)


def charge_free_follow_ups(rows) -> None:
	"""A row billing a free follow-up is never redeemed: the package keeps its unit."""
	if not free_follow_ups():
		return
	for row in rows:
		if row.skip_package_redemption:
			continue
		appointment = frappe.db.get_value(
			APPOINTMENT,
			row.reference_dn,
			["name", "patient", "practitioner", "appointment_date"],
			as_dict=True,
		)
		if appointment and free_follow_up(appointment):
			row.skip_package_redemption = 1


def remember_booking_payments(doc) -> None:
	"""What the patient paid at booking, as Health put it on the invoice (first save only).

	Only on the invoice Health's invoice_appointment builds (it names its appointment on the
	document): a POS payment the desk filled in with the total before redemption is no money
	received, and the app trims it as before.
	"""
	booked = doc.get("appointment")
	if not doc.get("is_pos") or not booked or doc.flags.package_booking_payments is not None:
		return
	if not any(row.reference_dn == booked for row in appointment_rows(doc)):
		return
	doc.flags.package_booking_payments = [
		frappe._dict(idx=payment.idx, mode_of_payment=payment.mode_of_payment, amount=flt(payment.amount))
		for payment in doc.get("payments") or []
	]


def keep_booking_payments(doc) -> list[str]:
	"""on_submit, after the app redeemed: a booking payment the redemption made unnecessary stays
	on the books as the customer's advance (an unallocated Payment Entry, same mode and account),
	instead of vanishing with the trimmed POS payment. Returns the Payment Entries made."""
	paid = doc.flags.package_booking_payments
	if not paid or doc.is_return or not any(row.package_balance for row in appointment_rows(doc)):
		return []
	# ERPNext drops a payment trimmed to nothing: what is left is found by its row number
	left = {payment.idx: payment for payment in doc.get("payments") or []}
	made = []
	for booked in paid:
		payment = left.get(booked.idx)
		excess = booked.amount - flt(payment.amount if payment else 0)
		if excess >= 0.005:
			account = payment.account if payment else None
			made.append(advance_payment(doc, booked.mode_of_payment, account, excess))
	doc.flags.package_booking_payments = []
	return made


def advance_payment(doc, mode_of_payment: str, account: str | None, amount: float) -> str:
	"""An unallocated Payment Entry from the invoice's customer: the booking money the package
	made unnecessary, kept as the customer's advance (to refund or to use on a later invoice)."""
	from erpnext.accounts.doctype.sales_invoice.sales_invoice import get_bank_cash_account
	from erpnext.accounts.utils import get_account_currency

	company_currency = frappe.get_cached_value("Company", doc.company, "default_currency")
	paid_to = account or get_bank_cash_account(mode_of_payment, doc.company).get("account")
	paid_to_currency = get_account_currency(paid_to)
	rate = flt(doc.conversion_rate) or 1
	appointments = ", ".join(sorted({row.reference_dn for row in appointment_rows(doc)}))
	entry = frappe.get_doc(
		{
			"doctype": "Payment Entry",
			"payment_type": "Receive",
			"company": doc.company,
			"posting_date": doc.posting_date,
			"mode_of_payment": mode_of_payment,
			"party_type": "Customer",
			"party": doc.customer,
			"paid_from": doc.debit_to,
			"paid_from_account_currency": get_account_currency(doc.debit_to),
			"paid_to": paid_to,
			"paid_to_account_currency": paid_to_currency,
			"paid_amount": amount,
			"source_exchange_rate": rate,
			"received_amount": amount * rate if paid_to_currency == company_currency else amount,
			"target_exchange_rate": 1 if paid_to_currency == company_currency else rate,
			"reference_no": doc.name,
			"reference_date": doc.posting_date,
			"remarks": _(
				"Paid at booking of {0} and kept as the customer's advance: a prepaid package paid for "
				"the visit on {1} {2}."
			).format(appointments, _(doc.doctype), doc.name),
		}
	)
	entry.flags.ignore_permissions = True
	entry.insert()
	entry.submit()
	return entry.name
