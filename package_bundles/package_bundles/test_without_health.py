"""Frappe Health is optional (issue 17): what the app hooks on Health does nothing harmful without it.

The app's hooks name Health doctypes (form scripts, doc events) and its install hooks add fields to
them. On a site without ``healthcare`` (test_site) every one of those paths resolves, installs and
uninstalls nothing, reads no Health table and refuses a Patient call cleanly; the portal works as
before. On a site with Health the test_health_* modules cover the same paths.
"""

import unittest
from unittest.mock import patch

import frappe
from frappe.utils import set_request
from frappe.website.serve import get_response

from package_bundles import api
from package_bundles.exceptions import HealthNotInstalledError
from package_bundles.flows import patients
from package_bundles.package_bundles.doctype.package_balance.test_package_balance_api import (
	balance_of,
	buy,
	make_portal_user,
)
from package_bundles.setup import install
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import CUSTOMER, call_as_request, make_package

test_ignore = IGNORED_TEST_RECORDS

HEALTH_DOCTYPES = ("Patient", "Patient Appointment", "Fee Validity", "Clinical Procedure", "Therapy Plan")
# a field as a Health feature would list it in install.make_health_custom_fields
SOME_HEALTH_FIELD = {
	"Patient": [
		{
			"fieldname": "pkt_absent_health_field",
			"fieldtype": "Data",
			"label": "PKT",
			"insert_after": "customer",
		}
	]
}


def health_hooks() -> dict[str, list[str]]:
	"""Every path the app's hooks give Frappe for Health: install hooks, form scripts, doc events."""
	hooks = frappe.get_hooks(app_name="package_bundles")
	health_doctypes = set(HEALTH_DOCTYPES) | {
		doctype
		for doctype in frappe.get_hooks("doctype_js", app_name="package_bundles")
		if "Patient" in doctype
	}
	found = {
		"methods": hooks.get("after_app_install", []) + hooks.get("before_app_uninstall", []),
		"scripts": [],
	}
	for doctype, scripts in hooks.get("doctype_js", {}).items():
		if doctype in health_doctypes:
			found["scripts"] += scripts if isinstance(scripts, list) else [scripts]
	for doctype, events in hooks.get("doc_events", {}).items():
		if doctype in health_doctypes:
			for handlers in events.values():
				found["methods"] += handlers if isinstance(handlers, list) else [handlers]
	return found


class TestHealthHooksResolve(PackageTestCase):
	"""With or without Health: the app's Health hooks import and its form scripts exist."""

	def test_every_health_hook_path_imports(self):
		hooks = health_hooks()
		self.assertIn("package_bundles.setup.install.after_app_install", hooks["methods"])
		self.assertIn("package_bundles.setup.install.before_app_uninstall", hooks["methods"])
		for path in hooks["methods"]:
			self.assertTrue(callable(frappe.get_attr(path)), path)
		self.assertIn("public/js/patient.js", hooks["scripts"])
		for script in hooks["scripts"]:
			with open(frappe.get_app_path("package_bundles", script)) as source:
				self.assertTrue(source.read().strip(), script)

	def test_another_apps_install_and_uninstall_touch_no_health_field(self):
		with patch.object(install, "make_health_custom_fields", return_value=SOME_HEALTH_FIELD):
			install.after_app_install("payments")
			self.assertFalse(frappe.db.exists("Custom Field", {"fieldname": "pkt_absent_health_field"}))
			install.before_app_uninstall("payments")  # nothing to remove, nothing fails


class TestWithoutHealth(PackageTestCase):
	"""On a site without Frappe Health (test_site)."""

	@classmethod
	def setUpClass(cls):
		if patients.health_installed():
			raise unittest.SkipTest("Frappe Health is installed here: the test_health_* modules cover it")
		super().setUpClass()

	def test_the_site_has_no_health_doctype(self):
		for doctype in HEALTH_DOCTYPES:
			self.assertFalse(frappe.db.exists("DocType", doctype), doctype)
			self.assertFalse(frappe.db.table_exists(doctype), doctype)

	def test_patient_balances_refuse_cleanly(self):
		for call in (
			lambda: api.get_patient_balances("PKT Patient A"),
			lambda: call_as_request("package_bundles.api.get_patient_balances", patient="PKT Patient A"),
		):
			with self.assertRaises(HealthNotInstalledError) as refusal:
				call()
			self.assertIn("Frappe Health is not installed", str(refusal.exception))
		self.assertIsNone(patients.patient_customer("PKT Patient A"))
		self.assertEqual(patients.customers_of_patient_user("Administrator"), [])

	def test_install_migrate_and_uninstall_make_no_health_field(self):
		before = frappe.db.count("Custom Field")
		with patch.object(install, "make_health_custom_fields", return_value=SOME_HEALTH_FIELD):
			install.create_health_custom_fields()  # what after_install and after_migrate run
			self.assertEqual(frappe.db.count("Custom Field"), before)
			install.before_app_uninstall("healthcare")  # no Health table: nothing to drop, no error
			install.delete_custom_fields(install.make_health_custom_fields())  # as before_uninstall does
		self.assertFalse(frappe.db.exists("Custom Field", {"dt": ("in", HEALTH_DOCTYPES)}))

	def test_the_portal_reads_no_patient(self):
		request = getattr(frappe.local, "request", None)
		self.addCleanup(setattr, frappe.local, "request", request)
		balance = balance_of(buy(make_package()))
		user = make_portal_user("pkt-portal-no-health@example.com", CUSTOMER)

		frappe.set_user(user)
		set_request(method="GET", path="/my-packages")
		response = get_response("/my-packages")
		frappe.set_user("Administrator")

		self.assertEqual(response.status_code, 200)
		self.assertIn(balance, response.get_data(as_text=True))
