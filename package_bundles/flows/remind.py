"""Expiry reminders: a daily job emails patients whose package balance expires soon.

With Package Settings' "Email Patients Before a Balance Expires" on, every live
balance (Active or Awaiting Payment) expiring within "Days Before Expiry" days gets
one email through Frappe's Email Queue, rendered from an editable Email Template,
listing what is left and the expiry date. A Package Reminder Log row, unique per
balance, expiry date and threshold, is written in the same transaction as the email:
a balance is never reminded twice for the same date and threshold, also when two
runs overlap; an extended balance is reminded again before its new date.
Patients without an email address (on the Customer or its primary contact) are skipped.
"""

import frappe
from frappe import _
from frappe.email.doctype.email_account.email_account import EmailAccount
from frappe.query_builder import DocType
from frappe.utils import add_days, cint, date_diff, flt, format_date, getdate, nowdate

from package_bundles.package_bundles.doctype.package_settings.package_settings import get_settings
from package_bundles.package_bundles.print_format.package_receipt.package_receipt import qty_text

REMINDED_STATUSES = ("Active", "Awaiting Payment")
DEFAULT_TEMPLATE = "Package Expiry Reminder"
DEFAULT_DAYS = 30


def send_expiry_reminders(today=None) -> dict:
	"""Scheduler (daily). Each balance in its own savepoint: one failure is logged, the rest go on."""
	outcome = {"sent": [], "no_email": [], "failed": []}
	settings = get_settings()
	if not settings.send_expiry_reminders:
		return outcome
	if not EmailAccount.find_outgoing(match_by_doctype="Package Balance"):
		frappe.log_error(
			title=_("Package expiry reminders not sent"),
			message=_("Set up a default outgoing Email Account to email expiry reminders."),
		)
		return outcome

	today = getdate(today or nowdate())
	days = cint(settings.reminder_days) or DEFAULT_DAYS
	template = frappe.get_doc("Email Template", settings.expiry_reminder_template or DEFAULT_TEMPLATE)
	balances = balances_to_remind(today, days)
	items_left = remaining_items([balance.name for balance in balances])
	for balance in balances:
		balance.email = balance.customer_email or balance.contact_email
		if not balance.email:
			outcome["no_email"].append(balance.name)
			continue
		if not items_left.get(balance.name):
			continue  # nothing left to use: nothing to remind of
		savepoint = f"remind_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		try:
			if remind(balance, items_left[balance.name], template, days, today):
				outcome["sent"].append(balance.name)
		except Exception:
			frappe.db.rollback(save_point=savepoint)
			outcome["failed"].append(balance.name)
			frappe.log_error(
				title=_("Could not send the expiry reminder of package balance {0}").format(balance.name),
				reference_doctype="Package Balance",
				reference_name=balance.name,
			)
	return outcome


def balances_to_remind(today, days: int) -> list[frappe._dict]:
	"""Live balances expiring from today to ``days`` ahead, not yet reminded for this date and threshold,
	with their customer's email and their primary contact's (one query on the status/expiry index)."""
	Balance = DocType("Package Balance")
	Log = DocType("Package Reminder Log")
	Customer = DocType("Customer")
	Contact = DocType("Contact")
	return (
		frappe.qb.from_(Balance)
		.join(Customer)
		.on(Customer.name == Balance.customer)
		.left_join(Contact)
		.on(Contact.name == Customer.customer_primary_contact)
		.left_join(Log)
		.on(
			(Log.package_balance == Balance.name)
			& (Log.expiry_date == Balance.expiry_date)
			& (Log.reminder_days == days)
		)
		.select(
			Balance.name,
			Balance.customer,
			Balance.company,
			Balance.prepaid_package,
			Balance.expiry_date,
			Customer.customer_name,
			Customer.email_id.as_("customer_email"),
			Contact.email_id.as_("contact_email"),
		)
		.where(Balance.status.isin(REMINDED_STATUSES))
		.where(Balance.expiry_date.between(today, add_days(today, days)))
		.where(Customer.disabled == 0)
		.where(Log.name.isnull())
		.orderby(Balance.expiry_date)
		.orderby(Balance.name)
		.run(as_dict=True)
	)


def remaining_items(balance_names: list[str]) -> dict[str, list[frappe._dict]]:
	if not balance_names:
		return {}
	Line = DocType("Package Balance Item")
	lines = (
		frappe.qb.from_(Line)
		.select(Line.parent, Line.item_code, Line.item_name, Line.uom, Line.qty_remaining)
		.where(Line.parenttype == "Package Balance")
		.where(Line.parent.isin(balance_names))
		.where(Line.qty_remaining > 0)
		.orderby(Line.parent)
		.orderby(Line.idx)
		.run(as_dict=True)
	)
	items: dict[str, list[frappe._dict]] = {}
	for line in lines:
		items.setdefault(line.parent, []).append(
			frappe._dict(
				item_code=line.item_code,
				item_name=line.item_name or line.item_code,
				qty=flt(line.qty_remaining),
				qty_text=qty_text(line.qty_remaining),
				uom=line.uom,
			)
		)
	return items


def remind(balance: frappe._dict, items: list[frappe._dict], template, days: int, today) -> bool:
	"""Claim the reminder (unique log row), then queue the email; a claim already taken sends nothing."""
	log = frappe.get_doc(
		{
			"doctype": "Package Reminder Log",
			"package_balance": balance.name,
			"customer": balance.customer,
			"company": balance.company,
			"expiry_date": balance.expiry_date,
			"reminder_days": days,
			"email_to": balance.email,
			"email_template": template.name,
		}
	)
	try:
		log.insert(ignore_permissions=True)
	except frappe.UniqueValidationError:
		return False  # another run reminded this balance meanwhile

	context = reminder_context(balance, items, today)
	queued = frappe.sendmail(
		recipients=[balance.email],
		subject=frappe.render_template(template.subject, context),
		message=frappe.render_template(
			template.response_html if template.use_html else template.response, context
		),
		reference_doctype="Package Balance",
		reference_name=balance.name,
		delayed=True,
	)
	if queued:
		log.db_set("email_queue", queued.name)
	return True


def reminder_context(balance: frappe._dict, items: list[frappe._dict], today) -> dict:
	"""What the Email Template can use."""
	return {
		"doc": balance,
		"customer": balance.customer,
		"customer_name": balance.customer_name or balance.customer,
		"company": balance.company,
		"prepaid_package": balance.prepaid_package,
		"package_balance": balance.name,
		"expiry_date": format_date(balance.expiry_date),
		"days_left": date_diff(balance.expiry_date, today),
		"items": items,
	}


# --- the shipped template ------------------------------------------------------------


def make_expiry_reminder_template() -> None:
	"""Ship the editable template once; a practice's edits are never overwritten.

	Package Settings points at it only once it exists (a default on the field would make the
	settings' first save at install refer to a template not made yet)."""
	if not frappe.db.exists("Email Template", DEFAULT_TEMPLATE):
		insert_expiry_reminder_template()
	if not frappe.db.get_single_value("Package Settings", "expiry_reminder_template"):
		frappe.db.set_single_value("Package Settings", "expiry_reminder_template", DEFAULT_TEMPLATE)


def insert_expiry_reminder_template() -> None:
	frappe.get_doc(
		{
			"doctype": "Email Template",
			"name": DEFAULT_TEMPLATE,
			"subject": _("Your {0} package expires on {1}").format(
				"{{ prepaid_package }}", "{{ expiry_date }}"
			),
			"use_html": 1,
			"response_html": DEFAULT_TEMPLATE_HTML.format(
				greeting=_("Dear {0},").format("{{ customer_name }}"),
				intro=_("Your prepaid package {0} expires on {1}. You still have:").format(
					"<b>{{ prepaid_package }}</b>", "<b>{{ expiry_date }}</b>"
				),
				closing=_("Book a visit before then to use them."),
			),
		}
	).insert(ignore_permissions=True)


DEFAULT_TEMPLATE_HTML = """<p>{greeting}</p>
<p>{intro}</p>
<ul>
{{% for item in items %}}<li>{{{{ item.qty_text }}}} {{{{ item.uom }}}} &times; {{{{ item.item_name }}}}</li>
{{% endfor %}}</ul>
<p>{closing}</p>
<p>{{{{ company }}}}</p>
"""
