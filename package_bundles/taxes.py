"""Tax on package rows through Item Tax Templates (SPEC §3 Tax).

ERPNext recomputes every row's item-wise tax rates from the row's Item Tax
Template whenever it totals an invoice, so a rate set on the row alone is lost.
Each package therefore keeps its own template whose rates are the
allocation-weighted rates of its components; the package's sales Item carries
it, and ERPNext's own tax engine (desk, POS, REST) charges exactly the tax the
components would bear. A credit note refunding a partly used package gets a
template weighted by what is left.
"""

from decimal import Decimal

import frappe
from frappe import _
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


def default_tax_rates(company: str) -> dict[str, float]:
	"""Rates of the company's default sales tax template: what an item without its own rate bears."""
	template = frappe.db.get_value(
		"Sales Taxes and Charges Template", {"company": company, "is_default": 1, "disabled": 0}
	)
	if not template:
		return {}
	return {
		tax.account_head: flt(tax.rate)
		for tax in frappe.get_cached_doc("Sales Taxes and Charges Template", template).taxes
		if tax.charge_type != "Actual" and tax.account_head
	}


def weighted_rates(
	company: str, components: list[tuple[str, Decimal]], price: Decimal, posting_date, precision: int
):
	"""Per tax account, the allocation-weighted rate of the components (engine)."""
	defaults = default_tax_rates(company)
	per_component = [
		get_item_tax_rates(item_code, company, posting_date)[1] for item_code, _value in components
	]
	accounts = set(defaults)
	for rates in per_component:
		accounts |= set(rates)

	def fallback(account):
		return defaults.get(account, flt(frappe.get_cached_value("Account", account, "tax_rate")))

	weighted_input = [
		(
			value,
			{account: Decimal(str(rates.get(account, fallback(account)))) for account in sorted(accounts)},
		)
		for (_item, value), rates in zip(components, per_component, strict=True)
	]
	return engine.weighted_tax_rates(weighted_input, price, precision)


def sync_template(title: str, company: str, rates: dict[str, Decimal]) -> str | None:
	"""Create or update the Item Tax Template named after ``title``; None when no tax applies."""
	if not rates:
		return None
	abbr = frappe.get_cached_value("Company", company, "abbr")
	name = f"{title} - {abbr}"
	template = (
		frappe.get_doc("Item Tax Template", name) if frappe.db.exists("Item Tax Template", name) else None
	)
	if template is None:
		template = frappe.new_doc("Item Tax Template")
		template.update({"title": title, "company": company})
	current = {row.tax_type: flt(row.tax_rate, 9) for row in template.taxes}
	wanted = {account: float(rate) for account, rate in rates.items()}
	if current == wanted and not template.is_new():
		return template.name
	template.taxes = []
	for account, rate in wanted.items():
		template.append("taxes", {"tax_type": account, "tax_rate": rate})
	template.flags.ignore_permissions = True
	template.save()
	return template.name


def sync_package_tax_template(package) -> str | None:
	from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import currency_precision

	components = [(row.item_code, Decimal(str(flt(row.allocated_amount)))) for row in package.items]
	rates = weighted_rates(
		package.company,
		components,
		Decimal(str(flt(package.package_price))),
		frappe.utils.nowdate(),
		currency_precision(package.currency),
	)
	return sync_template(_("Package {0}").format(package.package_name), package.company, rates)


def refund_tax_template(balance: str, company: str, components, posting_date, precision: int) -> str | None:
	"""Template for refunding what is left of a partly used balance."""
	price = sum((value for _item, value in components), Decimal(0))
	rates = weighted_rates(company, list(components), price, posting_date, precision)
	return sync_template(_("Refund {0}").format(balance), company, rates)
