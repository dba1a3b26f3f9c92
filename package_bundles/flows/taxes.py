"""Tax on package rows from the tax rows of the invoice they are on (SPEC §3 Tax).

ERPNext recomputes every row's item-wise tax rates from the row's Item Tax Template each
time it totals an invoice (``update_item_tax_map``), so a rate set on the row alone does not
hold. A package row therefore gets an Item Tax Template whose rates are what the engine
finds for this invoice's tax rows (``engine.invoice_tax``): one per distinct set of rates,
named after the package and reused by every invoice with the same taxes.

ERPNext also checks a row's template against those of its item and of every Item Group up
the tree (``validate_item_tax_template``) and replaces it with the first of them when it is
not among them: an 8% template on *All Item Groups* would put the whole package price at
8%. So each template the app makes for a package is listed on the package's sales Item too
(for the invoice's tax category, valid from ``LISTED_SINCE``, so it also stands beside
group templates that carry a validity date): ERPNext then keeps the row's template during
its own validation and totals, whatever the groups carry, and nothing has to be recomputed
after it. The rows are the app's; saving the package keeps them.

A component bears what it would on its own invoice row (``get_item_tax_rates``): the
template ERPNext picks for the item (its own, else the nearest Item Group's), replaced as
ERPNext's validation would replace it.
"""

import hashlib
import json
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.query_builder.functions import Coalesce
from frappe.utils import cint, flt, getdate

from package_bundles import engine
from package_bundles.exceptions import PackageTaxConflictError

# an app template listed on a package's sales Item is valid from this date: any invoice date
LISTED_SINCE = "1900-01-01"


def get_item_tax_rates(
	item_code: str, company: str, posting_date, tax_category: str | None = None, net_rate=None
):
	"""(Item Tax Template, {tax account: rate}) that the item bears on its own row of such an invoice."""
	from erpnext.stock.get_item_details import get_item_tax_map, get_item_tax_template

	args = {
		"company": company,
		"tax_category": tax_category or "",
		"posting_date": posting_date,
		"transaction_date": posting_date,
		"bill_date": posting_date,
		"net_rate": net_rate,
		"base_net_rate": net_rate,
	}
	item = frappe.get_cached_doc("Item", item_code)
	template = get_item_tax_template(args, item)
	if template:
		# what ERPNext's validate_item_tax_template then keeps of it
		allowed = templates_allowed(args, item)
		if allowed and template not in allowed:
			template = allowed[0]
	return template, (get_item_tax_map(company, template, as_json=False) if template else {})


def templates_allowed(args: dict, item) -> list[str]:
	"""The templates ERPNext accepts on a row of the item: its own and its Item Groups', up the tree."""
	from erpnext.stock.get_item_details import _get_item_tax_template

	taxes = list(item.taxes or [])
	group = item.item_group
	while group:
		group_doc = frappe.get_cached_doc("Item Group", group)
		taxes += group_doc.taxes or []
		group = group_doc.parent_item_group
	return _get_item_tax_template(args, taxes, for_validate=True) if taxes else []


def invoice_tax_rows(doc) -> list[engine.TaxRow]:
	"""The invoice's tax rows as ERPNext will total them (its own table, or the template it will add)."""
	rows = doc.get("taxes") or []
	if (
		not rows
		and doc.get("taxes_and_charges")
		and cint(frappe.db.get_single_value("Accounts Settings", "add_taxes_from_taxes_and_charges_template"))
	):
		from erpnext.controllers.accounts_controller import get_taxes_and_charges

		rows = [
			frappe._dict(row)
			for row in get_taxes_and_charges(taxes_master_doctype(doc), doc.taxes_and_charges)
		]
	return [
		engine.TaxRow(
			row.account_head,
			row.charge_type,
			Decimal(str(flt(row.rate))),
			cint(row.row_id) or None,
			bool(cint(row.included_in_print_rate)),
		)
		for row in rows
		if row.account_head and row.charge_type
	]


def taxes_master_doctype(doc) -> str:
	return doc.meta.get_field("taxes_and_charges").options


def rate_precision(doc) -> int:
	"""The precision ERPNext reads item-wise tax rates at: the tax table's rate field."""
	from frappe.model.meta import get_field_precision

	tax_doctype = doc.meta.get_field("taxes").options
	return int(get_field_precision(frappe.get_meta(tax_doctype).get_field("rate")))


def site_rounding() -> str:
	method = frappe.get_system_settings("rounding_method") or "Banker's Rounding (legacy)"
	return ROUND_HALF_UP if method == "Commercial Rounding" else ROUND_HALF_EVEN


def package_tax(doc, components: list[tuple[str, Decimal, Decimal]], price: Decimal, precision: int):
	"""engine.PackageTax of a package row: components are (item code, net amount, units)."""
	rows = invoice_tax_rows(doc)
	if not rows:
		return None
	inputs = []
	for item_code, amount, qty in components:
		net_rate = flt(amount / qty) if qty else 0
		_template, rates = get_item_tax_rates(
			item_code, doc.company, doc.get("posting_date"), doc.get("tax_category"), net_rate
		)
		inputs.append(
			engine.Component(
				amount, {account: Decimal(str(flt(rate))) for account, rate in rates.items()}, qty
			)
		)
	try:
		return engine.invoice_tax(inputs, rows, price, precision, rate_precision(doc), site_rounding())
	except engine.TaxConflictError as error:
		frappe.throw(
			_(
				"Tax account {0} is on two tax rows of this invoice that would need different rates on the"
				" package row. Keep one row per tax account on an invoice that sells a package."
			).format(frappe.bold(error.account)),
			PackageTaxConflictError,
			title=_("Package Tax"),
		)


def sync_template(package_name: str, company: str, rates: dict[str, Decimal]) -> str | None:
	"""The Item Tax Template carrying these rates for this package; made once, then reused."""
	if not rates:
		return None
	normalized = {account: format(rate.normalize(), "f") for account, rate in sorted(rates.items())}
	digest = hashlib.sha1(json.dumps(normalized).encode(), usedforsecurity=False).hexdigest()[:8]
	title = f"Package {package_name} {digest}"[:140]
	abbr = frappe.get_cached_value("Company", company, "abbr")
	name = f"{title} - {abbr}"
	if frappe.db.exists("Item Tax Template", name):
		return name
	template = frappe.new_doc("Item Tax Template")
	template.update({"title": title, "company": company})
	for account, rate in normalized.items():
		template.append("taxes", {"tax_type": account, "tax_rate": rate})
	template.flags.ignore_permissions = True
	template.insert(ignore_if_duplicate=True)
	return name


def list_on_package_item(item_code: str, template: str, tax_category: str | None) -> None:
	"""List the app's template on the package's sales Item, so ERPNext keeps it on the row.

	Checked on the cached Item, which ERPNext's validation reads; added once, under a lock on
	the Item so that two first sales do not list it twice (Item refuses duplicates on save).
	"""
	category = tax_category or None
	item = frappe.get_cached_doc("Item", item_code)
	if any(listed_for(row, template, category) for row in item.taxes or []):
		return
	frappe.db.get_value("Item", item_code, "name", for_update=True)
	ItemTax = DocType("Item Tax")
	listed = (
		frappe.qb.from_(ItemTax)
		.select(ItemTax.name)
		.where(ItemTax.parenttype == "Item")
		.where(ItemTax.parentfield == "taxes")
		.where(ItemTax.parent == item_code)
		.where(ItemTax.item_tax_template == template)
		.where(Coalesce(ItemTax.tax_category, "") == (category or ""))
		.orderby(ItemTax.idx)
		.run()
	)
	if listed:
		# listed by hand, or with a validity of its own: valid for any invoice date again
		frappe.db.set_value(
			"Item Tax",
			listed[0][0],
			{"valid_from": LISTED_SINCE, "minimum_net_rate": 0, "maximum_net_rate": 0},
			update_modified=False,
		)
	else:
		count = frappe.db.count("Item Tax", {"parenttype": "Item", "parent": item_code})
		row = frappe.new_doc("Item Tax", parent_doc=item, parentfield="taxes")
		row.update(
			{
				"idx": count + 1,
				"item_tax_template": template,
				"tax_category": category,
				"valid_from": LISTED_SINCE,
			}
		)
		row.db_insert()
	frappe.clear_document_cache("Item", item_code)


def listed_for(row, template: str, category: str | None) -> bool:
	return bool(
		row.item_tax_template == template
		and (row.tax_category or None) == category
		and row.valid_from
		and getdate(row.valid_from) <= getdate(LISTED_SINCE)
		and not flt(row.maximum_net_rate)
	)


def is_package_template(template: str | None, package_name: str) -> bool:
	"""Whether a template is one the app made for this package (sync_template names them)."""
	return bool(template) and template.startswith(f"Package {package_name} ")


def set_row_tax(doc, row, package_name: str, components, price: Decimal, precision: int) -> Decimal:
	"""Give the row its template for this invoice; returns the print rate (gross where taxes are inclusive)."""
	result = package_tax(doc, components, price, precision)
	if result is None:
		row.item_tax_template = None
		row.item_tax_rate = "{}"
		return price
	row.item_tax_template = sync_template(package_name, doc.company, result.rates)
	if row.item_tax_template and row.item_code:
		list_on_package_item(row.item_code, row.item_tax_template, doc.get("tax_category"))
	row.item_tax_rate = json.dumps({account: flt(rate) for account, rate in result.rates.items()})
	return result.gross(price, precision)
