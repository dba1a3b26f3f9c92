# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Usage: the history of redemptions, one row per redeemed invoice row (SPEC §5).

Reversed redemptions (their invoice cancelled or credited) stay in the history,
marked by their status.
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import getdate

from package_bundles.package_bundles.report.package_report_filters import validate_date_range


def execute(filters=None):
	filters = frappe._dict(filters or {})
	if not filters.company:
		frappe.throw(_("Select a Company"))
	validate_date_range(filters)
	return get_columns(), get_redemptions(filters)


def get_columns() -> list[dict]:
	return [
		{"label": _("Service Date"), "fieldname": "posting_date", "fieldtype": "Date", "width": 100},
		{
			"label": _("Customer"),
			"fieldname": "customer",
			"fieldtype": "Link",
			"options": "Customer",
			"width": 160,
		},
		{"label": _("Item"), "fieldname": "item_code", "fieldtype": "Link", "options": "Item", "width": 150},
		{
			"label": _("Item Group"),
			"fieldname": "item_group",
			"fieldtype": "Link",
			"options": "Item Group",
			"width": 120,
		},
		{"label": _("Qty"), "fieldname": "qty", "fieldtype": "Float", "width": 80},
		{"label": _("Qty Returned"), "fieldname": "qty_returned", "fieldtype": "Float", "width": 100},
		{
			"label": _("Amount"),
			"fieldname": "amount",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 110,
		},
		{
			"label": _("Sales Invoice"),
			"fieldname": "sales_invoice",
			"fieldtype": "Link",
			"options": "Sales Invoice",
			"width": 150,
		},
		{
			"label": _("Package Balance"),
			"fieldname": "package_balance",
			"fieldtype": "Link",
			"options": "Package Balance",
			"width": 140,
		},
		{
			"label": _("Prepaid Package"),
			"fieldname": "prepaid_package",
			"fieldtype": "Link",
			"options": "Prepaid Package",
			"width": 150,
		},
		{"label": _("Status"), "fieldname": "status", "fieldtype": "Data", "width": 100},
		{
			"label": _("Package Redemption"),
			"fieldname": "package_redemption",
			"fieldtype": "Link",
			"options": "Package Redemption",
			"width": 140,
		},
		{
			"label": _("Journal Entry"),
			"fieldname": "journal_entry",
			"fieldtype": "Link",
			"options": "Journal Entry",
			"width": 150,
		},
		{
			"label": _("Currency"),
			"fieldname": "currency",
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		},
	]


def get_redemptions(filters) -> list[dict]:
	Log = DocType("Package Redemption")
	query = (
		frappe.qb.from_(Log)
		.select(
			Log.posting_date,
			Log.customer,
			Log.item_code,
			Log.item_group,
			Log.qty,
			Log.qty_returned,
			Log.amount,
			Log.sales_invoice,
			Log.package_balance,
			Log.prepaid_package,
			Log.status,
			Log.name.as_("package_redemption"),
			Log.journal_entry,
			Log.currency,
		)
		.where(Log.company == filters.company)
		.orderby(Log.posting_date)
		.orderby(Log.sales_invoice)
		.orderby(Log.name)
	)
	if filters.from_date:
		query = query.where(Log.posting_date >= getdate(filters.from_date))
	if filters.to_date:
		query = query.where(Log.posting_date <= getdate(filters.to_date))
	for field in ("customer", "item_code", "prepaid_package"):
		if filters.get(field):
			query = query.where(Log[field] == filters.get(field))
	return query.run(as_dict=True)
