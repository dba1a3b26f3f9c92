"""Base class for the integration tests (v15 FrappeTestCase, v16 IntegrationTestCase)."""

import frappe

try:  # v16
	from frappe.tests import IntegrationTestCase as _BaseTestCase
except ImportError:  # v15
	from frappe.tests.utils import FrappeTestCase as _BaseTestCase

from package_bundles import catalog
from package_bundles.test_fixtures import make_practice, reset_settings

# Linked doctypes whose ERPNext test records these tests do not use: they build their own practice.
IGNORED_TEST_RECORDS = [
	"Account",
	"Company",
	"Cost Center",
	"Currency",
	"Customer",
	"Item",
	"Item Group",
	"Item Tax Template",
	"Journal Entry",
	"Package Balance",
	"Package Redemption",
	"Prepaid Package",
	"Price List",
	"Sales Invoice",
	"UOM",
]


class PackageTestCase(_BaseTestCase):
	"""Each test starts from the committed practice and is rolled back after."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		make_practice()
		frappe.db.commit()

	def setUp(self):
		frappe.set_user("Administrator")
		reset_settings()
		clear_app_caches()

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()
		clear_app_caches()

	def assert_reconciled(self):
		"""SPEC §4 invariant 2 now: the deferred account's GL balance equals the balances' deferred amounts."""
		from package_bundles.test_fixtures import COMPANY, DEFERRED

		self.assertEqual(deferred_liability(COMPANY, DEFERRED), deferred_in_balances(COMPANY))

	def count_documents(self, *doctypes: str) -> dict[str, int]:
		return {doctype: frappe.db.count(doctype) for doctype in doctypes}


def balances_of(invoice) -> list:
	"""The balances an invoice sold, oldest first."""
	names = frappe.get_all(
		"Package Balance", filters={"sales_invoice": invoice.name}, pluck="name", order_by="name asc"
	)
	return [frappe.get_doc("Package Balance", name) for name in names]


def clear_app_caches():
	catalog._clear()
	frappe.clear_document_cache("Package Settings")
	frappe.clear_document_cache("Prepaid Package")
	frappe.local.cache = {}


def deferred_liability(company: str, account: str, upto=None) -> float:
	"""Credit balance of the deferred revenue account."""
	from package_bundles.test_fixtures import gl_balance

	return round(-gl_balance(account, company=company, upto=upto), 2)


def deferred_in_balances(company: str) -> float:
	rows = frappe.get_all(
		"Package Balance Item",
		filters={"parenttype": "Package Balance"},
		fields=["parent", "deferred_amount"],
	)
	companies = dict(frappe.get_all("Package Balance", fields=["name", "company"], as_list=True))
	return round(sum(row.deferred_amount for row in rows if companies.get(row.parent) == company), 2)
