"""Sales Orders and Delivery Notes billed by an invoice whose rows a package redeemed (issue 9).

ERPNext counts an order or delivery row as billed by the amount of the invoice rows that
bill it. A redeemed row's amount is 0 (the package paid for it), so on its own ERPNext would
leave the order "To Bill" for ever. A redeemed row counts as billed for its quantity, at the
rate of the row it bills:

- Sales Order: ERPNext's own status updater computes ``billed_amt`` from a SQL expression of
  the invoice rows (``source_field``); every Sales Invoice gets an expression that values
  redeemed rows at the order row's rate, so all invoices, redeemed or not, agree.
- Delivery Note: ERPNext sums the invoice rows' amounts directly, so after it has, the
  delivery rows an invoice bills are summed again the same way and ERPNext's
  ``update_billing_percentage`` sets the note's status.

Under Selling Settings "Maintain Same Rate Throughout Sales Cycle", ERPNext compares every
invoice row's rate with its order or delivery row (``validate_rate_with_reference_doc``) and,
with the action *Stop*, refuses a redeemed row at 0. A redeemed row's rate is the package's,
not the order's: the comparison leaves out redeemed rows (a split row's redeemed part too)
and still checks every charged row, the charged remainder of a split row included.
"""

from contextlib import contextmanager
from functools import partial

import frappe
from frappe.query_builder import Case, DocType
from frappe.query_builder.functions import Coalesce, Sum
from frappe.utils import flt

SI_ITEM = "`tabSales Invoice Item`"
# what an invoice row bills of its order row: a redeemed row, its stock units at the order's unit rate
BILLED_AT_ORDER_RATE = (
	f"(case when ifnull({SI_ITEM}.package_balance, '') != '' "
	f"then {SI_ITEM}.stock_qty * ifnull((select so_item.rate / nullif(so_item.conversion_factor, 0) "
	f"from `tabSales Order Item` so_item where so_item.name = {SI_ITEM}.so_detail), 0) "
	f"else {SI_ITEM}.amount end)"
)


def count_redeemed_rows_as_billed(doc, method=None):
	"""Sales Invoice before_submit / before_cancel: ERPNext's order billing values redeemed rows too."""
	for updater in getattr(doc, "status_updater", None) or []:
		if updater.get("target_dt") == "Sales Order Item" and updater.get("target_field") == "billed_amt":
			updater["source_field"] = BILLED_AT_ORDER_RATE


def update_delivery_notes_billed(doc, method=None):
	"""Sales Invoice on_submit / on_cancel, after ERPNext: redeemed rows bill their delivery rows."""
	details = sorted({row.dn_detail for row in doc.items if row.get("dn_detail")})
	if not details or not any_redeemed(details):
		return
	Item = DocType("Sales Invoice Item")
	Delivered = DocType("Delivery Note Item")
	billed = (
		frappe.qb.from_(Item)
		.join(Delivered)
		.on(Delivered.name == Item.dn_detail)
		.select(
			Item.dn_detail,
			Sum(
				Case()
				.when(
					Coalesce(Item.package_balance, "") != "",
					Item.stock_qty * Delivered.rate / Coalesce(Delivered.conversion_factor, 1),
				)
				.else_(Item.amount)
			).as_("billed"),
		)
		.where(Item.dn_detail.isin(details))
		.where(Item.docstatus == 1)
		.groupby(Item.dn_detail)
		.run(as_dict=True)
	)
	amounts = dict.fromkeys(details, 0.0)
	amounts.update({row.dn_detail: row.billed for row in billed})
	for detail, amount in amounts.items():
		frappe.db.set_value("Delivery Note Item", detail, "billed_amt", amount, update_modified=False)
	notes = {row.delivery_note for row in doc.items if row.get("dn_detail") and row.get("delivery_note")}
	for note in sorted(notes):
		frappe.get_doc("Delivery Note", note).update_billing_percentage()


def any_redeemed(dn_details: list[str]) -> bool:
	"""One indexed look-up: has any submitted invoice redeemed rows of these delivery rows?"""
	Item = DocType("Sales Invoice Item")
	return bool(
		frappe.qb.from_(Item)
		.select(Item.name)
		.where(Item.dn_detail.isin(dn_details))
		.where(Item.docstatus == 1)
		.where(Coalesce(Item.package_balance, "") != "")
		.limit(1)
		.run()
	)


REFERENCE_FIELDS = ("so_detail", "dn_detail")


def compare_charged_rates_only(doc, method=None):
	"""Sales Invoice before_validate: "Maintain Same Rate" compares the charged rows only.

	ERPNext's check runs inside the invoice's own validate, before any app hook; it reads the
	order and delivery rows through the invoice rows' references, so for that one call the
	redeemed rows carry none. (A partial of a module function: the invoice stays picklable.)
	"""
	doc.validate_rate_with_reference_doc = partial(validate_charged_rates, doc)


def validate_charged_rates(doc, ref_details):
	with references_hidden([row for row in doc.get("items") if row.get("package_balance")]):
		type(doc).validate_rate_with_reference_doc(doc, ref_details)


@contextmanager
def references_hidden(rows):
	kept = [(row, {field: row.get(field) for field in REFERENCE_FIELDS}) for row in rows]
	for row, _references in kept:
		row.update(dict.fromkeys(REFERENCE_FIELDS))
	try:
		yield
	finally:
		for row, references in kept:
			row.update(references)


def restore_billed_rates(rows) -> None:
	"""Rows merged back from an earlier split take the rate of the order or delivery row they bill.

	ERPNext would price them afresh from the price list; the charged part must stay at the
	order's rate ("Maintain Same Rate"), so each such row gets its reference row's prices,
	per unit of the row's own UOM.
	"""
	rows = [row for row in rows if row.get("dn_detail") or row.get("so_detail")]
	if not rows:
		return
	references = reference_prices(
		"Delivery Note Item", [row.dn_detail for row in rows if row.get("dn_detail")]
	) | reference_prices("Sales Order Item", [row.so_detail for row in rows if row.get("so_detail")])
	for row in rows:
		reference = references.get(row.get("dn_detail")) or references.get(row.get("so_detail"))
		if not reference:
			continue
		per_unit = flt(row.conversion_factor or 1) / flt(reference.conversion_factor or 1)
		row.update(
			{
				"price_list_rate": flt(reference.price_list_rate) * per_unit,
				"discount_percentage": reference.discount_percentage,
				"discount_amount": flt(reference.discount_amount) * per_unit,
				"rate": flt(reference.rate) * per_unit,
			}
		)


def reference_prices(doctype: str, names: list[str]) -> dict[str, frappe._dict]:
	if not names:
		return {}
	Reference = DocType(doctype)
	prices = (
		frappe.qb.from_(Reference)
		.select(
			Reference.name,
			Reference.conversion_factor,
			Reference.price_list_rate,
			Reference.discount_percentage,
			Reference.discount_amount,
			Reference.rate,
		)
		.where(Reference.name.isin(sorted(set(names))))
		.orderby(Reference.name)
		.run(as_dict=True)
	)
	return {price.name: price for price in prices}
