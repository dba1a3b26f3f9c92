"""Tax rates of items as ERPNext would apply them, and the weights of a package row."""

import json
from decimal import Decimal

import frappe
from frappe.utils import flt

from package_bundles import engine


def get_item_tax_rates(item_code: str, company: str, posting_date, tax_category: str | None = None):
	"""(Item Tax Template, {tax account: rate}) that ERPNext would pick for the item."""
	from erpnext.stock.get_item_details import get_item_tax_map, get_item_tax_template

	args = {
		"company": company,
		"tax_category": tax_category or "",
		"posting_date": posting_date,
		"transaction_date": posting_date,
	}
	template = get_item_tax_template(args, frappe.get_cached_doc("Item", item_code))
	return template, (get_item_tax_map(company, template, as_json=False) if template else {})


def taxed_accounts(doc) -> dict[str, float]:
	"""Tax rows an item-wise rate applies to: account head -> the row's own rate."""
	return {
		tax.account_head: flt(tax.rate)
		for tax in doc.get("taxes") or []
		if tax.charge_type not in ("Actual",) and tax.account_head
	}


def weighted_item_tax_rate(doc, components: list[tuple[str, Decimal]], price: Decimal) -> str:
	"""JSON item_tax_rate for a package row: each account at the allocation-weighted rate.

	``components`` pairs each included item with the value the row carries for it.
	A component without a rate for an account bears that tax row's own rate, as it
	would if sold alone on this invoice.
	"""
	accounts = taxed_accounts(doc)
	if not accounts:
		return json.dumps({})
	weighted_input = []
	for item_code, value in components:
		_template, rates = get_item_tax_rates(item_code, doc.company, doc.posting_date, doc.get("tax_category"))
		weighted_input.append(
			(value, {account: Decimal(str(rates.get(account, default))) for account, default in accounts.items()})
		)
	weights = engine.weighted_tax_rates(weighted_input, price)
	return json.dumps({account: float(rate) for account, rate in weights.items()})
