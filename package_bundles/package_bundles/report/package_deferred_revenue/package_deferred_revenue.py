# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Deferred Revenue: what each sold package line still owes, as of a date (SPEC §5).

Read from the Package Ledger (dated movements), not from the balances' current
state, so any past date can be asked. The summary reconciles the company's
deferred revenue from packages with the deferred revenue account in the GL
(SPEC §4, invariant 2).

A line sold with the Proportional breakage method (issue 21) also shows the breakage it still
expects: its allocation x the rate locked at sale, less the breakage already recognized with
use, never below 0 nor above what is still deferred (0 under At expiry). It is a share of the
deferred revenue, not a figure of its own in the GL.
"""

import frappe
from frappe import _
from frappe.query_builder import Case, DocType, Order
from frappe.query_builder.functions import Coalesce, Max, Round, Sum
from frappe.utils import cint, flt, getdate, today
from pypika.terms import ExistsCriterion

from package_bundles.engine.figures import (
	BREAKAGE_EVENTS,
	BREAKAGE_WITH_USE_EVENTS,
	HELD_EVENTS,
	RECOGNIZING_EVENTS,
	REDEMPTION_EVENTS,
	SALE_EVENTS,
)
from package_bundles.ledger import closing
from package_bundles.package_bundles.doctype.package_ledger_entry.package_ledger_entry import SUMMARY_INDEX
from package_bundles.package_bundles.report.package_report_filters import (
	apply_user_permissions,
	company_currency,
	group_column,
	item_group_subtree,
	money_precision,
	summary_group_by,
	where_permitted,
)

# the ledger's event groups each figure sums: one definition with the month-end snapshots
PROPORTIONAL = "Proportional"
# a summary by customer shows one page (issue 22: a practice may have 250,000 patients)
CUSTOMER_PAGE_LENGTH = 500
SUMMED_FIELDS = (
	"qty_purchased",
	"qty_redeemed",
	"qty_remaining",
	"allocated",
	"recognized",
	"broken",
	"refunded",
	"deferred",
	"expected_breakage",
)
# what the month-end snapshots keep (expected breakage is bounded line by line: summed apart)
SNAPSHOT_FIELDS = tuple(field for field in SUMMED_FIELDS if field != "expected_breakage")


def execute(filters=None):
	filters = frappe._dict(filters or {})
	validate_filters(filters)
	currency = company_currency(filters.company)
	group_field = summary_group_by(filters)
	if group_field:
		columns, data = get_summary_columns(filters), get_summary(filters, group_field, currency)
	else:
		columns, data = get_columns(), get_lines(filters, currency)
	if filters.reconcile and filters.permitted_customers is None and not filters.customer:
		totals = get_totals(filters.company, filters.as_of_date)
	else:
		# The reconciliation with the GL reads every GL row of the deferred accounts: the desk
		# asks for it on its own once the rows are shown (get_reconciliation), so a summary or
		# one customer's view stays quick. A user limited to some customers sees their liability.
		totals = {"deferred": flt(sum(row["deferred"] for row in data), money_precision(filters.company))}
	return columns, data, summary_note(filters), None, get_report_summary(totals, currency)


@frappe.whitelist()
@frappe.read_only()
def get_reconciliation(company: str, as_of_date: str | None = None) -> list[dict]:
	"""The summary cards of the company's deferred revenue against the GL (SPEC §4 invariant 2)."""
	frappe.has_permission("Package Balance", "report", throw=True)
	filters = frappe._dict({"company": company, "as_of_date": as_of_date})
	validate_filters(filters)
	if filters.permitted_customers is not None:
		return []
	return get_report_summary(get_totals(company, filters.as_of_date), company_currency(company))


def validate_filters(filters) -> None:
	if not filters.company:
		frappe.throw(_("Select a Company"))
	filters.as_of_date = getdate(filters.as_of_date or today())
	apply_user_permissions(filters, "Package Balance")


def get_columns() -> list[dict]:
	return [
		{
			"label": _("Customer"),
			"fieldname": "customer",
			"fieldtype": "Link",
			"options": "Customer",
			"width": 160,
		},
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
		{
			"label": _("Purchase Invoice"),
			"fieldname": "purchase_invoice",
			"fieldtype": "Link",
			"options": "Sales Invoice",
			"width": 150,
		},
		{"label": _("Item"), "fieldname": "item_code", "fieldtype": "Link", "options": "Item", "width": 150},
		{
			"label": _("Item Group"),
			"fieldname": "item_group",
			"fieldtype": "Link",
			"options": "Item Group",
			"width": 120,
		},
		{"label": _("Qty Purchased"), "fieldname": "qty_purchased", "fieldtype": "Float", "width": 110},
		{"label": _("Qty Redeemed"), "fieldname": "qty_redeemed", "fieldtype": "Float", "width": 110},
		{"label": _("Qty Remaining"), "fieldname": "qty_remaining", "fieldtype": "Float", "width": 110},
		{
			"label": _("Allocated"),
			"fieldname": "allocated",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 120,
		},
		{
			"label": _("Recognized"),
			"fieldname": "recognized",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 120,
		},
		{
			"label": _("Breakage"),
			"fieldname": "broken",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 110,
		},
		{
			"label": _("Refunded"),
			"fieldname": "refunded",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 110,
		},
		{
			"label": _("Deferred"),
			"fieldname": "deferred",
			"fieldtype": "Currency",
			"options": "currency",
			"width": 120,
		},
		{
			# the part of the deferred revenue a Proportional line expects to break (issue 21)
			"label": _("Expected Breakage to Come"),
			"fieldname": "expected_breakage",
			"fieldtype": "Currency",
			"options": "currency",
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
	figures = [column for column in get_columns() if column["fieldname"] in (*SUMMED_FIELDS, "currency")]
	return [group_column(filters), *figures]


def ledger_figures(Entry) -> list:
	"""A line's figures as sums of its ledger rows (the same sums serve a summary group)."""
	is_sale = Entry.event.isin(HELD_EVENTS)
	return [
		Sum(Case().when(is_sale, Entry.qty_change).else_(0)).as_("qty_purchased"),
		Sum(Case().when(Entry.event.isin(REDEMPTION_EVENTS), -Entry.qty_change).else_(0)).as_("qty_redeemed"),
		Sum(Case().when(is_sale | Entry.event.isin(REDEMPTION_EVENTS), Entry.qty_change).else_(0)).as_(
			"qty_remaining"
		),
		allocated_sum(Entry).as_("allocated"),
		Sum(Case().when(Entry.event.isin(RECOGNIZING_EVENTS), Entry.revenue_change).else_(0)).as_(
			"recognized"
		),
		Sum(Case().when(Entry.event.isin(BREAKAGE_EVENTS), Entry.revenue_change).else_(0)).as_("broken"),
		Sum(Case().when(Entry.event == "Refund", -Entry.deferred_change).else_(0)).as_("refunded"),
		Sum(Entry.deferred_change).as_("deferred"),
	]


def allocated_sum(Entry):
	return Sum(Case().when(Entry.event.isin(HELD_EVENTS), Entry.deferred_change).else_(0))


def breakage_with_use_sum(Entry):
	return Sum(Case().when(Entry.event.isin(BREAKAGE_WITH_USE_EVENTS), Entry.revenue_change).else_(0))


def locked_rate(Balance):
	"""The expected breakage rate (percent) the balance locked at sale; 0 under At expiry."""
	return Case().when(Balance.breakage_method == PROPORTIONAL, Coalesce(Balance.breakage_rate, 0)).else_(0)


def expected_breakage(allocated, rate, with_use, deferred, precision: int):
	"""The breakage a line still expects: allocated x rate - breakage with use, within 0 and deferred.

	One SQL expression for the lines and the summaries, so a summary is its lines summed.
	"""
	expected = Round(allocated * rate / 100, precision) - with_use
	return Case().when(expected <= 0, 0).when(expected > deferred, deferred).else_(expected)


def ledger_as_of(Entry, filters, summary: bool = False):
	"""The company's live ledger rows up to the date, narrowed by the report's filters.

	A summary of the whole company reads its figures from the summary index alone (MariaDB
	would rather take the narrower company and date index and then read every row).
	"""
	query = frappe.qb.from_(Entry)
	if summary and not (filters.customer or filters.prepaid_package or filters.item_group):
		query = query.force_index(SUMMARY_INDEX)
	query = (
		query.where(Entry.company == filters.company)
		.where(Entry.posting_date <= filters.as_of_date)
		.where(Entry.is_cancelled == 0)
	)
	return apply_line_filters(query, Entry, filters)


def get_lines(filters, currency: str) -> list[dict]:
	"""One row per balance line sold on or before the date: its ledger summed up to that date."""
	Entry = DocType("Package Ledger Entry")
	Line = DocType("Package Balance Item")
	Balance = DocType("Package Balance")
	is_sale = Entry.event.isin(SALE_EVENTS)
	expected = expected_breakage(
		allocated_sum(Entry),
		Max(locked_rate(Balance)),
		breakage_with_use_sum(Entry),
		Sum(Entry.deferred_change),
		money_precision(filters.company),
	)
	query = (
		ledger_as_of(Entry, filters)
		.left_join(Line)
		.on(Line.name == Entry.package_balance_item)
		.left_join(Balance)
		.on(Balance.name == Entry.package_balance)
		.select(
			Entry.customer,
			Entry.package_balance,
			Max(Entry.prepaid_package).as_("prepaid_package"),
			Max(Entry.purchase_invoice).as_("purchase_invoice"),
			Max(Entry.item_code).as_("item_code"),
			Max(Entry.item_group).as_("item_group"),
			*ledger_figures(Entry),
			expected.as_("expected_breakage"),
		)
		# a line exists on the date only once its sale is on the ledger
		.groupby(Entry.customer, Entry.package_balance, Entry.package_balance_item)
		.having(Sum(Case().when(is_sale, 1 - 2 * Entry.is_reversal).else_(0)) > 0)
		.orderby(Entry.customer)
		.orderby(Entry.package_balance)
		.orderby(Max(Line.idx))
	)
	return finish_rows(query.run(as_dict=True), currency)


def get_summary(filters, group_field: str, currency: str) -> list[dict]:
	"""One row per item group, package or customer: the last month end's snapshot plus the movements after it.

	By customer, one page sorted in the database (highest deferred revenue first, or by name). A
	summary the snapshots do not keep (by customer for one item group or package; by item group
	for a user limited to some customers) is summed from the ledger.
	"""
	rows = summary_from_snapshots(filters, group_field)
	if rows is None:
		rows = summary_from_ledger(filters, group_field)
	expected = expected_breakage_by_group(filters, group_field, [row[group_field] for row in rows])
	for row in rows:
		row.expected_breakage = expected.get(row[group_field], 0)
	return finish_rows(rows, currency)


def summary_from_snapshots(filters, group_field: str) -> list[dict] | None:
	customers = filters.permitted_customers
	if group_field == "customer":
		if filters.item_group or filters.prepaid_package:
			return None
	elif customers is not None:
		return None
	return closing.summed(
		filters.company,
		filters.as_of_date,
		(group_field,),
		SNAPSHOT_FIELDS,
		item_groups=item_group_subtree(filters.item_group) if filters.item_group else None,
		prepaid_package=filters.prepaid_package,
		customers=customers,
		**customer_page(filters, group_field),
	)


def customer_page(filters, group_field: str) -> dict:
	"""By customer, the page asked for: ``sort_by`` Deferred (highest first, the default) or Customer."""
	if group_field != "customer":
		return {}
	page_length = cint(filters.page_length) or CUSTOMER_PAGE_LENGTH
	page = max(cint(filters.page) or 1, 1)
	order_by = ("customer", "asc") if filters.sort_by == "Customer" else ("deferred", "desc")
	return {"order_by": order_by, "limit": page_length, "offset": (page - 1) * page_length}


def summary_from_ledger(filters, group_field: str) -> list[dict]:
	"""The same figures summed from every ledger row up to the date (set-based, on the summary index).

	A line whose sale was cancelled sums to nothing, so the groups need no per-line check.
	"""
	Entry = DocType("Package Ledger Entry")
	group = Entry[group_field]
	query = (
		ledger_as_of(Entry, filters, summary=True)
		.select(group.as_(group_field), *ledger_figures(Entry))
		.groupby(group)
	)
	page = customer_page(filters, group_field)
	if page:
		column, direction = page["order_by"]
		sort = Sum(Entry.deferred_change) if column == "deferred" else group
		query = query.orderby(sort, order=Order.desc if direction == "desc" else Order.asc).orderby(group)
		query = query.limit(page["limit"]).offset(page["offset"])
	else:
		query = query.orderby(group)
	return query.run(as_dict=True)


def expected_breakage_by_group(filters, group_field: str, groups: list | None = None) -> dict:
	"""Each group's expected breakage to come, summed over its Proportional lines.

	Each line is bounded by its own deferred revenue, so the lines are summed up first (a
	query on the company's Proportional balances and their ledger rows) and then grouped. By
	customer, only the customers of the page shown (``groups``).
	"""
	Entry = DocType("Package Ledger Entry")
	Balance = DocType("Package Balance")
	lines = apply_line_filters(
		frappe.qb.from_(Balance)
		.join(Entry)
		.on(Entry.package_balance == Balance.name)
		.select(
			Max(Entry[group_field]).as_("group_value"),
			allocated_sum(Entry).as_("allocated"),
			Max(locked_rate(Balance)).as_("rate"),
			breakage_with_use_sum(Entry).as_("with_use"),
			Sum(Entry.deferred_change).as_("deferred"),
		)
		.where(Balance.company == filters.company)
		.where(Balance.breakage_method == PROPORTIONAL)
		.where(
			Balance.customer.isin(groups or [""])
			if group_field == "customer" and groups is not None
			else Balance.company == filters.company
		)
		.where(Entry.company == filters.company)
		.where(Entry.posting_date <= filters.as_of_date)
		.where(Entry.is_cancelled == 0)
		.groupby(Entry.package_balance_item),
		Entry,
		filters,
	)
	expected = expected_breakage(
		lines.allocated, lines.rate, lines.with_use, lines.deferred, money_precision(filters.company)
	)
	query = (
		frappe.qb.from_(lines)
		.select(lines.group_value, Sum(expected).as_("expected_breakage"))
		.groupby(lines.group_value)
	)
	return {row.group_value: row.expected_breakage for row in query.run(as_dict=True)}


def finish_rows(rows: list[dict], currency: str) -> list[dict]:
	for row in rows:
		row.currency = currency
		# sums of stored amounts are exact decimals: a float is all they need, no rounding
		for field in SUMMED_FIELDS:
			row[field] = float(row[field] or 0)
	return rows


def apply_line_filters(query, Entry, filters):
	query = where_permitted(query, Entry.customer, filters)
	if filters.customer:
		query = query.where(Entry.customer == filters.customer)
	if filters.prepaid_package:
		query = query.where(Entry.prepaid_package == filters.prepaid_package)
	if filters.item_group:
		query = query.where(Entry.item_group.isin(item_group_subtree(filters.item_group)))
	return query


# --- reconciliation with the GL ----------------------------------------------


def get_totals(company: str, as_of_date=None) -> dict:
	"""The company's deferred revenue from packages as of a date, the GL balance it must equal, and the gap.

	POS Invoices of a session still open are the one known reconciling item: the ledger moved
	when they were submitted, the GL moves when POS Closing consolidates them into a Sales
	Invoice. They are shown by name and amount; ``difference`` is what nothing explains.
	"""
	as_of_date = getdate(as_of_date or today())
	precision = money_precision(company)
	deferred = flt(ledger_deferred(company, as_of_date), precision)
	gl_balance = flt(gl_deferred_balance(company, as_of_date), precision)
	open_pos = pos_invoices_not_consolidated(company, as_of_date)
	pos_not_consolidated = flt(sum(amount for _invoice, amount in open_pos), precision)
	return {
		"deferred": deferred,
		"gl_balance": gl_balance,
		"pos_not_consolidated": pos_not_consolidated,
		"pos_invoices_not_consolidated": [invoice for invoice, _amount in open_pos],
		"pos_invoice_amounts": {invoice: flt(amount, precision) for invoice, amount in open_pos},
		"difference": flt(deferred - gl_balance - pos_not_consolidated, precision),
	}


def ledger_deferred(company: str, as_of_date, customers: list[str] | None = None) -> float:
	"""The company's deferred revenue from the ledger (last snapshot plus movements); of these customers only, when given."""
	rows = closing.summed(company, as_of_date, (), ("deferred",), customers=customers)
	return flt(rows[0]["deferred"]) if rows else 0.0


def gl_deferred_balance(company: str, as_of_date) -> float:
	"""Credit minus debit of the packages' deferred revenue accounts, on the vouchers packages posted.

	Other postings to the same account (ERPNext's own deferred revenue, manual
	journals) are left out: they are not the packages' liability.
	"""
	accounts = deferred_revenue_accounts(company)
	if not accounts:
		return 0.0
	Gl = DocType("GL Entry")
	result = (
		frappe.qb.from_(Gl)
		.select(Sum(Gl.credit) - Sum(Gl.debit))
		.where(Gl.company == company)
		.where(Gl.account.isin(accounts))
		.where(Gl.is_cancelled == 0)
		.where(Gl.posting_date <= as_of_date)
		.where(on_package_vouchers(Gl, company))
		.run()
	)
	return flt(result[0][0])


def on_package_vouchers(Gl, company: str):
	"""GL rows of the invoices and journal entries the package ledger names.

	Each GL row of a deferred account asks the ledger's voucher or Journal Entry index whether
	its voucher moved a package (EXISTS, read from the index alone): linear in those GL rows,
	whatever plan MariaDB would pick for an IN over the whole ledger (materializing it costs
	several times more at 100,000 balances). A POS Invoice posts no GL of its own: its GL is on
	the Sales Invoice it was consolidated into (few, so a plain IN).
	"""
	Entry = DocType("Package Ledger Entry")
	InvoiceEntry = DocType("Package Ledger Entry").as_("invoice_entry")
	JournalEntry = DocType("Package Ledger Entry").as_("journal_entry_entry")
	Pos = DocType("POS Invoice")
	sold_or_refunded = ExistsCriterion(
		frappe.qb.from_(InvoiceEntry)
		.select(InvoiceEntry.name)
		.where(InvoiceEntry.voucher_type == "Sales Invoice")
		.where(InvoiceEntry.voucher_no == Gl.voucher_no)
	)
	consolidated = (
		frappe.qb.from_(Pos)
		.select(Pos.consolidated_invoice)
		.where(
			Pos.name.isin(
				frappe.qb.from_(Entry)
				.select(Entry.voucher_no)
				.where(Entry.company == company)
				.where(Entry.voucher_type == "POS Invoice")
			)
		)
		.where(Pos.consolidated_invoice.isnotnull())
	)
	posted_by_app = ExistsCriterion(
		frappe.qb.from_(JournalEntry)
		.select(JournalEntry.name)
		.where(JournalEntry.journal_entry == Gl.voucher_no)
	)
	return ((Gl.voucher_type == "Sales Invoice") & (sold_or_refunded | Gl.voucher_no.isin(consolidated))) | (
		(Gl.voucher_type == "Journal Entry") & posted_by_app
	)


def pos_invoices_not_consolidated(company: str, as_of_date) -> list[tuple[str, float]]:
	"""(POS Invoice, deferred revenue it moved) for each POS Invoice whose GL is not posted as of the date.

	A POS Invoice posts no GL of its own: what it sold or refunded reaches the GL with the Sales
	Invoice POS Closing consolidates it into, on that invoice's date. What the app moved by a
	Journal Entry of its own (a redemption) is in the GL already, so only the movements without
	one count.
	"""
	Entry = DocType("Package Ledger Entry")
	Pos = DocType("POS Invoice")
	Consolidated = DocType("Sales Invoice")
	rows = (
		frappe.qb.from_(Entry)
		.join(Pos)
		.on(Pos.name == Entry.voucher_no)
		.left_join(Consolidated)
		.on((Consolidated.name == Pos.consolidated_invoice) & (Consolidated.docstatus == 1))
		.select(Entry.voucher_no, Sum(Entry.deferred_change))
		.where(Entry.voucher_type == "POS Invoice")
		.where(Entry.company == company)
		.where(Entry.is_cancelled == 0)
		.where(Entry.posting_date <= as_of_date)
		.where(Entry.journal_entry.isnull() | (Entry.journal_entry == ""))
		.where(Consolidated.name.isnull() | (Consolidated.posting_date > as_of_date))
		.groupby(Entry.voucher_no)
		.orderby(Entry.voucher_no)
		.run()
	)
	return [(invoice, flt(amount)) for invoice, amount in rows if flt(amount)]


def deferred_revenue_accounts(company: str) -> list[str]:
	"""The accounts the company's packages were sold into (a list, so the GL's account index serves)."""
	Balance = DocType("Package Balance")
	return (
		frappe.qb.from_(Balance)
		.select(Balance.deferred_revenue_account)
		.distinct()
		.where(Balance.company == company)
		.where(Balance.deferred_revenue_account.isnotnull())
		.orderby(Balance.deferred_revenue_account)
		.run(pluck=True)
	)


def get_report_summary(totals: dict, currency: str) -> list[dict]:
	deferred = {
		"value": totals["deferred"],
		"label": _("Deferred Revenue in Packages"),
		"datatype": "Currency",
		"currency": currency,
		"indicator": "Blue",
	}
	if "gl_balance" not in totals:
		return [deferred]
	return [deferred, *gl_cards(totals, currency)]


def gl_cards(totals: dict, currency: str) -> list[dict]:
	"""The GL balance of the deferred accounts, the POS Invoices it does not hold yet, and what is left unexplained."""
	cards = [
		{
			"value": totals["gl_balance"],
			"label": _("Deferred Revenue in the General Ledger"),
			"datatype": "Currency",
			"currency": currency,
			"indicator": "Blue",
		}
	]
	if totals.get("pos_invoices_not_consolidated"):
		cards.append(
			{
				"value": totals["pos_not_consolidated"],
				"label": _("POS Invoices not yet consolidated"),
				"datatype": "Currency",
				"currency": currency,
				"indicator": "Orange",
				# listed under the cards (the report's script): their GL posts at POS Closing
				"invoices": [
					{"name": invoice, "amount": totals["pos_invoice_amounts"][invoice]}
					for invoice in totals["pos_invoices_not_consolidated"]
				],
			}
		)
	return [
		*cards,
		{
			"value": totals["difference"],
			"label": _("Difference"),
			"datatype": "Currency",
			"currency": currency,
			"indicator": "Green" if not totals["difference"] else "Red",
		},
	]


def summary_note(filters) -> str | None:
	if filters.permitted_customers is not None:
		return _("The figures cover the customers you are permitted to see.")
	if filters.customer:
		return _(
			"The figures cover {0} alone; the company's reconciliation with the GL is on the summary."
		).format(frappe.bold(filters.customer))
	if filters.customer or filters.prepaid_package or filters.item_group:
		return _("The summary covers every package of {0}; the rows follow the filters.").format(
			frappe.bold(filters.company)
		)
	return None
