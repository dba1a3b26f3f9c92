"""Transferring a balance (issue 20, Transfer): its unused units, and the deferred value they carry, to
another customer of the same company, whole or per item.

A Package Balance Transfer names the giving balance, the receiving customer, why, and per line of the
balance the units that leave (by default everything left). On submit, under the giving balance's
row locks (a LedgerPosting), each line's units leave by the engine's TransferOut: the value is what
the units carry of the line's unused deferred revenue (breakage recognized ahead of use going back
first), so what stays recognizes exactly its held allocation. The receiving customer gets a new
Package Balance with the same terms: package, company, currency, recognition, breakage method, rate
and source, expiry date, the deferred revenue account, project and accounting dimensions the giving
balance captured at sale, and the transfer's cost center (by default the giving balance's). It holds
only the units transferred, each line allocated the value that left; its lines are sold by the
engine's TransferIn. It has no purchase invoice (the giver's purchase stays the giver's: cancelling
or refunding that invoice is a matter of the giving balance) and its purchase date is the transfer
date (nothing is redeemed from it before); ``transferred_from`` and ``package_balance_transfer`` name
where it came from.

The GL: both sides post to the other balance's deferred revenue key (role OTHER_DEFERRED). The two
sides describe the same move, so one Journal Entry carries the giving side's postings only, and
none is made where both balances defer on the same account and dimensions (they net to nothing);
a different cost center makes one, moving the deferred revenue between the two keys. Both sides'
ledger entries carry their own balance's customer and company.

Cancel: the receiving balance loses everything it holds (Cancel as a purchase: refused once it was
used, moved on or refunded; those documents are cancelled first) and ends Cancelled; the giving
balance gets its units and value back exactly (Cancel as a transfer). Both sides are checked before
anything is written.
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import flt, getdate, nowdate

from package_bundles import engine
from package_bundles.engine.state import BREAKAGE, EXPIRY, TRANSFER_IN, TRANSFER_OUT
from package_bundles.exceptions import (
	BalanceExpiredError,
	BalanceFrozenError,
	TransferAcrossCompaniesError,
	TransferCostCenterError,
	TransferCustomerError,
	TransferItemError,
	TransferReceiverUsedError,
	TransferToSameCustomerError,
)
from package_bundles.flows.freeze import is_frozen_on, log_on_balance
from package_bundles.flows.share import other_companies_of
from package_bundles.ledger import package_ledger
from package_bundles.ledger.journal_entries import captured_dimension_fields, key_of
from package_bundles.ledger.posting import LedgerPosting, cancel_entries
from package_bundles.package_bundles.doctype.package_balance.package_balance import write_balance

VOUCHER_TYPE = "Package Balance Transfer"
# the giving balance's terms the receiving one takes as they are
COPIED_TERMS = (
	"company",
	"currency",
	"prepaid_package",
	"revenue_recognition",
	"expiry_date",
	"deferred_revenue_account",
	"project",
	"breakage_method",
	"breakage_rate",
	"breakage_rate_source",
)
# the receiving balance's own expiry and breakage are undone with it, as a purchase's cancel undoes them
NOT_A_USE = (EXPIRY, BREAKAGE)
COPIED_LINE_TERMS = (
	"item_code",
	"item_name",
	"item_group",
	"uom",
	"whole_number",
	"is_stock_item",
	"income_account",
	"cost_center",
)


# --- draft --------------------------------------------------------------------------------------


def validate_transfer(doc) -> None:
	"""Save and submit: the parties, the cost center and the rows (the state is checked under lock)."""
	doc.transfer_date = nowdate()  # a transfer takes effect on the day it is submitted
	balance = balance_of(doc.from_balance)
	set_from_balance(doc, balance)
	validate_to_customer(doc)
	validate_same_company(doc)
	validate_cost_center(doc, balance)
	lines = balance_lines(doc.from_balance)
	if not doc.items:
		fill_everything_left(doc, lines)
	validate_items(doc, lines)


def set_from_balance(doc, balance) -> None:
	"""The giving side as the balance says (what the form fetches, set again on the server)."""
	doc.from_customer = balance.customer
	doc.from_customer_name = balance.customer_name
	doc.company = balance.company
	doc.prepaid_package = balance.prepaid_package
	doc.currency = balance.currency


def balance_of(name: str) -> frappe._dict:
	balance = frappe.db.get_value(
		"Package Balance",
		name,
		["name", "customer", "customer_name", "company", "prepaid_package", "currency", "cost_center"],
		as_dict=True,
	)
	if not balance:
		frappe.throw(
			_("Package balance {0} does not exist").format(frappe.bold(name)), frappe.DoesNotExistError
		)
	return balance


def balance_lines(name: str) -> dict[str, frappe._dict]:
	rows = frappe.get_all(
		"Package Balance Item",
		filters={"parent": name, "parenttype": "Package Balance"},
		fields=["name", "idx", "item_code", "item_name", "qty_remaining", "whole_number"],
		order_by="idx asc",
	)
	return {row.name: row for row in rows}


def fill_everything_left(doc, lines: dict[str, frappe._dict]) -> None:
	"""Every line's unused units (the default, and the form's Transfer everything left)."""
	for line in lines.values():
		if flt(line.qty_remaining) > 0:
			doc.append(
				"items",
				{
					"balance_item": line.name,
					"item_code": line.item_code,
					"item_name": line.item_name,
					"qty_available": line.qty_remaining,
					"qty": line.qty_remaining,
				},
			)


def validate_to_customer(doc) -> None:
	details = customer_details(doc.to_customer)
	if not details:
		frappe.throw(_("Choose the customer to transfer the package balance to"), TransferCustomerError)
	if details.disabled:
		frappe.throw(
			_("Customer {0} is disabled; a package balance cannot be transferred to it").format(
				frappe.bold(doc.to_customer)
			),
			TransferCustomerError,
		)
	if doc.to_customer == doc.from_customer:
		frappe.throw(
			_("Package balance {0} is customer {1}'s already; transfer it to another customer").format(
				frappe.bold(doc.from_balance), frappe.bold(doc.to_customer)
			),
			TransferToSameCustomerError,
		)
	doc.to_customer_name = details.customer_name


def customer_details(customer: str | None) -> frappe._dict | None:
	if not customer:
		return None
	return frappe.db.get_value(
		"Customer",
		customer,
		["name", "customer_name", "disabled", "is_internal_customer", "represents_company"],
		as_dict=True,
	)


def validate_same_company(doc) -> None:
	"""A balance is one company's liability: never transferred to a customer of another company, in
	ERPNext's terms an internal customer representing another company, or a customer whose Accounts
	rows (Party Account) name only other companies (as household sharing decides, flows/share.py)."""
	other = other_companies_of(customer_details(doc.to_customer), doc.company)
	if other:
		frappe.throw(
			_(
				"Package balance {0} belongs to company {1}; customer {2} is a customer of {3}, so the balance cannot be transferred to it"
			).format(
				frappe.bold(doc.from_balance),
				frappe.bold(doc.company),
				frappe.bold(doc.to_customer),
				frappe.bold(other),
			),
			TransferAcrossCompaniesError,
		)


def validate_cost_center(doc, balance) -> None:
	"""The receiving balance's cost center: the giving balance's unless another of the company is chosen."""
	if not doc.cost_center:
		doc.cost_center = balance.cost_center
	if not doc.cost_center:
		return
	company, is_group = frappe.db.get_value("Cost Center", doc.cost_center, ["company", "is_group"]) or (
		None,
		0,
	)
	if company != doc.company or is_group:
		frappe.throw(
			_("Cost center {0} is not a ledger cost center of company {1}").format(
				frappe.bold(doc.cost_center), frappe.bold(doc.company)
			),
			TransferCostCenterError,
		)


def validate_items(doc, lines: dict[str, frappe._dict]) -> None:
	if not doc.items:
		frappe.throw(
			_("Package balance {0} has no unused units to transfer").format(frappe.bold(doc.from_balance)),
			TransferItemError,
		)
	seen = set()
	for row in doc.items:
		line = lines.get(row.balance_item)
		if not line:
			frappe.throw(
				_("Row #{0}: {1} is not a line of package balance {2}").format(
					row.idx, frappe.bold(row.balance_item or row.item_code), frappe.bold(doc.from_balance)
				),
				TransferItemError,
			)
		if row.balance_item in seen:
			frappe.throw(
				_("Row #{0}: item {1} of package balance {2} is listed twice").format(
					row.idx, frappe.bold(line.item_code), frappe.bold(doc.from_balance)
				),
				TransferItemError,
			)
		seen.add(row.balance_item)
		row.item_code, row.item_name, row.qty_available = line.item_code, line.item_name, line.qty_remaining
		validate_row_qty(row, line)


def validate_row_qty(row, line) -> None:
	qty = flt(row.qty)
	if qty <= 0:
		frappe.throw(
			_("Row #{0}: give the units of {1} to transfer (more than zero), or remove the row").format(
				row.idx, frappe.bold(row.item_code)
			),
			TransferItemError,
		)
	if line.whole_number and qty != int(qty):
		frappe.throw(
			_("Row #{0}: {1} is counted in whole units; {2} cannot be transferred").format(
				row.idx, frappe.bold(row.item_code), qty
			),
			TransferItemError,
		)


# --- submit -------------------------------------------------------------------------------------


def submit_transfer(doc) -> None:
	"""on_submit: the units leave the giving balance (locked) and make the receiving customer's balance."""
	giving = LedgerPosting(
		VOUCHER_TYPE, doc.name, doc.transfer_date, doc.company, balances=[doc.from_balance]
	)
	validate_movable_on(doc, giving)
	terms = frappe.get_doc("Package Balance", doc.from_balance)
	# every line of a balance defers on the balance's account and dimensions; the receiving balance
	# takes them, with the transfer's cost center
	first_line = next(iter(giving.lines.values()))
	giving_key = giving.deferred_key(first_line)
	receiving_key = key_of(
		first_line.deferred_revenue_account, doc.cost_center, first_line.project, first_line.dimensions
	)

	values = {}
	for row in doc.items:
		result = giving.apply(
			row.balance_item,
			engine.TransferOut(Decimal(str(flt(row.qty)))),
			other_deferred=receiving_key,
			context=_("Row #{0}").format(row.idx),
			voucher_detail_no=row.name,
		)
		values[row.name] = -sum((m.deferred for m in result.movements if m.event == TRANSFER_OUT), Decimal(0))

	balance = new_receiving_balance(doc, terms, values)
	receiving = LedgerPosting(VOUCHER_TYPE, doc.name, doc.transfer_date, doc.company, balances=[balance.name])
	new_lines = {line.idx: line for line in receiving.lines.values()}
	for position, row in enumerate(doc.items, start=1):
		line = new_lines[position]
		receiving.apply(
			line.name,
			engine.TransferIn(values[row.name], Decimal(str(flt(row.qty)))),
			other_deferred=giving_key,
			voucher_detail_no=row.name,
		)
		row.db_set({"value": flt(values[row.name]), "to_balance_item": line.name})

	# the two sides are one move seen from each balance: the giving side's postings carry it (with
	# any breakage recognized ahead of use going back); on the same keys they net to nothing
	journal_entry = giving.post_journal(
		_("Package balance transfer {0}: {1} to {2}, deferred revenue moved to balance {3}").format(
			doc.name, doc.from_customer, doc.to_customer, balance.name
		)
	)
	if journal_entry:
		for entry in receiving.entries:
			if entry["event"] == TRANSFER_IN and entry["deferred_change"]:
				entry["journal_entry"] = journal_entry
	giving.write()
	receiving.write()

	total = sum(values.values(), Decimal(0))
	doc.db_set({"to_balance": balance.name, "journal_entry": journal_entry, "total_value": flt(total)})
	log_transfer(doc, balance.name, total)


def validate_movable_on(doc, posting: LedgerPosting) -> None:
	"""What the engine cannot see: the balance's expiry date and its freeze on the transfer date."""
	line = next(iter(posting.lines.values()), None)
	if not line:
		frappe.throw(
			_("Package balance {0} has no lines to transfer").format(frappe.bold(doc.from_balance)),
			TransferItemError,
		)
	if line.expiry_date and getdate(line.expiry_date) < getdate(doc.transfer_date):
		frappe.throw(
			_("Package balance {0} expired on {1}; extend it before transferring it").format(
				frappe.bold(doc.from_balance), frappe.format(getdate(line.expiry_date), "Date")
			),
			BalanceExpiredError,
		)
	if is_frozen_on(doc.from_balance, doc.transfer_date):
		frappe.throw(
			_("Package balance {0} is frozen on {1}; unfreeze it before transferring it").format(
				frappe.bold(doc.from_balance), frappe.format(getdate(doc.transfer_date), "Date")
			),
			BalanceFrozenError,
		)


def new_receiving_balance(doc, terms, values: dict):
	"""The receiving customer's balance: the giving one's terms, only the units transferred."""
	balance = frappe.new_doc("Package Balance")
	balance.update({field: terms.get(field) for field in COPIED_TERMS})
	balance.update(
		{
			"customer": doc.to_customer,
			"purchase_date": doc.transfer_date,
			"package_price": flt(sum(values.values(), Decimal(0))),
			"cost_center": doc.cost_center,
			"transferred_from": doc.from_balance,
			"package_balance_transfer": doc.name,
		}
	)
	# the accounting dimensions the giving balance captured at sale
	for fieldname in captured_dimension_fields("Package Balance"):
		balance.set(fieldname, terms.get(fieldname))
	lines = {line.name: line for line in terms.items}
	for row in doc.items:
		line = lines[row.balance_item]
		balance.append(
			"items",
			{
				**{field: line.get(field) for field in COPIED_LINE_TERMS},
				"qty_purchased": flt(row.qty),
				"allocated_amount": flt(values[row.name]),
			},
		)
	return write_balance(balance)


def log_transfer(doc, to_balance: str, total: Decimal) -> None:
	units = ", ".join(f"{flt(row.qty):g} x {row.item_code}" for row in doc.items)
	value = frappe.format(flt(total), {"fieldtype": "Currency", "options": doc.currency})
	log_on_balance(
		doc.from_balance,
		_("Transferred by {0} to customer {1} (balance {2}): {3}, deferred value {4}. Reason: {5}").format(
			doc.name, doc.to_customer, to_balance, units, value, doc.reason
		),
	)
	log_on_balance(
		to_balance,
		_(
			"Received by transfer {0} from customer {1} (balance {2}): {3}, deferred value {4}. Reason: {5}"
		).format(doc.name, doc.from_customer, doc.from_balance, units, value, doc.reason),
	)


# --- cancel -------------------------------------------------------------------------------------


def transfer_entries(doc) -> list[dict]:
	"""The giving side's entries of this transfer, and everything the receiving balance holds."""
	entries = package_ledger.live_entries(
		voucher_type=VOUCHER_TYPE, voucher_no=doc.name, package_balance=doc.from_balance
	)
	if doc.to_balance:
		entries += package_ledger.live_entries(package_balance=doc.to_balance)
	return entries


def check_cancel(doc) -> None:
	"""before_cancel: refused (nothing written) once the receiving balance was used; both sides checked."""
	validate_receiver_unused(doc)
	cancel_entries(transfer_entries(doc), doc.transfer_date, doc.company, check_only=True)


def cancel_transfer(doc) -> None:
	"""on_cancel: the receiving balance ends Cancelled, the giving one has its units and value back."""
	cancel_entries(transfer_entries(doc), doc.transfer_date, doc.company, voucher=doc)
	if doc.to_balance:
		log_on_balance(
			doc.to_balance, _("Transfer {0} cancelled: this balance is cancelled.").format(doc.name)
		)
	log_on_balance(
		doc.from_balance, _("Transfer {0} cancelled: the units came back to this balance.").format(doc.name)
	)


def validate_receiver_unused(doc) -> None:
	"""The receiving balance gives back only what it received: not once an invoice used it, or its units
	moved on (another transfer, an upgrade)."""
	if not doc.to_balance:
		return
	Entry = DocType("Package Ledger Entry")
	used = (
		frappe.qb.from_(Entry)
		.select(Entry.voucher_type, Entry.voucher_no)
		.distinct()
		.where(Entry.package_balance == doc.to_balance)
		.where(Entry.is_cancelled == 0)
		.where(Entry.is_reversal == 0)
		.where(Entry.is_reversed == 0)
		.where(Entry.event.notin((TRANSFER_IN, *NOT_A_USE)))
		.orderby(Entry.voucher_no)
		.run(as_dict=True)
	)
	if used:
		vouchers = ", ".join(f"{_(row.voucher_type)} {frappe.bold(row.voucher_no)}" for row in used)
		frappe.throw(
			_(
				"Transfer {0} cannot be cancelled: balance {1} of customer {2} was used or moved on since ({3}); cancel those first"
			).format(
				frappe.bold(doc.name), frappe.bold(doc.to_balance), frappe.bold(doc.to_customer), vouchers
			),
			TransferReceiverUsedError,
		)
