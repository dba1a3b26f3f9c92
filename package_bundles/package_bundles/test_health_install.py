"""Frappe Health (issue 17): the app's fields on Health doctypes come and go with healthcare.

``setup.install.make_health_custom_fields`` lists them; hooks ``after_app_install`` (healthcare
installed after this app), ``after_install`` / ``after_migrate`` (this app on a site with Health)
create them and ``before_app_uninstall`` (healthcare) / ``before_uninstall`` (this app) remove them,
columns too. The list is stood in for by one test field, removed again however the test ends.
"""

from unittest.mock import patch

import frappe

from package_bundles.setup import install
from package_bundles.tests.case import IGNORED_TEST_RECORDS
from package_bundles.tests.health import HealthTestCase

test_ignore = IGNORED_TEST_RECORDS

FIELDNAME = "pkt_test_health_field"
FIELDS = {
	"Patient": [
		{
			"fieldname": FIELDNAME,
			"fieldtype": "Data",
			"label": "PKT Test Health Field",
			"insert_after": "customer",
			"read_only": 1,
		}
	]
}


class TestHealthCustomFields(HealthTestCase):
	def setUp(self):
		super().setUp()
		fields = patch.object(install, "make_health_custom_fields", return_value=FIELDS)
		fields.start()
		self.addCleanup(fields.stop)
		self.addCleanup(self.remove)  # schema changes commit: leave the site as it was
		self.remove()

	def remove(self):
		install.delete_custom_fields(FIELDS)
		frappe.db.commit()

	def assert_field(self, present: bool):
		self.assertEqual(
			bool(frappe.db.exists("Custom Field", {"dt": "Patient", "fieldname": FIELDNAME})), present
		)
		self.assertEqual(FIELDNAME in frappe.db.get_table_columns("Patient"), present)
		frappe.clear_cache(doctype="Patient")
		self.assertEqual(bool(frappe.get_meta("Patient").has_field(FIELDNAME)), present)

	def test_healthcare_installed_after_the_app_gets_the_fields(self):
		install.after_app_install("payments")
		self.assert_field(False)
		install.after_app_install("healthcare")
		self.assert_field(True)

	def test_install_and_migrate_on_a_site_with_health_make_them(self):
		install.after_migrate()
		self.assert_field(True)
		self.remove()
		install.create_health_custom_fields()  # after_install's step
		self.assert_field(True)

	def test_uninstalling_healthcare_removes_them(self):
		install.after_app_install("healthcare")
		install.before_app_uninstall("payments")
		self.assert_field(True)
		install.before_app_uninstall("healthcare")
		self.assert_field(False)

	def test_uninstalling_the_app_removes_them(self):
		install.after_app_install("healthcare")
		# only the Health fields: the app's own fields and role stay on this site
		with patch.object(install, "get_custom_fields", return_value={}), patch("frappe.delete_doc"):
			install.before_uninstall()
		self.assert_field(False)
