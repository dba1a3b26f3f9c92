"""Frappe Health Clinical Procedure consumables drawn from a prepaid package (issue 17).

How Health bills consumables (version-15): completing a procedure that consumes stock issues all
its consumables from the procedure's warehouse by a Material Issue Stock Entry; those marked
*invoice separately as consumables* are priced (Health's price list rate x qty) into the
procedure's consumable total, and *Get Items from Healthcare Services* bills that total as one row
of Healthcare Settings' consumable item (a service item) that references the procedure. So the
stock moves once, by the Stock Entry, and never by the invoice, with or without Update Stock.

The rule here (README, "Frappe Health"):

1. On a Sales Invoice that bills a procedure's consumables, each consumable billed separately that
   the patient's package holds (a goods item of a live balance) is taken out of the consumables
   row onto a row of its own: its item and quantity, the procedure's warehouse, and the procedure
   in ``package_procedure``. flows.redeem redeems that row like any other (rate 0, one unit of the
   balance per unit used; a part the balance does not hold is charged at the list price). The
   consumables row keeps the rest of Health's total and description, down to 0 when the package
   holds everything; it still references the procedure, so Health marks the consumables invoiced
   (and unmarks them when the invoice is cancelled, when the units go back to the balance too).
2. Stock moves once, as in the plain case: the invoice does not move the stock Health's Stock
   Entry issued. Without Update Stock a Sales Invoice moves no stock. An invoice (or credit note)
   that updates stock and carries a consumable row is refused (ConsumableStockError), as ERPNext
   refuses to update stock on rows delivered by a Delivery Note. Health bills consumables only
   for a completed procedure that consumed stock, so the Stock Entry always comes first.

Only reached for an invoice with a row that references a Clinical Procedure, or with a consumable
row, which exist only where Health is installed; Health's modules are imported inside functions.
"""

import frappe
from frappe import _
from frappe.utils import cint, flt

from package_bundles.exceptions import ConsumableStockError
from package_bundles.flows import redeem

CLINICAL_PROCEDURE = "Clinical Procedure"
PROCEDURE_FIELD = "package_procedure"  # Sales Invoice Item custom field, where Health is installed


def consumable_service_item() -> str | None:
	return frappe.db.get_single_value("Healthcare Settings", "clinical_procedure_consumable_item")


def consumable_rows(doc) -> list:
	return [row for row in doc.items if row.get(PROCEDURE_FIELD)]


def procedure_rows(doc) -> list:
	"""The rows that bill a procedure's consumables (Health's consumables row)."""
	if not any(row.get("reference_dt") == CLINICAL_PROCEDURE for row in doc.items):
		return []
	service_item = consumable_service_item()
	return [
		row
		for row in doc.items
		if service_item
		and row.item_code == service_item
		and row.get("reference_dt") == CLINICAL_PROCEDURE
		and row.get("reference_dn")
	]


def health_price(procedure, consumable, customer: str) -> float:
	"""What Health charged for the consumable when the procedure completed (complete_procedure):
	the first selling price list's rate for the customer times the quantity."""
	from erpnext.stock.get_item_details import get_item_details

	price_list, price_list_currency = frappe.db.get_values(
		"Price List", {"selling": 1}, ["name", "currency"]
	)[0]
	details = get_item_details(
		{
			"doctype": "Sales Invoice",
			"item_code": consumable.item_code,
			"company": procedure.company,
			"warehouse": procedure.warehouse,
			"customer": customer,
			"selling_price_list": price_list,
			"price_list_currency": price_list_currency,
			"plc_conversion_rate": 1.0,
			"conversion_rate": 1.0,
		}
	)
	return flt(details.price_list_rate) * flt(consumable.qty)


def separate_consumables(procedure) -> list:
	return [item for item in procedure.items if cint(item.invoice_separately_as_consumables)]


def split_covered_consumables(doc) -> None:
	"""Rule 1, before the planner of flows.redeem runs (before_validate of a draft invoice)."""
	if doc.get("is_return") or doc.get("is_consolidated") or doc.get("is_debit_note") or not doc.customer:
		return
	if not (doc.get("_action") == "save" or doc.is_new()):
		return  # submitting a saved draft keeps the rows the user saw, as flows.invoice does
	for service_row in procedure_rows(doc):
		procedure = frappe.get_doc(CLINICAL_PROCEDURE, service_row.reference_dn)
		consumables = separate_consumables(procedure)
		if not consumables:
			continue
		own_rows = [row for row in consumable_rows(doc) if row.get(PROCEDURE_FIELD) == procedure.name]
		if not own_rows:
			held = {
				holding.item_code
				for holding in redeem.load_holdings(
					doc.customer, doc.company, {item.item_code for item in consumables}, doc.posting_date
				)
			}
			own_rows = []
			for item in consumables:
				if item.item_code in held:
					own_rows.append(
						add_consumable_row(doc, own_rows[-1] if own_rows else service_row, procedure, item)
					)
			if not own_rows:
				continue
			doc.set_missing_values(for_validate=True)
		set_rest(doc, service_row, procedure, consumables, {row.item_code for row in own_rows})


def add_consumable_row(doc, after, procedure, consumable):
	"""The consumable's own row, placed right after ``after`` (its consumables row, or the last
	consumable taken out of it)."""
	row = doc.append(
		"items",
		{
			"item_code": consumable.item_code,
			"qty": flt(consumable.qty),
			"uom": consumable.uom,
			"stock_uom": consumable.stock_uom,
			"conversion_factor": flt(consumable.conversion_factor) or None,
			"warehouse": procedure.warehouse,
			"cost_center": after.cost_center,
			PROCEDURE_FIELD: procedure.name,
		},
	)
	doc.items.remove(row)
	doc.items.insert(doc.items.index(after) + 1, row)
	for idx, item in enumerate(doc.items, start=1):
		item.idx = idx
	return row


def set_rest(doc, service_row, procedure, consumables, own_items: set[str]) -> None:
	"""The consumables row bills Health's total less what the consumables' own rows bill."""
	taken = [item for item in consumables if item.item_code in own_items]
	left = [item for item in consumables if item.item_code not in own_items]
	rest = max(
		flt(procedure.consumable_total_amount)
		- sum(health_price(procedure, item, doc.customer) for item in taken),
		0,
	)
	rest = flt(rest, service_row.precision("rate"))
	service_row.qty = 1
	service_row.price_list_rate = rest
	service_row.rate = rest
	for fieldname in ("discount_percentage", "discount_amount", "margin_rate_or_amount"):
		service_row.set(fieldname, 0)
	lines = [_("Clinical Procedure ({0}):").format(procedure.name)]
	lines += [
		f"{item.item_name} {item.qty} {item.uom} {health_price(procedure, item, doc.customer)}"
		for item in left
	]
	lines += [_("{0} {1} {2} on its own row").format(item.item_name, item.qty, item.uom) for item in taken]
	service_row.description = "\n\t".join(lines)


def check_stock(doc) -> None:
	"""Rule 2: an invoice that updates stock moves no consumable Health issued already."""
	if not cint(doc.get("update_stock")):
		return
	for row in consumable_rows(doc):
		frappe.throw(
			_(
				"Row #{0}: {1} is a consumable of Clinical Procedure {2}, whose stock Frappe Health issued"
				" by a Stock Entry when the procedure completed; an invoice that updates stock would issue"
				" it again (as ERPNext refuses for rows delivered by a Delivery Note). Untick Update Stock"
				" or bill the procedure's consumables on an invoice of their own."
			).format(row.idx, frappe.bold(row.item_code), frappe.bold(row.get(PROCEDURE_FIELD))),
			ConsumableStockError,
		)
