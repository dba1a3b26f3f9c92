# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from decimal import Decimal

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt, getdate, nowdate

from package_bundles import engine
from package_bundles.engine.breakage import AT_EXPIRY, PROPORTIONAL
from package_bundles.exceptions import PackageError, PackageItemError, PackageValidityError
from package_bundles.flows.catalog import clear_catalog_cache, get_package_item_map
from package_bundles.flows.taxes import get_item_tax_rates, is_package_template
from package_bundles.package_bundles.doctype.package_settings.package_settings import (
	get_company_breakage_terms,
	get_deferred_revenue_account,
	get_settings,
	validate_breakage_terms,
)
from package_bundles.setup.install import PACKAGES_ITEM_GROUP, make_packages_item_group


class PrepaidPackage(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from package_bundles.package_bundles.doctype.package_item.package_item import PackageItem

		breakage_method: DF.Literal["", "At expiry", "Proportional"]
		breakage_rate_source: DF.SmallText | None
		company: DF.Link
		currency: DF.Link | None
		default_price: DF.Currency
		description: DF.SmallText | None
		disabled: DF.Check
		expected_breakage_rate: DF.Percent
		expiry_date: DF.Date | None
		item: DF.Link | None
		items: DF.Table[PackageItem]
		package_name: DF.Data
		package_price: DF.Currency
		revenue_recognition: DF.Literal["Upon Consumption", "Upon Purchase"]
		selling_price_list: DF.Link | None
		taxable_amount: DF.Currency
		valid_for_days: DF.Int
		valid_for_months: DF.Int
	# end: auto-generated types

	def validate(self):
		self.set_selling_price_list()
		self.validate_items()
		self.set_standard_rates()
		self.set_allocation()
		self.validate_validity()
		self.validate_breakage()
		self.set_tax_details()
		self.set_description()

	def on_update(self):
		self.sync_sales_item()
		clear_catalog_cache()

	def on_trash(self):
		if self.item:
			frappe.db.set_value("Item", self.item, "disabled", 1)
		clear_catalog_cache()

	# --- validation -------------------------------------------------------

	def set_selling_price_list(self):
		if not self.selling_price_list:
			self.selling_price_list = frappe.db.get_single_value("Selling Settings", "selling_price_list")
		if not self.selling_price_list:
			frappe.throw(_("Set a selling Price List for the package"), PackageError)

	def validate_items(self):
		if not self.items:
			frappe.throw(_("Add at least one item to the package"), PackageItemError)

		item_codes = [row.item_code for row in self.items if row.item_code]
		details = {
			item.name: item
			for item in frappe.get_all(
				"Item",
				filters={"name": ("in", item_codes)},
				fields=[
					"name",
					"item_name",
					"item_group",
					"stock_uom",
					"is_stock_item",
					"is_sales_item",
					"disabled",
					"has_variants",
				],
				order_by="name asc",
			)
		}
		whole_uoms = whole_number_uoms([d.stock_uom for d in details.values()])
		package_items = set(get_package_item_map()) | ({self.item} if self.item else set())

		seen = set()
		for row in self.items:
			item = details.get(row.item_code)
			self.validate_item_row(row, item, package_items, seen)
			seen.add(row.item_code)
			row.item_name = item.item_name
			row.item_group = item.item_group
			row.uom = item.stock_uom
			row.is_stock_item = item.is_stock_item
			try:
				engine.validate_quantity(row.qty, row.uom in whole_uoms)
			except engine.FractionalQuantityError:
				frappe.throw(
					_(
						"Row #{0}: Quantity of {1} must be a whole number, as its unit {2} allows no fractions"
					).format(row.idx, frappe.bold(row.item_code), frappe.bold(row.uom)),
					PackageItemError,
				)
			except engine.InvalidQuantityError:
				frappe.throw(
					_("Row #{0}: Quantity of {1} must be greater than zero").format(
						row.idx, frappe.bold(row.item_code)
					),
					PackageItemError,
				)

	def validate_item_row(self, row, item, package_items, seen):
		if not item:
			frappe.throw(
				_("Row #{0}: Item {1} does not exist").format(row.idx, frappe.bold(row.item_code)),
				PackageItemError,
			)
		if row.item_code in seen:
			frappe.throw(
				_(
					"Row #{0}: Item {1} is already in the package; change the quantity of its first row instead"
				).format(row.idx, frappe.bold(row.item_code)),
				PackageItemError,
			)
		if item.disabled:
			frappe.throw(
				_("Row #{0}: Item {1} is disabled").format(row.idx, frappe.bold(row.item_code)),
				PackageItemError,
			)
		if not item.is_sales_item:
			frappe.throw(
				_("Row #{0}: Item {1} is not a sales item").format(row.idx, frappe.bold(row.item_code)),
				PackageItemError,
			)
		if item.has_variants:
			frappe.throw(
				_("Row #{0}: Item {1} is a template; choose one of its variants").format(
					row.idx, frappe.bold(row.item_code)
				),
				PackageItemError,
			)
		if row.item_code in package_items or item.item_group == PACKAGES_ITEM_GROUP:
			frappe.throw(
				_("Row #{0}: Item {1} is itself a package; packages cannot contain packages").format(
					row.idx, frappe.bold(row.item_code)
				),
				PackageItemError,
			)
		if flt(row.rate) < 0:
			frappe.throw(_("Row #{0}: Standard rate cannot be negative").format(row.idx), PackageItemError)

	def set_standard_rates(self):
		"""Standard rates come from the selling price list; a row keeps its own rate where the list has none."""
		prices = get_price_list_rates(self.selling_price_list, [row.item_code for row in self.items])
		for row in self.items:
			if row.item_code in prices:
				row.rate = prices[row.item_code]

	def set_allocation(self):
		precision = self.currency_precision()
		lines = self.engine_lines()
		self.default_price = float(engine.default_price(lines, precision))
		if self.package_price is None or (self.is_new() and not flt(self.package_price)):
			self.package_price = self.default_price
		if flt(self.package_price) < 0:
			frappe.throw(_("Package price cannot be negative"), PackageError)

		amounts = engine.standard_amounts(lines, precision)
		allocations = engine.allocate(lines, Decimal(str(self.package_price)), precision)
		for row, amount, allocated in zip(self.items, amounts, allocations, strict=True):
			row.amount = float(amount)
			row.allocated_amount = float(allocated)
			row.allocated_rate = float(allocated / Decimal(str(row.qty)))

	def validate_validity(self):
		chosen = [f for f in ("expiry_date", "valid_for_days", "valid_for_months") if self.get(f)]
		if len(chosen) > 1:
			frappe.throw(
				_("Set only one of Expires On, Valid for Days and Valid for Months"), PackageValidityError
			)
		if (self.valid_for_days or 0) < 0 or (self.valid_for_months or 0) < 0:
			frappe.throw(_("Validity cannot be negative"), PackageValidityError)
		if (
			self.expiry_date
			and self.has_value_changed("expiry_date")
			and getdate(self.expiry_date) < getdate(nowdate())
		):
			frappe.throw(
				_("Expiry date {0} is in the past").format(frappe.bold(self.expiry_date)),
				PackageValidityError,
			)

	def validate_breakage(self):
		"""Blank method: the company's default. A rate typed by hand is "Entered"; one proposed from
		history (api.propose_breakage_rate) comes with the figures it was proposed from."""
		validate_breakage_terms(
			self.breakage_method,
			self.expected_breakage_rate,
			_("Package {0}").format(frappe.bold(self.package_name or self.name)),
		)
		if self.breakage_method != PROPORTIONAL:
			self.breakage_rate_source = None
		elif not self.breakage_rate_source or (
			self.has_value_changed("expected_breakage_rate")
			and not self.has_value_changed("breakage_rate_source")
		):
			self.breakage_rate_source = _("Entered")

	def set_tax_details(self):
		taxable = 0.0
		for row in self.items:
			template, rates = get_item_tax_rates(row.item_code, self.company, nowdate())
			row.item_tax_template = template
			row.taxable = int(not template or any(flt(rate) for rate in rates.values()))
			if row.taxable:
				taxable += flt(row.allocated_amount)
		self.taxable_amount = taxable

	def set_description(self):
		self.description = package_description(self)

	# --- linked sales item ------------------------------------------------

	def sync_sales_item(self):
		"""Keep the item that goes on invoice rows, and its price, equal to the package."""
		make_packages_item_group()
		deferred_account = get_deferred_revenue_account(self.company)
		item = frappe.get_doc("Item", self.item) if self.item else self.new_sales_item()
		item.update(
			{
				"item_name": self.package_name[:140],
				"item_group": PACKAGES_ITEM_GROUP,
				"description": self.description,
				"is_stock_item": 0,
				"is_sales_item": 1,
				"is_purchase_item": 0,
				"include_item_in_manufacturing": 0,
				"disabled": 0,
			}
		)
		defaults = next((d for d in item.item_defaults if d.company == self.company), None)
		if not defaults:
			defaults = item.append("item_defaults", {"company": self.company})
			set_company_links(defaults, self.company)
		defaults.income_account = deferred_account
		# the invoice gives each package row a template for its own tax rows, listed here so that
		# ERPNext keeps it (flows/taxes.py); any other template would make ERPNext replace it
		item.taxes = [row for row in item.taxes if is_package_template(row.item_tax_template, self.name)]
		item.flags.ignore_permissions = True
		item.save()
		if not self.item:
			self.db_set("item", item.name)
		self.sync_item_price()

	def new_sales_item(self):
		if frappe.db.exists("Item", self.package_name):
			frappe.throw(
				_("An item named {0} already exists; give the package another name").format(
					frappe.bold(self.package_name)
				),
				PackageError,
			)
		return frappe.get_doc(
			{"doctype": "Item", "item_code": self.package_name, "stock_uom": "Nos", "is_stock_item": 0}
		)

	def sync_item_price(self):
		name = frappe.db.get_value(
			"Item Price",
			{"item_code": self.item, "price_list": self.selling_price_list, "customer": ("is", "not set")},
		)
		price = frappe.get_doc("Item Price", name) if name else frappe.new_doc("Item Price")
		price.update(
			{
				"item_code": self.item,
				"price_list": self.selling_price_list,
				"uom": "Nos",
				"price_list_rate": self.package_price,
			}
		)
		price.flags.ignore_permissions = True
		price.save()

	# --- helpers ------------------------------------------------------------

	def currency_precision(self) -> int:
		return currency_precision(
			self.currency or frappe.get_cached_value("Company", self.company, "default_currency")
		)

	def engine_lines(self) -> list[engine.PackageLine]:
		return [
			engine.PackageLine(
				row.item_code, Decimal(str(row.qty)), Decimal(str(flt(row.rate))), whole_number=False
			)
			for row in self.items
		]


def set_company_links(item_default, company: str):
	"""Fill the row's warehouse and cost centers with the company's own.

	Left empty, frappe fills a new child row from the user's defaults, which may
	belong to another company and make ERPNext refuse the item.
	"""
	cost_center = frappe.get_cached_value("Company", company, "cost_center")
	warehouse = frappe.db.get_value(
		"Warehouse", {"company": company, "is_group": 0}, "name", order_by="creation asc"
	)
	for fieldname, value in (
		("default_warehouse", warehouse),
		("buying_cost_center", cost_center),
		("selling_cost_center", cost_center),
	):
		if value:
			item_default.set(fieldname, value)


def package_description(package) -> str:
	included = ", ".join(f"{_fmt_qty(row.qty)} x {row.item_name or row.item_code}" for row in package.items)
	return _("{0}: {1}").format(package.package_name, included)


def _fmt_qty(qty) -> str:
	qty = flt(qty)
	return str(int(qty)) if qty == int(qty) else f"{qty:g}"


def whole_number_uoms(uoms: list[str]) -> set[str]:
	"""The units among ``uoms`` that allow no fractions (UOM.must_be_whole_number)."""
	return set(
		frappe.get_all(
			"UOM",
			filters={"name": ("in", uoms or [""]), "must_be_whole_number": 1},
			pluck="name",
			order_by="name asc",
		)
	)


def currency_precision(currency: str | None) -> int:
	"""Decimal places ERPNext rounds amounts in this currency to."""
	from frappe.model.meta import get_field_precision

	amount_field = frappe.get_meta("Sales Invoice Item").get_field("amount")
	return int(get_field_precision(amount_field, currency=currency))


def get_price_list_rates(price_list: str, item_codes: list[str]) -> dict[str, float]:
	"""Current standard selling rate per item (no customer- or batch-specific prices)."""
	today = getdate(nowdate())
	rows = frappe.get_all(
		"Item Price",
		filters={
			"price_list": price_list,
			"item_code": ("in", item_codes),
			"customer": ("is", "not set"),
			"batch_no": ("is", "not set"),
		},
		fields=["item_code", "price_list_rate", "valid_from", "valid_upto"],
		order_by="valid_from desc, creation desc",
	)
	rates = {}
	for row in rows:
		if row.item_code in rates:
			continue
		if row.valid_from and getdate(row.valid_from) > today:
			continue
		if row.valid_upto and getdate(row.valid_upto) < today:
			continue
		rates[row.item_code] = flt(row.price_list_rate)
	return rates


def breakage_terms(package) -> dict:
	"""The breakage terms a balance of this package locks at sale: method, rate (%) and its source.

	A package that sets no method takes its company's default (Package Settings). With breakage
	recognition off in Package Settings nothing is broken ahead either: the balance is At expiry.
	So is an Upon Purchase balance, which recognizes all its revenue at sale and never breaks.
	"""
	if package.revenue_recognition == "Upon Purchase":
		return {"breakage_method": AT_EXPIRY, "breakage_rate": 0.0, "breakage_rate_source": None}
	if not get_settings().recognize_breakage:
		return {
			"breakage_method": AT_EXPIRY,
			"breakage_rate": 0.0,
			"breakage_rate_source": _("Breakage recognition is off in Package Settings"),
		}
	if package.breakage_method:
		method, rate = package.breakage_method, flt(package.expected_breakage_rate)
		source = package.breakage_rate_source or _("Entered")
	else:
		method, rate = get_company_breakage_terms(package.company)
		source = _("Default of company {0} in Package Settings").format(package.company)
	if method != PROPORTIONAL:
		return {"breakage_method": AT_EXPIRY, "breakage_rate": 0.0, "breakage_rate_source": None}
	return {"breakage_method": PROPORTIONAL, "breakage_rate": rate, "breakage_rate_source": source}
