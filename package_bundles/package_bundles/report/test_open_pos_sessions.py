# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 16, item 12: the GL reconciliation explains an open POS session.

A POS Invoice posts no GL of its own: ERPNext posts it with the Sales Invoice POS Closing
consolidates it into. The app's ledger moves when the POS Invoice is submitted (a package sold
at the till is deferred revenue at once), so until closing the deferred revenue in packages is
more than the GL holds. Package Deferred Revenue names those POS Invoices as a reconciling item;
its difference is what nothing explains: 0. A redemption at the till moves the GL at once (the
app's Journal Entry), so it is no reconciling item.

POS closing commits (ERPNext's merge log), so this runs on the till's own company with its own
patient and package each run, and measures this run's change.
"""

import frappe
from erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry import make_closing_entry_from_opening
from frappe.utils import add_days, nowdate

from package_bundles.package_bundles.doctype.package_balance.test_point_of_sale import pos_invoice
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import POS_COMPANY, PRICE_LIST, VISIT, make_patient, make_till, open_till

test_ignore = IGNORED_TEST_RECORDS


class TestOpenPosSessionInTheReconciliation(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_till()
		frappe.db.commit()

	def test_pos_invoices_not_yet_consolidated_are_a_named_reconciling_item_until_closing(self):
		suffix = frappe.generate_hash(length=6)
		patient = make_patient(f"PKT Open Session Patient {suffix}")
		opening = open_till()
		package = frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": f"Open Session Visits {suffix}",
				"company": POS_COMPANY,
				"selling_price_list": PRICE_LIST,
				"package_price": 600,
				"items": [{"item_code": VISIT, "qty": 4}],
			}
		).insert(ignore_permissions=True)
		before = package_deferred_revenue.get_totals(POS_COMPANY)

		sale = pos_invoice(patient, [(package.item, 1)])
		visit = pos_invoice(patient, [(VISIT, 1)])
		self.assertTrue(visit.items[0].package_balance)

		during = package_deferred_revenue.get_totals(POS_COMPANY)
		# the ledger holds the sale (600) less the visit (150); the GL only the visit's Journal Entry
		self.assertEqual(round(during["deferred"] - before["deferred"], 2), 450)
		self.assertEqual(round(during["gl_balance"] - before["gl_balance"], 2), -150)
		self.assertEqual(round(during["pos_not_consolidated"] - before["pos_not_consolidated"], 2), 600)
		self.assertEqual(
			during["pos_invoices_not_consolidated"],
			sorted([*before["pos_invoices_not_consolidated"], sale.name]),
		)
		self.assertEqual(during["difference"], 0)
		# as of yesterday the session's invoices did not exist
		yesterday = package_deferred_revenue.get_totals(POS_COMPANY, add_days(nowdate(), -1))
		self.assertNotIn(sale.name, yesterday["pos_invoices_not_consolidated"])

		# the report's cards: the reconciling item between the GL and the difference, naming the invoices
		cards = package_deferred_revenue.get_reconciliation(POS_COMPANY, nowdate())
		self.assertEqual(
			[card["label"] for card in cards],
			[
				"Deferred Revenue in Packages",
				"Deferred Revenue in the General Ledger",
				"POS Invoices not yet consolidated",
				"Difference",
			],
		)
		self.assertEqual(cards[2]["value"], during["pos_not_consolidated"])
		self.assertIn({"name": sale.name, "amount": 600}, cards[2]["invoices"])
		self.assertEqual((cards[3]["value"], cards[3]["indicator"]), (0, "Green"))

		closing = make_closing_entry_from_opening(frappe.get_doc("POS Opening Entry", opening.name))
		for payment in closing.payment_reconciliation:
			payment.closing_amount = payment.expected_amount
		closing.insert()
		closing.submit()  # consolidates (committed by ERPNext)
		self.assertTrue(frappe.db.get_value("POS Invoice", sale.name, "consolidated_invoice"))

		after = package_deferred_revenue.get_totals(POS_COMPANY)
		self.assertNotIn(sale.name, after["pos_invoices_not_consolidated"])
		self.assertEqual(round(after["gl_balance"] - before["gl_balance"], 2), 450)
		self.assertEqual(after["pos_not_consolidated"], before["pos_not_consolidated"])
		self.assertEqual(after["difference"], 0)
