# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Breakage methods (issue 21): At expiry, and Proportional (IFRS 15 B46, ASC 606-10-55-48).

The worked example of SPEC §6: Postpartum Care sold for 720.00, its visits line 540.00 for 4
visits (135.00 each), the kit 72.00, the labs 108.00. With an expected breakage rate of 20% a
visit recognizes 135.00 and, in the same Journal Entry, 135.00 x 0.2 / 0.8 = 33.75 of breakage;
what is left when the balance expires is broken then (the true-up). Whatever gives a use back
gives its breakage back. After each step the GL, the ledger, the balances and the Package
Deferred Revenue report agree.
"""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, getdate, nowdate

from package_bundles import api
from package_bundles.exceptions import BreakageRateError
from package_bundles.flows import expire
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	execute as deferred_revenue_report,
)
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
)
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	balances_of,
	deferred_liability,
	invariant_problems,
)
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	DEFERRED,
	VISIT,
	VISIT_INCOME,
	account,
	gl_balance,
	gl_entries,
	make_invoice,
	make_package,
	make_patient,
	pay,
	reset_settings,
)

test_ignore = IGNORED_TEST_RECORDS

BREAKAGE_INCOME = account("Breakage Income")
PROPORTIONAL = "Proportional"
AT_EXPIRY = "At expiry"


def day(offset: int):
	return getdate(add_days(nowdate(), offset))


def settings_row(**values) -> dict:
	return {"company": COMPANY, "breakage_income_account": BREAKAGE_INCOME, **values}


def sell(method=PROPORTIONAL, rate=20, days_ago=0, name="Postpartum Care", customer=CUSTOMER, **values):
	"""One Postpartum Care balance, paid; ``method`` None leaves the package's method blank."""
	terms = {"breakage_method": method or "", "expected_breakage_rate": rate if method == PROPORTIONAL else 0}
	package = make_package(name=name, **terms, **values)
	purchase = make_invoice([(package.item, 1)], customer=customer, posting_date=day(-days_ago))
	pay(purchase)
	[balance] = balances_of(purchase)
	return balance


def visit(qty=1, days_ago=0, customer=None):
	values = {"customer": customer} if customer else {}
	return make_invoice([(VISIT, qty)], posting_date=day(-days_ago), **values)


def ledger_of(voucher_no: str) -> list[tuple]:
	return [
		(row.event, row.qty_change, row.deferred_change, row.revenue_change, row.income_account)
		for row in frappe.get_all(
			"Package Ledger Entry",
			filters={"voucher_no": voucher_no, "is_cancelled": 0},
			fields=["event", "qty_change", "deferred_change", "revenue_change", "income_account"],
			order_by="creation asc, event desc",
		)
	]


def journal_entries_of(voucher_no: str) -> set[str]:
	return set(
		frappe.get_all(
			"Package Ledger Entry",
			filters={"voucher_no": voucher_no, "is_cancelled": 0, "journal_entry": ("is", "set")},
			pluck="journal_entry",
		)
	)


def visits_line(balance) -> tuple:
	"""The visits line as stored: recognized, broken (of it with use), refunded, deferred."""
	balance.reload()
	line = next(item for item in balance.items if item.item_code == VISIT)
	return (
		line.recognized_amount,
		line.breakage_amount,
		line.breakage_with_use_amount,
		line.refunded_amount,
		line.deferred_amount,
	)


class BreakageTestCase(PackageTestCase):
	def setUp(self):
		super().setUp()
		reset_settings(accounts=[settings_row()])

	def assert_books_agree(self, balance=None):
		"""SPEC §4: GL deferred = ledger deferred = the Package Deferred Revenue report, and every
		stored state is what the ledger folds to; the balance's lines as the report shows them."""
		self.assertEqual(invariant_problems(), [])
		ledger = frappe.db.sql(
			"""select coalesce(sum(deferred_change), 0) from `tabPackage Ledger Entry`
			where company = %s and deferred_account = %s and is_cancelled = 0""",
			(COMPANY, DEFERRED),
		)[0][0]
		totals = get_totals(COMPANY)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), round(ledger, 2))
		self.assertEqual((totals["deferred"], totals["difference"]), (round(ledger, 2), 0))
		if balance is None:
			return
		balance.reload()
		_columns, rows, *_rest = deferred_revenue_report({"company": COMPANY, "customer": balance.customer})
		shown = {
			row["item_code"]: (row["recognized"], row["broken"], row["refunded"], row["deferred"])
			for row in rows
			if row["package_balance"] == balance.name
		}
		stored = {
			item.item_code: (
				item.recognized_amount,
				item.breakage_amount,
				item.refunded_amount,
				item.deferred_amount,
			)
			for item in balance.items
		}
		self.assertEqual(shown, stored)


class TestProportionalRedemption(BreakageTestCase):
	def test_a_visit_recognizes_135_and_33_75_of_breakage_in_one_journal_entry(self):
		balance = sell()
		self.assertEqual(
			(balance.breakage_method, balance.breakage_rate, balance.breakage_rate_source),
			(PROPORTIONAL, 20, "Entered"),
		)
		invoice = visit()
		self.assertEqual(invoice.items[0].package_balance, balance.name)

		[journal_entry] = journal_entries_of(invoice.name)
		self.assertEqual(
			gl_entries(journal_entry), {DEFERRED: 168.75, VISIT_INCOME: -135.0, BREAKAGE_INCOME: -33.75}
		)
		self.assertEqual(
			ledger_of(invoice.name),
			[
				("Redemption", -1, -135, 135, VISIT_INCOME),
				("Breakage With Use", 0, -33.75, 33.75, BREAKAGE_INCOME),
			],
		)
		self.assertEqual(visits_line(balance), (135, 33.75, 33.75, 0, 371.25))
		self.assertEqual((balance.total_broken, balance.total_deferred), (33.75, 551.25))
		# the redemption log keeps the value of the visit, which a return gives back
		self.assertEqual(
			frappe.db.get_value("Package Redemption", {"sales_invoice": invoice.name}, "amount"), 135
		)
		self.assert_books_agree(balance)

	def test_at_expiry_recognizes_the_visit_alone_as_before(self):
		for method in (AT_EXPIRY, None):  # blank: the company's default, At expiry
			patient = make_patient(f"PKT Breakage Patient {frappe.generate_hash(length=6)}")
			balance = sell(method=method, name=f"Postpartum Care {method or 'Default'}", customer=patient)
			self.assertEqual((balance.breakage_method, balance.breakage_rate), (AT_EXPIRY, 0))
			invoice = visit(customer=patient)
			self.assertEqual(invoice.items[0].package_balance, balance.name)
			[journal_entry] = journal_entries_of(invoice.name)
			self.assertEqual(gl_entries(journal_entry), {DEFERRED: 135.0, VISIT_INCOME: -135.0})
			self.assertEqual([row[0] for row in ledger_of(invoice.name)], ["Redemption"])
			self.assertEqual(visits_line(balance), (135, 0, 0, 0, 405))
			self.assert_books_agree(balance)

	def test_a_package_without_a_method_takes_its_companys_default(self):
		reset_settings(accounts=[settings_row(breakage_method=PROPORTIONAL, expected_breakage_rate=20)])
		balance = sell(method=None)
		self.assertEqual((balance.breakage_method, balance.breakage_rate), (PROPORTIONAL, 20))
		self.assertIn(COMPANY, balance.breakage_rate_source)
		[journal_entry] = journal_entries_of(visit().name)
		self.assertEqual(
			gl_entries(journal_entry), {DEFERRED: 168.75, VISIT_INCOME: -135.0, BREAKAGE_INCOME: -33.75}
		)
		self.assert_books_agree(balance)

	def test_with_breakage_off_a_proportional_package_sells_at_expiry(self):
		reset_settings(recognize_breakage=0, accounts=[settings_row()])
		balance = sell()
		self.assertEqual((balance.breakage_method, balance.breakage_rate), (AT_EXPIRY, 0))
		[journal_entry] = journal_entries_of(visit().name)
		self.assertEqual(gl_entries(journal_entry), {DEFERRED: 135.0, VISIT_INCOME: -135.0})
		self.assert_books_agree(balance)

	def test_the_last_visit_takes_back_the_breakage_ahead_and_the_line_ends_at_its_allocation(self):
		balance = sell()
		visit(qty=3)
		self.assertEqual(visits_line(balance), (405, 101.25, 101.25, 0, 33.75))
		last = visit()
		[journal_entry] = journal_entries_of(last.name)
		# 101.25 of breakage back to deferred, and the visit takes 135.00 from there
		self.assertEqual(
			gl_entries(journal_entry), {DEFERRED: 33.75, VISIT_INCOME: -135.0, BREAKAGE_INCOME: 101.25}
		)
		self.assertEqual(visits_line(balance), (540, 0, 0, 0, 0))
		self.assertEqual(round(gl_balance(BREAKAGE_INCOME), 2), 0)
		self.assert_books_agree(balance)


class TestGivingBack(BreakageTestCase):
	def test_a_return_of_the_visit_gives_its_breakage_back_exactly(self):
		balance = sell()
		invoice = visit()
		credit_note = make_sales_return(invoice.name)
		credit_note.insert()
		credit_note.submit()

		[journal_entry] = journal_entries_of(credit_note.name)
		self.assertEqual(
			gl_entries(journal_entry), {DEFERRED: -168.75, VISIT_INCOME: 135.0, BREAKAGE_INCOME: 33.75}
		)
		self.assertEqual(
			ledger_of(credit_note.name),
			[
				("Redemption Return", 1, 135, -135, VISIT_INCOME),
				("Breakage With Use Reversal", 0, 33.75, -33.75, BREAKAGE_INCOME),
			],
		)
		self.assertEqual(visits_line(balance), (0, 0, 0, 0, 540))
		for income in (VISIT_INCOME, BREAKAGE_INCOME):
			self.assertEqual(round(gl_balance(income), 2), 0, income)
		self.assert_books_agree(balance)

		credit_note.cancel()
		self.assertEqual(visits_line(balance), (135, 33.75, 33.75, 0, 371.25))
		self.assert_books_agree(balance)

	def test_cancelling_the_redemption_invoice_takes_its_breakage_with_it(self):
		balance = sell()
		invoice = visit()
		[journal_entry] = journal_entries_of(invoice.name)
		invoice.cancel()

		self.assertEqual(frappe.db.get_value("Journal Entry", journal_entry, "docstatus"), 2)
		self.assertEqual(ledger_of(invoice.name), [])
		self.assertEqual(visits_line(balance), (0, 0, 0, 0, 540))
		self.assertEqual(round(gl_balance(BREAKAGE_INCOME), 2), 0)
		self.assert_books_agree(balance)

	def test_cancelling_an_earlier_redemption_leaves_the_breakage_the_later_use_carries(self):
		balance = sell()
		first = visit()
		visit(qty=3)  # used up: the breakage went back
		first.cancel()

		# the three visits left recognized 405.00 and carry 101.25 of breakage: the first visit's
		# 33.75 left with its Journal Entry, and the balance books the 135.00 the use now needs
		self.assertEqual(visits_line(balance), (405, 101.25, 101.25, 0, 33.75))
		[journal_entry] = journal_entries_of(balance.name)
		self.assertEqual(gl_entries(journal_entry), {DEFERRED: 135.0, BREAKAGE_INCOME: -135.0})
		self.assertIn(
			"Breakage recognized with use", frappe.db.get_value("Journal Entry", journal_entry, "user_remark")
		)
		self.assertEqual(round(gl_balance(BREAKAGE_INCOME), 2), -101.25)
		self.assert_books_agree(balance)

	def test_a_refund_of_a_used_package_reverses_its_breakage(self):
		reset_settings(allow_unused_refund=1, accounts=[settings_row()])
		balance = sell()
		visit()
		purchase = frappe.get_doc("Sales Invoice", balance.sales_invoice)
		credit_note = make_sales_return(purchase.name)
		credit_note.insert()
		self.assertEqual(credit_note.items[0].rate, 585)  # 720.00 less the 135.00 visit
		credit_note.submit()

		balance.reload()
		self.assertEqual(balance.status, "Refunded")
		self.assertEqual((balance.total_broken, balance.total_refunded, balance.total_deferred), (0, 585, 0))
		self.assertEqual(visits_line(balance), (135, 0, 0, 405, 0))
		[journal_entry] = journal_entries_of(credit_note.name)
		self.assertEqual(gl_entries(journal_entry), {DEFERRED: -33.75, BREAKAGE_INCOME: 33.75})
		self.assertEqual(round(gl_balance(BREAKAGE_INCOME), 2), 0)
		self.assert_books_agree(balance)

		credit_note.cancel()
		self.assertEqual(visits_line(balance), (135, 33.75, 33.75, 0, 371.25))
		self.assertEqual(round(gl_balance(BREAKAGE_INCOME), 2), -33.75)
		self.assert_books_agree(balance)


class TestExpiryAndExtension(BreakageTestCase):
	def expired(self):
		balance = sell(days_ago=10, valid_for_days=5)
		visit(days_ago=8)
		outcome = expire.expire_balances()
		self.assertIn(balance.name, outcome["expired"])
		balance.reload()
		return balance

	def test_at_expiry_the_rest_is_broken(self):
		balance = self.expired()
		self.assertEqual(balance.status, "Expired")
		# the true-up: 371.25 of visits, the kit's 72.00 and the labs' 108.00
		self.assertEqual(
			gl_entries(balance.breakage_journal_entry), {DEFERRED: 551.25, BREAKAGE_INCOME: -551.25}
		)
		self.assertEqual(visits_line(balance), (135, 405, 33.75, 0, 0))
		self.assertEqual((balance.total_broken, balance.total_deferred), (585, 0))
		self.assertEqual(round(gl_balance(BREAKAGE_INCOME), 2), -585)
		self.assert_books_agree(balance)

	def test_an_extension_reverses_the_true_up_only(self):
		balance = self.expired()
		true_up = balance.breakage_journal_entry
		api.extend_expiry(balance.name, add_days(nowdate(), 30), "Patient was in hospital")

		balance.reload()
		self.assertEqual(balance.status, "Active")
		self.assertEqual(frappe.db.get_value("Journal Entry", true_up, "docstatus"), 2)
		self.assertEqual(visits_line(balance), (135, 33.75, 33.75, 0, 371.25))
		self.assertEqual((balance.total_broken, balance.total_deferred), (33.75, 551.25))
		self.assertEqual(round(gl_balance(BREAKAGE_INCOME), 2), -33.75)
		self.assert_books_agree(balance)

		# the next visit carries its own breakage, as the first did
		[journal_entry] = journal_entries_of(visit().name)
		self.assertEqual(
			gl_entries(journal_entry), {DEFERRED: 168.75, VISIT_INCOME: -135.0, BREAKAGE_INCOME: -33.75}
		)
		self.assert_books_agree(balance)


class TestTermsLockedAtSale(BreakageTestCase):
	def test_a_later_rate_applies_to_later_sales_only(self):
		balance = sell()
		package = frappe.get_doc("Prepaid Package", balance.prepaid_package)
		package.expected_breakage_rate = 10
		package.save()
		self.assertEqual(package.breakage_rate_source, "Entered")

		balance.reload()
		self.assertEqual((balance.breakage_method, balance.breakage_rate), (PROPORTIONAL, 20))
		visit()
		self.assertEqual(visits_line(balance), (135, 33.75, 33.75, 0, 371.25))

		later = make_invoice([(package.item, 1)])
		pay(later)
		[newer] = balances_of(later)
		self.assertEqual((newer.breakage_method, newer.breakage_rate), (PROPORTIONAL, 10))
		self.assert_books_agree(balance)

	def test_an_opening_balance_takes_its_packages_terms(self):
		package = make_package(breakage_method=PROPORTIONAL, expected_breakage_rate=20)
		patient = make_patient(f"PKT Breakage Patient {frappe.generate_hash(length=6)}")
		doc = frappe.get_doc(
			{
				"doctype": "Package Opening Import",
				"company": COMPANY,
				"posting_date": day(-10),
				"lines": [
					{
						"customer": patient,
						"prepaid_package": package.name,
						"original_reference": "OLD-2001",
						"purchase_date": day(-100),
						"expiry_date": day(200),
						"item_code": VISIT,
						"units_left": 3,
						"value_left": 405,
					}
				],
			}
		)
		doc.insert()
		doc.submit()
		balance = frappe.get_doc("Package Balance", {"customer": patient, "is_opening": 1})
		self.assertEqual((balance.breakage_method, balance.breakage_rate), (PROPORTIONAL, 20))

		[journal_entry] = journal_entries_of(visit(customer=patient).name)
		self.assertEqual(
			gl_entries(journal_entry), {DEFERRED: 168.75, VISIT_INCOME: -135.0, BREAKAGE_INCOME: -33.75}
		)
		self.assertEqual(visits_line(balance), (135, 33.75, 33.75, 0, 236.25))
		self.assert_books_agree(balance)


class TestValidation(BreakageTestCase):
	def test_a_rate_out_of_range_or_without_proportional_is_refused(self):
		for terms in (
			{"breakage_method": PROPORTIONAL, "expected_breakage_rate": 100},
			{"breakage_method": PROPORTIONAL, "expected_breakage_rate": -1},
			{"breakage_method": AT_EXPIRY, "expected_breakage_rate": 20},
			{"breakage_method": "", "expected_breakage_rate": 20},
		):
			with self.assertRaises(BreakageRateError, msg=str(terms)):
				make_package(**terms)
		for row in (
			settings_row(breakage_method=PROPORTIONAL, expected_breakage_rate=100),
			settings_row(breakage_method=AT_EXPIRY, expected_breakage_rate=5),
		):
			with self.assertRaises(BreakageRateError, msg=str(row)):
				reset_settings(accounts=[row])

	def test_the_source_follows_how_the_rate_was_set(self):
		package = make_package(breakage_method=PROPORTIONAL, expected_breakage_rate=0)
		self.assertEqual(package.breakage_rate_source, "Entered")
		proposed = "Proposed from 12 balances ended 2026-01-01 to 2026-06-30: 300.00 broken of 1,200.00 sold"
		package.update({"expected_breakage_rate": 25, "breakage_rate_source": proposed})
		package.save()
		self.assertEqual(package.breakage_rate_source, proposed)
		package.expected_breakage_rate = 24
		package.save()
		self.assertEqual(package.breakage_rate_source, "Entered")
		package.update({"breakage_method": AT_EXPIRY, "expected_breakage_rate": 0})
		package.save()
		self.assertIsNone(package.breakage_rate_source)


class TestProposal(BreakageTestCase):
	def ended_balances(self):
		"""Four balances of 100.00 (2 visits): one used up 8 days ago, three expired 5 days ago
		of which one half used; 250.00 of the 400.00 sold never used."""
		package = make_package(name="Two Visits", items=[(VISIT, 2)], price=100, valid_for_days=5)
		purchase = make_invoice([(package.item, 4)], posting_date=day(-10))
		pay(purchase)
		visit(qty=2, days_ago=8)
		visit(qty=1, days_ago=7)
		expire.expire_balances()
		statuses = sorted(balance.status for balance in balances_of(purchase))
		self.assertEqual(statuses, ["Exhausted", "Expired", "Expired", "Expired"])
		return package

	def test_enough_ended_balances_propose_their_broken_share(self):
		package = self.ended_balances()
		proposal = api.propose_breakage_rate(package.name, str(day(-30)), str(day(0)), 4)
		self.assertEqual(
			{key: proposal[key] for key in ("rate", "count", "sold", "broken")},
			{"rate": 62.5, "count": 4, "sold": 400, "broken": 250},
		)
		self.assertEqual(
			proposal["source"],
			f"Proposed from 4 balances ended {day(-30)} to {day(0)}: 250.00 broken of 400.00 sold",
		)

		# taken on the package, the rate and its figures go to the balances sold after
		package.reload()
		package.update(
			{
				"breakage_method": PROPORTIONAL,
				"expected_breakage_rate": proposal["rate"],
				"breakage_rate_source": proposal["source"],
			}
		)
		package.save()
		later = make_invoice([(package.item, 1)])
		[balance] = balances_of(later)
		self.assertEqual(
			(balance.breakage_method, balance.breakage_rate, balance.breakage_rate_source),
			(PROPORTIONAL, 62.5, proposal["source"]),
		)

	def test_too_few_ended_balances_propose_nothing(self):
		package = self.ended_balances()
		proposal = api.propose_breakage_rate(package.name, str(day(-30)), str(day(0)), 5)
		self.assertEqual((proposal["rate"], proposal["source"], proposal["count"]), (None, None, 4))
		self.assertEqual((proposal["sold"], proposal["broken"]), (400, 250))

		# the window counts the day a balance ended: used up 8 days ago, expired 5 days ago
		recent = api.propose_breakage_rate(package.name, str(day(-6)), str(day(0)), 1)
		self.assertEqual((recent["rate"], recent["count"], recent["sold"]), (83.33, 3, 300))
		self.assertIsNone(api.propose_breakage_rate(package.name, str(day(-4)), str(day(0)), 1)["rate"])

	def test_the_proposal_needs_read_on_the_package_and_a_window(self):
		package = make_package(name="Two Visits", items=[(VISIT, 2)], price=100)
		outsider = make_user("pkt-breakage-outsider@example.com", ["Website Manager"])
		frappe.set_user(outsider)
		with self.assertRaises(frappe.PermissionError):
			api.propose_breakage_rate(package.name, str(day(-30)), str(day(0)))
		frappe.set_user("Administrator")
		with self.assertRaises(BreakageRateError):
			api.propose_breakage_rate(package.name, str(day(0)), str(day(-30)))
		with self.assertRaises(BreakageRateError):
			api.propose_breakage_rate(package.name, str(day(-30)), str(day(0)), 0)
