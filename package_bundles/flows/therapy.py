"""Frappe Health therapy plans and prepaid packages (issue 17): a package made from a Therapy Plan
Template, and the sessions of a Therapy Plan drawing from the patient's package.

How Health bills therapy (version-15): a session of a plan made *without* a template is billed on
its own, with its Therapy Type's item (*Get Items from Healthcare Services* lists it; the session's
form has a Sales Invoice button). A plan made *from* a template is billed as one item, the
template's linked item at the template's price (the plan form's Sales Invoice button, Health's
``make_sales_invoice``), and its sessions are never billed on their own.

The rule here (README, "Frappe Health"):

1. A package made from a template holds each therapy type's item, as many units as the template
   has sessions of it: the items Health bills the sessions with. Each billed session is an invoice
   row of that item, which flows.redeem redeems from the patient's balance like any row; cancelling
   the invoice gives the unit back.
2. A plan whose sessions the patient's package covers (the patient's customer holds units of one of
   its therapy types' items in a live balance), or one of whose sessions was already invoiced on
   its own, is *billed by its sessions*, whether or not it was made from a template: Get Items
   lists its submitted, uninvoiced sessions (not those billed through an appointment, as Health
   does) and the session form offers its Sales Invoice button.
3. Such a plan cannot also be billed as one item: a Sales Invoice row that bills the plan is
   refused (TherapyPlanBilledBySessionsError), so a patient who bought the package is never charged
   the course again. A plan already invoiced as one item is left to Health: its sessions are never
   listed, so they never draw from a package. A plan no package covers is billed as Health bills it.

Only reached where Health is installed (its doctypes' forms and hooks, the Health API); the Sales
Invoice check returns at once on an invoice with no Therapy Plan row.
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import cint, flt

from package_bundles.exceptions import TherapyPlanBilledBySessionsError, TherapyTemplateError
from package_bundles.flows import redeem

THERAPY_PLAN = "Therapy Plan"
THERAPY_SESSION = "Therapy Session"


# --- a package from a template -------------------------------------------------------------------


def template_items(template) -> list[dict]:
	"""The template's therapy types as package rows: item, sessions (summed per item), rate per session.

	The rate is the template's (Health's therapy type rate); the package takes its price list's
	rate over it where the list has one.
	"""
	rows: dict[str, dict] = {}
	for entry in template.therapy_types:
		item_code, billable = frappe.db.get_value(
			"Therapy Type", entry.therapy_type, ["item", "is_billable"]
		) or (None, 0)
		if not item_code or not cint(billable):
			frappe.throw(
				_(
					"Row #{0}: therapy type {1} is not billable or has no item; a package cannot hold it"
				).format(entry.idx, frappe.bold(entry.therapy_type)),
				TherapyTemplateError,
			)
		if cint(entry.no_of_sessions) <= 0:
			frappe.throw(
				_("Row #{0}: therapy type {1} has no sessions").format(
					entry.idx, frappe.bold(entry.therapy_type)
				),
				TherapyTemplateError,
			)
		row = rows.setdefault(item_code, {"item_code": item_code, "qty": 0, "rate": flt(entry.rate)})
		row["qty"] += cint(entry.no_of_sessions)
	return list(rows.values())


def free_package_name(plan_name: str) -> str:
	"""The template's name as a package name no package and no item has yet (the package's sales item
	takes the same name; the template's own linked item often has the template's name)."""
	base = _("{0} Package").format(plan_name)[:130]
	name, number = base, 1
	while frappe.db.exists("Prepaid Package", name) or frappe.db.exists("Item", name):
		number += 1
		name = f"{base} {number}"
	return name


def make_package_from_template(template: str, company: str, package_price: float | None = None) -> str:
	"""A saved Prepaid Package holding the template's sessions; its price the given one, else the
	template's total (what Health charges for the course), else the package's default price."""
	doc = frappe.get_doc("Therapy Plan Template", template)
	price = flt(package_price) if package_price is not None else flt(doc.total_amount)
	package = frappe.get_doc(
		{
			"doctype": "Prepaid Package",
			"package_name": free_package_name(doc.plan_name or doc.name),
			"company": company,
			"items": template_items(doc),
			"package_price": price or None,
		}
	)
	package.insert()
	return package.name


# --- which plans are billed by their sessions ---------------------------------------------------


def plan_items(plan: str) -> set[str]:
	"""The items Health bills the plan's sessions with: its billable therapy types' items."""
	Detail = DocType("Therapy Plan Detail")
	TherapyType = DocType("Therapy Type")
	rows = (
		frappe.qb.from_(Detail)
		.join(TherapyType)
		.on(TherapyType.name == Detail.therapy_type)
		.select(TherapyType.item)
		.where(Detail.parent == plan)
		.where(Detail.parenttype == THERAPY_PLAN)
		.where(TherapyType.is_billable == 1)
		.where(TherapyType.item.isnotnull())
		.run()
	)
	return {item for (item,) in rows if item}


def sessions_invoiced_alone(plan: str) -> bool:
	return bool(frappe.db.exists(THERAPY_SESSION, {"therapy_plan": plan, "invoiced": 1, "docstatus": 1}))


def covered_by_package(plan: str, customer: str | None, company: str) -> bool:
	"""The customer holds units of one of the plan's session items in a live balance."""
	if not customer:
		return False
	items = plan_items(plan)
	return bool(items) and bool(redeem.load_holdings(customer, company, items))


def billed_by_sessions(plan: str, customer: str | None = None) -> bool:
	"""Rule 2: a package covers the plan's sessions, or one of them was invoiced on its own."""
	values = frappe.db.get_value(THERAPY_PLAN, plan, ["patient", "company", "invoiced"], as_dict=True)
	if not values or cint(values.invoiced):
		return False
	if sessions_invoiced_alone(plan):
		return True
	customer = customer or frappe.db.get_value("Patient", values.patient, "customer")
	return covered_by_package(plan, customer, values.company)


def session_billed_by_package_plan(session: str) -> bool:
	"""A submitted, uninvoiced session of a template plan billed by its sessions (the session form
	shows Health's Sales Invoice button for it; Health shows it for plans without a template)."""
	values = frappe.db.get_value(
		THERAPY_SESSION, session, ["therapy_plan", "docstatus", "invoiced", "appointment"], as_dict=True
	)
	if not values or values.docstatus != 1 or cint(values.invoiced) or values.appointment:
		return False
	return bool(frappe.db.get_value(THERAPY_PLAN, values.therapy_plan, "therapy_plan_template")) and (
		billed_by_sessions(values.therapy_plan)
	)


def plan_sessions_to_invoice(plan: str, patient: str, company: str) -> list[dict]:
	"""The plan's sessions as Health lists sessions to invoice (get_therapy_sessions_to_invoice)."""
	sessions = frappe.get_list(
		THERAPY_SESSION,
		fields=["name", "therapy_type", "appointment"],
		filters={
			"therapy_plan": plan,
			"patient": patient,
			"company": company,
			"invoiced": 0,
			"docstatus": 1,
			"service_request": ("is", "not set"),
		},
		order_by="start_date asc, name asc",
	)
	services = []
	for session in sessions:
		if session.appointment:
			continue  # billed with its appointment, as Health does
		item, billable = frappe.db.get_value("Therapy Type", session.therapy_type, ["item", "is_billable"])
		if item and cint(billable):
			services.append(
				{"reference_type": THERAPY_SESSION, "reference_name": session.name, "service": item}
			)
	return services


def services_to_invoice(patient: str, company: str, services: list[dict]) -> list[dict]:
	"""Health's list of services to invoice, with rule 2 applied to the patient's template plans:
	a plan billed by its sessions is replaced by its sessions (Health lists plans without a
	template by their sessions already)."""
	customer = frappe.db.get_value("Patient", patient, "customer")
	plans = frappe.get_list(
		THERAPY_PLAN,
		filters={
			"patient": patient,
			"company": company,
			"invoiced": 0,
			"therapy_plan_template": ("is", "set"),
		},
		pluck="name",
		order_by="start_date asc, name asc",
	)
	by_sessions = [plan for plan in plans if billed_by_sessions(plan, customer)]
	if not by_sessions:
		return services
	listed = {(s.get("reference_type"), s.get("reference_name")) for s in services}
	services = [
		s
		for s in services
		if not (s.get("reference_type") == THERAPY_PLAN and s.get("reference_name") in by_sessions)
	]
	for plan in by_sessions:
		for session in plan_sessions_to_invoice(plan, patient, company):
			if (session["reference_type"], session["reference_name"]) not in listed:
				services.append(session)
	return services


# --- Sales Invoice -------------------------------------------------------------------------------


def check_plan_rows(doc) -> None:
	"""Rule 3: refuse a row that bills as one item a plan billed by its sessions."""
	if doc.get("is_return"):
		return
	for row in doc.items:
		if row.get("reference_dt") != THERAPY_PLAN or not row.get("reference_dn"):
			continue
		if billed_by_sessions(row.reference_dn, doc.customer):
			frappe.throw(
				_(
					"Row #{0}: Therapy Plan {1} is billed by its sessions, which the patient's prepaid"
					" package pays for or which were already invoiced one by one; billing it as one item"
					" would charge the course again. Invoice its sessions instead (Get Items from"
					" Healthcare Services, or the Therapy Session's Sales Invoice button)."
				).format(row.idx, frappe.bold(row.reference_dn)),
				TherapyPlanBilledBySessionsError,
			)
