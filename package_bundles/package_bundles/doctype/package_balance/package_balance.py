# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from decimal import Decimal

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.query_builder import DocType
from frappe.query_builder.functions import Sum
from frappe.utils import flt, getdate, now, nowdate

from package_bundles import engine
from package_bundles.exceptions import BalanceReadOnlyError


class PackageBalance(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from package_bundles.package_bundles.doctype.package_balance_extension.package_balance_extension import (
			PackageBalanceExtension,
		)
		from package_bundles.package_bundles.doctype.package_balance_item.package_balance_item import (
			PackageBalanceItem,
		)

		breakage_amount: DF.Currency
		breakage_date: DF.Date | None
		breakage_journal_entry: DF.Link | None
		company: DF.Link | None
		currency: DF.Link | None
		customer: DF.Link | None
		customer_name: DF.Data | None
		deferred_revenue_account: DF.Link | None
		expiry_date: DF.Date | None
		extensions: DF.Table[PackageBalanceExtension]
		items: DF.Table[PackageBalanceItem]
		package_price: DF.Currency
		prepaid_package: DF.Link | None
		purchase_date: DF.Date | None
		recognition_journal_entry: DF.Link | None
		refund_invoice: DF.Link | None
		refund_journal_entry: DF.Link | None
		revenue_recognition: DF.Literal["Upon Consumption", "Upon Purchase"]
		sales_invoice: DF.Link | None
		sales_invoice_item: DF.Data | None
		status: DF.Literal["Awaiting Payment", "Active", "Exhausted", "Expired", "Refunded", "Cancelled"]
		total_allocated: DF.Currency
		total_deferred: DF.Currency
		total_recognized: DF.Currency
	# end: auto-generated types

	def validate(self):
		self.validate_written_by_app()
		self.set_totals()

	def on_trash(self):
		self.validate_written_by_app()

	def validate_written_by_app(self):
		if not self.flags.written_by_package_bundles:
			frappe.throw(
				_(
					"Package Balances are written by the app from invoices; they cannot be created or edited by hand"
				),
				BalanceReadOnlyError,
			)

	def set_totals(self):
		self.total_allocated = sum(flt(item.allocated_amount) for item in self.items)
		self.total_recognized = sum(flt(item.recognized_amount) for item in self.items)
		self.total_deferred = sum(flt(item.deferred_amount) for item in self.items)


def write_balance(balance: PackageBalance):
	"""Insert or save a balance on the app's behalf."""
	balance.flags.written_by_package_bundles = True
	balance.flags.ignore_permissions = True
	if balance.is_new():
		balance.insert()
	else:
		balance.save()
	return balance


def balance_status(balance, paid: bool) -> str:
	"""Status from the balance's own state. Expired is left to the daily expiry job, which
	also books the breakage; an expired balance keeps Expired."""
	if balance.status == "Expired":
		return "Expired"
	remaining = sum((Decimal(str(flt(item.qty_remaining))) for item in balance.items), Decimal(0))
	return engine.balance_status(
		cancelled=balance.status == "Cancelled",
		refunded=balance.status == "Refunded",
		paid=paid,
		qty_remaining=remaining,
		expiry_date=None,
		today=getdate(nowdate()),
	)


def refresh_balances(balance_names: set[str]) -> None:
	"""Recompute totals and the Active/Exhausted status from the rows, in one pass per balance set."""
	if not balance_names:
		return
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	totals = (
		frappe.qb.from_(Item)
		.select(
			Item.parent,
			Sum(Item.allocated_amount).as_("allocated"),
			Sum(Item.recognized_amount).as_("recognized"),
			Sum(Item.deferred_amount).as_("deferred"),
			Sum(Item.qty_remaining).as_("remaining"),
		)
		.where(Item.parent.isin(sorted(balance_names)))
		.where(Item.parenttype == "Package Balance")
		.groupby(Item.parent)
		.run(as_dict=True)
	)
	statuses = dict(
		frappe.qb.from_(Balance)
		.select(Balance.name, Balance.status)
		.where(Balance.name.isin(sorted(balance_names)))
		.run()
	)
	for total in totals:
		status = statuses.get(total.parent)
		if flt(total.remaining) <= 0 and status in ("Active", "Awaiting Payment"):
			# used up: only a paid balance can have been redeemed, even one whose status lagged its payment
			status = "Exhausted"
		elif flt(total.remaining) > 0 and status == "Exhausted":
			status = "Active"
		frappe.qb.update(Balance).set(Balance.total_allocated, total.allocated).set(
			Balance.total_recognized, total.recognized
		).set(Balance.total_deferred, total.deferred).set(Balance.status, status).set(
			Balance.modified, now()
		).where(Balance.name == total.parent).run()


def on_doctype_update():
	frappe.db.add_index("Package Balance", ["customer", "company", "status"])
