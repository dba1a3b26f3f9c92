# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Balances: per customer, what each package they bought still holds and until when (SPEC §5).

Each balance also shows the breakage terms it locked at sale (issue 21): the method, the
expected breakage rate and where that rate came from (entered, proposed from history, or the
company's default). After the sale (issue 20) it shows the freeze a balance is in or is due for,
the other customers it is shared with, and the units that left it by transfer or upgrade.
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.query_builder.functions import Count, Sum
from frappe.utils import flt

from package_bundles.package_bundles.doctype.package_balance.package_balance import (
	PACKAGE_SUMMARY_INDEX,
	SUMMARY_INDEX,
)
from package_bundles.package_bundles.report.package_report_filters import (
	apply_user_permissions,
	company_currency,
	currency_column,
	group_column,
	money_column,
	summary_group_by,
	where_permitted,
)

QTY_PRECISION = 6
# the index each summary reads its figures from, in the order it groups them (issue 22)
SUMMARY_INDEXES = {"status": SUMMARY_INDEX, "prepaid_package": PACKAGE_SUMMARY_INDEX}


# a summary groups balances by these (Package Balance has no item group: its lines do)
GROUP_BY_CHOICES = {
	"Prepaid Package": ("prepaid_package", "Prepaid Package"),
	"Customer": ("customer", "Customer"),
	"Status": ("status", None),
}


def execute(filters=None):
	filters = frappe._dict(filters or {})
	if not filters.company:
		frappe.throw(_("Select a Company"))
	filters.group_by = filters.group_by or "Prepaid Package"
	apply_user_permissions(filters, "Package Balance")
	group_field = summary_group_by(filters, GROUP_BY_CHOICES)
	if group_field:
		return get_summary_columns(filters), get_summary(filters, group_field)
	balances = get_balances(filters)
	attach_items(balances, get_balance_items(filters))
	attach_sharers(balances, get_sharers(filters))
	currency = company_currency(filters.company)
	for balance in balances:
		balance.currency = currency
	return get_columns(), balances


def get_columns() -> list[dict]:
	return [
		{
			"label": _("Customer"),
			"fieldname": "customer",
			"fieldtype": "Link",
			"options": "Customer",
			"width": 140,
		},
		{"label": _("Customer Name"), "fieldname": "customer_name", "fieldtype": "Data", "width": 160},
		{
			"label": _("Prepaid Package"),
			"fieldname": "prepaid_package",
			"fieldtype": "Link",
			"options": "Prepaid Package",
			"width": 150,
		},
		{
			"label": _("Package Balance"),
			"fieldname": "package_balance",
			"fieldtype": "Link",
			"options": "Package Balance",
			"width": 140,
		},
		{"label": _("Status"), "fieldname": "status", "fieldtype": "Data", "width": 110},
		{"label": _("Purchase Date"), "fieldname": "purchase_date", "fieldtype": "Date", "width": 100},
		{"label": _("Expiry Date"), "fieldname": "expiry_date", "fieldtype": "Date", "width": 100},
		{"label": _("Units Purchased"), "fieldname": "units_purchased", "fieldtype": "Float", "width": 110},
		{"label": _("Units Remaining"), "fieldname": "units_remaining", "fieldtype": "Float", "width": 110},
		{"label": _("Remaining Items"), "fieldname": "remaining_items", "fieldtype": "Data", "width": 260},
		# units given to another customer by a transfer, or exchanged toward another package
		{"label": _("Units Moved Out"), "fieldname": "units_moved_out", "fieldtype": "Float", "width": 110},
		{"label": _("Frozen From"), "fieldname": "frozen_from", "fieldtype": "Date", "width": 100},
		{"label": _("Frozen Until"), "fieldname": "frozen_until", "fieldtype": "Date", "width": 100},
		{"label": _("Shared With"), "fieldname": "shared_with", "fieldtype": "Data", "width": 200},
		{
			"label": _("Deferred"),
			"fieldname": "total_deferred",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 120,
		},
		{
			"label": _("Purchase Invoice"),
			"fieldname": "sales_invoice",
			"fieldtype": "Link",
			"options": "Sales Invoice",
			"width": 150,
		},
		{"label": _("Breakage Method"), "fieldname": "breakage_method", "fieldtype": "Data", "width": 120},
		{
			"label": _("Expected Breakage Rate"),
			"fieldname": "breakage_rate",
			"fieldtype": "Percent",
			"width": 110,
		},
		{
			"label": _("Breakage Rate Source"),
			"fieldname": "breakage_rate_source",
			"fieldtype": "Data",
			"width": 260,
		},
		# why the expiry job could not expire the balance on its last try (it tries again)
		{"label": _("Last Expiry Error"), "fieldname": "expiry_error", "fieldtype": "Data", "width": 220},
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
		group_column(filters, GROUP_BY_CHOICES),
		{"label": _("Balances"), "fieldname": "balances", "fieldtype": "Int", "width": 100},
		{"label": _("Units Purchased"), "fieldname": "units_purchased", "fieldtype": "Float", "width": 120},
		{"label": _("Units Remaining"), "fieldname": "units_remaining", "fieldtype": "Float", "width": 120},
		money_column(_("Deferred"), "total_deferred", 140),
		currency_column(),
	]


def get_summary(filters, group_field: str) -> list[dict]:
	"""Balances per package, customer or status: one grouped query read from the summary index alone.

	The units are the balances' own (units purchased and remaining, kept by the state writer with
	their lines), so the lines are not read (issue 22: a million balances hold three million lines).
	"""
	Balance = DocType("Package Balance")
	group = Balance[group_field]
	query = frappe.qb.from_(Balance)
	if group_field in SUMMARY_INDEXES and not filters.customer:
		query = query.force_index(SUMMARY_INDEXES[group_field])
	rows = apply_balance_filters(
		query.select(
			group.as_("group_value"),
			Count(Balance.name).as_("balances"),
			Sum(Balance.units_purchased).as_("units_purchased"),
			Sum(Balance.units_remaining).as_("units_remaining"),
			Sum(Balance.total_deferred).as_("total_deferred"),
		)
		.groupby(group)
		.orderby(group),
		Balance,
		filters,
	).run(as_dict=True)
	currency = company_currency(filters.company)
	return [
		{
			group_field: row.group_value,  # a status is translated by the report's formatter
			"balances": row.balances,
			"units_purchased": flt(row.units_purchased, QTY_PRECISION),
			"units_remaining": flt(row.units_remaining, QTY_PRECISION),
			"total_deferred": flt(row.total_deferred),
			"currency": currency,
		}
		for row in rows
	]


def get_balances(filters) -> list[dict]:
	Balance = DocType("Package Balance")
	query = (
		frappe.qb.from_(Balance)
		.select(
			Balance.customer,
			Balance.customer_name,
			Balance.prepaid_package,
			Balance.name.as_("package_balance"),
			Balance.status,
			Balance.purchase_date,
			Balance.expiry_date,
			Balance.total_deferred,
			Balance.sales_invoice,
			Balance.breakage_method,
			Balance.breakage_rate,
			Balance.breakage_rate_source,
			Balance.expiry_error,
			Balance.frozen_from,
			Balance.frozen_until,
		)
		.orderby(Balance.customer)
		# balances without an expiry date last
		.orderby(Balance.expiry_date.isnull())
		.orderby(Balance.expiry_date)
		.orderby(Balance.name)
	)
	return apply_balance_filters(query, Balance, filters).run(as_dict=True)


def get_balance_items(filters) -> list[dict]:
	"""Every item row of the balances shown, in one query."""
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	query = (
		frappe.qb.from_(Item)
		.join(Balance)
		.on(Balance.name == Item.parent)
		.select(
			Item.parent,
			Item.item_code,
			Item.item_name,
			Item.qty_purchased,
			Item.qty_remaining,
			Item.qty_moved_out,
		)
		.where(Item.parenttype == "Package Balance")
		.orderby(Item.parent)
		.orderby(Item.idx)
	)
	return apply_balance_filters(query, Balance, filters).run(as_dict=True)


def get_sharers(filters) -> list[dict]:
	"""The other customers each balance shown is shared with, in one query."""
	Balance = DocType("Package Balance")
	Sharer = DocType("Package Balance Sharer")
	query = (
		frappe.qb.from_(Sharer)
		.join(Balance)
		.on(Balance.name == Sharer.parent)
		.select(Sharer.parent, Sharer.customer, Sharer.customer_name)
		.where(Sharer.parenttype == "Package Balance")
		.where(Sharer.parentfield == "sharers")
		.orderby(Sharer.parent)
		.orderby(Sharer.idx)
	)
	return apply_balance_filters(query, Balance, filters).run(as_dict=True)


def attach_sharers(balances: list[dict], sharers: list[dict]) -> None:
	names_by_balance: dict[str, list[str]] = {}
	for sharer in sharers:
		names_by_balance.setdefault(sharer.parent, []).append(sharer.customer_name or sharer.customer)
	for balance in balances:
		balance.shared_with = ", ".join(names_by_balance.get(balance.package_balance, []))


def apply_balance_filters(query, Balance, filters):
	query = query.where(Balance.company == filters.company)
	query = where_permitted(query, Balance.customer, filters)
	if filters.customer:
		query = query.where(Balance.customer == filters.customer)
	if filters.prepaid_package:
		query = query.where(Balance.prepaid_package == filters.prepaid_package)
	if filters.status:
		query = query.where(Balance.status == filters.status)
	return query


def attach_items(balances: list[dict], items: list[dict]) -> None:
	items_by_balance: dict[str, list[dict]] = {}
	for item in items:
		items_by_balance.setdefault(item.parent, []).append(item)
	line_template = _("{0} x {1}")  # translated once, not once per item
	for balance in balances:
		own_items = items_by_balance.get(balance.package_balance, [])
		balance.units_purchased = flt(
			sum(float(item.qty_purchased or 0) for item in own_items), QTY_PRECISION
		)
		balance.units_remaining = flt(
			sum(float(item.qty_remaining or 0) for item in own_items), QTY_PRECISION
		)
		balance.units_moved_out = flt(
			sum(float(item.qty_moved_out or 0) for item in own_items), QTY_PRECISION
		)
		balance.remaining_items = remaining_items_text(own_items, line_template)


def remaining_items_text(items: list[dict], line_template: str) -> str:
	"""'3 x Office Visit, 2 x Lab Panel': the items left, in the package's order."""
	return ", ".join(
		line_template.format(format_qty(item.qty_remaining), item.item_name or item.item_code)
		for item in items
		if (item.qty_remaining or 0) > 0
	)


def format_qty(qty) -> str:
	"""3 rather than 3.0; fractions (units of ml, say) as written, without trailing zeros."""
	value = round(float(qty), QTY_PRECISION)
	return str(int(value)) if value.is_integer() else f"{value:.{QTY_PRECISION}f}".rstrip("0")
