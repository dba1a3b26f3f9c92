# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Billed Revenue: the revenue packages recognized in a period, event by event (SPEC §5).

Each non-cancelled Package Ledger Entry that moved revenue is one line, with
its item and Item Group and its source: a redemption, the purchase (packages
recognized upon purchase) or breakage (at expiry, or with use under the Proportional
method). Optionally grouped by Item Group as a tree, with a chart of revenue per group.
"""

import frappe
from frappe import _
from frappe.query_builder import Case, DocType
from frappe.query_builder.functions import Sum
from frappe.utils import flt, get_first_day, getdate, today

from package_bundles.engine.figures import EVENTS_BY_SOURCE, SOURCE_COLUMNS
from package_bundles.ledger import closing
from package_bundles.package_bundles.doctype.package_ledger_entry.package_ledger_entry import SUMMARY_INDEX
from package_bundles.package_bundles.report.package_report_filters import (
	apply_user_permissions,
	company_currency,
	currency_column,
	group_column,
	item_group_subtree,
	money_column,
	money_precision,
	summary_group_by,
	validate_date_range,
	where_permitted,
)

# each revenue event's source (engine.figures.EVENTS_BY_SOURCE: one definition with the snapshots)
SOURCE_OF_EVENT = {event: source for source, events in EVENTS_BY_SOURCE.items() for event in events}
# events whose voucher is the invoice that redeemed (or returned) the units
REDEMPTION_INVOICE_EVENTS = ("Redemption", "Redemption Return")


def execute(filters=None):
	filters = frappe._dict(filters or {})
	validate_filters(filters)
	currency = company_currency(filters.company)
	group_field = summary_group_by(filters)
	if group_field and not filters.group_by_item_group:
		rows = get_summary(filters, group_field, currency)
		return get_summary_columns(filters), rows, None, get_summary_chart(rows, group_field, currency)
	lines = get_lines(filters, currency)
	if not filters.group_by_item_group:
		return get_columns(filters), lines

	groups = group_by_item_group(lines)
	data = tree_rows(groups, currency, money_precision(filters.company))
	# group rows carry subtotals, so the standard total row would count everything twice
	return get_columns(filters), data, None, get_chart(data, currency), None, True


def validate_filters(filters) -> None:
	if not filters.company:
		frappe.throw(_("Select a Company"))
	filters.from_date = getdate(filters.from_date or get_first_day(today()))
	filters.to_date = getdate(filters.to_date or today())
	validate_date_range(filters)
	if filters.source and filters.source not in EVENTS_BY_SOURCE:
		frappe.throw(_("Source must be one of {0}").format(", ".join(_(s) for s in EVENTS_BY_SOURCE)))
	apply_user_permissions(filters, "Package Balance")


def get_columns(filters) -> list[dict]:
	item_group = {
		"label": _("Item Group"),
		"fieldname": "item_group",
		"fieldtype": "Link",
		"options": "Item Group",
		"width": 180 if filters.group_by_item_group else 120,
	}
	columns = [
		{"label": _("Posting Date"), "fieldname": "posting_date", "fieldtype": "Date", "width": 100},
		{
			"label": _("Customer"),
			"fieldname": "customer",
			"fieldtype": "Link",
			"options": "Customer",
			"width": 160,
		},
		{"label": _("Item"), "fieldname": "item_code", "fieldtype": "Link", "options": "Item", "width": 150},
		item_group,
		{"label": _("Source"), "fieldname": "source", "fieldtype": "Data", "width": 100},
		{"label": _("Event"), "fieldname": "event", "fieldtype": "Data", "width": 140},
		{
			"label": _("Amount"),
			"fieldname": "amount",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 120,
		},
		{
			"label": _("Redemption Invoice"),
			"fieldname": "redemption_invoice",
			"fieldtype": "Link",
			"options": "Sales Invoice",
			"width": 150,
		},
		{
			"label": _("Purchase Invoice"),
			"fieldname": "purchase_invoice",
			"fieldtype": "Link",
			"options": "Sales Invoice",
			"width": 150,
		},
		{
			"label": _("Journal Entry"),
			"fieldname": "journal_entry",
			"fieldtype": "Link",
			"options": "Journal Entry",
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
			"label": _("Currency"),
			"fieldname": "currency",
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		},
	]
	if filters.group_by_item_group:
		# the tree's first column names the group
		columns.remove(item_group)
		columns.insert(0, item_group)
	return columns


def get_summary_columns(filters) -> list[dict]:
	return [
		group_column(filters),
		*(money_column(_(source), field, 140) for source, field in SOURCE_COLUMNS.items()),
		money_column(_("Revenue"), "amount", 140),
		currency_column(),
	]


def get_summary(filters, group_field: str, currency: str) -> list[dict]:
	"""Revenue per item group, package or customer in the period, by source.

	Read from the month-end snapshots (issue 22): as of the period end less as of the day before
	it, each the last snapshot plus the movements after it. Narrowings the snapshots do not keep
	(by customer for one item group, by item group for a user limited to some customers) are
	summed from the ledger.
	"""
	rows = summary_from_snapshots(filters, group_field)
	if rows is None:
		rows = summary_from_ledger(filters, group_field)
	for row in rows:
		for field in (*SOURCE_COLUMNS.values(), "amount"):
			row[field] = flt(row[field])  # sums of stored amounts: no rounding needed
		row.currency = currency
	return rows


def summary_from_snapshots(filters, group_field: str) -> list[dict] | None:
	customers = filters.permitted_customers
	if group_field == "customer" and filters.item_group:
		return None
	if group_field != "customer" and customers is not None:
		return None
	names = tuple(f"billed_{field}" for field in SOURCE_COLUMNS.values())
	narrowing = {
		"item_groups": item_group_subtree(filters.item_group) if filters.item_group else None,
		"customers": customers,
	}
	rows = []
	for row in closing.in_period(
		filters.company, filters.from_date, filters.to_date, group_field, names, **narrowing
	):
		figures = {
			field: flt(row[f"billed_{field}"] - row[f"before_billed_{field}"])
			if not filters.source or source == filters.source
			else 0.0
			for source, field in SOURCE_COLUMNS.items()
		}
		if any(figures.values()):
			rows.append(
				frappe._dict({group_field: row[group_field], **figures, "amount": sum(figures.values())})
			)
	return rows


def summary_from_ledger(filters, group_field: str) -> list[dict]:
	"""The same figures summed from the ledger rows of the period."""
	Entry = DocType("Package Ledger Entry")
	group = Entry[group_field]
	query = (
		revenue_entries(Entry, filters, summary=not (filters.customer or filters.item_group))
		.select(
			group.as_(group_field),
			*(
				Sum(
					Case().when(Entry.event.isin(EVENTS_BY_SOURCE[source]), Entry.revenue_change).else_(0)
				).as_(field)
				for source, field in SOURCE_COLUMNS.items()
			),
			Sum(Entry.revenue_change).as_("amount"),
		)
		.groupby(group)
		.orderby(group)
	)
	return apply_line_filters(query, Entry, filters).run(as_dict=True)


def get_summary_chart(rows: list[dict], group_field: str, currency: str) -> dict | None:
	if not rows:
		return None
	return {
		"data": {
			"labels": [row[group_field] for row in rows],
			"datasets": [
				{"name": _(source), "values": [row[field] for row in rows]}
				for source, field in SOURCE_COLUMNS.items()
			],
		},
		"type": "bar",
		"barOptions": {"stacked": 1},
		"fieldtype": "Currency",
		"currency": currency,
	}


def revenue_entries(Entry, filters, summary: bool = False):
	"""The company's live ledger rows that moved revenue in the period (a summary from the index alone)."""
	query = frappe.qb.from_(Entry)
	if summary:
		query = query.force_index(SUMMARY_INDEX)
	return (
		query.where(Entry.company == filters.company)
		.where(Entry.posting_date[filters.from_date : filters.to_date])
		.where(Entry.is_cancelled == 0)
		.where(Entry.revenue_change != 0)
		.where(Entry.event.isin(list(SOURCE_OF_EVENT)))
	)


def get_lines(filters, currency: str) -> list[dict]:
	Entry = DocType("Package Ledger Entry")
	query = revenue_entries(Entry, filters).select(
		Entry.posting_date,
		Entry.customer,
		Entry.item_code,
		Entry.item_group,
		Entry.event,
		Entry.revenue_change.as_("amount"),
		Entry.voucher_type,
		Entry.voucher_no,
		Entry.purchase_invoice,
		Entry.journal_entry,
		Entry.package_balance,
	)
	if filters.group_by_item_group:
		query = query.orderby(Entry.item_group)
	query = (
		query.orderby(Entry.posting_date)
		.orderby(Entry.voucher_no)
		.orderby(Entry.package_balance)
		.orderby(Entry.item_code)
		.orderby(Entry.name)
	)
	query = apply_line_filters(query, Entry, filters)

	lines = query.run(as_dict=True)
	for line in lines:
		line.source = _(SOURCE_OF_EVENT[line.event])
		line.redemption_invoice = redemption_invoice(line)
		line.event = _(line.event)
		line.amount = flt(line.amount)  # stored rounded: no rounding needed
		line.currency = currency
		del line["voucher_type"], line["voucher_no"]
	return lines


def apply_line_filters(query, Entry, filters):
	query = where_permitted(query, Entry.customer, filters)
	if filters.customer:
		query = query.where(Entry.customer == filters.customer)
	if filters.item_group:
		query = query.where(Entry.item_group.isin(item_group_subtree(filters.item_group)))
	if filters.source:
		query = query.where(Entry.event.isin(EVENTS_BY_SOURCE[filters.source]))
	return query


def redemption_invoice(line) -> str | None:
	if line.voucher_type == "Sales Invoice" and line.event in REDEMPTION_INVOICE_EVENTS:
		return line.voucher_no
	return None


# --- grouped by Item Group -----------------------------------------------------


def group_by_item_group(lines: list[dict]) -> dict[str, list[dict]]:
	"""Lines by Item Group, in the order the query returned them (by group)."""
	groups: dict[str, list[dict]] = {}
	for line in lines:
		groups.setdefault(line.item_group, []).append(line)
	return groups


def tree_rows(groups: dict[str, list[dict]], currency: str, precision: int) -> list[dict]:
	"""A group row (indent 0) with its subtotal before its lines (indent 1); a total row last."""
	rows = []
	for item_group, lines in groups.items():
		subtotal = flt(sum(line.amount for line in lines), precision)
		rows.append(
			{"item_group": item_group, "amount": subtotal, "currency": currency, "indent": 0, "is_group": 1}
		)
		rows += [{**line, "indent": 1} for line in lines]
	if rows:
		total = flt(sum(row["amount"] for row in rows if row.get("is_group")), precision)
		rows.append(
			{"item_group": _("Total"), "amount": total, "currency": currency, "indent": 0, "is_total": 1}
		)
	return rows


def get_chart(rows: list[dict], currency: str) -> dict | None:
	group_rows = [row for row in rows if row.get("is_group")]
	if not group_rows:
		return None
	return {
		"data": {
			"labels": [row["item_group"] for row in group_rows],
			"datasets": [{"name": _("Revenue"), "values": [row["amount"] for row in group_rows]}],
		},
		"type": "bar",
		"fieldtype": "Currency",
		"currency": currency,
	}
