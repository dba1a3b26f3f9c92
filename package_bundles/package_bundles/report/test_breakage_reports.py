# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The breakage methods of issue 21 in the reports, on the worked example of SPEC §6.

A patient of the test's own buys Postpartum Care (720.00: visits 540.00, kit 72.00, labs
108.00) with an expected breakage rate of 20%. A 135.00 visit recognizes 135.00 and
135.00 x 0.2 / 0.8 = 33.75 of breakage; the rest is broken when the balance expires (the
true-up, 551.25); an extension gives the true-up back. The Liability Roll-forward shows each of
these in a column of its own; Package Deferred Revenue shows the breakage still expected
(visits: 540.00 x 20% - 33.75 = 74.25); Package Balances shows the terms locked at sale.
"""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, getdate, nowdate

from package_bundles import api
from package_bundles.flows import expire
from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
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
	DEFERRED,
	KIT,
	LAB,
	STORES,
	VISIT,
	account,
	make_invoice,
	make_package,
	make_patient,
	pay,
	reset_settings,
)

test_ignore = IGNORED_TEST_RECORDS

PACKAGE = "Postpartum Care Breakage Reports"
BREAKAGE_INCOME = account("Breakage Income")
VISITS, PRODUCTS, LABS = "PKT Visits", "PKT Products", "PKT Labs"
MOVEMENT_FIELDS = [name for name, _events, _direction in roll_forward.MOVEMENTS]
BREAKAGE_FIELDS = ("breakage_with_use", "breakage_at_expiry", "breakage_reversed")


def day(offset: int):
	return getdate(add_days(nowdate(), offset))


class BreakageReportsTestCase(PackageTestCase):
	def setUp(self):
		super().setUp()
		reset_settings(accounts=[{"company": COMPANY, "breakage_income_account": BREAKAGE_INCOME}])
		self.customer = make_patient(f"PKT Breakage Report Patient {frappe.generate_hash(length=6)}")

	def sell(self, days_ago: int, method="Proportional", rate=20, name=PACKAGE, **values):
		"""A paid Postpartum Care balance of the test's patient."""
		package = make_package(
			name=name,
			breakage_method=method,
			expected_breakage_rate=rate if method == "Proportional" else 0,
			**values,
		)
		purchase = make_invoice([(package.item, 1)], customer=self.customer, posting_date=day(-days_ago))
		pay(purchase)
		[balance] = balances_of(purchase)
		return balance

	def redeem(self, item_code: str, qty: int, days_ago: int, **values):
		return make_invoice([(item_code, qty)], customer=self.customer, posting_date=day(-days_ago), **values)

	def assert_books_agree(self):
		self.assertEqual(invariant_problems(), [])
		totals = package_deferred_revenue.get_totals(COMPANY)
		self.assertEqual(totals["difference"], 0)
		self.assertEqual(totals["gl_balance"], deferred_liability(COMPANY, DEFERRED))


# --- Package Liability Roll-forward ----------------------------------------------------------------


class TestRollForwardSeparatesBreakage(BreakageReportsTestCase):
	def roll_forward(self, from_date, to_date, group_by="Prepaid Package") -> tuple[dict, dict]:
		"""The rows of the test's package (or its item groups) by name, and the summary cards."""
		_columns, rows, _note, _chart, summary = roll_forward.execute(
			frappe._dict(
				company=COMPANY,
				from_date=str(from_date),
				to_date=str(to_date),
				group_by=group_by,
				prepaid_package=PACKAGE,
			)
		)
		field = roll_forward.GROUP_FIELDS[group_by]
		for row in rows:
			self.assertAlmostEqual(
				row["closing"], row["opening"] + sum(row[f] for f in MOVEMENT_FIELDS), places=2
			)
			# each figure drills down to exactly the ledger entries it sums
			for figure, filters in row["drilldown"].items():
				entries = frappe.get_all("Package Ledger Entry", filters=filters, pluck="deferred_change")
				self.assertAlmostEqual(sum(entries), row[figure], places=2, msg=figure)
		cards = {card["label"]: card["value"] for card in summary}
		self.assertEqual(cards["Difference"], 0)
		return {row[field]: row for row in rows}, cards

	def figures(self, row: dict, *fields: str) -> tuple:
		return tuple(row[field] for field in fields)

	def test_a_visit_the_true_up_at_expiry_and_the_extension_that_reverses_it(self):
		# an immutable ledger keeps what the extension undoes, and reverses it on the day
		frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 1)
		try:
			balance = self.sell(days_ago=10, valid_for_days=5)
			self.redeem(VISIT, 1, days_ago=8)
			self.assertIn(balance.name, expire.expire_balances()["expired"])
			balance.reload()
			broken_on = getdate(balance.breakage_date)
			self.assertLess(broken_on, day(0))
			self.assertEqual(
				frappe.db.get_value("Journal Entry", balance.breakage_journal_entry, "posting_date"),
				broken_on,
			)
			api.extend_expiry(balance.name, str(day(30)), "Patient was in hospital")
			self.assert_books_agree()
		finally:
			frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 0)

		fields = ("opening", "sold", "redeemed", *BREAKAGE_FIELDS, "closing")
		# the visit: 135.00 recognized and 33.75 of breakage with it
		rows, _cards = self.roll_forward(day(-10), day(-8))
		self.assertEqual(self.figures(rows[PACKAGE], *fields), (0, 720, -135, -33.75, 0, 0, 551.25))
		# the true-up at expiry breaks what was left
		rows, _cards = self.roll_forward(day(-7), broken_on)
		self.assertEqual(self.figures(rows[PACKAGE], *fields), (551.25, 0, 0, 0, -551.25, 0, 0))
		# the extension gives the true-up back, and the breakage with use stays
		rows, _cards = self.roll_forward(day(0), day(0))
		self.assertEqual(self.figures(rows[PACKAGE], *fields), (0, 0, 0, 0, 0, 551.25, 551.25))
		self.assertAlmostEqual(
			deferred_liability(COMPANY, DEFERRED) - deferred_liability(COMPANY, DEFERRED, upto=day(-1)),
			551.25,
			places=2,
		)

		# the whole history: 720 - 135 - 33.75 - 551.25 + 551.25 = 551.25
		rows, _cards = self.roll_forward(day(-10), day(0))
		self.assertEqual(
			self.figures(rows[PACKAGE], *fields), (0, 720, -135, -33.75, -551.25, 551.25, 551.25)
		)
		rows, _cards = self.roll_forward(day(-10), day(0), group_by="Item Group")
		self.assertEqual(
			{group: self.figures(row, *BREAKAGE_FIELDS, "closing") for group, row in rows.items()},
			{
				VISITS: (-33.75, -371.25, 371.25, 371.25),
				PRODUCTS: (0, -72, 72, 72),
				LABS: (0, -108, 108, 108),
				"Total": (-33.75, -551.25, 551.25, 551.25),
			},
		)

	def test_an_extension_outside_a_locked_period_takes_the_true_up_out(self):
		balance = self.sell(days_ago=10, valid_for_days=5)
		self.redeem(VISIT, 1, days_ago=8)
		expire.expire_balances()
		rows, _cards = self.roll_forward(day(-10), day(0))
		self.assertEqual(self.figures(rows[PACKAGE], *BREAKAGE_FIELDS, "closing"), (-33.75, -551.25, 0, 0))

		# cancelled, as ERPNext cancels any entry: gone from every period, as from the GL
		api.extend_expiry(balance.name, str(day(30)), "Patient was in hospital")
		rows, _cards = self.roll_forward(day(-10), day(0))
		self.assertEqual(self.figures(rows[PACKAGE], *BREAKAGE_FIELDS, "closing"), (-33.75, 0, 0, 551.25))
		self.assert_books_agree()

	def test_a_return_and_the_last_visit_give_the_breakage_with_use_back(self):
		self.sell(days_ago=6)
		visit = self.redeem(VISIT, 1, days_ago=5)  # 135.00 + 33.75
		credit_note = make_sales_return(visit.name)
		credit_note.posting_date = day(-4)
		credit_note.set_posting_time = 1
		credit_note.insert()
		credit_note.submit()  # both come back
		self.redeem(VISIT, 3, days_ago=3)  # 405.00 + 101.25
		self.redeem(VISIT, 1, days_ago=1)  # the last visit takes the 101.25 back first
		self.assert_books_agree()

		fields = ("redeemed", "returned", *BREAKAGE_FIELDS, "closing")
		expected = {
			(-6, -5): (-135, 0, -33.75, 0, 0, 551.25),
			(-4, -4): (0, 135, 0, 0, 33.75, 720),
			(-3, -2): (-405, 0, -101.25, 0, 0, 213.75),
			(-1, 0): (-135, 0, 0, 0, 101.25, 180),
			(-6, 0): (-675, 135, -135, 0, 135, 180),
		}
		for (from_offset, to_offset), figures in expected.items():
			with self.subTest(period=(from_offset, to_offset)):
				rows, _cards = self.roll_forward(day(from_offset), day(to_offset))
				self.assertEqual(self.figures(rows[PACKAGE], *fields), figures)

	def test_a_cancelled_redemption_on_an_immutable_ledger_gives_its_breakage_back_that_day(self):
		frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 1)
		try:
			self.sell(days_ago=6)
			self.redeem(VISIT, 1, days_ago=3).cancel()
			self.assert_books_agree()
		finally:
			frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 0)
		fields = ("redeemed", *BREAKAGE_FIELDS, "closing")
		rows, _cards = self.roll_forward(day(-6), day(-1))
		self.assertEqual(self.figures(rows[PACKAGE], *fields), (-135, -33.75, 0, 0, 551.25))
		# the reversing entries of the cancel: the visit nets in its column, the breakage is given back
		rows, _cards = self.roll_forward(day(0), day(0))
		self.assertEqual(self.figures(rows[PACKAGE], *fields), (135, 0, 0, 33.75, 720))

	def test_at_expiry_breaks_everything_at_expiry(self):
		self.sell(days_ago=10, method="At expiry", valid_for_days=5)
		self.redeem(VISIT, 1, days_ago=8)
		expire.expire_balances()
		rows, _cards = self.roll_forward(day(-10), day(0))
		self.assertEqual(
			self.figures(rows[PACKAGE], "redeemed", *BREAKAGE_FIELDS, "closing"), (-135, 0, -585, 0, 0)
		)


# --- Package Deferred Revenue ------------------------------------------------------------------


class TestExpectedBreakageToCome(BreakageReportsTestCase):
	def lines(self, as_of) -> dict:
		_columns, rows, *_rest = package_deferred_revenue.execute(
			frappe._dict(company=COMPANY, customer=self.customer, as_of_date=str(as_of))
		)
		return {row.item_code: (row.deferred, row.expected_breakage) for row in rows}

	def summaries(self, as_of) -> dict:
		"""The summary rows of the test's package, per way of grouping it."""
		summaries = {}
		for group_by in ("Item Group", "Prepaid Package", "Customer"):
			columns, rows, _note, _chart, cards = package_deferred_revenue.execute(
				frappe._dict(
					company=COMPANY, as_of_date=str(as_of), group_by=group_by, prepaid_package=PACKAGE
				)
			)
			self.assertIn("expected_breakage", [column["fieldname"] for column in columns])
			# information, not a GL figure: the cards are the deferred revenue and its reconciliation
			self.assertEqual([card["value"] for card in cards], [round(sum(row.deferred for row in rows), 2)])
			field = columns[0]["fieldname"]
			summaries[group_by] = {row[field]: round(row.expected_breakage, 2) for row in rows}
		return summaries

	def test_allocated_times_rate_less_the_breakage_with_use_within_deferred(self):
		self.sell(days_ago=6)
		self.redeem(VISIT, 1, days_ago=5)  # 33.75 with use
		self.redeem(LAB, 1, days_ago=4)  # 54.00 x 0.2 / 0.8 = 13.50 with use
		self.redeem(KIT, 1, days_ago=3, update_stock=1, set_warehouse=STORES)  # used up: nothing with use
		self.redeem(VISIT, 2, days_ago=2)  # 101.25 with use in all
		self.assert_books_agree()

		self.assertEqual(self.lines(day(-7)), {})  # not sold yet
		expected = {
			# visits 540.00 x 20% = 108.00, kit 72.00 x 20% = 14.40, labs 108.00 x 20% = 21.60
			-6: {VISIT: (540, 108), KIT: (72, 14.4), LAB: (108, 21.6)},
			# 108.00 - 33.75 = 74.25
			-5: {VISIT: (371.25, 74.25), KIT: (72, 14.4), LAB: (108, 21.6)},
			# 21.60 - 13.50 = 8.10
			-4: {VISIT: (371.25, 74.25), KIT: (72, 14.4), LAB: (40.5, 8.1)},
			# the kit is used up: nothing deferred, nothing to come
			-3: {VISIT: (371.25, 74.25), KIT: (0, 0), LAB: (40.5, 8.1)},
			# 108.00 - 101.25 = 6.75
			-2: {VISIT: (33.75, 6.75), KIT: (0, 0), LAB: (40.5, 8.1)},
		}
		for offset, lines in expected.items():
			with self.subTest(as_of=offset):
				self.assertEqual(self.lines(day(offset)), lines)
				total = round(sum(value for _deferred, value in lines.values()), 2)
				summaries = self.summaries(day(offset))
				self.assertEqual(
					summaries["Item Group"],
					{VISITS: lines[VISIT][1], PRODUCTS: lines[KIT][1], LABS: lines[LAB][1]},
				)
				self.assertEqual(summaries["Prepaid Package"], {PACKAGE: total})
				self.assertEqual(summaries["Customer"], {self.customer: total})

	def test_nothing_to_come_once_expired_and_again_after_an_extension(self):
		balance = self.sell(days_ago=10, valid_for_days=5)
		self.redeem(VISIT, 1, days_ago=8)
		expire.expire_balances()
		balance.reload()
		before_expiry = add_days(balance.breakage_date, -1)
		self.assertEqual(
			self.lines(before_expiry), {VISIT: (371.25, 74.25), KIT: (72, 14.4), LAB: (108, 21.6)}
		)
		self.assertEqual(self.lines(day(0)), {VISIT: (0, 0), KIT: (0, 0), LAB: (0, 0)})
		self.assertEqual(self.summaries(day(0))["Prepaid Package"], {PACKAGE: 0})

		api.extend_expiry(balance.name, str(day(30)), "Patient was in hospital")
		self.assertEqual(self.lines(day(0)), {VISIT: (371.25, 74.25), KIT: (72, 14.4), LAB: (108, 21.6)})
		self.assertEqual(self.summaries(day(0))["Prepaid Package"], {PACKAGE: 110.25})
		self.assert_books_agree()

	def test_a_refund_leaves_nothing_to_come(self):
		reset_settings(
			allow_unused_refund=1,
			accounts=[{"company": COMPANY, "breakage_income_account": BREAKAGE_INCOME}],
		)
		balance = self.sell(days_ago=3)
		self.redeem(VISIT, 1, days_ago=2)
		credit_note = make_sales_return(balance.sales_invoice)
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(self.lines(day(0)), {VISIT: (0, 0), KIT: (0, 0), LAB: (0, 0)})
		self.assert_books_agree()

	def test_at_expiry_expects_nothing_ahead(self):
		self.sell(days_ago=3, method="At expiry")
		self.redeem(VISIT, 1, days_ago=2)
		self.assertEqual(self.lines(day(0)), {VISIT: (405, 0), KIT: (72, 0), LAB: (108, 0)})
		self.assertEqual(self.summaries(day(0))["Item Group"], {VISITS: 0, PRODUCTS: 0, LABS: 0})


# --- Package Balances ------------------------------------------------------------------------------


class TestBalancesShowTheirBreakageTerms(BreakageReportsTestCase):
	def test_method_rate_and_source_locked_at_sale(self):
		proportional = self.sell(days_ago=2)
		at_expiry = self.sell(days_ago=1, method="At expiry", name=f"{PACKAGE} At Expiry")
		package = frappe.get_doc("Prepaid Package", PACKAGE)
		package.expected_breakage_rate = 10  # applies to later sales only
		package.save()

		columns, rows = package_balances.execute(frappe._dict(company=COMPANY, customer=self.customer))
		fieldnames = [column["fieldname"] for column in columns]
		for field in ("breakage_method", "breakage_rate", "breakage_rate_source"):
			self.assertIn(field, fieldnames)
		terms = {
			row.package_balance: (row.breakage_method, row.breakage_rate, row.breakage_rate_source)
			for row in rows
		}
		self.assertEqual(
			terms,
			{
				proportional.name: ("Proportional", 20, "Entered"),
				at_expiry.name: ("At expiry", 0, None),
			},
		)
