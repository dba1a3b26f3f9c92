"""Journal Entries the app posts and cancels; users cannot cancel them by hand."""

import frappe
from frappe import _

from package_bundles import engine
from package_bundles.exceptions import AppJournalEntryError
from package_bundles.package_bundles.doctype.package_settings.package_settings import (
	get_deferred_revenue_account,
)


def post_journal_entry(
	company: str,
	posting_date,
	lines: list[engine.JournalLine],
	remark: str,
	sales_invoice: str | None = None,
	package_balance: str | None = None,
) -> str | None:
	"""Submit a Journal Entry with the engine's balanced lines; None when there is nothing to move."""
	if not lines:
		return None
	journal_entry = frappe.new_doc("Journal Entry")
	journal_entry.update(
		{
			"voucher_type": "Journal Entry",
			"company": company,
			"posting_date": posting_date,
			"user_remark": remark,
			"package_sales_invoice": sales_invoice,
			"package_balance": package_balance,
		}
	)
	for line in lines:
		journal_entry.append(
			"accounts",
			{
				"account": line.account,
				"cost_center": line.cost_center,
				"debit_in_account_currency": float(line.debit),
				"credit_in_account_currency": float(line.credit),
			},
		)
	journal_entry.flags.ignore_permissions = True
	journal_entry.flags.posted_by_package_bundles = True
	journal_entry.insert()
	journal_entry.submit()
	return journal_entry.name


def post_recognition(
	company: str,
	posting_date,
	credits: list[engine.Credit],
	remark: str,
	reverse: bool = False,
	deferred_account: str | None = None,
	**links,
) -> str | None:
	"""Dr deferred revenue / Cr each income account (or the reverse) in one Journal Entry."""
	lines = engine.recognition_lines(
		deferred_account or get_deferred_revenue_account(company),
		credits,
		company_cost_center(company),
		reverse=reverse,
	)
	return post_journal_entry(company, posting_date, lines, remark, **links)


def cancel_journal_entry(name: str | None):
	if not name or frappe.db.get_value("Journal Entry", name, "docstatus") != 1:
		return
	journal_entry = frappe.get_doc("Journal Entry", name)
	journal_entry.flags.ignore_permissions = True
	journal_entry.flags.posted_by_package_bundles = True
	journal_entry.cancel()


def prevent_manual_cancel(doc, method=None):
	"""Journal Entry before_cancel: the app's entries follow their invoice or balance."""
	if (
		doc.get("package_sales_invoice") or doc.get("package_balance")
	) and not doc.flags.posted_by_package_bundles:
		frappe.throw(
			_("Journal Entry {0} was posted by Package Bundles; cancel {1} instead").format(
				frappe.bold(doc.name), frappe.bold(doc.package_sales_invoice or doc.package_balance)
			),
			AppJournalEntryError,
		)


def company_cost_center(company: str) -> str | None:
	return frappe.get_cached_value("Company", company, "cost_center")


def item_income_account(item_code: str, company: str) -> str:
	"""The income account ERPNext would credit for the item sold alone."""
	from erpnext.setup.doctype.brand.brand import get_brand_defaults
	from erpnext.setup.doctype.item_group.item_group import get_item_group_defaults
	from erpnext.stock.doctype.item.item import get_item_defaults

	return (
		get_item_defaults(item_code, company).get("income_account")
		or get_item_group_defaults(item_code, company).get("income_account")
		or get_brand_defaults(item_code, company).get("income_account")
		or frappe.get_cached_value("Company", company, "default_income_account")
	)


def item_cost_center(item_code: str, company: str) -> str | None:
	from erpnext.setup.doctype.item_group.item_group import get_item_group_defaults
	from erpnext.stock.doctype.item.item import get_item_defaults

	return (
		get_item_defaults(item_code, company).get("selling_cost_center")
		or get_item_group_defaults(item_code, company).get("selling_cost_center")
		or company_cost_center(company)
	)
