"""What a receipt says about prepaid packages (print format "Package Receipt").

A package sale row lists the package's components and quantities; a redeemed row
names the package and balance it came from, the list price it would have cost and
the units of that item left after this visit. "Left after this visit" is read from
the Package Ledger as it stood once this invoice was posted (its date, then the
order of posting), so redemptions on later invoices do not change an old receipt.
"""

from collections import defaultdict

import frappe
from frappe.query_builder import DocType
from frappe.utils import flt, getdate

from package_bundles.engine.state import OPENING, REDEMPTION, RETURN, SALE

INVOICE_DOCTYPES = ("Sales Invoice", "POS Invoice")
UNIT_EVENTS = (SALE, OPENING, REDEMPTION, RETURN)


def package_receipt(doc) -> dict[str, frappe._dict]:
	"""Jinja method: per invoice row name, what the receipt prints about packages.

	Sale rows: ``kind="sale"``, ``prepaid_package``, ``components`` (item, name, qty, uom),
	``expiry_date``, ``balances``. Redeemed rows: ``kind="redemption"``, ``prepaid_package``,
	``package_balance``, ``list_rate``, ``list_amount``, ``qty_left`` (None when unknown), ``uom``,
	``expiry_date``, ``paid_by`` (the name of the customer whose balance paid, when it is not the
	invoice's customer's own: a balance shared with them, issue 20; else None).
	"""
	if doc.doctype not in INVOICE_DOCTYPES or not can_read(doc):
		return {}
	receipt = {}
	receipt.update(sale_rows(doc))
	receipt.update(redeemed_rows(doc))
	return receipt


def can_read(doc) -> bool:
	return bool(doc.name) and frappe.has_permission(doc.doctype, "read", doc.name)


# --- package sales -------------------------------------------------------------


def sale_rows(doc) -> dict[str, frappe._dict]:
	rows = [row for row in doc.items if row.get("prepaid_package") and flt(row.qty) > 0]
	if not rows:
		return {}
	sold = sold_balances(doc) if doc.docstatus == 1 else {}
	terms = {} if len(sold) == len(rows) else package_terms({row.prepaid_package for row in rows})
	receipt = {}
	for row in rows:
		if row.name in sold:
			receipt[row.name] = sold[row.name]
		else:  # a draft: the package's terms as they stand; the snapshot is taken on submit
			receipt[row.name] = frappe._dict(
				kind="sale",
				prepaid_package=row.prepaid_package,
				components=terms.get(row.prepaid_package, []),
				expiry_date=None,
				balances=[],
			)
	return receipt


def sold_balances(doc) -> dict[str, frappe._dict]:
	"""The snapshot each sale row made: its balances and their (identical) components."""
	Balance = DocType("Package Balance")
	Line = DocType("Package Balance Item")
	lines = (
		frappe.qb.from_(Balance)
		.join(Line)
		.on((Line.parent == Balance.name) & (Line.parenttype == "Package Balance"))
		.select(
			Balance.name.as_("balance"),
			Balance.sales_invoice_item,
			Balance.prepaid_package,
			Balance.expiry_date,
			Line.item_code,
			Line.item_name,
			Line.qty_purchased.as_("qty"),
			Line.uom,
		)
		.where(Balance.invoice_type == doc.doctype)
		.where(Balance.sales_invoice == doc.name)
		.orderby(Balance.name)
		.orderby(Line.idx)
		.run(as_dict=True)
	)
	receipt: dict[str, frappe._dict] = {}
	for line in lines:
		row = receipt.setdefault(
			line.sales_invoice_item,
			frappe._dict(
				kind="sale",
				prepaid_package=line.prepaid_package,
				components=[],
				expiry_date=line.expiry_date,
				balances=[],
			),
		)
		if line.balance not in row.balances:
			row.balances.append(line.balance)
		if row.balances[0] == line.balance:
			row.components.append(component(line.item_code, line.item_name, line.qty, line.uom))
	return receipt


def package_terms(packages: set[str]) -> dict[str, list[frappe._dict]]:
	Item = DocType("Package Item")
	items = (
		frappe.qb.from_(Item)
		.select(Item.parent, Item.item_code, Item.item_name, Item.qty, Item.uom)
		.where(Item.parenttype == "Prepaid Package")
		.where(Item.parent.isin(sorted(packages)))
		.orderby(Item.parent)
		.orderby(Item.idx)
		.run(as_dict=True)
	)
	terms = defaultdict(list)
	for item in items:
		terms[item.parent].append(component(item.item_code, item.item_name, item.qty, item.uom))
	return terms


def component(item_code, item_name, qty, uom) -> frappe._dict:
	return frappe._dict(
		item_code=item_code, item_name=item_name or item_code, qty=flt(qty), qty_text=qty_text(qty), uom=uom
	)


def qty_text(qty) -> str:
	"""Whole units print as whole numbers ("3"), fractions in the system's float format."""
	qty = flt(qty)
	return str(int(qty)) if qty.is_integer() else frappe.format_value(qty, {"fieldtype": "Float"})


# --- redemptions ---------------------------------------------------------------


def redeemed_rows(doc) -> dict[str, frappe._dict]:
	rows = [row for row in doc.items if row.get("package_balance") and flt(row.qty) > 0]
	if not rows:
		return {}
	posted = posted_lines(doc)  # row name -> its balance line, once the invoice is submitted
	drafted = {} if doc.docstatus else draft_lines(rows)
	lines = line_details({*posted.values(), *drafted.values()})
	left = left_after(doc, set(posted.values()))
	drafted_qty = defaultdict(float)
	for row in rows:
		if row.name in drafted:
			drafted_qty[drafted[row.name]] += flt(row.stock_qty) or flt(row.qty)

	receipt = {}
	for row in rows:
		line_name = posted.get(row.name) or drafted.get(row.name)
		line = lines.get(line_name) or frappe._dict()
		if row.name in posted:
			qty_left = left.get(line_name)
		elif row.name in drafted:  # what the draft would leave, were it submitted now
			qty_left = flt(line.qty_remaining) - drafted_qty[line_name]
		else:
			qty_left = None  # e.g. rows of a consolidated POS invoice: the POS Invoice holds the ledger
		list_rate = flt(row.get("package_list_rate") or row.price_list_rate)
		receipt[row.name] = frappe._dict(
			kind="redemption",
			package_balance=row.package_balance,
			prepaid_package=line.prepaid_package
			or frappe.db.get_value("Package Balance", row.package_balance, "prepaid_package"),
			list_rate=list_rate,
			list_amount=flt(list_rate * flt(row.qty), row.precision("amount")),
			qty_left=None if qty_left is None else max(qty_left, 0.0),
			qty_left_text=None if qty_left is None else qty_text(max(qty_left, 0.0)),
			uom=line.uom or row.get("stock_uom"),
			expiry_date=line.expiry_date,
			paid_by=(line.customer_name or line.customer)
			if line.customer and line.customer != doc.customer
			else None,
		)
	return receipt


def posted_lines(doc) -> dict[str, str]:
	"""Invoice row -> the balance line its redemption moved (this voucher's own ledger rows)."""
	Entry = DocType("Package Ledger Entry")
	rows = (
		frappe.qb.from_(Entry)
		.select(Entry.voucher_detail_no, Entry.package_balance_item)
		.distinct()
		.where(Entry.voucher_type == doc.doctype)
		.where(Entry.voucher_no == doc.name)
		.where(Entry.event == REDEMPTION)
		.where(Entry.is_reversal == 0)
		.orderby(Entry.voucher_detail_no)
		.run()
	)
	return dict(rows)


def draft_lines(rows) -> dict[str, str]:
	"""Invoice row -> the line of its balance holding its item (a draft has no ledger rows yet)."""
	Line = DocType("Package Balance Item")
	lines = (
		frappe.qb.from_(Line)
		.select(Line.parent, Line.item_code, Line.name)
		.where(Line.parenttype == "Package Balance")
		.where(Line.parent.isin(sorted({row.package_balance for row in rows})))
		.orderby(Line.parent)
		.orderby(Line.idx)
		.run(as_dict=True)
	)
	by_item = {}
	for line in lines:
		by_item.setdefault((line.parent, line.item_code), line.name)
	return {
		row.name: by_item[(row.package_balance, row.item_code)]
		for row in rows
		if (row.package_balance, row.item_code) in by_item
	}


def line_details(line_names: set[str]) -> dict[str, frappe._dict]:
	if not line_names:
		return {}
	Balance = DocType("Package Balance")
	Line = DocType("Package Balance Item")
	lines = (
		frappe.qb.from_(Line)
		.join(Balance)
		.on(Balance.name == Line.parent)
		.select(
			Line.name,
			Line.uom,
			Line.qty_remaining,
			Balance.prepaid_package,
			Balance.expiry_date,
			Balance.customer,
			Balance.customer_name,
		)
		.where(Line.name.isin(sorted(line_names)))
		.orderby(Line.name)
		.run(as_dict=True)
	)
	return {line.name: line for line in lines}


def left_after(doc, line_names: set[str]) -> dict[str, float]:
	"""Units of each line left once this invoice was posted: purchased minus net redeemed up to it.

	Live unit movements of the line dated before the invoice, or on its date and
	written no later than the invoice's own redemption, count; later ones do not.
	"""
	if not line_names:
		return {}
	Entry = DocType("Package Ledger Entry")
	movements = (
		frappe.qb.from_(Entry)
		.select(
			Entry.package_balance_item,
			Entry.posting_date,
			Entry.creation,
			Entry.qty_change,
			Entry.voucher_type,
			Entry.voucher_no,
			Entry.event,
			Entry.is_reversal,
			Entry.is_cancelled,
		)
		.where(Entry.package_balance_item.isin(sorted(line_names)))
		.where(Entry.event.isin(UNIT_EVENTS))
		.orderby(Entry.package_balance_item)
		.orderby(Entry.posting_date)
		.orderby(Entry.creation)
		.run(as_dict=True)
	)
	cutoff = {}
	for entry in movements:
		if is_own_redemption(entry, doc):
			cutoff[entry.package_balance_item] = (getdate(entry.posting_date), entry.creation)
	left = defaultdict(float)
	for entry in movements:
		line = entry.package_balance_item
		if line not in cutoff or (getdate(entry.posting_date), entry.creation) > cutoff[line]:
			continue
		# a cancelled invoice still prints what it redeemed; other cancelled vouchers never happened
		if not entry.is_cancelled or is_own_redemption(entry, doc):
			left[line] += flt(entry.qty_change)
	return dict(left)


def is_own_redemption(entry, doc) -> bool:
	return (
		entry.voucher_type == doc.doctype
		and entry.voucher_no == doc.name
		and entry.event == REDEMPTION
		and not entry.is_reversal
	)
