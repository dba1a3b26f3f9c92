"""Install and uninstall: custom fields on ERPNext doctypes (and Frappe Health's, where installed), the role,
the item group, the item of an upgrade's credit row."""

import frappe
from frappe import _
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

from package_bundles.flows.patients import HEALTHCARE, health_installed
from package_bundles.flows.remind import make_expiry_reminder_template
from package_bundles.ledger.journal_entries import add_dimension_fields

PACKAGE_MANAGER = "Package Manager"
PACKAGES_ITEM_GROUP = "Packages"
# the non-stock item of the credit row an upgrade puts on the invoice selling the new package (flows/upgrade.py)
UPGRADE_CREDIT_ITEM = "Package Upgrade Credit"
UPGRADE_CREDIT_ITEM_KEY = "package_bundles:upgrade_credit_item"


def after_install():
	create_custom_fields(get_custom_fields(), ignore_validate=True)
	create_health_custom_fields()
	add_dimension_fields()
	make_package_manager_role()
	make_packages_item_group()
	make_upgrade_credit_item()
	make_expiry_reminder_template()


def after_migrate():
	create_custom_fields(get_custom_fields(), ignore_validate=True)
	create_health_custom_fields()
	add_dimension_fields()
	delete_custom_fields(OBSOLETE_CUSTOM_FIELDS)
	make_package_manager_role()
	make_upgrade_credit_item()
	make_expiry_reminder_template()


def before_uninstall():
	delete_custom_fields(get_custom_fields())
	delete_custom_fields(make_health_custom_fields())
	if frappe.db.exists("Role", PACKAGE_MANAGER):
		frappe.delete_doc("Role", PACKAGE_MANAGER, force=True, ignore_permissions=True)


# --- Frappe Health (issue 17): optional; its doctypes get the app's fields only where it is installed ---


def after_app_install(app_name: str):
	"""hooks ``after_app_install``: Frappe Health installed on a site that has this app."""
	if app_name == HEALTHCARE:
		create_custom_fields(make_health_custom_fields(), ignore_validate=True)


def before_app_uninstall(app_name: str):
	"""hooks ``before_app_uninstall``: Frappe Health leaving; its doctypes still exist here."""
	if app_name == HEALTHCARE:
		delete_custom_fields(make_health_custom_fields())


def create_health_custom_fields():
	if health_installed():
		create_custom_fields(make_health_custom_fields(), ignore_validate=True)


def make_health_custom_fields() -> dict[str, list[dict]]:
	"""The custom fields the app adds to Frappe Health's doctypes, by doctype: the one list of them.

	Created where healthcare is installed (after_install, after_migrate, and after_app_install
	when healthcare comes later); removed when healthcare or this app is uninstalled. A Health
	feature that needs a field adds it here. A Patient's balances are its Customer's, read through
	Patient.customer, without a field of their own.
	"""
	return {
		# a Clinical Procedure's consumable a package holds, billed on a row of its own
		# (flows.consumables); the invoice does not move its stock, Health's Stock Entry did
		"Sales Invoice Item": [
			{
				"fieldname": "package_procedure",
				"fieldtype": "Link",
				"label": _("Consumable of Clinical Procedure"),
				"options": "Clinical Procedure",
				"insert_after": "refunded_package_balances",
				"read_only": 1,
				"depends_on": "package_procedure",
				"description": _(
					"A consumable the procedure used, billed on its own row so that a prepaid package"
					" can pay for it; Frappe Health issued its stock when the procedure completed."
				),
			}
		],
	}


# fields earlier versions added and this one no longer uses
OBSOLETE_CUSTOM_FIELDS = {"Journal Entry": [{"fieldname": "package_sales_invoice"}]}


def get_custom_fields():
	return {
		# POS Invoices sell and redeem like Sales Invoices, and consolidate into them with these rows
		"Sales Invoice Item": invoice_item_custom_fields() + upgrade_custom_fields(),
		"POS Invoice Item": invoice_item_custom_fields(),
		"Journal Entry": journal_entry_custom_fields(),
	}


def invoice_item_custom_fields():
	return [
		{
			"fieldname": "package_section",
			"fieldtype": "Section Break",
			"label": _("Prepaid Package"),
			"insert_after": "page_break",
			"collapsible": 1,
		},
		{
			"fieldname": "package_balance",
			"fieldtype": "Link",
			"label": _("Package Balance"),
			"options": "Package Balance",
			"insert_after": "package_section",
			"read_only": 1,
			"in_list_view": 0,
			"description": _("The prepaid package balance this row was redeemed from."),
		},
		{
			"fieldname": "package_list_rate",
			"fieldtype": "Currency",
			"label": _("List Price Covered by the Package"),
			"options": "currency",
			"insert_after": "package_balance",
			"read_only": 1,
			"depends_on": "package_balance",
			"description": _("What this row would have cost at the price list; the package covers it."),
		},
		{
			"fieldname": "prepaid_package",
			"fieldtype": "Link",
			"label": _("Prepaid Package Sold"),
			"options": "Prepaid Package",
			"insert_after": "package_list_rate",
			"read_only": 1,
		},
		{
			"fieldname": "package_column_break",
			"fieldtype": "Column Break",
			"insert_after": "prepaid_package",
		},
		{
			"fieldname": "skip_package_redemption",
			"fieldtype": "Check",
			"label": _("Charge Normally (Do Not Redeem From a Package)"),
			"insert_after": "package_column_break",
			"default": "0",
		},
		{
			"fieldname": "package_row_group",
			"fieldtype": "Data",
			"label": _("Package Row Group"),
			"insert_after": "skip_package_redemption",
			"hidden": 1,
			"read_only": 1,
			"no_copy": 1,
			"description": _("Rows split from one row across balances share this key."),
		},
		{
			"fieldname": "refunded_package_balances",
			"fieldtype": "Small Text",
			"label": _("Package Balances Refunded"),
			"insert_after": "package_row_group",
			"read_only": 1,
			"no_copy": 1,
			"depends_on": "refunded_package_balances",
			"description": _("The package balances this credit-note row refunded."),
		},
	]


def upgrade_custom_fields():
	"""An upgrade's credit row names the balance it exchanges (issue 20); a Sales Invoice's only: a POS
	Invoice, a credit note or a debit note carries no upgrade credit."""
	return [
		{
			"fieldname": "package_upgrade_from",
			"fieldtype": "Link",
			"label": _("Upgrade Credit From Balance"),
			"options": "Package Balance",
			"insert_after": "prepaid_package",
			"description": _(
				"On a row of the item Package Upgrade Credit: the package balance exchanged for the package"
				" this invoice sells. Its unused value is credited here; cancelling the invoice restores it."
			),
		},
	]


def journal_entry_custom_fields():
	return [
		{
			"fieldname": "package_voucher_type",
			"fieldtype": "Link",
			"label": _("Package Voucher Type"),
			"options": "DocType",
			"insert_after": "voucher_type",
			"read_only": 1,
			"hidden": 1,
			"no_copy": 1,
		},
		{
			"fieldname": "package_voucher_no",
			"fieldtype": "Dynamic Link",
			"label": _("Package Invoice"),
			"options": "package_voucher_type",
			"insert_after": "package_voucher_type",
			"read_only": 1,
			"no_copy": 1,
			"depends_on": "package_voucher_no",
			"description": _("Posted by Package Bundles for this invoice."),
		},
		{
			"fieldname": "package_balance",
			"fieldtype": "Link",
			"label": _("Package Balance"),
			"options": "Package Balance",
			"insert_after": "package_voucher_no",
			"read_only": 1,
			"no_copy": 1,
			"depends_on": "package_balance",
		},
	]


def delete_custom_fields(custom_fields: dict):
	"""Remove the fields and their columns, so uninstall leaves nothing behind."""
	for doctype, fields in custom_fields.items():
		fieldnames = [field["fieldname"] for field in fields]
		frappe.db.delete("Custom Field", {"fieldname": ("in", fieldnames), "dt": doctype})
		frappe.db.delete("Property Setter", {"field_name": ("in", fieldnames), "doc_type": doctype})
		if frappe.db.table_exists(doctype):  # else the doctype's app is gone (or never came)
			# the cached column list is keyed by table, which clear_cache(doctype=...) leaves alone
			frappe.cache.hdel("table_columns", f"tab{doctype}")
			existing = set(frappe.db.get_table_columns(doctype))
			for fieldname in fieldnames:
				if fieldname in existing:
					frappe.db.sql_ddl(f"alter table `tab{doctype}` drop column `{fieldname}`")
			frappe.cache.hdel("table_columns", f"tab{doctype}")
		frappe.clear_cache(doctype=doctype)


def make_package_manager_role():
	if not frappe.db.exists("Role", PACKAGE_MANAGER):
		frappe.get_doc(
			{"doctype": "Role", "role_name": PACKAGE_MANAGER, "desk_access": 1, "is_custom": 0}
		).insert(ignore_permissions=True)


def make_upgrade_credit_item() -> str | None:
	"""The item of an upgrade's credit row, made once (install, migrate, or the first upgrade) and kept on
	uninstall like the packages' own items, which invoices name. None until the setup wizard made the item
	tree and units."""
	name = find_upgrade_credit_item()
	if name:
		return name
	make_packages_item_group()
	if not frappe.db.exists("Item Group", PACKAGES_ITEM_GROUP) or not frappe.db.exists("UOM", "Nos"):
		return None
	item = frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": UPGRADE_CREDIT_ITEM,
			"item_name": UPGRADE_CREDIT_ITEM,
			"item_group": PACKAGES_ITEM_GROUP,
			"stock_uom": "Nos",
			"is_stock_item": 0,
			"is_sales_item": 1,
			"is_purchase_item": 0,
			"include_item_in_manufacturing": 0,
			"description": _(
				"The unused value of a package balance, credited toward the new package it is exchanged for"
			),
		}
	)
	item.flags.ignore_permissions = True
	item.insert()
	frappe.cache.delete_value(UPGRADE_CREDIT_ITEM_KEY)
	return item.name


def upgrade_credit_item() -> str | None:
	"""The credit item's name (its item code, unless the site names items by a series), cached; an invoice
	save asks it. A site without it yet asks the database again after a few minutes, or once it is made."""
	name = frappe.cache.get_value(UPGRADE_CREDIT_ITEM_KEY)
	if name is None:
		name = find_upgrade_credit_item() or ""
		frappe.cache.set_value(UPGRADE_CREDIT_ITEM_KEY, name, expires_in_sec=None if name else 300)
	return name or None


def find_upgrade_credit_item() -> str | None:
	if frappe.db.exists("Item", UPGRADE_CREDIT_ITEM):
		return UPGRADE_CREDIT_ITEM
	return frappe.db.get_value(
		"Item",
		{"item_name": UPGRADE_CREDIT_ITEM, "item_group": PACKAGES_ITEM_GROUP},
		"name",
		order_by="creation asc",
	)


def make_packages_item_group():
	if frappe.db.exists("Item Group", PACKAGES_ITEM_GROUP):
		return
	parent = frappe.db.get_value("Item Group", {"is_group": 1, "parent_item_group": ("is", "not set")})
	if not parent:
		return  # the setup wizard has not made the item tree yet; the first package makes the group
	frappe.get_doc(
		{
			"doctype": "Item Group",
			"item_group_name": PACKAGES_ITEM_GROUP,
			"parent_item_group": parent,
			"is_group": 0,
		}
	).insert(ignore_permissions=True)
