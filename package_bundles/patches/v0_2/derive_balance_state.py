"""Balances' state comes from the package ledger (v0.2): bring existing ledgers and balances up to it.

- Journal Entries link their package invoice through package_voucher_type / package_voucher_no.
- Invoices are dynamic links now (a POS Invoice can sell and redeem): existing ones are Sales Invoices.
- Ledger entries name the deferred revenue account their balance captured at sale.
- Balances the expiry job had marked Expired get the ledger's Expiry marker.
- Every balance's stored state is then written from its ledger (balance_state.refresh).
"""

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields
from frappe.utils import add_days

from package_bundles.ledger import balance_state
from package_bundles.setup.install import get_custom_fields

BATCH = 500


def execute():
	create_custom_fields(get_custom_fields(), ignore_validate=True)
	if frappe.db.has_column("Journal Entry", "package_sales_invoice"):
		frappe.db.sql(
			"""update `tabJournal Entry` set package_voucher_type = 'Sales Invoice',
			package_voucher_no = package_sales_invoice
			where ifnull(package_sales_invoice, '') != '' and ifnull(package_voucher_no, '') = ''"""
		)
	for doctype, type_field, link_field in (
		("Package Balance", "invoice_type", "sales_invoice"),
		("Package Balance", "refund_invoice_type", "refund_invoice"),
		("Package Redemption", "invoice_type", "sales_invoice"),
		("Package Redemption", "purchase_invoice_type", "purchase_invoice"),
		("Package Ledger Entry", "purchase_invoice_type", "purchase_invoice"),
	):
		frappe.db.sql(
			f"""update `tab{doctype}` set `{type_field}` = 'Sales Invoice'
			where ifnull(`{link_field}`, '') != '' and ifnull(`{type_field}`, '') = ''"""
		)
	frappe.db.sql(
		"""update `tabPackage Ledger Entry` entry join `tabPackage Balance` balance
		on balance.name = entry.package_balance
		set entry.deferred_account = balance.deferred_revenue_account
		where ifnull(entry.deferred_account, '') = ''"""
	)
	add_expiry_markers()
	names = frappe.get_all("Package Balance", pluck="name", order_by="name asc")
	for start in range(0, len(names), BATCH):
		balance_state.refresh(names[start : start + BATCH])


def add_expiry_markers():
	"""Expired balances from before the ledger had Expiry entries."""
	from package_bundles.engine import Movement
	from package_bundles.engine.state import EXPIRY
	from package_bundles.ledger import package_ledger

	expired = frappe.get_all(
		"Package Balance", filters={"status": "Expired"}, fields=["name", "expiry_date"], order_by="name asc"
	)
	marked = set(
		frappe.get_all(
			"Package Ledger Entry",
			filters={"event": EXPIRY, "is_cancelled": 0},
			pluck="package_balance",
			distinct=True,
			order_by="package_balance asc",
		)
	)
	entries = []
	for balance in expired:
		if balance.name in marked:
			continue
		for line in balance_state.lock_lines([balance.name], lock=False).values():
			entries.append(
				package_ledger.entry(
					Movement(EXPIRY),
					line,
					add_days(balance.expiry_date, 1),
					"Package Balance",
					balance.name,
				)
			)
	package_ledger.make_entries(entries)
