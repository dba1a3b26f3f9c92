# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Opening balances: patients' partly used packages brought in from the practice's old system.

Package "Postpartum Care" (4 visits at 135, a kit at 72, 2 labs at 54). Ava bought one in
the old system and has 3 visits (405) and a lab (54) left; Ben has a visit (135) and the
kit (72) left. The practice goes live on ERPNext ten days ago.
"""

import csv
import io
from contextlib import contextmanager
from unittest.mock import patch

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, getdate, nowdate

from package_bundles import api
from package_bundles.exceptions import (
	BalanceAlreadyRedeemedError,
	OpeningAlreadyImportedError,
	OpeningImportError,
	RefundNotAllowedError,
)
from package_bundles.flows import expire
from package_bundles.ledger.journal_entries import temporary_opening_account
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
)
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, invariant_problems
from package_bundles.tests.fixtures import (
	ABBR,
	BOTOX,
	COMPANY,
	DEBTORS,
	DEFERRED,
	KIT,
	LAB,
	OTHER_COMPANY,
	PRODUCT_INCOME,
	SALES_TAX,
	STORES,
	VISIT,
	VISIT_INCOME,
	close_year,
	get_or_make,
	gl_balance,
	gl_entries,
	make_account,
	make_invoice,
	make_package,
	reset_settings,
)
from package_bundles.tests.fixtures import make_patient as make_named_patient

test_ignore = IGNORED_TEST_RECORDS

WRITTEN = ("Package Opening Import", "Package Balance", "Package Ledger Entry", "Journal Entry", "GL Entry")


def day(offset: int):
	return add_days(nowdate(), offset)


def make_patient() -> str:
	"""A patient of this test alone, so nothing another test committed shares their balances."""
	return make_named_patient(f"PKT Opening Patient {frappe.generate_hash(length=6)}")


def line(customer, reference, purchase_date, expiry_date, item_code, qty, value, package="Postpartum Care"):
	return {
		"customer": customer,
		"prepaid_package": package,
		"original_reference": reference,
		"purchase_date": purchase_date,
		"expiry_date": expiry_date,
		"item_code": item_code,
		"units_left": qty,
		"value_left": value,
	}


class OpeningTestCase(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.package = make_package()
		self.ava, self.ben = make_patient(), make_patient()

	def lines(self, expiry_date=None):
		expiry_date = expiry_date or day(200)
		return [
			line(self.ava, "OLD-1041", day(-100), expiry_date, VISIT, 3, 405),
			line(self.ava, "OLD-1041", day(-100), expiry_date, LAB, 1, 54),
			line(self.ben, "OLD-1057", day(-50), None, VISIT, 1, 135),
			line(self.ben, "OLD-1057", day(-50), None, KIT, 1, 72),
		]

	def import_balances(self, lines=None, posting_date=None, submit=True):
		doc = frappe.get_doc(
			{
				"doctype": "Package Opening Import",
				"company": COMPANY,
				"posting_date": posting_date or day(-10),
				"lines": lines or self.lines(),
			}
		)
		doc.insert()
		if submit:
			doc.submit()
		return doc

	def balance_of(self, customer):
		return frappe.get_doc("Package Balance", {"customer": customer, "is_opening": 1})

	def items_of(self, balance) -> list[tuple]:
		balance.reload()
		return [
			(
				item.item_code,
				item.qty_purchased,
				item.qty_remaining,
				item.allocated_amount,
				item.deferred_amount,
			)
			for item in balance.items
		]

	def assert_books_agree(self):
		"""Ledger, balances, report and GL tell the same story (SPEC §4)."""
		self.assertEqual(invariant_problems(COMPANY), [])
		self.assertEqual(get_totals(COMPANY)["difference"], 0)
		self.assert_reconciled()


class TestOpeningImport(OpeningTestCase):
	def test_import_brings_in_one_balance_per_purchase_and_one_journal_entry(self):
		doc = self.import_balances()

		ava = self.balance_of(self.ava)
		self.assertEqual(
			(ava.is_opening, ava.opening_reference, ava.opening_import, ava.sales_invoice, ava.status),
			(1, "OLD-1041", doc.name, None, "Active"),
		)
		self.assertEqual(
			(str(ava.purchase_date), str(ava.expiry_date)), (str(getdate(day(-100))), str(getdate(day(200))))
		)
		self.assertEqual(self.items_of(ava), [(VISIT, 3, 3, 405, 405), (LAB, 1, 1, 54, 54)])
		ben = self.balance_of(self.ben)
		self.assertEqual(self.items_of(ben), [(VISIT, 1, 1, 135, 135), (KIT, 1, 1, 72, 72)])
		self.assertIsNone(ben.expiry_date)
		self.assertEqual(
			[row.package_balance for row in frappe.get_doc(doc.doctype, doc.name).lines],
			[ava.name, ava.name, ben.name, ben.name],
		)

		entries = frappe.get_all(
			"Package Ledger Entry",
			filters={"voucher_no": doc.name},
			fields=["event", "qty_change", "deferred_change", "journal_entry", "posting_date"],
			order_by="deferred_change desc",
		)
		self.assertEqual(
			[(e.event, e.qty_change, e.deferred_change) for e in entries],
			[("Opening", 3, 405), ("Opening", 1, 135), ("Opening", 1, 72), ("Opening", 1, 54)],
		)
		self.assertEqual({e.journal_entry for e in entries}, {doc.journal_entry})
		self.assertEqual({str(e.posting_date) for e in entries}, {str(getdate(day(-10)))})

		journal_entry = frappe.get_doc("Journal Entry", doc.journal_entry)
		self.assertEqual(
			(journal_entry.voucher_type, journal_entry.is_opening, journal_entry.package_voucher_no),
			("Opening Entry", "Yes", doc.name),
		)
		self.assertEqual(
			gl_entries(doc.journal_entry), {temporary_opening_account(COMPANY): 666.0, DEFERRED: -666.0}
		)
		self.assertEqual((doc.total_units_left, doc.total_value_left), (6, 666))
		self.assert_books_agree()

	def test_bad_rows_are_refused_naming_the_row_and_nothing_is_written(self):
		upon_purchase = make_package(
			name="Immediate Care", items=[(VISIT, 2)], price=300, revenue_recognition="Upon Purchase"
		)
		good = line(self.ava, "OLD-1", day(-100), day(100), VISIT, 2, 270)
		cases = {
			"negative units": (line(self.ben, "OLD-2", day(-50), None, VISIT, -1, 0), "cannot be negative"),
			"fractional units": (line(self.ben, "OLD-2", day(-50), None, VISIT, 1.5, 135), "whole units"),
			"value without units": (line(self.ben, "OLD-2", day(-50), None, VISIT, 0, 135), "no units left"),
			"no units at all": (line(self.ben, "OLD-2", day(-50), None, VISIT, 0, 0), "no units left"),
			"negative value": (line(self.ben, "OLD-2", day(-50), None, VISIT, 1, -5), "cannot be negative"),
			"value below a cent": (line(self.ben, "OLD-2", day(-50), None, VISIT, 1, 10.005), "decimals"),
			"expiry before purchase": (
				line(self.ben, "OLD-2", day(-50), day(-60), VISIT, 1, 135),
				"before the purchase date",
			),
			"expired before the opening date": (
				line(self.ben, "OLD-2", day(-50), day(-20), VISIT, 1, 135),
				"before the opening date",
			),
			"purchased after the opening date": (
				line(self.ben, "OLD-2", day(-5), None, VISIT, 1, 135),
				"after the opening date",
			),
			"item not in the package": (
				line(self.ben, "OLD-2", day(-50), None, BOTOX, 1, 12),
				"is not part of package",
			),
			"value on an upon purchase package": (
				line(self.ben, "OLD-2", day(-50), None, VISIT, 1, 150, package=upon_purchase.name),
				"upon purchase",
			),
			"dates differing within one balance": (
				line(self.ava, "OLD-1", day(-90), day(100), LAB, 1, 54),
				"dates differ from row #1",
			),
			"an item twice in one balance": (
				line(self.ava, "OLD-1", day(-100), day(100), VISIT, 1, 135),
				"listed twice",
			),
		}
		before = self.count_documents(*WRITTEN)
		for case, (bad, message) in cases.items():
			with self.subTest(case):
				with self.assertRaises(OpeningImportError) as refused:
					self.import_balances(lines=[good, bad])
				self.assertIn("Row #2", str(refused.exception))
				self.assertIn(message, str(refused.exception))
				self.assertEqual(self.count_documents(*WRITTEN), before)

		# every bad row is named at once
		with self.assertRaises(OpeningImportError) as refused:
			self.import_balances(
				lines=[
					line(self.ben, "OLD-2", day(-50), None, VISIT, -1, 0),
					good,
					line(self.ben, "OLD-3", day(-50), day(-60), LAB, 1, 54),
				]
			)
		self.assertIn("Row #1", str(refused.exception))
		self.assertIn("Row #3", str(refused.exception))
		self.assertEqual(self.count_documents(*WRITTEN), before)

	def test_unknown_customer_or_item_is_refused_naming_the_row(self):
		before = self.count_documents(*WRITTEN)
		lines = self.lines()
		lines[1]["customer"] = "PKT Nobody"
		lines[3]["item_code"] = "PKT Unknown Item"
		with self.assertRaises(frappe.LinkValidationError) as refused:
			self.import_balances(lines=lines)
		self.assertIn("Row #2: Customer: PKT Nobody", str(refused.exception))
		self.assertIn("Row #4: Item: PKT Unknown Item", str(refused.exception))
		self.assertEqual(self.count_documents(*WRITTEN), before)

	def test_the_same_balances_are_never_imported_twice(self):
		draft = self.import_balances(submit=False)
		before = self.count_documents(*WRITTEN)
		with self.assertRaises(OpeningAlreadyImportedError) as refused:
			self.import_balances()
		self.assertIn(draft.name, str(refused.exception))
		self.assertEqual(self.count_documents(*WRITTEN), before)

		draft.submit()
		before = self.count_documents(*WRITTEN)
		for reference in ("OLD-1041", " old-1041 "):  # the same reference, however it is typed
			with self.subTest(reference=reference):
				again = [line(self.ava, reference, day(-100), day(200), LAB, 1, 54)]
				with self.assertRaises(OpeningAlreadyImportedError):
					self.import_balances(lines=again)
				self.assertEqual(self.count_documents(*WRITTEN), before)

		# a cancelled import can be brought in again (amended)
		draft.reload()
		draft.cancel()
		amended = frappe.copy_doc(draft, ignore_no_copy=False)
		amended.docstatus = 0
		amended.amended_from = draft.name
		amended.insert()
		amended.submit()
		self.assertEqual(
			frappe.db.count("Package Balance", {"opening_import": amended.name, "status": "Active"}), 2
		)
		self.assert_books_agree()

	def test_cancel_undoes_an_unused_import_and_is_refused_once_a_balance_is_used(self):
		doc = self.import_balances()
		visit = make_invoice([(VISIT, 1)], customer=self.ava, posting_date=day(-5))
		self.assertEqual(visit.items[0].package_balance, self.balance_of(self.ava).name)

		before = self.count_documents(*WRITTEN)
		with self.assertRaises(BalanceAlreadyRedeemedError):
			frappe.get_doc(doc.doctype, doc.name).cancel()
		self.assertEqual(self.count_documents(*WRITTEN), before)
		self.assertEqual(frappe.db.get_value(doc.doctype, doc.name, "docstatus"), 1)

		visit.cancel()
		frappe.get_doc(doc.doctype, doc.name).cancel()
		self.assertEqual(
			{b.status for b in frappe.get_all("Package Balance", {"opening_import": doc.name}, ["status"])},
			{"Cancelled"},
		)
		self.assertEqual(frappe.db.get_value("Journal Entry", doc.journal_entry, "docstatus"), 2)
		self.assertFalse(
			frappe.db.exists("Package Ledger Entry", {"voucher_no": doc.name, "is_cancelled": 0})
		)
		self.assert_books_agree()


@contextmanager
def data_import_inside_the_test():
	"""Data Import commits after each record and rolls back on a failure; here both stay inside
	the test's transaction (a savepoint per record), which tearDown rolls back."""
	from frappe.core.doctype.data_import.importer import Importer

	db = frappe.local.db
	process_doc, rollback = Importer.process_doc, db.rollback

	def process_in_savepoint(self, doc):
		db.savepoint("package_data_import")
		return process_doc(self, doc)

	def rollback_record(*args, **kwargs):
		rollback(save_point="package_data_import")

	with (
		patch.object(Importer, "process_doc", process_in_savepoint),
		patch.object(db, "commit", lambda *args, **kwargs: None),
		patch.object(db, "rollback", rollback_record),
	):
		yield


class TestDataImport(OpeningTestCase):
	HEADER = (
		"Company",
		"Opening Date",
		"Customer (Balance Lines)",
		"Prepaid Package (Balance Lines)",
		"Original Reference (Balance Lines)",
		"Purchase Date (Balance Lines)",
		"Expiry Date (Balance Lines)",
		"Item (Balance Lines)",
		"Units Left (Balance Lines)",
		"Deferred Value Left (Balance Lines)",
	)

	def csv_file(self, lines) -> str:
		"""The file a practice exports from its old system: one row per balance line."""
		out = io.StringIO()
		writer = csv.writer(out)
		writer.writerow(self.HEADER)
		for index, row in enumerate(lines):
			parent = (COMPANY, str(getdate(day(-10)))) if index == 0 else ("", "")
			writer.writerow(
				(
					*parent,
					row["customer"],
					row["prepaid_package"],
					row["original_reference"],
					str(getdate(row["purchase_date"])),
					str(getdate(row["expiry_date"])) if row["expiry_date"] else "",
					row["item_code"],
					row["units_left"],
					row["value_left"],
				)
			)
		file = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": f"opening-{frappe.generate_hash(length=6)}.csv",
				"content": out.getvalue(),
				"is_private": 1,
			}
		).insert()
		return file.file_url

	def run_data_import(self, file_url: str):
		data_import = frappe.get_doc(
			{
				"doctype": "Data Import",
				"reference_doctype": "Package Opening Import",
				"import_type": "Insert New Records",
				"submit_after_import": 1,
				"import_file": file_url,
			}
		).insert()
		with data_import_inside_the_test():
			data_import.start_import()
		data_import.reload()
		logs = frappe.get_all(
			"Data Import Log",
			filters={"data_import": data_import.name},
			fields=["success", "docname", "messages", "row_indexes"],
			order_by="log_index asc",
		)
		return data_import, logs

	def test_a_file_is_imported_once_and_the_same_file_again_creates_nothing(self):
		file_url = self.csv_file(self.lines())
		data_import, logs = self.run_data_import(file_url)
		self.assertEqual(data_import.status, "Success", logs)
		self.assertEqual(
			[(log.success, frappe.parse_json(log.row_indexes)) for log in logs], [(1, [2, 3, 4, 5])]
		)
		doc = frappe.get_doc("Package Opening Import", logs[0].docname)
		self.assertEqual((doc.docstatus, len(doc.lines), doc.total_value_left), (1, 4, 666))
		self.assertEqual(frappe.db.count("Package Balance", {"opening_import": doc.name}), 2)
		self.assertEqual(gl_entries(doc.journal_entry)[DEFERRED], -666)
		self.assert_books_agree()

		before = self.count_documents(*WRITTEN)
		again, logs = self.run_data_import(file_url)
		self.assertEqual(again.status, "Error")
		self.assertEqual([log.success for log in logs], [0])
		self.assertIn("already imported", logs[0].messages)
		self.assertIn(doc.name, logs[0].messages)
		self.assertEqual(self.count_documents(*WRITTEN), before)

	def test_a_file_with_a_bad_row_creates_nothing_and_says_which_row(self):
		lines = self.lines()
		lines[2]["units_left"] = -1
		before = self.count_documents(*WRITTEN)
		data_import, logs = self.run_data_import(self.csv_file(lines))
		self.assertEqual(data_import.status, "Error")
		self.assertIn("Row #3", logs[0].messages)
		self.assertIn("cannot be negative", logs[0].messages)
		self.assertEqual(self.count_documents(*WRITTEN), before)

		lines = self.lines()
		lines[1]["customer"] = "PKT Nobody"
		data_import, logs = self.run_data_import(self.csv_file(lines))
		# Data Import checks links before it imports anything: the file is refused as a whole
		self.assertEqual(logs, [])
		self.assertIn("pkt nobody", (data_import.template_warnings or "").lower())
		self.assertEqual(self.count_documents(*WRITTEN), before)


class TestOpeningBalanceLifecycle(OpeningTestCase):
	"""Imported balances redeem, return, expire, break, extend and refund like any other."""

	def test_opening_balances_redeem_and_take_returns(self):
		self.import_balances()
		ava, ben = self.balance_of(self.ava), self.balance_of(self.ben)

		visit = make_invoice([(VISIT, 1)], customer=self.ava, posting_date=day(-5))
		self.assertEqual((visit.items[0].package_balance, visit.items[0].rate), (ava.name, 0))
		journal_entry = frappe.db.get_value(
			"Package Redemption", {"sales_invoice": visit.name}, "journal_entry"
		)
		self.assertEqual(gl_entries(journal_entry), {DEFERRED: 135.0, VISIT_INCOME: -135.0})

		kit = make_invoice(
			[(KIT, 1)], customer=self.ben, posting_date=day(-4), update_stock=1, set_warehouse=STORES
		)
		self.assertEqual(kit.items[0].package_balance, ben.name)
		journal_entry = frappe.db.get_value(
			"Package Redemption", {"sales_invoice": kit.name}, "journal_entry"
		)
		self.assertEqual(gl_entries(journal_entry), {DEFERRED: 72.0, PRODUCT_INCOME: -72.0})
		self.assertEqual(self.items_of(ava), [(VISIT, 3, 2, 405, 270), (LAB, 1, 1, 54, 54)])
		self.assertEqual(self.items_of(ben), [(VISIT, 1, 1, 135, 135), (KIT, 1, 0, 72, 0)])
		self.assert_books_agree()

		returned = make_sales_return(visit.name)
		returned.insert()
		returned.submit()
		self.assertEqual(self.items_of(ava), [(VISIT, 3, 3, 405, 405), (LAB, 1, 1, 54, 54)])
		self.assert_books_agree()

	def test_opening_balance_expires_with_breakage_and_extends(self):
		self.import_balances(lines=self.lines(expiry_date=day(-5)))
		ava = self.balance_of(self.ava)

		outcome = expire.expire_balances()
		self.assertIn(ava.name, outcome["expired"])
		ava.reload()
		self.assertEqual((ava.status, ava.breakage_amount), ("Expired", 459))
		self.assertEqual(str(ava.breakage_date), str(getdate(day(-4))))
		self.assertEqual(gl_entries(ava.breakage_journal_entry)[DEFERRED], 459)
		self.assert_books_agree()

		api.extend_expiry(ava.name, day(30), "Patient was abroad")
		ava.reload()
		self.assertEqual((ava.status, ava.breakage_amount, ava.total_deferred), ("Active", 0, 459))
		self.assertEqual(frappe.db.get_value("Journal Entry", outcome_journal(ava), "docstatus"), 2)
		self.assert_books_agree()

	def test_a_credit_note_without_an_invoice_to_return_against_refunds_an_opening_balance(self):
		self.import_balances()
		ava = self.balance_of(self.ava)

		credit_note = make_invoice(
			[(self.package.item, -1)], customer=self.ava, posting_date=day(-3), is_return=1, submit=False
		)
		row = credit_note.items[0]
		self.assertEqual(
			(row.rate, row.refunded_package_balances, row.income_account), (459, ava.name, DEFERRED)
		)
		credit_note.submit()

		ava.reload()
		self.assertEqual((ava.status, ava.total_refunded, ava.total_deferred), ("Refunded", 459, 0))
		self.assertEqual(ava.refund_invoice, credit_note.name)
		refund = frappe.get_all(
			"Package Ledger Entry",
			filters={"voucher_no": credit_note.name},
			fields=["event", "deferred_change", "purchase_invoice"],
			order_by="deferred_change asc",
		)
		self.assertEqual([(e.event, e.deferred_change) for e in refund], [("Refund", -405), ("Refund", -54)])
		# visits and labs are exempt: the refund carries no tax
		self.assertEqual(gl_entries(credit_note.name), {DEBTORS: -459.0, DEFERRED: 459.0})
		self.assert_books_agree()

		credit_note.cancel()
		ava.reload()
		self.assertEqual((ava.status, ava.total_deferred), ("Active", 459))
		self.assert_books_agree()

	def test_refunding_an_opening_balance_returns_the_tax_its_items_bear(self):
		self.import_balances()
		credit_note = make_invoice([(self.package.item, -1)], customer=self.ben, is_return=1)
		# the visit (135) is exempt, the kit (72) taxed at 8%: 5.76
		self.assertEqual(gl_entries(credit_note.name), {DEBTORS: -212.76, DEFERRED: 207.0, SALES_TAX: 5.76})
		self.assertEqual(self.balance_of(self.ben).status, "Refunded")
		self.assert_books_agree()

	def test_a_used_opening_balance_refunds_its_unused_value_only_where_settings_allow(self):
		self.import_balances()
		make_invoice([(VISIT, 1)], customer=self.ava, posting_date=day(-5))
		with self.assertRaises(RefundNotAllowedError):
			make_invoice([(self.package.item, -1)], customer=self.ava, is_return=1)

		reset_settings(allow_unused_refund=1)
		credit_note = make_invoice([(self.package.item, -1)], customer=self.ava, is_return=1)
		self.assertEqual(credit_note.items[0].rate, 324)  # 2 visits (270) and the lab (54) left
		self.assertEqual(gl_entries(credit_note.name), {DEBTORS: -324.0, DEFERRED: 324.0})
		self.assert_books_agree()

	def test_a_credit_note_without_an_invoice_needs_an_opening_balance(self):
		before = self.count_documents(*WRITTEN)
		with self.assertRaises(RefundNotAllowedError) as refused:
			make_invoice([(self.package.item, -1)], customer=self.ava, is_return=1)
		self.assertIn("opening balances", str(refused.exception))
		self.assertEqual(self.count_documents(*WRITTEN), before)


def outcome_journal(balance) -> str:
	"""The breakage Journal Entry an extension reversed."""
	return balance.extensions[-1].reversed_breakage_journal_entry


class TestOpeningAccount(OpeningTestCase):
	"""Issue 16 item 6: practices already on ERPNext post against the account that holds the prepayments."""

	def clearing_account(self) -> str:
		return make_account("PKT Opening Clearing", ABBR, "Current Liabilities")

	def import_against(self, account, posting_date=None, submit=True):
		doc = frappe.get_doc(
			{
				"doctype": "Package Opening Import",
				"company": COMPANY,
				"posting_date": posting_date or day(-10),
				"opening_account": account,
				"lines": self.lines(),
			}
		)
		doc.insert()
		if submit:
			doc.submit()
		return doc

	def test_the_default_is_the_temporary_opening_account_and_an_opening_entry(self):
		doc = self.import_balances()
		self.assertEqual(doc.opening_account, temporary_opening_account(COMPANY))
		journal_entry = frappe.get_doc("Journal Entry", doc.journal_entry)
		self.assertEqual((journal_entry.voucher_type, journal_entry.is_opening), ("Opening Entry", "Yes"))
		self.assertEqual(
			gl_entries(doc.journal_entry), {temporary_opening_account(COMPANY): 666.0, DEFERRED: -666.0}
		)
		self.assert_books_agree()

	def test_after_a_period_closing_voucher_a_clearing_account_takes_the_import_and_cancels(self):
		close_year(getdate(nowdate()).year - 1)
		clearing = self.clearing_account()
		doc = self.import_against(clearing, posting_date=nowdate())

		journal_entry = frappe.get_doc("Journal Entry", doc.journal_entry)
		self.assertEqual((journal_entry.voucher_type, journal_entry.is_opening), ("Journal Entry", "No"))
		self.assertEqual(gl_entries(doc.journal_entry), {clearing: 666.0, DEFERRED: -666.0})
		self.assertEqual(
			set(frappe.get_all("GL Entry", {"voucher_no": doc.journal_entry}, pluck="is_opening")), {"No"}
		)
		self.assertEqual(self.balance_of(self.ava).status, "Active")
		self.assert_books_agree()

		frappe.get_doc(doc.doctype, doc.name).cancel()
		self.assertEqual(frappe.db.get_value("Journal Entry", doc.journal_entry, "docstatus"), 2)
		self.assertEqual(round(gl_balance(clearing), 2), 0)
		self.assertEqual(
			{b.status for b in frappe.get_all("Package Balance", {"opening_import": doc.name}, ["status"])},
			{"Cancelled"},
		)
		self.assert_books_agree()

	def test_after_a_period_closing_voucher_temporary_opening_is_refused_with_the_way_out(self):
		close_year(getdate(nowdate()).year - 1)
		before = self.count_documents(*WRITTEN)
		with self.assertRaises(OpeningImportError) as refused:
			self.import_balances(posting_date=nowdate())
		self.assertIn("clearing", str(refused.exception))
		self.assertEqual(self.count_documents(*WRITTEN), before)

	def test_the_account_must_be_a_ledger_account_of_the_balance_sheet_of_the_company(self):
		cases = {
			"income account": (VISIT_INCOME, "not a balance sheet account"),
			"group account": (f"Current Liabilities - {ABBR}", "group account"),
			"another company's account": (
				frappe.db.get_value("Account", {"company": OTHER_COMPANY, "account_type": "Temporary"}),
				"belongs to company",
			),
			"receivable account": (DEBTORS, "party"),
			"the deferred revenue account": (DEFERRED, "deferred revenue account"),
		}
		before = self.count_documents(*WRITTEN)
		for case, (account_name, message) in cases.items():
			with self.subTest(case):
				with self.assertRaises(OpeningImportError) as refused:
					self.import_against(account_name)
				self.assertIn(message, str(refused.exception))
				self.assertEqual(self.count_documents(*WRITTEN), before)

	def test_an_opening_date_in_frozen_books_is_refused(self):
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", day(-5))
		with self.assertRaises(OpeningImportError) as refused:
			self.import_against(self.clearing_account(), posting_date=day(-10))
		self.assertIn("frozen or closed", str(refused.exception))
		doc = self.import_against(self.clearing_account(), posting_date=day(-4))
		self.assertEqual(
			str(frappe.db.get_value("Journal Entry", doc.journal_entry, "posting_date")), str(day(-4))
		)
