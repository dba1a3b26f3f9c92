"""Whitelisted methods for REST integrators and the desk (SPEC §5, §7).

Reads go through frappe.get_list so role and user permissions apply; each
method also checks permission on what it is asked about.
"""

import json

import frappe
from frappe import _
from frappe.query_builder import DocType

from package_bundles import redemption
from package_bundles.catalog import get_package_item_map
from package_bundles.read_permissions import check_company_and_customer

BALANCE_FIELDS = [
	"name",
	"customer",
	"company",
	"prepaid_package",
	"status",
	"purchase_date",
	"expiry_date",
	"sales_invoice",
	"is_opening",
	"opening_reference",
	"revenue_recognition",
	"currency",
	"package_price",
	"total_allocated",
	"total_recognized",
	"total_deferred",
]
ITEM_FIELDS = [
	"parent",
	"item_code",
	"item_name",
	"item_group",
	"uom",
	"qty_purchased",
	"qty_redeemed",
	"qty_remaining",
	"allocated_amount",
	"recognized_amount",
	"deferred_amount",
]


@frappe.whitelist()
def get_customer_balances(customer: str, include_closed: bool = False) -> list[dict]:
	"""The customer's balances with their items; live ones only unless ``include_closed``."""
	if not frappe.has_permission("Customer", "read", doc=customer):
		frappe.throw(
			_("Not permitted to read customer {0}").format(frappe.bold(customer)), frappe.PermissionError
		)
	filters = {"customer": customer}
	if not frappe.utils.sbool(include_closed):
		filters["status"] = ("in", ("Awaiting Payment", "Active"))
	balances = frappe.get_list(
		"Package Balance",
		filters=filters,
		fields=BALANCE_FIELDS,
		order_by="expiry_date asc, purchase_date asc, name asc",
	)
	return attach_items(balances)


def attach_items(balances: list[dict]) -> list[dict]:
	if not balances:
		return balances
	Item = DocType("Package Balance Item")
	items = (
		frappe.qb.from_(Item)
		.select(*[Item[field] for field in ITEM_FIELDS])
		.where(Item.parent.isin([b.name for b in balances]))
		.where(Item.parenttype == "Package Balance")
		.orderby(Item.parent)
		.orderby(Item.idx)
		.run(as_dict=True)
	)
	by_balance: dict[str, list] = {}
	for item in items:
		by_balance.setdefault(item.pop("parent"), []).append(item)
	for balance in balances:
		balance["items"] = by_balance.get(balance.name, [])
	return balances


@frappe.whitelist()
def preview_redemption(doc: str | dict) -> list[dict]:
	"""For a draft invoice (saved or not), which rows would redeem from which balance. Writes nothing."""
	invoice = frappe.get_doc(json.loads(doc) if isinstance(doc, str) else doc)
	if invoice.doctype not in ("Sales Invoice", "POS Invoice"):
		frappe.throw(_("Preview needs a Sales Invoice or a POS Invoice"), frappe.ValidationError)
	if not frappe.has_permission(invoice.doctype, "create") and not frappe.has_permission(
		invoice.doctype, "write"
	):
		frappe.throw(_("Not permitted to prepare Sales Invoices"), frappe.PermissionError)
	if invoice.customer and not frappe.has_permission("Customer", "read", doc=invoice.customer):
		frappe.throw(
			_("Not permitted to read customer {0}").format(frappe.bold(invoice.customer)),
			frappe.PermissionError,
		)
	# the preview shows the customer's balances in the invoice's company
	check_company_and_customer(invoice.company, invoice.customer, "Package Balance")

	invoice.posting_date = invoice.posting_date or frappe.utils.nowdate()
	if not invoice.is_return:
		redemption.restore_redeemed_rows(invoice)
		redemption.apply_redemptions(invoice, fill_details=False)
	package_items = get_package_item_map()
	return [
		{
			"idx": row.idx,
			"item_code": row.item_code,
			"qty": row.qty,
			"package_balance": row.package_balance,
			"redeemed": bool(row.package_balance),
			"sells_package": package_items.get(row.item_code),
		}
		for row in invoice.items
	]


@frappe.whitelist()
def preview_package(doc: str | dict) -> dict:
	"""Default price, allocation and tax of a Prepaid Package form, without saving it."""
	package = frappe.get_doc(json.loads(doc) if isinstance(doc, str) else doc)
	if package.doctype != "Prepaid Package":
		frappe.throw(_("Preview needs a Prepaid Package"), frappe.ValidationError)
	package.check_permission("write" if not package.is_new() else "create")
	package.set_selling_price_list()
	package.validate_items()
	package.set_standard_rates()
	package.set_allocation()
	package.set_tax_details()
	return {
		"default_price": package.default_price,
		"package_price": package.package_price,
		"taxable_amount": package.taxable_amount,
		"items": [
			{
				"idx": row.idx,
				"item_code": row.item_code,
				"rate": row.rate,
				"amount": row.amount,
				"allocated_amount": row.allocated_amount,
				"allocated_rate": row.allocated_rate,
				"taxable": row.taxable,
				"item_tax_template": row.item_tax_template,
			}
			for row in package.items
		],
	}
