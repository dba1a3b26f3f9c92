"""The Packages workspace at a glance: its number cards and charts.

Each figure is one set-based query on an indexed path of the app's own records:
the deferred liability is the Package Ledger sum the Package Deferred Revenue
report shows (company, posting_date index), balance counts use the
(status, expiry_date) index of Package Balance, redemptions the
(company, posting_date) index of Package Redemption. A figure is for one company:
the card's or chart's filter, else the user's default company; a company the user's
User Permissions exclude is refused, and a user limited to some customers counts only
theirs (read_permissions, as the reports).
"""

import json

import frappe
from frappe import _
from frappe.query_builder import Case, DocType
from frappe.query_builder.functions import Count, Extract, Sum
from frappe.utils import (
	add_days,
	add_months,
	flt,
	format_date,
	get_first_day,
	get_last_day,
	getdate,
	today,
)
from pypika.enums import DatePart

from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	ledger_deferred,
)
from package_bundles.package_bundles.report.package_report_filters import company_currency
from package_bundles.permissions import check_company, permitted_customers

LIVE_STATUSES = ("Active", "Awaiting Payment")
EXPIRY_WINDOW_DAYS = 30
CHART_MONTHS = 12


# --- number cards ----------------------------------------------------------------


@frappe.whitelist()
def deferred_liability(filters: str | dict | None = None) -> dict:
	"""What the company's sold packages still owe today: live ledger rows up to today."""
	company = company_for("Package Ledger Entry", filters)
	return card(
		ledger_deferred(company, getdate(today()), permitted_customers("Package Ledger Entry")),
		"Currency",
		route=["query-report", "Package Deferred Revenue"],
		route_options={"company": company},
		currency=company_currency(company),
	)


@frappe.whitelist()
def active_balances(filters: str | dict | None = None) -> dict:
	company = company_for("Package Balance", filters)
	Balance = DocType("Package Balance")
	count = where_permitted(
		frappe.qb.from_(Balance)
		.select(Count("*"))
		.where(Balance.status == "Active")
		.where(Balance.company == company),
		Balance,
		"Package Balance",
	).run()[0][0]
	return card(
		count,
		"Int",
		route=["List", "Package Balance"],
		route_options={"company": company, "status": "Active"},
	)


@frappe.whitelist()
def balances_expiring_soon(filters: str | dict | None = None) -> dict:
	"""Live balances whose expiry date falls within the next 30 days (today included)."""
	company = company_for("Package Balance", filters)
	start = getdate(today())
	end = add_days(start, EXPIRY_WINDOW_DAYS)
	Balance = DocType("Package Balance")
	count = where_permitted(
		frappe.qb.from_(Balance)
		.select(Count("*"))
		.where(Balance.status.isin(LIVE_STATUSES))
		.where(Balance.expiry_date.between(start, end))
		.where(Balance.company == company),
		Balance,
		"Package Balance",
	).run()[0][0]
	return card(
		count,
		"Int",
		route=["List", "Package Balance"],
		route_options={
			"company": company,
			"status": ["in", list(LIVE_STATUSES)],
			"expiry_date": ["between", [str(start), str(end)]],
		},
	)


@frappe.whitelist()
def redemptions_this_month(filters: str | dict | None = None) -> dict:
	"""Invoice rows redeemed from a package this calendar month and not reversed since."""
	company = company_for("Package Redemption", filters)
	start, end = get_first_day(today()), get_last_day(today())
	Log = DocType("Package Redemption")
	count = where_permitted(
		frappe.qb.from_(Log)
		.select(Count("*"))
		.where(Log.company == company)
		.where(Log.posting_date.between(start, end))
		.where(Log.status == "Redeemed"),
		Log,
		"Package Redemption",
	).run()[0][0]
	return card(
		count,
		"Int",
		route=["query-report", "Package Usage"],
		route_options={"company": company, "from_date": str(start), "to_date": str(end)},
	)


def card(value, fieldtype: str, route: list, route_options: dict, currency: str | None = None) -> dict:
	"""What a Custom number card renders: the number, how to format it, where a click goes."""
	return {
		"value": flt(value) if fieldtype == "Currency" else int(value or 0),
		"fieldtype": fieldtype,
		"currency": currency,
		"route": route,
		"route_options": route_options,
	}


# --- charts ----------------------------------------------------------------------


@frappe.whitelist()
def deferred_liability_by_month(filters: str | dict | None = None, to_date: str | None = None) -> dict:
	"""The deferred liability at each of the last 12 month-ends (the current month: to date).

	One grouped query: everything before the first month in one opening bucket, then
	one sum per month; the month-ends are running totals of those.
	"""
	company = company_for("Package Ledger Entry", filters)
	months = month_starts(to_date)
	first, last_day = months[0], min(get_last_day(months[-1]), getdate(to_date or today()))
	Entry = DocType("Package Ledger Entry")
	bucket = Case().when(Entry.posting_date < first, 0).else_(month_key(Entry.posting_date))
	sums = dict(
		where_permitted(
			frappe.qb.from_(Entry)
			.select(bucket.as_("bucket"), Sum(Entry.deferred_change))
			.where(Entry.company == company)
			.where(Entry.is_cancelled == 0)
			.where(Entry.posting_date <= last_day)
			.groupby(bucket)
			.orderby(bucket),
			Entry,
			"Package Ledger Entry",
		).run()
	)
	running = flt(sums.get(0))
	values = []
	for month in months:
		running += flt(sums.get(month.year * 100 + month.month))
		values.append(flt(running, 2))
	return {
		"labels": [month_label(month) for month in months],
		"datasets": [{"name": _("Deferred Revenue"), "values": values}],
	}


@frappe.whitelist()
def redemptions_by_item_group(filters: str | dict | None = None, to_date: str | None = None) -> dict:
	"""Units redeemed from packages per month of service and item group (net of returns), 12 months."""
	company = company_for("Package Redemption", filters)
	months = month_starts(to_date)
	Log = DocType("Package Redemption")
	key = month_key(Log.posting_date)
	rows = where_permitted(
		frappe.qb.from_(Log)
		.select(key.as_("month"), Log.item_group, Sum(Log.qty - Log.qty_returned).as_("qty"))
		.where(Log.company == company)
		.where(Log.posting_date.between(months[0], get_last_day(months[-1])))
		.where(Log.status == "Redeemed")
		.groupby(key, Log.item_group)
		.orderby(Log.item_group)
		.orderby(key),
		Log,
		"Package Redemption",
	).run(as_dict=True)
	keys = [month.year * 100 + month.month for month in months]
	groups: dict[str, list[float]] = {}
	for row in rows:
		values = groups.setdefault(row.item_group or _("Not Set"), [0.0] * len(keys))
		values[keys.index(int(row.month))] += flt(row.qty)
	return {
		"labels": [month_label(month) for month in months],
		"datasets": [{"name": group, "values": values} for group, values in groups.items()],
	}


def month_starts(to_date=None) -> list:
	"""The first days of the last 12 months, the month of ``to_date`` (default today) last."""
	current = get_first_day(to_date or today())
	return [getdate(add_months(current, offset)) for offset in range(1 - CHART_MONTHS, 1)]


def month_key(column):
	"""yyyymm of a date column, the same on MariaDB and Postgres."""
	return Extract(DatePart.year, column) * 100 + Extract(DatePart.month, column)


def month_label(month) -> str:
	return format_date(month, "MMM ''yy")


# --- filters and permissions -----------------------------------------------------


def company_for(doctype: str, filters: str | dict | None) -> str:
	"""The company a figure is for, after checking the user may read the figure's records there."""
	if not frappe.has_permission(doctype, "read"):
		frappe.throw(_("Not permitted to read {0}").format(_(doctype)), frappe.PermissionError)
	filters = frappe._dict(parse_filters(filters))
	company = (
		filters.company
		or frappe.defaults.get_user_default("Company")
		or frappe.db.get_single_value("Global Defaults", "default_company")
	)
	if not company:
		frappe.throw(_("Select a Company"))
	check_company(company, doctype)
	return company


def where_permitted(query, table, doctype: str):
	"""A user limited to some customers counts only theirs (read_permissions), as the reports do."""
	customers = permitted_customers(doctype)
	if customers is not None:
		query = query.where(table.customer.isin(customers or [""]))
	return query


def parse_filters(filters) -> dict:
	"""A card or chart sends its filters as a JSON object, or a list of [doctype, field, op, value]."""
	if isinstance(filters, str):
		filters = json.loads(filters or "{}")
	if isinstance(filters, list):
		return {row[1]: row[3] for row in filters if len(row) >= 4 and row[2] == "="}
	return filters or {}
