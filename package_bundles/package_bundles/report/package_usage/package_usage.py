# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Usage: the history of redemptions, one row per redeemed invoice row (SPEC §5).

Reversed redemptions (their invoice cancelled or credited) stay in the history,
marked by their status.
"""

import frappe
from frappe import _
from frappe.query_builder import Case, DocType
from frappe.query_builder.functions import Count, Sum
from frappe.utils import flt, getdate

from package_bundles.package_bundles.doctype.package_redemption.package_redemption import (
	GROUPED_SUMMARY_INDEXES,
	SUMMARY_INDEX,
)
from package_bundles.package_bundles.report.package_report_filters import (
	apply_user_permissions,
	company_currency,
	currency_column,
	group_column,
	money_column,
	summary_group_by,
	validate_date_range,
	where_permitted,
)

QTY_PRECISION = 6


def execute(filters=None):
	filters = frappe._dict(filters or {})
	if not filters.company:
		frappe.throw(_("Select a Company"))
	validate_date_range(filters)
	apply_user_permissions(filters, "Package Redemption")
	group_field = summary_group_by(filters)
	if group_field:
		return get_summary_columns(filters), get_summary(filters, group_field)
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


def get_summary_columns(filters) -> list[dict]:
	return [
		group_column(filters),
		{"label": _("Redemptions"), "fieldname": "redemptions", "fieldtype": "Int", "width": 110},
		{"label": _("Qty"), "fieldname": "qty", "fieldtype": "Float", "width": 90},
		{"label": _("Qty Returned"), "fieldname": "qty_returned", "fieldtype": "Float", "width": 110},
		{"label": _("Net Qty"), "fieldname": "net_qty", "fieldtype": "Float", "width": 90},
		money_column(_("Amount"), "amount", 130),
		{"label": _("Reversed"), "fieldname": "reversed", "fieldtype": "Int", "width": 90},
		currency_column(),
	]


def get_summary(filters, group_field: str) -> list[dict]:
	"""Redemptions per item group, package or customer in the period; reversed ones only counted."""
	Log = DocType("Package Redemption")
	group = Log[group_field]
	live = Log.status != "Reversed"
	query = frappe.qb.from_(Log)
	if not (filters.get("item_code") or filters.get("prepaid_package")):
		# the figures from an index alone, in the group's order where one has it (it has no customer)
		grouped = (
			GROUPED_SUMMARY_INDEXES.get(group_field) if filters.get("permitted_customers") is None else None
		)
		query = query.force_index(grouped[0] if grouped else SUMMARY_INDEX)
	query = (
		query.select(
			group.as_(group_field),
			Sum(Case().when(live, 1).else_(0)).as_("redemptions"),
			Sum(Case().when(live, Log.qty).else_(0)).as_("qty"),
			Sum(Case().when(live, Log.qty_returned).else_(0)).as_("qty_returned"),
			Sum(Case().when(live, Log.amount).else_(0)).as_("amount"),
			Count(Log.name).as_("logged"),
		)
		.groupby(group)
		.orderby(group)
	)
	currency = company_currency(filters.company)
	rows = apply_redemption_filters(query, Log, filters).run(as_dict=True)
	for row in rows:
		row.redemptions = int(row.redemptions or 0)
		row.reversed = row.pop("logged") - row.redemptions
		row.qty = flt(row.qty, QTY_PRECISION)
		row.qty_returned = flt(row.qty_returned, QTY_PRECISION)
		row.net_qty = flt(row.qty - row.qty_returned, QTY_PRECISION)
		row.amount = flt(row.amount)
		row.currency = currency
	return rows


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
		.orderby(Log.posting_date)
		.orderby(Log.sales_invoice)
		.orderby(Log.name)
	)
	return apply_redemption_filters(query, Log, filters).run(as_dict=True)


def apply_redemption_filters(query, Log, filters):
	query = query.where(Log.company == filters.company)
	query = where_permitted(query, Log.customer, filters)
	if filters.from_date:
		query = query.where(Log.posting_date >= getdate(filters.from_date))
	if filters.to_date:
		query = query.where(Log.posting_date <= getdate(filters.to_date))
	for field in ("customer", "item_code", "prepaid_package"):
		if filters.get(field):
			query = query.where(Log[field] == filters.get(field))
	return query
