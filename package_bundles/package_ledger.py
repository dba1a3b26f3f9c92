"""Package Ledger Entries: each movement of a balance line's units and deferred value, dated.

Balances hold the current state; the ledger answers "as of a date" questions
(deferred revenue reports, reconciliation with the GL) and "in a period" ones
(revenue recognized per event). Like GL Entries, entries are never edited:
cancelling a voucher marks its entries cancelled.
"""

from decimal import Decimal

import frappe
from frappe.query_builder import DocType
from frappe.utils import flt, now

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
	"income_account",
	"cost_center",
	"voucher_type",
	"voucher_no",
	"purchase_invoice",
	"journal_entry",
	"package_redemption",
)


def entry(
	event: str,
	balance: dict,
	line: dict,
	posting_date,
	voucher_type: str,
	voucher_no: str,
	qty_change=0,
	deferred_change=0,
	revenue_change=0,
	**values,
) -> dict:
	"""One ledger row for a balance line; ``balance`` and ``line`` are the balance and its item row."""
	return {
		"posting_date": posting_date,
		"company": balance.get("company"),
		"customer": balance.get("customer"),
		"event": event,
		"package_balance": balance.get("name"),
		"package_balance_item": line.get("name"),
		"prepaid_package": balance.get("prepaid_package"),
		"item_code": line.get("item_code"),
		"item_group": line.get("item_group"),
		"qty_change": flt(qty_change),
		"deferred_change": flt(Decimal(str(deferred_change))),
		"revenue_change": flt(Decimal(str(revenue_change))),
		"currency": balance.get("currency"),
		"income_account": line.get("income_account"),
		"cost_center": line.get("cost_center"),
		"voucher_type": voucher_type,
		"voucher_no": voucher_no,
		"purchase_invoice": balance.get("sales_invoice") or balance.get("purchase_invoice"),
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


def cancel_entries(voucher_type: str, voucher_no: str) -> None:
	Entry = DocType("Package Ledger Entry")
	frappe.qb.update(Entry).set(Entry.is_cancelled, 1).set(Entry.modified, now()).where(
		Entry.voucher_type == voucher_type
	).where(Entry.voucher_no == voucher_no).run()


def balance_context(balance_name: str) -> frappe._dict:
	return frappe.db.get_value(
		"Package Balance",
		balance_name,
		["name", "company", "customer", "prepaid_package", "sales_invoice", "currency"],
		as_dict=True,
	)
