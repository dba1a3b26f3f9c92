# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe

from package_bundles.exceptions import DeferredAccountMissingError, PackageError
from package_bundles.package_bundles.doctype.package_settings.package_settings import (
	get_breakage_income_account,
	get_deferred_revenue_account,
)
from package_bundles.setup.install import get_custom_fields
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import COMPANY, DEFERRED, OTHER_ABBR, account

test_ignore = IGNORED_TEST_RECORDS


class TestInstall(PackageTestCase):
	def test_app_is_installed_with_its_doctypes_role_and_custom_fields(self):
		self.assertIn("package_bundles", frappe.get_installed_apps())
		for doctype in (
			"Prepaid Package",
			"Package Item",
			"Package Balance",
			"Package Balance Item",
			"Package Redemption",
			"Package Settings",
			"Package Settings Account",
		):
			self.assertEqual(frappe.db.get_value("DocType", doctype, "module"), "Package Bundles")
		self.assertTrue(frappe.db.exists("Role", "Package Manager"))

		for doctype, fields in get_custom_fields().items():
			columns = set(frappe.db.get_table_columns(doctype))
			for field in fields:
				self.assertTrue(
					frappe.db.exists("Custom Field", {"dt": doctype, "fieldname": field["fieldname"]}),
					f"{doctype}.{field['fieldname']} missing",
				)
				if field["fieldtype"] not in ("Section Break", "Column Break"):
					self.assertIn(field["fieldname"], columns)

		meta = frappe.get_meta("Sales Invoice Item")
		self.assertEqual(meta.get_field("package_balance").options, "Package Balance")
		self.assertEqual(meta.get_field("skip_package_redemption").fieldtype, "Check")

	def test_balance_lookup_is_indexed(self):
		indexes = frappe.db.sql("show index from `tabPackage Balance`", as_dict=True)
		composite = [i.Column_name for i in indexes if i.Key_name == "customer_company_status_index"]
		self.assertEqual(composite, ["customer", "company", "status"])

	def test_hooks_are_wired_through_doc_events(self):
		from unittest.mock import patch

		hooks = frappe.get_hooks("doc_events")
		# issue 19: the hook names the Sales Invoice override, a dispatcher into flows.invoice
		self.assertIn("package_bundles.overrides.sales_invoice.validate", hooks["Sales Invoice"]["validate"])
		self.assertIn(
			"package_bundles.overrides.sales_invoice.on_submit", hooks["Sales Invoice"]["on_submit"]
		)
		invoice = frappe.new_doc("Sales Invoice")
		for event in ("validate", "on_submit"):
			with (
				patch(f"package_bundles.flows.invoice.{event}") as flow,
				patch("package_bundles.flows.orders.update_delivery_notes_billed"),
			):
				frappe.get_attr(hooks["Sales Invoice"][event][-1])(invoice, event)
			flow.assert_called_once_with(invoice, event)


class TestPackageSettings(PackageTestCase):
	def test_defaults(self):
		settings = frappe.get_single("Package Settings")
		self.assertEqual(settings.require_full_payment, 1)
		self.assertEqual(settings.package_before_membership, 1)
		self.assertEqual(settings.recognize_breakage, 1)
		self.assertEqual(settings.allow_unused_refund, 0)

	def test_deferred_account_comes_from_company_unless_overridden(self):
		self.assertEqual(get_deferred_revenue_account(COMPANY), DEFERRED)
		self.assertIsNone(get_breakage_income_account(COMPANY))
		settings = frappe.get_single("Package Settings")
		settings.append(
			"accounts",
			{
				"company": COMPANY,
				"deferred_revenue_account": account("Current Liabilities").replace(
					"Current Liabilities", "Package Deferred Revenue"
				),
				"breakage_income_account": account("Breakage Income"),
			},
		)
		settings.save()
		self.assertEqual(get_breakage_income_account(COMPANY), account("Breakage Income"))

	def test_missing_deferred_account_is_a_clear_error(self):
		frappe.db.set_value("Company", COMPANY, "default_deferred_revenue_account", None)
		frappe.clear_document_cache("Company", COMPANY)
		frappe.local.cache = {}
		with self.assertRaises(DeferredAccountMissingError):
			get_deferred_revenue_account(COMPANY)

	def test_account_of_another_company_is_refused(self):
		settings = frappe.get_single("Package Settings")
		settings.append(
			"accounts",
			{"company": COMPANY, "breakage_income_account": account("Breakage Income", OTHER_ABBR)},
		)
		with self.assertRaises(PackageError):
			settings.save()
