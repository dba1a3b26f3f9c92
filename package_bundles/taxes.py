"""Tax on package rows from the tax rows of the invoice they are on (SPEC §3 Tax).

ERPNext recomputes every row's item-wise tax rates from the row's Item Tax Template each
time it totals an invoice (``update_item_tax_map``), so a rate set on the row alone does not
hold. A package row therefore gets an Item Tax Template whose rates are what the engine
finds for this invoice's tax rows (``engine.invoice_tax``): one per distinct set of rates,
named after the package and reused by every invoice with the same taxes. The package's
sales Item and its Item Group carry no taxes of their own, so ERPNext keeps the row's
template (``validate_item_tax_template`` only overrides items that have some).
"""

import hashlib
import json
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import frappe
from frappe import _
from frappe.utils import cint, flt

from package_bundles import engine
from package_bundles.exceptions import PackageTaxConflictError


def get_item_tax_rates(
	item_code: str, company: str, posting_date, tax_category: str | None = None, net_rate=None
):
	"""(Item Tax Template, {tax account: rate}) that ERPNext would pick for the item on such an invoice."""
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
	template = get_item_tax_template(args, frappe.get_cached_doc("Item", item_code))
	return template, (get_item_tax_map(company, template, as_json=False) if template else {})


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


def set_row_tax(doc, row, package_name: str, components, price: Decimal, precision: int) -> Decimal:
	"""Give the row its template for this invoice; returns the print rate (gross where taxes are inclusive)."""
	result = package_tax(doc, components, price, precision)
	if result is None:
		row.item_tax_template = None
		row.item_tax_rate = "{}"
		return price
	row.item_tax_template = sync_template(package_name, doc.company, result.rates)
	row.item_tax_rate = json.dumps({account: flt(rate) for account, rate in result.rates.items()})
	return result.gross(price, precision)
