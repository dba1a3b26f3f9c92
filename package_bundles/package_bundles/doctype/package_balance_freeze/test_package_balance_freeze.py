# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 20, Freeze: a balance paused for a date range (SPEC §6's Postpartum Care, valid 30 days).

No redemption while frozen (the invoice charges the visit in full), the expiry moves by the frozen
days, an early unfreeze gives back the unused days, a cancel takes back the days still counted,
and the expiry job leaves a frozen balance alone. A freeze moves no value: after every step the
Journal Entries, the balance's deferred revenue, the GL and the Package Deferred Revenue report
are what they were, and SPEC §4's identities hold.
"""

from unittest.mock import patch

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, getdate, nowdate, set_request
from frappe.website.serve import get_response

from package_bundles import api
from package_bundles.exceptions import (
	BalanceExpiredError,
	BalanceFrozenError,
	BalanceRefundedError,
	FreezeDateError,
	FreezeOverlapError,
	UnfreezeError,
)
from package_bundles.flows import expire, freeze
from package_bundles.package_bundles.doctype.package_balance.test_package_balance_api import make_portal_user
from package_bundles.package_bundles.doctype.package_balance.test_package_balance_expiry import sell_expiring
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals as deferred_revenue_totals,
)
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	deferred_liability,
	invariant_problems,
)
from package_bundles.tests.fixtures import (
	COMPANY,
	DEBTORS,
	DEFERRED,
	VISIT,
	VISIT_INCOME,
	gl_entries,
	make_invoice,
	make_package,
	pay,
)

test_ignore = [*IGNORED_TEST_RECORDS, "Package Balance Freeze"]
REPORT = "package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue"

MANAGER = "pkt-freeze-manager@example.com"


def day(offset: int):
	return getdate(add_days(nowdate(), offset))


class TestPackageBalanceFreeze(PackageTestCase):
	def setUp(self):
		super().setUp()
		make_user(MANAGER, ["Package Manager", "Accounts User", "Sales User"])

	# --- helpers -------------------------------------------------------------------------------

	def sell(self, valid_for_days=30):
		package = make_package(valid_for_days=valid_for_days)
		purchase = make_invoice([(package.item, 1)])
		pay(purchase)
		return frappe.get_doc("Package Balance", {"sales_invoice": purchase.name})

	def freeze(self, balance, from_offset, to_offset, submit=True, reason="In hospital"):
		frappe.set_user(MANAGER)
		try:
			doc = frappe.get_doc(
				{
					"doctype": "Package Balance Freeze",
					"package_balance": balance.name,
					"from_date": day(from_offset),
					"to_date": day(to_offset),
					"reason": reason,
				}
			)
			doc.insert()
			if submit:
				doc.submit()
			return doc
		finally:
			frappe.set_user("Administrator")

	def unfreeze(self, freeze_doc, on_offset):
		frappe.set_user(MANAGER)
		try:
			return api.unfreeze(freeze_doc.name, str(day(on_offset)))
		finally:
			frappe.set_user("Administrator")

	def books(self, balance) -> dict:
		"""What a freeze must leave alone: the app's Journal Entries, the balance's deferred, the GL, the report."""
		return {
			"journal_entries": frappe.db.count("Journal Entry", {"docstatus": 1}),
			"ledger_entries": frappe.db.count("Package Ledger Entry"),
			"balance_deferred": frappe.db.get_value("Package Balance", balance.name, "total_deferred"),
			"gl_deferred": deferred_liability(COMPANY, DEFERRED),
			"report_deferred": round(deferred_revenue_totals(COMPANY)["deferred"], 2),
		}

	def assert_identity(self):
		"""GL = ledger = report on every deferred account, every voucher balanced, stored state = ledger.

		The tests date invoices in the days ahead (a freeze starts today or later), so the report is
		read as of today and as of a day after everything: each equals the GL up to that day."""
		with patch(f"{REPORT}.today", return_value=day(90)):
			self.assertEqual(invariant_problems(), [])
		self.assert_reconciled()
		for as_of in (day(0), day(90)):
			totals = deferred_revenue_totals(COMPANY, as_of)
			self.assertEqual(round(totals["deferred"], 2), deferred_liability(COMPANY, DEFERRED, upto=as_of))
			self.assertFalse(totals["difference"])

	# --- happy path ----------------------------------------------------------------------------

	def test_a_freeze_moves_the_expiry_and_pauses_redemption_only_while_frozen(self):
		balance = self.sell()
		expiry = getdate(balance.expiry_date)
		self.assertEqual(expiry, day(30))
		before = self.books(balance)

		frozen = self.freeze(balance, 5, 14)

		self.assertEqual(frozen.frozen_days, 10)
		self.assertEqual(getdate(frozen.previous_expiry_date), expiry)
		self.assertEqual(getdate(frozen.new_expiry_date), day(40))
		self.assertEqual((frozen.customer, frozen.company), (balance.customer, COMPANY))
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(40))
		self.assertEqual((getdate(balance.frozen_from), getdate(balance.frozen_until)), (day(5), day(14)))
		self.assertEqual(self.books(balance), before)  # a freeze moves no value
		self.assertEqual(before["gl_deferred"], 720)
		self.assertTrue(freeze.is_frozen_on(balance.name, day(5)))
		self.assertTrue(freeze.is_frozen_on(balance.name, day(14)))
		self.assertFalse(freeze.is_frozen_on(balance.name, day(15)))
		self.assert_identity()

		# before the freeze: redeemed as usual
		first_visit = make_invoice([(VISIT, 1)], posting_date=day(2))
		self.assertEqual(first_visit.items[0].package_balance, balance.name)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 585)

		# during the freeze: the visit is charged in full, nothing is redeemed
		journal_entries = frappe.db.count("Journal Entry", {"docstatus": 1})
		charged = make_invoice([(VISIT, 1)], posting_date=day(7), taxes=False)
		self.assertFalse(charged.items[0].package_balance)
		self.assertEqual(charged.items[0].rate, 150)
		self.assertEqual(gl_entries(charged.name), {DEBTORS: 150.0, VISIT_INCOME: -150.0})
		self.assertEqual(frappe.db.count("Journal Entry", {"docstatus": 1}), journal_entries)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 585)
		self.assert_identity()

		# the day after the freeze: redeemed again
		after = make_invoice([(VISIT, 1)], posting_date=day(15))
		self.assertEqual(after.items[0].package_balance, balance.name)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 450)
		balance.reload()
		self.assertEqual([item.qty_remaining for item in balance.items if item.item_code == VISIT], [2])
		self.assert_identity()

	def test_an_invoice_saved_before_the_freeze_is_refused_at_submit(self):
		balance = self.sell()
		draft = make_invoice([(VISIT, 1)], posting_date=day(6), submit=False)
		self.assertEqual(draft.items[0].package_balance, balance.name)
		self.freeze(balance, 5, 14)

		frappe.db.savepoint("frozen_submit")
		with self.assertRaises(BalanceFrozenError) as refused:
			draft.submit()
		frappe.db.rollback(save_point="frozen_submit")  # what ERPNext wrote before the refusal
		self.assertIn("frozen", str(refused.exception))
		self.assertEqual(frappe.db.count("Package Redemption", {"package_balance": balance.name}), 0)

		# saved again, the row is charged normally
		draft.reload()
		draft.save()
		self.assertFalse(draft.items[0].package_balance)
		draft.submit()
		self.assert_identity()

	# --- refusals ------------------------------------------------------------------------------

	def test_an_expired_balance_cannot_be_frozen(self):
		balance = sell_expiring()
		# expired by its date, before the job ran
		with self.assertRaises(BalanceExpiredError):
			self.freeze(balance, 0, 3)
		expire.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		with self.assertRaises(BalanceExpiredError):
			self.freeze(balance, 0, 3)
		self.assertEqual(frappe.db.count("Package Balance Freeze", {"docstatus": 1}), 0)
		self.assert_identity()

	def test_a_refunded_balance_cannot_be_frozen(self):
		package = make_package(valid_for_days=30)
		purchase = make_invoice([(package.item, 1)])
		balance = frappe.get_doc("Package Balance", {"sales_invoice": purchase.name})
		credit_note = make_sales_return(purchase.name)
		credit_note.insert()
		credit_note.submit()
		balance.reload()
		self.assertEqual(balance.status, "Refunded")
		with self.assertRaises(BalanceRefundedError):
			self.freeze(balance, 0, 3)
		balance.reload()
		self.assertIsNone(balance.frozen_from)
		self.assert_identity()

	def test_overlapping_freezes_are_refused(self):
		balance = self.sell()
		first = self.freeze(balance, 5, 14)
		with self.assertRaises(FreezeOverlapError) as overlap:
			self.freeze(balance, 10, 20)
		self.assertIn(first.name, str(overlap.exception))
		# a later period while the first is still to end is refused too: one pending freeze at a time
		with self.assertRaises(FreezeOverlapError) as pending:
			self.freeze(balance, 20, 25)
		self.assertIn("still to end", str(pending.exception))
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(40))
		self.assertEqual(frappe.db.count("Package Balance Freeze", {"docstatus": 1}), 1)

	def test_dates_a_freeze_cannot_have(self):
		balance = self.sell()
		with self.assertRaises(FreezeDateError):
			self.freeze(balance, -1, 5)  # starts in the past
		with self.assertRaises(FreezeDateError):
			self.freeze(balance, 5, 4)  # ends before it starts
		with self.assertRaises(FreezeDateError):
			self.freeze(balance, 31, 40)  # starts after the expiry
		self.freeze(balance, 30, 40)  # the expiry day itself may start a freeze
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(41))

	def test_only_a_package_manager_freezes_and_unfreezes(self):
		balance = self.sell()
		clerk = make_user("pkt-freeze-clerk@example.com", ["Sales User", "Accounts User"])
		frozen = self.freeze(balance, 0, 9)
		frappe.set_user(clerk)
		try:
			with self.assertRaises(frappe.PermissionError):
				frappe.get_doc(
					{
						"doctype": "Package Balance Freeze",
						"package_balance": balance.name,
						"from_date": day(20),
						"to_date": day(25),
						"reason": "asked",
					}
				).insert()
			with self.assertRaises(frappe.PermissionError):
				api.unfreeze(frozen.name)
			self.assertTrue(frappe.has_permission("Package Balance Freeze", "read", doc=frozen.name))
		finally:
			frappe.set_user("Administrator")
		self.assertIsNone(frappe.db.get_value("Package Balance Freeze", frozen.name, "unfrozen_on"))

	# --- early unfreeze and cancel -----------------------------------------------------------

	def test_an_early_unfreeze_gives_back_the_unused_days(self):
		balance = self.sell()
		before = self.books(balance)
		frozen = self.freeze(balance, 0, 9)
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(40))
		self.assertFalse(
			make_invoice([(VISIT, 1)], posting_date=day(1), submit=False).items[0].package_balance
		)

		result = self.unfreeze(frozen, 3)

		self.assertEqual(result["days_given_back"], 7)
		self.assertEqual(getdate(result["expiry_date"]), day(33))
		frozen.reload()
		self.assertEqual(getdate(frozen.unfrozen_on), day(3))
		self.assertEqual(frozen.days_given_back, 7)
		self.assertEqual(getdate(frozen.expiry_after_unfreeze), day(33))
		self.assertEqual(frozen.unfrozen_by, MANAGER)
		self.assertTrue(frozen.unfrozen_at)
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(33))  # moved by the 3 days used
		self.assertEqual((getdate(balance.frozen_from), getdate(balance.frozen_until)), (day(0), day(2)))
		self.assertTrue(
			frappe.db.exists(
				"Comment", {"reference_doctype": "Package Balance Freeze", "reference_name": frozen.name}
			)
		)
		self.assertEqual(self.books(balance), before)
		self.assert_identity()

		# still frozen on the days it kept, usable from the unfreeze date
		self.assertFalse(
			make_invoice([(VISIT, 1)], posting_date=day(2), submit=False).items[0].package_balance
		)
		used = make_invoice([(VISIT, 1)], posting_date=day(3))
		self.assertEqual(used.items[0].package_balance, balance.name)
		self.assert_identity()

		with self.assertRaises(UnfreezeError):
			self.unfreeze(frozen, 4)  # twice
		# cancelling it takes back the 3 days it still counts
		frozen.cancel()
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(30))
		self.assertIsNone(balance.frozen_from)
		self.assert_identity()

	def test_unfreeze_refusals(self):
		balance = self.sell()
		frozen = self.freeze(balance, 2, 9)
		with self.assertRaises(UnfreezeError):
			self.unfreeze(frozen, -1)  # in the past
		with self.assertRaises(UnfreezeError):
			self.unfreeze(frozen, 10)  # after it ends: nothing to give back
		draft = self.freeze(balance, 20, 25, submit=False)
		with self.assertRaises(UnfreezeError):
			self.unfreeze(draft, 21)
		# unfrozen before it starts: every day given back, nothing frozen any more
		result = self.unfreeze(frozen, 0)
		self.assertEqual(result["days_given_back"], 8)
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(30))
		self.assertIsNone(balance.frozen_from)
		self.assertEqual(
			make_invoice([(VISIT, 1)], posting_date=day(2)).items[0].package_balance, balance.name
		)
		self.assert_identity()

	def test_cancel_restores_the_expiry(self):
		balance = self.sell()
		before = self.books(balance)
		frozen = self.freeze(balance, 1, 20)
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(50))

		frozen.cancel()

		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(30))
		self.assertIsNone(balance.frozen_from)
		self.assertIsNone(balance.frozen_until)
		self.assertEqual(self.books(balance), before)
		self.assertEqual(
			make_invoice([(VISIT, 1)], posting_date=day(5)).items[0].package_balance, balance.name
		)
		self.assert_identity()

		# amended, the same days freeze it again
		amended = frappe.copy_doc(frozen)
		amended.amended_from = frozen.name
		amended.docstatus = 0
		amended.insert()
		amended.submit()
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(50))
		self.assert_identity()

	# --- expiry --------------------------------------------------------------------------------

	def test_the_expiry_job_leaves_a_frozen_balance_alone(self):
		balance = self.sell(valid_for_days=5)
		self.freeze(balance, 3, 12)
		balance.reload()
		self.assertEqual(getdate(balance.expiry_date), day(15))

		# on a day past the original expiry, in the freeze: nothing expires
		self.assertNotIn(balance.name, expire.expire_balances(day(8))["expired"])
		# even a balance whose expiry lies before a frozen day (moved by hand, say) is not expired or broken
		frappe.db.set_value("Package Balance", balance.name, "expiry_date", day(4), update_modified=False)
		journal_entries = frappe.db.count("Journal Entry", {"docstatus": 1})
		self.assertFalse(expire.expire_balance(balance.name, day(8)))
		self.assertEqual(frappe.db.get_value("Package Balance", balance.name, "status"), "Active")
		self.assertEqual(frappe.db.count("Journal Entry", {"docstatus": 1}), journal_entries)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720)
		self.assert_identity()

		# once the freeze is over it expires and breaks as any other
		frappe.db.set_value("Package Balance", balance.name, "expiry_date", day(15), update_modified=False)
		self.assertIn(balance.name, expire.expire_balances(day(16))["expired"])
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertEqual(balance.breakage_amount, 720)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_identity()

	# --- portal --------------------------------------------------------------------------------

	def test_the_portal_shows_the_freeze_and_the_moved_expiry(self):
		balance = self.sell()
		self.freeze(balance, 5, 14)
		patient = make_portal_user("pkt-freeze-portal@example.com", balance.customer)
		request = getattr(frappe.local, "request", None)
		self.addCleanup(setattr, frappe.local, "request", request)

		frappe.set_user(patient)
		try:
			set_request(method="GET", path="/my-packages")
			response = get_response("/my-packages")
		finally:
			frappe.set_user("Administrator")
		html = response.get_data(as_text=True)

		self.assertEqual(response.status_code, 200)
		self.assertIn("frozen-period", html)
		for shown in (day(5), day(14), day(40)):  # the period and the moved expiry
			self.assertIn(frappe.format(shown, "Date"), html)
