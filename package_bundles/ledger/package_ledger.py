"""Package Ledger Entries: every movement of a balance line, dated, per voucher. The single truth.

A balance line's state is folded from its live entries (package_bundles.ledger.balance_state);
reports read "as of a date" and "in a period" figures from them. Like GL Entries they are
never edited: cancelling a voucher marks its entries cancelled, or, where Accounts Settings
keep an immutable ledger, adds reversing entries dated the day of the cancellation, exactly
as ERPNext treats the voucher's GL Entries.
"""

from decimal import Decimal

import frappe
from frappe.query_builder import DocType
from frappe.query_builder.functions import Sum
from frappe.utils import flt, getdate, now

from package_bundles import engine
from package_bundles.ledger import closing

FIELDS = (
	"posting_date",
	"company",
	"customer",
	"event",
	"package_balance",
	"package_balance_item",
	"prepaid_package",
	"item_code",
	"item_group",
	"qty_change",
	"deferred_change",
	"revenue_change",
	"currency",
	"deferred_account",
	"income_account",
	"cost_center",
	"voucher_type",
	"voucher_no",
	"voucher_detail_no",
	"purchase_invoice_type",
	"purchase_invoice",
	"journal_entry",
	"package_redemption",
	"is_reversal",
)


def entry(
	movement: engine.Movement,
	line: dict,
	posting_date,
	voucher_type: str,
	voucher_no: str,
	**values,
) -> dict:
	"""One ledger row for a movement of a locked balance line (see balance_state.lock_lines)."""
	return {
		"posting_date": posting_date,
		"company": line.get("company"),
		"customer": line.get("customer"),
		"event": movement.event,
		"package_balance": line.get("balance"),
		"package_balance_item": line.get("name"),
		"prepaid_package": line.get("prepaid_package"),
		"item_code": line.get("item_code"),
		"item_group": line.get("item_group"),
		"qty_change": flt(movement.qty),
		"deferred_change": flt(movement.deferred),
		"revenue_change": flt(movement.revenue),
		"currency": line.get("currency"),
		"deferred_account": line.get("deferred_revenue_account"),
		"income_account": line.get("income_account"),
		"cost_center": line.get("cost_center"),
		"voucher_type": voucher_type,
		"voucher_no": voucher_no,
		"purchase_invoice_type": line.get("invoice_type") if line.get("sales_invoice") else None,
		"purchase_invoice": line.get("sales_invoice"),
		"is_reversal": 0,
		**values,
	}


def make_entries(entries: list[dict]) -> None:
	if not entries:
		return
	timestamp, user = now(), frappe.session.user
	columns = ["name", "creation", "modified", "owner", "modified_by", "docstatus", "is_cancelled", *FIELDS]
	values = [
		(
			frappe.generate_hash(length=12),
			timestamp,
			timestamp,
			user,
			user,
			0,
			0,
			*(row.get(f) for f in FIELDS),
		)
		for row in entries
	]
	frappe.db.bulk_insert("Package Ledger Entry", columns, values)
	# a movement dated in a month whose snapshot is built is carried into it (issue 22)
	closing.carry_into_snapshots(entries)


def movements_by_line(line_names, lock: bool = False) -> dict[str, list[engine.Movement]]:
	"""Each line's live movements, summed per event: one indexed query, whatever the history's length.

	With ``lock`` (the lines are locked by the caller) this is a locking read, so it sees what
	other transactions committed after this one began, not the transaction's snapshot.
	"""
	if not line_names:
		return {}
	Entry = DocType("Package Ledger Entry")
	query = (
		frappe.qb.from_(Entry)
		.select(
			Entry.package_balance_item,
			Entry.event,
			Sum(Entry.qty_change).as_("qty"),
			Sum(Entry.deferred_change).as_("deferred"),
			Sum(Entry.revenue_change).as_("revenue"),
			Sum(1 - 2 * Entry.is_reversal).as_("count"),
		)
		.where(Entry.package_balance_item.isin(sorted(line_names)))
		.where(Entry.is_cancelled == 0)
		.groupby(Entry.package_balance_item, Entry.event)
		.orderby(Entry.package_balance_item)
		.orderby(Entry.event)
	)
	rows = (query.for_update() if lock else query).run(as_dict=True)
	grouped: dict[str, list[engine.Movement]] = {name: [] for name in line_names}
	for row in rows:
		grouped[row.package_balance_item].append(to_movement(row))
	return grouped


def to_movement(row) -> engine.Movement:
	"""A summed row of movements_by_line as one movement."""
	return engine.Movement(
		row.event,
		Decimal(str(flt(row.qty))),
		Decimal(str(flt(row.deferred))),
		Decimal(str(flt(row.revenue))),
		int(flt(row.count)),
	)


def entry_movement(row: dict) -> engine.Movement:
	"""One stored ledger entry as the movement it records."""
	return engine.Movement(
		row["event"],
		Decimal(str(flt(row["qty_change"]))),
		Decimal(str(flt(row["deferred_change"]))),
		Decimal(str(flt(row["revenue_change"]))),
		-1 if row.get("is_reversal") else 1,
	)


def live_entries(**filters) -> list[frappe._dict]:
	"""Entries not yet cancelled or reversed, e.g. ``voucher_type=..., voucher_no=...``."""
	Entry = DocType("Package Ledger Entry")
	query = (
		frappe.qb.from_(Entry)
		.select("*")
		.where(Entry.is_cancelled == 0)
		.where(Entry.is_reversal == 0)
		.where(Entry.is_reversed == 0)
		.orderby(Entry.creation)
		.orderby(Entry.name)
	)
	for fieldname, value in filters.items():
		column = Entry[fieldname]
		query = query.where(column.isin(value) if isinstance(value, list | tuple | set) else column == value)
	return query.run(as_dict=True)


def movements_of(entries: list[dict]) -> dict[str, tuple[engine.Movement, ...]]:
	"""The movements of some entries, per balance line."""
	grouped: dict[str, list[engine.Movement]] = {}
	for row in entries:
		grouped.setdefault(row["package_balance_item"], []).append(entry_movement(row))
	return {line: tuple(movements) for line, movements in grouped.items()}


def cancel(entries: list[dict], reversal_date=None, reversing_journal_entries: dict | None = None) -> None:
	"""Take entries out of the ledger as ERPNext takes GL Entries out when their voucher is cancelled.

	With ``reversal_date`` (entries in a locked period, see posting.undo_entries) they are
	reversed on that date whatever Accounts Settings say, each reversal naming the Journal Entry
	that reversed its own (``reversing_journal_entries``: original -> reversal).
	"""
	if not entries:
		return
	from erpnext.accounts.general_ledger import is_immutable_ledger_enabled

	Entry = DocType("Package Ledger Entry")
	names = [row["name"] for row in entries]
	if not reversal_date and not is_immutable_ledger_enabled():
		frappe.qb.update(Entry).set(Entry.is_cancelled, 1).set(Entry.modified, now()).where(
			Entry.name.isin(names)
		).run()
		closing.carry_into_snapshots(entries, sign=-1)
		return
	posting_date = getdate(reversal_date or frappe.form_dict.get("posting_date") or None)
	reversing_journal_entries = reversing_journal_entries or {}
	reversals = []
	for row in entries:
		reversal = {field: row.get(field) for field in FIELDS}
		reversal.update(
			posting_date=posting_date,
			journal_entry=reversing_journal_entries.get(row.get("journal_entry"), row.get("journal_entry")),
			qty_change=-flt(row["qty_change"]),
			deferred_change=-flt(row["deferred_change"]),
			revenue_change=-flt(row["revenue_change"]),
			is_reversal=1,
		)
		reversals.append(reversal)
	frappe.qb.update(Entry).set(Entry.is_reversed, 1).set(Entry.modified, now()).where(
		Entry.name.isin(names)
	).run()
	make_entries(reversals)
