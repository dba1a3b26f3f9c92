# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from contextlib import nullcontext
from unittest.mock import patch

import frappe
import pymysql
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, getdate, nowdate

from package_bundles import api
from package_bundles.exceptions import PackageValidityError
from package_bundles.flows import expire
from package_bundles.ledger import balance_state
from package_bundles.package_bundles.doctype.package_ledger_entry.test_balance_state import cancel_payments
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.report.package_balances.package_balances import (
	execute as balances_report,
)
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
	DEFERRED,
	LAB_INCOME,
	PRODUCT_INCOME,
	VISIT,
	VISIT_INCOME,
	account,
	close_year,
	gl_balance,
	gl_entries,
	make_invoice,
	make_package,
	pay,
	reset_settings,
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

		outcome = expire.expire_balances()
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

		second = expire.expire_balances()
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
		expire.expire_balances()
		balance.reload()
		self.assertEqual(
			gl_entries(balance.breakage_journal_entry), {DEFERRED: 720.0, BREAKAGE_INCOME: -720.0}
		)

	def test_breakage_off_keeps_the_liability(self):
		reset_settings(recognize_breakage=0)
		balance = sell_expiring()
		expire.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertFalse(balance.breakage_journal_entry)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720)
		self.assert_reconciled()

	def test_upon_purchase_balance_just_expires(self):
		balance = sell_expiring(revenue_recognition="Upon Purchase")
		expire.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertFalse(balance.breakage_journal_entry)
		self.assert_reconciled()

	def test_one_failure_is_logged_and_the_others_expire(self):
		first = sell_expiring(name="First Expiring")
		second = sell_expiring(name="Second Expiring")
		original = expire.book_expiry

		def failing_for_first(posting, name):
			original(posting, name)  # the breakage is written, then the failure must take it back
			if name == first.name:
				raise frappe.ValidationError("ledger closed")

		errors = frappe.db.count("Error Log")
		with patch.object(expire, "book_expiry", failing_for_first):
			outcome = expire.expire_balances()
		self.assertEqual(outcome["failed"], [first.name])
		self.assertIn(second.name, outcome["expired"])
		self.assertEqual(frappe.db.get_value("Package Balance", first.name, "status"), "Active")
		self.assertEqual(frappe.db.get_value("Package Balance", second.name, "status"), "Expired")
		self.assertEqual(frappe.db.count("Error Log"), errors + 1)
		self.assert_reconciled()

	def test_extension_reverses_breakage(self):
		balance = sell_expiring()
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		manager = make_user("pkt-manager@example.com", ["Package Manager", "Accounts User"])
		new_expiry = add_days(nowdate(), 30)

		frappe.set_user(manager)
		result = api.extend_expiry(balance.name, new_expiry, "Patient was in hospital")
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
			api.extend_expiry(balance.name, add_days(nowdate(), 60), "asked nicely")
		frappe.set_user("Administrator")
		with self.assertRaises(PackageValidityError):
			api.extend_expiry(balance.name, add_days(nowdate(), 60), " ")
		with self.assertRaises(PackageValidityError):
			api.extend_expiry(balance.name, add_days(nowdate(), 2), "earlier than now")


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
			patch.object(expire, "BATCH_SIZE", 2),
			patch("frappe.enqueue", lambda *a, **kw: queued.append((a, kw))),
		):
			batches = expire.enqueue_expiry()
		self.assertEqual(batches, len(queued))
		ours = [kwargs for _args, kwargs in queued if set(kwargs["balances"]) & set(names)]
		self.assertEqual(sorted(name for kwargs in ours for name in kwargs["balances"]), names)
		for args, kwargs in queued:
			self.assertEqual(args, ("package_bundles.flows.expire.expire_batch",))
			self.assertEqual(kwargs["queue"], "long")
			self.assertLessEqual(len(kwargs["balances"]), 2)
			self.assertIn(kwargs["balances"][0], kwargs["job_id"])
		# a run queued again the same day queues its own jobs (issue 22: a job RQ still counts as
		# started after its worker died must not keep the balances it left from the next run)
		again = []
		with (
			patch.object(expire, "BATCH_SIZE", 2),
			patch("frappe.enqueue", lambda *a, **kw: again.append((a, kw))),
		):
			expire.enqueue_expiry()
		self.assertFalse({kw["job_id"] for _a, kw in queued} & {kw["job_id"] for _a, kw in again})

		journal_entries = frappe.db.count("Journal Entry")
		for _args, kwargs in queued:
			expire.expire_batch(kwargs["balances"], kwargs["today"])
		self.assertEqual(
			{frappe.db.get_value("Package Balance", name, "status") for name in names}, {"Expired"}
		)
		self.assertGreaterEqual(frappe.db.count("Journal Entry"), journal_entries + len(names))
		self.assert_reconciled()

	def test_a_batch_run_again_posts_nothing_twice(self):
		names = self.sell_expiring_balances(3)
		first = expire.expire_batch(names, nowdate())
		self.assertEqual(sorted(first["expired"]), names)
		ledger_rows = frappe.db.count("Package Ledger Entry")
		journal_entries = frappe.db.count("Journal Entry")

		again = expire.expire_batch(names, nowdate())
		self.assertEqual(again, {"expired": [], "failed": []})
		self.assertEqual(frappe.db.count("Package Ledger Entry"), ledger_rows)
		self.assertEqual(frappe.db.count("Journal Entry"), journal_entries)
		self.assert_reconciled()

	def test_a_batch_cut_short_is_finished_by_the_next_run(self):
		"""A worker that dies after some balances: the next run expires the rest, and only them."""
		names = self.sell_expiring_balances(4)
		expire.expire_batch(names[:2], nowdate())  # what was committed before the crash
		journal_entries = frappe.db.count("Journal Entry")

		outcome = expire.expire_balances()
		self.assertEqual(sorted(set(outcome["expired"]) & set(names)), names[2:])
		self.assertEqual(frappe.db.count("Journal Entry"), journal_entries + 2)
		self.assert_reconciled()

	def test_a_lock_conflict_is_tried_again(self):
		"""Issue 22: a deadlock or lock wait with another worker is no failure; the balance goes again."""
		names = self.sell_expiring_balances(2)
		original = expire.expire_balance
		calls = []

		def deadlocked_once(name, today, naming=None):
			calls.append(name)
			if calls.count(name) == 1:
				raise pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
			return original(name, today, naming=naming)

		errors = frappe.db.count("Error Log")
		with patch.object(expire, "expire_balance", deadlocked_once):
			outcome = expire.expire_batch(names, nowdate())
		self.assertEqual(outcome, {"expired": names, "failed": []})
		self.assertEqual(calls, [names[0], names[0], names[1], names[1]])
		self.assertEqual(frappe.db.count("Error Log"), errors)
		self.assertEqual(frappe.db.count("Journal Entry", {"package_balance": ["in", names]}), 2)

	def test_a_lock_wait_that_lasts_is_a_failure_after_the_retries(self):
		names = self.sell_expiring_balances(1)
		calls = []

		def always_waiting(name, today, naming=None):
			calls.append(name)
			raise pymysql.err.OperationalError(1205, "Lock wait timeout exceeded")

		errors = frappe.db.count("Error Log")
		with patch.object(expire, "expire_balance", always_waiting):
			outcome = expire.expire_batch(names, nowdate())
		self.assertEqual(outcome, {"expired": [], "failed": names})
		self.assertEqual(len(calls), 1 + expire.LOCK_RETRIES)
		self.assertEqual(frappe.db.count("Error Log"), errors + 1)
		self.assertIn("Lock wait timeout", frappe.db.get_value("Package Balance", names[0], "expiry_error"))

	def test_each_balance_commits_outside_tests(self):
		"""Issue 22: a job's balance is its own transaction, so workers hold its locks for it alone."""
		names = self.sell_expiring_balances(2)
		frappe.flags.in_test = False
		try:
			with (
				patch.object(frappe.db, "commit") as commit,
				# the Journal Entries named in this transaction (a job names them on a connection of
				# its own: test_expiry_workers), so that the test leaves nothing committed
				patch.object(expire, "naming_connection", lambda: nullcontext(None)),
			):
				outcome = expire.expire_batch(names, nowdate())
		finally:
			frappe.flags.in_test = True
		self.assertEqual(sorted(outcome["expired"]), names)
		# what the caller left uncommitted, then each balance
		self.assertEqual(commit.call_count, 1 + len(names))


def day(offset: int):
	return getdate(add_days(nowdate(), offset))


def journal_date(name: str):
	return getdate(frappe.db.get_value("Journal Entry", name, "posting_date"))


def breakage_entries(balance: str) -> list:
	return frappe.get_all(
		"Package Ledger Entry",
		filters={"package_balance": balance, "event": "Breakage", "is_cancelled": 0},
		fields=["posting_date", "deferred_change", "journal_entry"],
		order_by="posting_date asc, creation asc",
	)


def report_expiry_errors(balance) -> dict:
	"""What the Package Balances report shows of this balance's last expiry error."""
	_columns, rows = balances_report({"company": COMPANY, "customer": balance.customer})
	return {row.package_balance: row.expiry_error for row in rows if row.package_balance == balance.name}


class TestBreakageDates(PackageTestCase):
	"""Issue 16 item 1: a posting caused by a later event is dated no earlier than that event, never locked."""

	def assert_never_negative(self, balance: str):
		"""SPEC §4.8: each line's deferred revenue on every date its ledger moved, and the GL's on those dates."""
		entries = frappe.get_all(
			"Package Ledger Entry",
			filters={"package_balance": balance, "is_cancelled": 0},
			fields=["package_balance_item", "posting_date", "deferred_change"],
			order_by="posting_date asc, creation asc",
		)
		for date in sorted({row.posting_date for row in entries}):
			for line in sorted({row.package_balance_item for row in entries}):
				deferred = sum(
					row.deferred_change
					for row in entries
					if row.package_balance_item == line and row.posting_date <= date
				)
				self.assertGreaterEqual(round(deferred, 2), 0, f"line {line} on {date}")
			ledger = frappe.db.sql(
				"""select coalesce(sum(deferred_change), 0) from `tabPackage Ledger Entry`
				where company = %s and deferred_account = %s and is_cancelled = 0 and posting_date <= %s""",
				(COMPANY, DEFERRED, date),
			)[0][0]
			self.assertEqual(deferred_liability(COMPANY, DEFERRED, upto=date), round(ledger, 2), str(date))

	def test_value_returned_after_expiry_breaks_on_the_return_date(self):
		balance = sell_expiring(days_ago=30, valid_for_days=5)  # expired 25 days ago
		visit = make_invoice([(VISIT, 1)], posting_date=day(-28))
		self.assertEqual(visit.items[0].package_balance, balance.name)
		expire.expire_balances()
		balance.reload()
		self.assertEqual((balance.status, balance.breakage_amount), ("Expired", 585))
		first_breakage = balance.breakage_journal_entry
		self.assertEqual(journal_date(first_breakage), day(-24))

		credit_note = make_sales_return(visit.name)
		credit_note.set_posting_time = 1
		credit_note.posting_date = day(-5)
		credit_note.insert()
		credit_note.submit()
		balance.reload()
		self.assertEqual(balance.total_deferred, 135)

		outcome = expire.expire_balances()
		self.assertIn(balance.name, outcome["expired"])
		balance.reload()
		self.assertEqual((balance.total_deferred, balance.breakage_amount), (0, 720))
		second = [row for row in breakage_entries(balance.name) if row.journal_entry != first_breakage]
		self.assertEqual({(row.posting_date, row.deferred_change) for row in second}, {(day(-5), -135)})
		self.assertEqual(journal_date(second[0].journal_entry), day(-5))
		self.assertEqual(gl_entries(second[0].journal_entry), {DEFERRED: 135.0, VISIT_INCOME: -135.0})
		self.assert_never_negative(balance.name)
		self.assert_reconciled()

	def test_breakage_posts_after_the_frozen_date(self):
		balance = sell_expiring()  # expired 5 days ago: its breakage would be dated 4 days ago
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", day(-2))

		outcome = expire.expire_balances()
		self.assertEqual(outcome["failed"], [])
		balance.reload()
		self.assertEqual((balance.status, balance.breakage_amount), ("Expired", 720))
		self.assertEqual(journal_date(balance.breakage_journal_entry), day(-1))
		self.assertEqual(str(balance.breakage_date), str(day(-1)))
		self.assertEqual({row.posting_date for row in breakage_entries(balance.name)}, {day(-1)})
		self.assertFalse(balance.expiry_error)
		self.assert_never_negative(balance.name)
		self.assert_reconciled()

	def test_breakage_posts_after_a_closed_accounting_period(self):
		balance = sell_expiring()
		frappe.get_doc(
			{
				"doctype": "Accounting Period",
				"period_name": "PKT Closed Week",
				"company": COMPANY,
				"start_date": day(-6),
				"end_date": day(-3),
				"closed_documents": [{"document_type": "Journal Entry", "closed": 1}],
			}
		).insert(ignore_permissions=True)

		expire.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertEqual(journal_date(balance.breakage_journal_entry), day(-2))
		self.assertEqual({row.posting_date for row in breakage_entries(balance.name)}, {day(-2)})
		self.assert_never_negative(balance.name)
		self.assert_reconciled()

	def test_breakage_of_a_closed_year_posts_in_the_next_open_year(self):
		last_year = getdate(nowdate()).year - 1
		package = make_package(name="Year End Care", valid_for_days=30)
		purchase = make_invoice([(package.item, 1)], posting_date=f"{last_year}-11-01")
		pay(purchase)
		balance = frappe.get_doc("Package Balance", {"sales_invoice": purchase.name})
		self.assertEqual(str(balance.expiry_date), f"{last_year}-12-01")
		close_year(last_year)

		outcome = expire.expire_balances()
		self.assertEqual(outcome["failed"], [])
		balance.reload()
		self.assertEqual((balance.status, balance.breakage_amount), ("Expired", 720))
		self.assertEqual(journal_date(balance.breakage_journal_entry), getdate(f"{last_year + 1}-01-01"))
		self.assert_never_negative(balance.name)
		self.assert_reconciled()

	def test_a_failed_breakage_is_shown_and_retried_by_the_next_run(self):
		settings = frappe.get_single("Package Settings")
		settings.append("accounts", {"company": COMPANY, "breakage_income_account": BREAKAGE_INCOME})
		settings.save()
		balance = sell_expiring()
		frappe.db.set_value("Account", BREAKAGE_INCOME, "disabled", 1)

		outcome = expire.expire_balances()
		self.assertEqual(outcome["failed"], [balance.name])
		balance.reload()
		self.assertEqual((balance.status, balance.total_deferred), ("Active", 720))
		self.assertFalse(balance.breakage_journal_entry)
		self.assertIn(BREAKAGE_INCOME, balance.expiry_error)
		self.assertEqual(report_expiry_errors(balance), {balance.name: balance.expiry_error})
		self.assertTrue(
			frappe.db.exists(
				"Error Log", {"reference_doctype": "Package Balance", "reference_name": balance.name}
			)
		)
		self.assert_reconciled()

		frappe.db.set_value("Account", BREAKAGE_INCOME, "disabled", 0)
		outcome = expire.expire_balances()
		self.assertIn(balance.name, outcome["expired"])
		balance.reload()
		self.assertEqual((balance.status, balance.breakage_amount), ("Expired", 720))
		self.assertFalse(balance.expiry_error)
		self.assertEqual(report_expiry_errors(balance), {balance.name: None})
		self.assertEqual(
			gl_entries(balance.breakage_journal_entry), {DEFERRED: 720.0, BREAKAGE_INCOME: -720.0}
		)
		self.assert_reconciled()


class TestExpiryUnderLock(PackageTestCase):
	"""Issue 16 item 11. One transaction cannot race another, so the race is staged: the extension lands
	between the job picking the balance and locking it, where a concurrent commit would land."""

	def test_an_extension_committed_before_the_lock_wins(self):
		balance = sell_expiring()
		new_expiry = day(30)
		original = balance_state.lock_lines

		def extended_meanwhile(balance_names, lock=True):
			if balance.name in balance_names:
				frappe.db.set_value("Package Balance", balance.name, "expiry_date", new_expiry)
			return original(balance_names, lock=lock)

		with patch.object(balance_state, "lock_lines", extended_meanwhile):
			outcome = expire.expire_balances()
		self.assertNotIn(balance.name, outcome["expired"])
		balance.reload()
		self.assertEqual((balance.status, str(balance.expiry_date)), ("Active", str(new_expiry)))
		self.assertFalse(balance.breakage_journal_entry)
		self.assertFalse(breakage_entries(balance.name))
		self.assertEqual(balance.total_deferred, 720)
		self.assert_reconciled()

	def test_the_expiry_date_is_read_once_under_the_lock(self):
		balance = sell_expiring()
		reads = []
		original = frappe.db.get_value

		def watched(doctype, *args, **kwargs):
			if doctype == "Package Balance" and "expiry_date" in str((args, kwargs)):
				reads.append(args)  # a read of the expiry date outside the lock
			return original(doctype, *args, **kwargs)

		with patch.object(frappe.db, "get_value", watched):
			self.assertTrue(expire.expire_balance(balance.name, getdate(nowdate())))
		self.assertEqual(reads, [])


def reversal_of(journal_entry: str) -> frappe._dict:
	"""The submitted Journal Entry that reverses this one."""
	[reversal] = frappe.get_all(
		"Journal Entry",
		filters={"reversal_of": journal_entry, "docstatus": 1},
		fields=["name", "posting_date", "package_balance", "package_voucher_type", "package_voucher_no"],
		order_by="name asc",
	)
	return reversal


def close_journal_entries(start, end):
	"""An Accounting Period closed for Journal Entries only (invoices stay open)."""
	frappe.get_doc(
		{
			"doctype": "Accounting Period",
			"period_name": f"PKT Closed {start}",
			"company": COMPANY,
			"start_date": start,
			"end_date": end,
			"closed_documents": [{"document_type": "Journal Entry", "closed": 1}],
		}
	).insert(ignore_permissions=True)


class TestUndoInLockedPeriods(PackageTestCase):
	"""Issue 16 item 1, follow-up: an entry ERPNext will not cancel (locked period) is reversed on the
	first open date instead, the ledger with it, so undoing breakage is never refused."""

	def assert_books_agree(self, balance: str, never_negative: bool = True):
		"""Ledger and GL agree on the deferred revenue on every date the balance's ledger moved."""
		if never_negative:
			TestBreakageDates.assert_never_negative(self, balance)
		dates = frappe.get_all(
			"Package Ledger Entry",
			filters={"package_balance": balance, "is_cancelled": 0},
			pluck="posting_date",
			order_by="posting_date asc",
		)
		for date in sorted(set(dates)):
			ledger = frappe.db.sql(
				"""select coalesce(sum(deferred_change), 0) from `tabPackage Ledger Entry`
				where company = %s and deferred_account = %s and is_cancelled = 0 and posting_date <= %s""",
				(COMPANY, DEFERRED, date),
			)[0][0]
			self.assertEqual(deferred_liability(COMPANY, DEFERRED, upto=date), round(ledger, 2), str(date))
			# the Package Deferred Revenue report as of that date: the ledger's figure, nothing unexplained
			totals = deferred_revenue_totals(COMPANY, date)
			self.assertEqual(
				(round(totals["deferred"], 2), totals["difference"]), (round(ledger, 2), 0), str(date)
			)
		if max(dates) <= day(0):  # invariant_problems reads the report as of today
			self.assertEqual(invariant_problems(), [])

	def assert_breakage_reversed(self, balance, breakage_entry: str, on):
		"""The breakage entry stays submitted; a reversal dated ``on``, on the balance, swaps its lines."""
		self.assertEqual(frappe.db.get_value("Journal Entry", breakage_entry, "docstatus"), 1)
		reversal = reversal_of(breakage_entry)
		self.assertEqual(getdate(reversal.posting_date), on)
		self.assertEqual(reversal.package_balance, balance.name)
		self.assertEqual(
			gl_entries(reversal.name), {acc: -amount for acc, amount in gl_entries(breakage_entry).items()}
		)
		reversed_rows = frappe.get_all(
			"Package Ledger Entry",
			filters={"package_balance": balance.name, "event": "Breakage", "is_reversal": 1},
			fields=["posting_date", "deferred_change", "journal_entry"],
			order_by="creation asc",
		)
		self.assertEqual(
			{(row.posting_date, row.journal_entry) for row in reversed_rows}, {(on, reversal.name)}
		)
		self.assertEqual(round(sum(row.deferred_change for row in reversed_rows), 2), 720)
		return reversal

	def extend(self, balance, days=30):
		result = api.extend_expiry(balance.name, add_days(nowdate(), days), "Patient was in hospital")
		self.assertEqual(result["status"], "Active")
		balance.reload()
		self.assertEqual(
			(balance.status, balance.breakage_amount, balance.total_deferred), ("Active", 0, 720)
		)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720)

	def test_extension_reverses_breakage_in_a_frozen_period(self):
		balance = sell_expiring()  # breakage dated 4 days ago
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		self.assertEqual(journal_date(breakage_entry), day(-4))
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", day(-1))

		self.extend(balance)
		self.assert_breakage_reversed(balance, breakage_entry, on=day(0))
		self.assertEqual(balance.extensions[0].reversed_breakage_journal_entry, breakage_entry)
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

		invoice = make_invoice([(VISIT, 1)])
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		self.assert_reconciled()

	def test_extension_in_a_frozen_period_with_an_immutable_ledger(self):
		balance = sell_expiring()
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 1)
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", day(-1))

		self.extend(balance)
		self.assert_breakage_reversed(balance, breakage_entry, on=day(0))
		self.assertFalse(
			frappe.db.exists("Package Ledger Entry", {"package_balance": balance.name, "is_cancelled": 1})
		)
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

	def test_extension_reverses_breakage_in_a_closed_accounting_period(self):
		balance = sell_expiring()
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		close_journal_entries(day(-6), day(0))  # through today: the reversal waits for tomorrow

		self.extend(balance)
		self.assert_breakage_reversed(balance, breakage_entry, on=day(1))
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

	def test_extension_reverses_breakage_of_a_closed_year(self):
		last_year = getdate(nowdate()).year - 1
		package = make_package(name="Year End Care", valid_for_days=30)
		purchase = make_invoice([(package.item, 1)], posting_date=f"{last_year}-11-01")
		pay(purchase)
		balance = frappe.get_doc("Package Balance", {"sales_invoice": purchase.name})
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		self.assertEqual(journal_date(breakage_entry), getdate(f"{last_year}-12-02"))
		close_year(last_year)

		self.extend(balance)
		self.assert_breakage_reversed(balance, breakage_entry, on=day(0))
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

	def test_an_open_breakage_is_still_cancelled(self):
		balance = sell_expiring()
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", day(-5))  # before the breakage

		self.extend(balance)
		self.assertEqual(frappe.db.get_value("Journal Entry", breakage_entry, "docstatus"), 2)
		self.assertFalse(frappe.db.exists("Journal Entry", {"reversal_of": breakage_entry}))
		self.assertFalse(
			frappe.db.exists("Package Ledger Entry", {"package_balance": balance.name, "is_reversal": 1})
		)
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

	def test_refund_of_a_balance_broken_in_a_frozen_period(self):
		balance = sell_expiring()
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", day(-1))

		credit_note = make_sales_return(balance.sales_invoice)
		credit_note.insert()
		credit_note.submit()
		balance.reload()
		self.assertEqual((balance.status, balance.total_broken, balance.total_refunded), ("Refunded", 0, 720))
		self.assertEqual(frappe.db.get_value("Journal Entry", breakage_entry, "docstatus"), 1)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		for income in (VISIT_INCOME, PRODUCT_INCOME, LAB_INCOME):
			self.assertEqual(round(gl_balance(income), 2), 0, income)
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

		credit_note.cancel()  # the refund's own entry is open: cancelled as usual
		balance.reload()
		self.assertEqual((balance.status, balance.total_broken, balance.total_refunded), ("Expired", 720, 0))
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

	def test_cancelling_a_refund_whose_entry_lies_in_a_closed_period_reverses_it(self):
		balance = sell_expiring()
		expire.expire_balances()
		credit_note = make_sales_return(balance.sales_invoice)
		credit_note.set_posting_time = 1
		credit_note.posting_date = day(-2)
		credit_note.insert()
		credit_note.submit()
		refund_entry = frappe.db.get_value(
			"Journal Entry", {"package_voucher_no": credit_note.name, "docstatus": 1}, "name"
		)
		self.assertEqual(journal_date(refund_entry), day(-2))
		close_journal_entries(day(-3), day(-1))  # the credit note's own type stays open

		credit_note.cancel()
		balance.reload()
		self.assertEqual((balance.status, balance.total_broken, balance.total_refunded), ("Expired", 720, 0))
		self.assertEqual(frappe.db.get_value("Journal Entry", refund_entry, "docstatus"), 1)
		reversal = reversal_of(refund_entry)
		self.assertEqual(getdate(reversal.posting_date), day(0))
		self.assertEqual(
			(reversal.package_voucher_type, reversal.package_voucher_no), ("Sales Invoice", credit_note.name)
		)
		self.assertEqual(
			gl_entries(reversal.name), {acc: -amount for acc, amount in gl_entries(refund_entry).items()}
		)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_books_agree(balance.name)
		self.assert_reconciled()

	def test_cancelling_a_purchase_whose_breakage_lies_in_a_closed_period_reverses_it(self):
		balance = sell_expiring()
		expire.expire_balances()
		balance.reload()
		breakage_entry = balance.breakage_journal_entry
		close_journal_entries(day(-5), day(-3))  # the purchase, 10 days ago, stays open
		purchase = frappe.get_doc("Sales Invoice", balance.sales_invoice)
		cancel_payments(purchase)

		purchase.reload()
		purchase.cancel()
		balance.reload()
		self.assertEqual(balance.status, "Cancelled")
		self.assert_breakage_reversed(balance, breakage_entry, on=day(0))
		for income in (VISIT_INCOME, PRODUCT_INCOME, LAB_INCOME, DEFERRED):
			self.assertEqual(round(gl_balance(income), 2), 0, income)
		# ERPNext takes the whole purchase out of the books, so the breakage alone stands until
		# its reversal: ledger and GL still agree on every date
		self.assert_books_agree(balance.name, never_negative=False)
		self.assert_reconciled()
