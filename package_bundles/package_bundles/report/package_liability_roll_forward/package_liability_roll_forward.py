# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Liability Roll-forward: the packages' contract liability from one date to another.

The schedule an auditor asks for under IFRS 15 / ASC 606: for a company and a period, per
item group or per package, the deferred revenue at the start, each kind of movement in the
period, and the deferred revenue at the end. Every figure is a sum of the Package Ledger's
signed changes of the liability (a sale adds to it, a redemption takes from it; a transfer
between customers shows out on one row and in on another, an upgrade's credit leaves the old
package's row while the new package's sale adds its whole price), so the
closing equals the opening plus the movements; breakage shows in three figures, recognized
with use (the Proportional method), at expiry (the true-up) and given back (reversed); the summary checks the closing against the
GL balance of the packages' deferred revenue accounts at the period end. Each figure links
to the ledger entries it sums, which name their vouchers.
"""

import frappe
from frappe import _
from frappe.query_builder import Case, DocType
from frappe.query_builder.functions import Sum
from frappe.utils import cint, flt, get_first_day, getdate, today

from package_bundles.engine.figures import GIVEN_BACK, MOVEMENTS, TAKEN
from package_bundles.ledger import closing
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
	gl_cards,
)
from package_bundles.package_bundles.report.package_report_filters import (
	apply_user_permissions,
	company_currency,
	item_group_subtree,
	money_precision,
	validate_date_range,
	where_permitted,
)

# the movements of the period, in the schedule's order (package_bundles.engine.figures: the
# events each sums and the direction of the deferred change it takes, one definition with the
# month-end snapshots)
FIGURES = ("opening", *(name for name, _events, _direction in MOVEMENTS), "closing")
GROUP_FIELDS = {"Item Group": "item_group", "Prepaid Package": "prepaid_package"}


def execute(filters=None):
	filters = frappe._dict(filters or {})
	validate_filters(filters)
	currency = company_currency(filters.company)
	precision = money_precision(filters.company)
	rows = get_rows(filters, currency, precision)
	# the GL covers every customer of the company: not shown to a user who sees only some of them.
	# It reads every GL row of the deferred accounts, so the desk asks for it once the rows show
	# (reconcile_later, as Package Deferred Revenue does); a REST call gets it with the rows.
	totals = (
		get_totals(filters.company, filters.to_date)
		if filters.permitted_customers is None and not cint(filters.reconcile_later)
		else None
	)
	summary = get_report_summary(rows[-1] if rows else None, totals, currency)
	return get_columns(filters), rows, summary_note(filters), None, summary


def validate_filters(filters) -> None:
	if not filters.company:
		frappe.throw(_("Select a Company"))
	filters.from_date = getdate(filters.from_date or get_first_day(today()))
	filters.to_date = getdate(filters.to_date or today())
	validate_date_range(filters)
	apply_user_permissions(filters, "Package Ledger Entry")
	filters.group_by = filters.group_by or "Item Group"
	if filters.group_by not in GROUP_FIELDS:
		frappe.throw(_("Group By must be Item Group or Prepaid Package"))


def movement_labels() -> dict[str, str]:
	return {
		"opening": _("Opening Deferred"),
		"sold": _("Sold"),
		"redeemed": _("Recognized on Redemption"),
		"recognized_upon_purchase": _("Recognized upon Purchase"),
		"breakage_with_use": _("Breakage with Use"),
		"breakage_at_expiry": _("Breakage at Expiry"),
		"breakage_reversed": _("Breakage Reversed"),
		"refunded": _("Refunded"),
		"returned": _("Returned"),
		"opening_imports": _("Opening Balances Imported"),
		"transferred_in": _("Transferred In"),
		"transferred_out": _("Transferred Out"),
		"credited_to_upgrades": _("Credited to Upgrades"),
		"closing": _("Closing Deferred"),
	}


def get_columns(filters) -> list[dict]:
	group_field = GROUP_FIELDS[filters.group_by]
	labels = movement_labels()
	group_labels = {"Item Group": _("Item Group"), "Prepaid Package": _("Prepaid Package")}
	columns = [
		{
			"label": group_labels[filters.group_by],
			"fieldname": group_field,
			"fieldtype": "Link",
			"options": filters.group_by,
			"width": 180,
		}
	]
	columns += [
		{
			"label": labels[figure],
			"fieldname": figure,
			"fieldtype": "Currency",
			"options": "currency",
			"width": 150 if figure in ("opening", "closing") else 130,
		}
		for figure in FIGURES
	]
	columns.append(
		{
			"label": _("Currency"),
			"fieldname": "currency",
			"fieldtype": "Link",
			"options": "Currency",
			"hidden": 1,
		}
	)
	return columns


def get_rows(filters, currency: str, precision: int) -> list[dict]:
	"""One row per item group (or package) the ledger moved up to the period end, and a total row.

	Each figure is the difference of two reads of the month-end snapshots plus the movements
	after them (issue 22): as of the period end, and as of the day before it starts. A user
	limited to some customers is answered from the ledger (the snapshots per customer do not
	keep item groups).
	"""
	group_field = GROUP_FIELDS[filters.group_by]
	if filters.permitted_customers is None:
		results = figures_from_snapshots(filters, group_field)
	else:
		results = figures_from_ledger(filters, group_field)

	rows = []
	for result in results:
		figures = {figure: flt(result[figure], precision) for figure in FIGURES}
		if not any(figures.values()):
			continue
		rows.append(
			{
				group_field: result.group_value,
				**figures,
				"currency": currency,
				"drilldown": drilldown(filters, {group_field: result.group_value}),
			}
		)
	if rows:
		rows.append(total_row(filters, rows, group_field, currency, precision))
	return rows


def figures_from_snapshots(filters, group_field: str) -> list[dict]:
	"""Each group's figures: as of the period end less as of the day before the period."""
	names = ("deferred", *(f"moved_{name}" for name, _events, _direction in MOVEMENTS))
	narrowing = {
		"item_groups": item_group_subtree(filters.item_group) if filters.item_group else None,
		"prepaid_package": filters.prepaid_package,
	}
	results = []
	for row in closing.in_period(
		filters.company, filters.from_date, filters.to_date, group_field, names, **narrowing
	):
		results.append(
			frappe._dict(
				{
					"group_value": row[group_field],
					"opening": row["before_deferred"],
					**{
						name: flt(row[f"moved_{name}"] - row[f"before_moved_{name}"])
						for name, _events, _direction in MOVEMENTS
					},
					"closing": row["deferred"],
				}
			)
		)
	return results


def figures_from_ledger(filters, group_field: str) -> list[dict]:
	"""Each group's figures summed from every ledger row up to the period end."""
	Entry = DocType("Package Ledger Entry")
	group = Entry[group_field]
	in_period = Entry.posting_date >= filters.from_date

	def summed(condition):
		return Sum(Case().when(condition, Entry.deferred_change).else_(0))

	def moved(events, direction):
		condition = in_period & Entry.event.isin(events)
		if direction == TAKEN:
			condition &= Entry.deferred_change < 0
		elif direction == GIVEN_BACK:
			condition &= Entry.deferred_change > 0
		return condition

	query = (
		frappe.qb.from_(Entry)
		.select(
			group.as_("group_value"),
			summed(Entry.posting_date < filters.from_date).as_("opening"),
			*[summed(moved(events, direction)).as_(name) for name, events, direction in MOVEMENTS],
			Sum(Entry.deferred_change).as_("closing"),
		)
		.where(Entry.company == filters.company)
		.where(Entry.is_cancelled == 0)
		.where(Entry.posting_date <= filters.to_date)
		.groupby(group)
		.orderby(group)
	)
	if filters.item_group:
		query = query.where(Entry.item_group.isin(item_group_subtree(filters.item_group)))
	if filters.prepaid_package:
		query = query.where(Entry.prepaid_package == filters.prepaid_package)
	query = where_permitted(query, Entry.customer, filters)
	return query.run(as_dict=True)


def total_row(filters, rows, group_field: str, currency: str, precision: int) -> dict:
	total = {figure: flt(sum(row[figure] for row in rows), precision) for figure in FIGURES}
	narrowed = {}
	if filters.item_group:
		narrowed["item_group"] = ["descendants of (inclusive)", filters.item_group]
	if filters.prepaid_package:
		narrowed["prepaid_package"] = filters.prepaid_package
	return {
		group_field: _("Total"),
		**total,
		"currency": currency,
		"is_total": 1,
		"drilldown": drilldown(filters, narrowed),
	}


def drilldown(filters, narrowed: dict) -> dict[str, dict]:
	"""Per figure, the Package Ledger Entry filters that select exactly the entries it sums."""
	base = {"company": filters.company, "is_cancelled": 0, **narrowed}
	from_date, to_date = str(filters.from_date), str(filters.to_date)
	period = ["between", [from_date, to_date]]
	filters_by_figure = {
		"opening": {**base, "posting_date": ["<", from_date]},
		"closing": {**base, "posting_date": ["<=", to_date]},
	}
	for name, events, direction in MOVEMENTS:
		filters_by_figure[name] = {**base, "event": ["in", list(events)], "posting_date": period}
		if direction:
			filters_by_figure[name]["deferred_change"] = [direction, 0]
	return filters_by_figure


def get_report_summary(total: dict | None, totals: dict | None, currency: str) -> list[dict]:
	labels = movement_labels()
	opening = total["opening"] if total else 0
	closing = total["closing"] if total else 0
	movements = flt(sum(total[name] for name, _events, _direction in MOVEMENTS)) if total else 0
	return [
		{"value": opening, "label": labels["opening"], "datatype": "Currency", "currency": currency},
		{"value": movements, "label": _("Net Movements"), "datatype": "Currency", "currency": currency},
		{"value": closing, "label": labels["closing"], "datatype": "Currency", "currency": currency},
		*(gl_cards(totals, currency) if totals is not None else []),
	]


def summary_note(filters) -> str | None:
	if filters.permitted_customers is not None:
		return _("The figures cover the customers you are permitted to see.")
	if filters.item_group or filters.prepaid_package:
		return _(
			"The rows follow the filters; the General Ledger and the difference cover every package of {0}."
		).format(frappe.bold(filters.company))
	return None
