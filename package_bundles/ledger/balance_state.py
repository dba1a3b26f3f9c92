"""The state of balances, derived from the package ledger; the one writer of their stored state.

``refresh`` is the only code that writes the state fields of Package Balance, Package
Balance Item and Package Redemption (units, values, status, and the links to the vouchers
that put them there). Everything else records ledger movements and calls it; the fields
stay for reports and REST clients (SPEC §7), always equal to what the ledger says.
"""

from decimal import Decimal

import frappe
from frappe.query_builder import DocType
from frappe.query_builder.functions import Sum
from frappe.utils import flt, now

from package_bundles import engine
from package_bundles.ledger import package_ledger
from package_bundles.ledger.journal_entries import captured_dimension_fields
from package_bundles.package_bundles.doctype.package_settings.package_settings import is_paid
from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import currency_precision

UPON_PURCHASE = "Upon Purchase"

# stored state, per doctype; written here and nowhere else
LINE_STATE_FIELDS = (
	"qty_redeemed",
	"qty_remaining",
	"recognized_amount",
	"deferred_amount",
	"breakage_amount",
	"breakage_with_use_amount",
	"refunded_amount",
	"qty_moved_out",
	"moved_out_amount",
)
BALANCE_STATE_FIELDS = (
	"status",
	"total_allocated",
	"total_recognized",
	"total_deferred",
	"total_broken",
	"total_refunded",
	"units_purchased",
	"units_remaining",
	"breakage_amount",
	"breakage_date",
	"breakage_journal_entry",
	"recognition_journal_entry",
	"refund_invoice_type",
	"refund_invoice",
	"refund_journal_entry",
)
REDEMPTION_STATE_FIELDS = ("qty_returned", "status")


def lock_lines(balance_names, lock: bool = True) -> dict[str, frappe._dict]:
	"""The balances' lines with their balance's terms, locked (SELECT ... FOR UPDATE); keyed by line."""
	if not balance_names:
		return {}
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	dimension_fields = captured_dimension_fields("Package Balance")
	query = (
		frappe.qb.from_(Item)
		.join(Balance)
		.on(Item.parent == Balance.name)
		.select(
			Item.name,
			Item.idx,
			Item.item_code,
			Item.item_group,
			Item.qty_purchased,
			Item.allocated_amount,
			Item.income_account,
			Item.cost_center,
			*[Item[field].as_(f"stored_{field}") for field in LINE_STATE_FIELDS],
			Balance.name.as_("balance"),
			Balance.customer,
			Balance.company,
			Balance.currency,
			Balance.prepaid_package,
			Balance.revenue_recognition,
			Balance.invoice_type,
			Balance.sales_invoice,
			Balance.sales_invoice_item,
			Balance.purchase_date,
			Balance.expiry_date,
			Balance.frozen_from,
			Balance.frozen_until,
			Balance.package_price,
			Balance.breakage_method,
			Balance.breakage_rate.as_("breakage_rate_percent"),
			Balance.deferred_revenue_account,
			Balance.cost_center.as_("balance_cost_center"),
			Balance.project,
			*[Balance[field].as_(f"dimension__{field}") for field in dimension_fields],
			*[Balance[field].as_(f"stored_balance_{field}") for field in BALANCE_STATE_FIELDS],
		)
		.where(Item.parent.isin(sorted(set(balance_names))))
		.where(Item.parenttype == "Package Balance")
		.orderby(Item.parent)
		.orderby(Item.idx)
	)
	if lock:
		query = query.for_update()
	lines = query.run(as_dict=True)
	for line in lines:
		line.precision = currency_precision(line.currency)
		line.upon_purchase = line.revenue_recognition == UPON_PURCHASE
		# the expected breakage rate locked at sale, as a fraction (0: At expiry)
		line.breakage_rate = engine.line_breakage_rate(
			line.breakage_method, Decimal(str(flt(line.pop("breakage_rate_percent")))) / 100
		)
		captured = {field: line.pop(f"dimension__{field}") for field in dimension_fields}
		line.dimensions = {field: value for field, value in captured.items() if value}
	return {line.name: line for line in lines}


def paid_by_balance(lines) -> dict[str, bool]:
	"""Whether each balance's purchase counts as paid (Package Settings decide what that means)."""
	by_type: dict[str, set] = {}
	for line in lines:
		if line.sales_invoice:
			by_type.setdefault(line.invoice_type or "Sales Invoice", set()).add(line.sales_invoice)
	outstanding = {}
	for invoice_type, invoices in sorted(by_type.items()):
		Invoice = DocType(invoice_type)
		outstanding.update(
			frappe.qb.from_(Invoice)
			.select(Invoice.name, Invoice.outstanding_amount)
			.where(Invoice.name.isin(sorted(invoices)))
			.run()
		)
	return {
		line.balance: (not line.sales_invoice) or is_paid(outstanding.get(line.sales_invoice))
		for line in lines
	}


def line_states(
	lines: dict[str, frappe._dict], paid: dict[str, bool] | None = None, lock: bool = True
) -> dict[str, engine.LineState]:
	"""Each line's state, folded from its live ledger (read under lock: the latest committed rows)."""
	paid = paid if paid is not None else paid_by_balance(lines.values())
	movements = package_ledger.movements_by_line(list(lines), lock=lock)
	return {
		name: engine.fold(
			movements.get(name, ()),
			line.precision,
			line.upon_purchase,
			paid[line.balance],
			breakage_rate=line.breakage_rate,
		)
		for name, line in lines.items()
	}


def balance_states(lines: dict[str, frappe._dict], states: dict[str, engine.LineState]) -> dict[str, str]:
	"""Each balance's status, from its lines' states (engine.balance_status)."""
	by_balance: dict[str, list] = {}
	for name, line in lines.items():
		by_balance.setdefault(line.balance, []).append(states[name])
	return {balance: engine.balance_status(line_list) for balance, line_list in by_balance.items()}


def refresh(balance_names, redemptions=None, locked_lines=None, paid=None) -> dict[str, str]:
	"""Write the stored state of these balances (and redemption logs) from the ledger. Returns statuses.

	``locked_lines``: every line of these balances, already locked in this transaction (as a
	LedgerPosting holds them), so they are not read again; ``paid``: whether each balance's
	purchase is paid, as the same posting read it (paid_by_balance).
	"""
	balance_names = set(balance_names or ())
	if not balance_names:
		refresh_redemptions(redemptions)
		return {}
	lines = locked_lines if locked_lines is not None else lock_lines(balance_names)
	states = line_states(lines, paid=paid if locked_lines is not None else None)
	statuses = balance_states(lines, states)
	links = voucher_links(balance_names)
	write_lines(lines, states)
	write_balances(lines, states, statuses, links)
	refresh_redemptions(redemptions)
	return statuses


def line_values(state: engine.LineState) -> dict:
	return {
		"qty_redeemed": flt(state.qty_redeemed),
		"qty_remaining": flt(state.qty_remaining),
		"recognized_amount": flt(state.recognized),
		"deferred_amount": flt(state.deferred),
		"breakage_amount": flt(state.broken),
		"breakage_with_use_amount": flt(state.broken_with_use),
		"refunded_amount": flt(state.refunded),
		"qty_moved_out": flt(state.qty_moved_out),
		"moved_out_amount": flt(state.moved_out),
	}


def write_lines(lines, states) -> None:
	Item = DocType("Package Balance Item")
	for name, line in lines.items():
		values = line_values(states[name])
		if all(flt(line[f"stored_{field}"]) == values[field] for field in LINE_STATE_FIELDS):
			continue
		query = frappe.qb.update(Item).where(Item.name == name)
		for field, value in values.items():
			query = query.set(Item[field], value)
		query.run()


def write_balances(lines, states, statuses, links) -> None:
	Balance = DocType("Package Balance")
	totals: dict[str, dict] = {}
	stored: dict[str, frappe._dict] = {}
	for name, line in lines.items():
		state = states[name]
		total = totals.setdefault(
			line.balance,
			dict.fromkeys(
				("allocated", "recognized", "deferred", "broken", "refunded", "purchased", "remaining"),
				Decimal(0),
			),
		)
		total["allocated"] += Decimal(str(flt(line.allocated_amount)))
		total["recognized"] += state.recognized
		total["deferred"] += state.deferred
		total["broken"] += state.broken
		total["refunded"] += state.refunded
		# the units, so the Package Balances summaries need not read the lines (issue 22)
		total["purchased"] += Decimal(str(flt(line.qty_purchased)))
		total["remaining"] += Decimal(str(line_values(state)["qty_remaining"]))
		stored[line.balance] = line
	for balance, total in totals.items():
		link = links.get(balance, {})
		values = {
			"status": statuses[balance],
			"total_allocated": flt(total["allocated"]),
			"total_recognized": flt(total["recognized"]),
			"total_deferred": flt(total["deferred"]),
			"total_broken": flt(total["broken"]),
			"total_refunded": flt(total["refunded"]),
			"units_purchased": flt(total["purchased"]),
			"units_remaining": flt(total["remaining"]),
			"breakage_amount": flt(total["broken"]),
			"breakage_date": link.get("breakage_date"),
			"breakage_journal_entry": link.get("breakage_journal_entry"),
			"recognition_journal_entry": link.get("recognition_journal_entry"),
			"refund_invoice_type": link.get("refund_invoice_type"),
			"refund_invoice": link.get("refund_invoice"),
			"refund_journal_entry": link.get("refund_journal_entry"),
		}
		line = stored[balance]
		if all(_same(line[f"stored_balance_{field}"], values[field]) for field in BALANCE_STATE_FIELDS):
			continue
		query = frappe.qb.update(Balance).set(Balance.modified, now()).where(Balance.name == balance)
		for field, value in values.items():
			query = query.set(Balance[field], value)
		query.run()


def _same(stored, value) -> bool:
	if isinstance(value, float):
		return flt(stored) == value
	return str(stored or "") == str(value or "")


def voucher_links(balance_names) -> dict[str, dict]:
	"""The vouchers behind a balance's live recognition, breakage and refund, for its form."""
	Entry = DocType("Package Ledger Entry")
	rows = (
		frappe.qb.from_(Entry)
		.select(
			Entry.package_balance,
			Entry.event,
			Entry.voucher_type,
			Entry.voucher_no,
			Entry.journal_entry,
			Entry.posting_date,
		)
		.where(Entry.package_balance.isin(sorted(balance_names)))
		.where(Entry.event.isin((engine.state.RECOGNITION, engine.state.BREAKAGE, engine.state.REFUND)))
		.where(Entry.is_cancelled == 0)
		.where(Entry.is_reversal == 0)
		.where(Entry.is_reversed == 0)
		.orderby(Entry.posting_date)
		.orderby(Entry.creation)
		.run(as_dict=True)
	)
	links: dict[str, dict] = {}
	for row in rows:
		link = links.setdefault(row.package_balance, {})
		if row.event == engine.state.RECOGNITION:
			link["recognition_journal_entry"] = row.journal_entry
		elif row.event == engine.state.BREAKAGE:
			link["breakage_journal_entry"] = row.journal_entry
			link["breakage_date"] = row.posting_date
		elif row.event == engine.state.REFUND:
			link["refund_invoice_type"] = row.voucher_type
			link["refund_invoice"] = row.voucher_no
			link["refund_journal_entry"] = row.journal_entry
	return links


def logged_redemption_state() -> dict:
	"""A new redemption log's state: what refresh_redemptions derives from the entries of its own
	redemption (live, nothing returned). The log is written with it instead of being refreshed."""
	return {"status": "Redeemed", "qty_returned": 0.0}


def refresh_redemptions(names) -> None:
	"""A redemption log's returned units and status, from the ledger rows that name it."""
	if not names:
		return
	Entry = DocType("Package Ledger Entry")
	Log = DocType("Package Redemption")
	moved = (
		frappe.qb.from_(Entry)
		.select(
			Entry.package_redemption,
			Entry.event,
			Sum(Entry.qty_change).as_("qty"),
			Sum(1 - 2 * Entry.is_reversal).as_("count"),
		)
		.where(Entry.package_redemption.isin(sorted(names)))
		.where(Entry.is_cancelled == 0)
		.groupby(Entry.package_redemption, Entry.event)
		.orderby(Entry.package_redemption)
		.run(as_dict=True)
	)
	by_log: dict[str, dict] = {name: {"live": 0, "returned": 0.0} for name in names}
	for row in moved:
		if row.event == engine.state.REDEMPTION:
			by_log[row.package_redemption]["live"] += int(flt(row.count))
		elif row.event == engine.state.RETURN:
			by_log[row.package_redemption]["returned"] += flt(row.qty)
	logs = frappe.get_all(
		"Package Redemption",
		filters={"name": ("in", sorted(names))},
		fields=["name", "qty", "qty_returned", "status"],
		order_by="name asc",
	)
	for log in logs:
		moved_log = by_log[log.name]
		returned = flt(moved_log["returned"])
		status = "Redeemed" if moved_log["live"] > 0 and returned < flt(log.qty) else "Reversed"
		if flt(log.qty_returned) == returned and log.status == status:
			continue
		frappe.qb.update(Log).set(Log.qty_returned, returned).set(Log.status, status).set(
			Log.modified, now()
		).where(Log.name == log.name).run()
