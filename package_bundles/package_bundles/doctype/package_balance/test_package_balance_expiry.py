# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from unittest.mock import patch

import frappe
from frappe.utils import add_days, getdate, nowdate

from package_bundles import expiry
from package_bundles.exceptions import PackageValidityError
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.test_fixtures import (
	COMPANY,
	DEFERRED,
	LAB_INCOME,
	PRODUCT_INCOME,
	VISIT,
	VISIT_INCOME,
	account,
	gl_entries,
	make_invoice,
	make_package,
	pay,
	reset_settings,
)
from package_bundles.testing import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	deferred_liability,
)

test_ignore = IGNORED_TEST_RECORDS

BREAKAGE_INCOME = account("Breakage Income")


def sell_expiring(name="Five Day Care", days_ago=10, valid_for_days=5, **values):
	package = make_package(name=name, valid_for_days=valid_for_days, **values)
	purchase = make_invoice([(package.item, 1)], posting_date=add_days(nowdate(), -days_ago))
	pay(purchase)
	return frappe.get_doc("Package Balance", {"sales_invoice": purchase.name})


class TestExpiry(PackageTestCase):
	def test_expired_balance_books_its_breakage_once(self):
		balance = sell_expiring()
		make_invoice([(VISIT, 1)], posting_date=add_days(nowdate(), -8))
		journal_entries = frappe.db.count("Journal Entry")

		outcome = expiry.expire_balances()
		self.assertIn(balance.name, outcome["expired"])
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertEqual(balance.breakage_amount, 585)
		self.assertEqual(str(balance.breakage_date), str(add_days(balance.expiry_date, 1)))
		self.assertEqual(
			gl_entries(balance.breakage_journal_entry),
			{DEFERRED: 585.0, VISIT_INCOME: -405.0, PRODUCT_INCOME: -72.0, LAB_INCOME: -108.0},
		)
		self.assertEqual([item.deferred_amount for item in balance.items], [0, 0, 0])
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_reconciled()

		second = expiry.expire_balances()
		self.assertEqual(second["expired"], [])
		self.assertEqual(frappe.db.count("Journal Entry"), journal_entries + 1)

	def test_no_redemption_after_expiry(self):
		balance = sell_expiring()
		invoice = make_invoice([(VISIT, 1)], submit=False)
		self.assertIsNone(invoice.items[0].package_balance)
		self.assertEqual(invoice.items[0].rate, 150)
		self.assertEqual(
			frappe.db.get_value(
				"Package Balance Item", {"parent": balance.name, "item_code": VISIT}, "qty_remaining"
			),
			4,
		)

	def test_breakage_goes_to_the_settings_account(self):
		settings = frappe.get_single("Package Settings")
		settings.append("accounts", {"company": COMPANY, "breakage_income_account": BREAKAGE_INCOME})
		settings.save()
		balance = sell_expiring()
		expiry.expire_balances()
		balance.reload()
		self.assertEqual(
			gl_entries(balance.breakage_journal_entry), {DEFERRED: 720.0, BREAKAGE_INCOME: -720.0}
		)

	def test_breakage_off_keeps_the_liability(self):
		reset_settings(recognize_breakage=0)
		balance = sell_expiring()
		expiry.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertFalse(balance.breakage_journal_entry)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720)
		self.assert_reconciled()

	def test_upon_purchase_balance_just_expires(self):
		balance = sell_expiring(revenue_recognition="Upon Purchase")
		expiry.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertFalse(balance.breakage_journal_entry)
		self.assert_reconciled()

	def test_one_failure_is_logged_and_the_others_expire(self):
		first = sell_expiring(name="First Expiring")
		second = sell_expiring(name="Second Expiring")
		original = expiry.book_expiry

		def failing_for_first(posting, name):
			original(posting, name)  # the breakage is written, then the failure must take it back
			if name == first.name:
				raise frappe.ValidationError("ledger closed")

		errors = frappe.db.count("Error Log")
		with patch.object(expiry, "book_expiry", failing_for_first):
			outcome = expiry.expire_balances()
		self.assertEqual(outcome["failed"], [first.name])
		self.assertIn(second.name, outcome["expired"])
		self.assertEqual(frappe.db.get_value("Package Balance", first.name, "status"), "Active")
		self.assertEqual(frappe.db.get_value("Package Balance", second.name, "status"), "Expired")
		self.assertEqual(frappe.db.count("Error Log"), errors + 1)
		self.assert_reconciled()

	def test_extension_reverses_breakage(self):
		balance = sell_expiring()
		expiry.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		manager = make_user("pkt-manager@example.com", ["Package Manager", "Accounts User"])
		new_expiry = add_days(nowdate(), 30)

		frappe.set_user(manager)
		result = expiry.extend_expiry(balance.name, new_expiry, "Patient was in hospital")
		frappe.set_user("Administrator")

		self.assertEqual(result["status"], "Active")
		balance.reload()
		self.assertEqual(str(balance.expiry_date), str(getdate(new_expiry)))
		self.assertEqual(balance.breakage_amount, 0)
		self.assertEqual(frappe.db.get_value("Journal Entry", breakage_entry, "docstatus"), 2)
		self.assertEqual(balance.total_deferred, 720)
		[extension] = balance.extensions
		self.assertEqual((extension.reason, extension.extended_by), ("Patient was in hospital", manager))
		self.assertEqual(extension.reversed_breakage_journal_entry, breakage_entry)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720)
		self.assert_reconciled()

		invoice = make_invoice([(VISIT, 1)])
		self.assertEqual(invoice.items[0].package_balance, balance.name)

	def test_extension_is_for_package_managers_with_a_reason_and_a_later_date(self):
		balance = sell_expiring(days_ago=1, valid_for_days=10)
		clerk = make_user("pkt-clerk@example.com", ["Sales User", "Accounts User"])
		frappe.set_user(clerk)
		with self.assertRaises(frappe.PermissionError):
			expiry.extend_expiry(balance.name, add_days(nowdate(), 60), "asked nicely")
		frappe.set_user("Administrator")
		with self.assertRaises(PackageValidityError):
			expiry.extend_expiry(balance.name, add_days(nowdate(), 60), " ")
		with self.assertRaises(PackageValidityError):
			expiry.extend_expiry(balance.name, add_days(nowdate(), 2), "earlier than now")


class TestExpiryJob(PackageTestCase):
	"""The daily job at scale: batches on the long queue, each committed, resumable (issue 12)."""

	def sell_expiring_balances(self, count: int) -> list[str]:
		package = make_package(name="Batch Expiring Care", valid_for_days=5)
		purchase = make_invoice([(package.item, count)], posting_date=add_days(nowdate(), -10))
		pay(purchase)
		return sorted(frappe.get_all("Package Balance", {"sales_invoice": purchase.name}, pluck="name"))

	def test_balances_are_queued_in_batches_on_the_long_queue(self):
		names = self.sell_expiring_balances(5)
		queued = []
		with (
			patch.object(expiry, "BATCH_SIZE", 2),
			patch("frappe.enqueue", lambda *a, **kw: queued.append((a, kw))),
		):
			batches = expiry.enqueue_expiry()
		self.assertEqual(batches, len(queued))
		ours = [kwargs for _args, kwargs in queued if set(kwargs["balances"]) & set(names)]
		self.assertEqual(sorted(name for kwargs in ours for name in kwargs["balances"]), names)
		for args, kwargs in queued:
			self.assertEqual(args, ("package_bundles.expiry.expire_batch",))
			self.assertEqual(kwargs["queue"], "long")
			self.assertLessEqual(len(kwargs["balances"]), 2)
			self.assertTrue(kwargs["deduplicate"])
			self.assertIn(kwargs["balances"][0], kwargs["job_id"])

		journal_entries = frappe.db.count("Journal Entry")
		for _args, kwargs in queued:
			expiry.expire_batch(kwargs["balances"], kwargs["today"])
		self.assertEqual(
			{frappe.db.get_value("Package Balance", name, "status") for name in names}, {"Expired"}
		)
		self.assertGreaterEqual(frappe.db.count("Journal Entry"), journal_entries + len(names))
		self.assert_reconciled()

	def test_a_batch_run_again_posts_nothing_twice(self):
		names = self.sell_expiring_balances(3)
		first = expiry.expire_batch(names, nowdate())
		self.assertEqual(sorted(first["expired"]), names)
		ledger_rows = frappe.db.count("Package Ledger Entry")
		journal_entries = frappe.db.count("Journal Entry")

		again = expiry.expire_batch(names, nowdate())
		self.assertEqual(again, {"expired": [], "failed": []})
		self.assertEqual(frappe.db.count("Package Ledger Entry"), ledger_rows)
		self.assertEqual(frappe.db.count("Journal Entry"), journal_entries)
		self.assert_reconciled()

	def test_a_batch_cut_short_is_finished_by_the_next_run(self):
		"""A worker that dies after some balances: the next run expires the rest, and only them."""
		names = self.sell_expiring_balances(4)
		expiry.expire_batch(names[:2], nowdate())  # what was committed before the crash
		journal_entries = frappe.db.count("Journal Entry")

		outcome = expiry.expire_balances()
		self.assertEqual(sorted(set(outcome["expired"]) & set(names)), names[2:])
		self.assertEqual(frappe.db.count("Journal Entry"), journal_entries + 2)
		self.assert_reconciled()

	def test_each_batch_commits_outside_tests(self):
		names = self.sell_expiring_balances(1)
		frappe.flags.in_test = False
		try:
			with patch.object(frappe.db, "commit") as commit:
				expiry.expire_batch(names, nowdate())
		finally:
			frappe.flags.in_test = True
		commit.assert_called_once()
