"""Household sharing with Frappe Health (issue 20): a mother's package used by her child, a Patient.

On a site with Health, staff share a balance with a Patient; the balance is shared with the
Customer the Patient is billed as, and the child's patient invoice redeems from the mother's
balance, naming whose balance paid and who used it. A Patient with no Customer is refused.
"""

import frappe

from package_bundles import api
from package_bundles.exceptions import ShareCustomerError
from package_bundles.tests.case import balances_of, invariant_problems
from package_bundles.tests.fixtures import CUSTOMER, VISIT, make_invoice, make_package, pay
from package_bundles.tests.health import HealthTestCase, make_health_patient, set_health_settings

MOTHER = "PKT Health Mother"
CHILD = "PKT Health Child"


class TestHealthSharing(HealthTestCase):
	def setUp(self):
		super().setUp()
		self.mother_patient, self.mother = make_health_patient(MOTHER)
		self.child_patient, self.child = make_health_patient(CHILD)
		package = make_package()
		purchase = make_invoice([(package.item, 1)], customer=self.mother)
		pay(purchase)
		[self.balance] = [b.name for b in balances_of(purchase)]

	def test_a_balance_shared_with_a_patient_is_used_by_that_patients_invoice(self):
		result = api.add_sharer(self.balance, patient=self.child_patient, reason="Her son")

		self.assertEqual(result["sharers"], [self.child])
		visit = make_invoice([(VISIT, 1)], customer=self.child, patient=self.child_patient)

		[row] = visit.items
		self.assertEqual((row.package_balance, row.amount), (self.balance, 0))
		[log] = frappe.get_all(
			"Package Redemption",
			filters={"sales_invoice": visit.name},
			fields=["package_balance", "customer", "used_by_customer", "qty"],
			order_by="creation asc",
		)
		self.assertEqual(
			(log.package_balance, log.customer, log.used_by_customer, log.qty),
			(self.balance, self.mother, self.child, 1),
		)
		remaining = frappe.db.get_value(
			"Package Balance Item", {"parent": self.balance, "item_code": VISIT}, "qty_remaining"
		)
		self.assertEqual(remaining, 3)
		self.assertEqual(invariant_problems(), [])

	def test_an_unrelated_patients_invoice_is_charged(self):
		api.add_sharer(self.balance, patient=self.child_patient)
		stranger_patient, stranger = make_health_patient("PKT Health Stranger")

		visit = make_invoice([(VISIT, 1)], customer=stranger, patient=stranger_patient)

		self.assertFalse(visit.items[0].package_balance)
		self.assertGreater(visit.items[0].amount, 0)
		self.assertNotEqual(stranger, CUSTOMER)

	def test_a_patient_without_a_customer_is_refused(self):
		set_health_settings(link_customer_to_patient=0)
		patient = frappe.get_doc(
			{"doctype": "Patient", "first_name": "PKT Unbilled Sharer", "sex": "Male", "invite_user": 0}
		).insert(ignore_permissions=True)

		with self.assertRaises(ShareCustomerError):
			api.add_sharer(self.balance, patient=patient.name)
		self.assertEqual(
			frappe.get_all("Package Balance Sharer", filters={"parent": self.balance}, pluck="customer"), []
		)
