# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Package Liability Roll-forward through a mixed history, at three period ends.

Every kind of movement happens: an opening-balance import, sales (one Upon Purchase),
redemptions, a redemption returned by credit note, a refund, breakage at expiry and an
extension that reverses another breakage. For each period the closing equals the opening
plus the movements, equals the GL balance of the deferred revenue account at the period
end, and is the next period's opening; each figure's drill-down selects exactly the ledger
entries that sum to it.
"""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, getdate, nowdate

from package_bundles import api
from package_bundles.engine.state import EVENTS, EXPIRY
from package_bundles.flows import expire
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
)
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, deferred_liability
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	DEFERRED,
	LAB,
	OTHER_CUSTOMER,
	VISIT,
	make_invoice,
	make_package,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

MOVEMENT_FIELDS = [name for name, _events, _direction in roll_forward.MOVEMENTS]


def day(offset: int):
	return str(getdate(add_days(nowdate(), offset)))


def credit_note(invoice, posting_date, rows=None):
	note = make_sales_return(invoice.name)
	if rows is not None:
		note.items = rows(note.items)
	note.posting_date = posting_date
	note.set_posting_time = 1
	note.insert()
	note.submit()
	return note


class TestPackageLiabilityRollForward(PackageTestCase):
	PERIODS = ((-30, -17), (-16, -9), (-8, 0))

	def setUp(self):
		super().setUp()
		self.make_history()

	def make_history(self):
		consumption = make_package()  # 4 visits 135, kit 72, 2 labs 54
		immediate = make_package(
			name="Immediate Care", items=[(VISIT, 2)], price=300, revenue_recognition="Upon Purchase"
		)
		short = make_package(name="Short Care", items=[(VISIT, 1), (LAB, 1)], price=210, valid_for_days=5)
		pair = make_package(name="Two Visits", items=[(VISIT, 2)], price=280)

		# go-live: a patient's balance from the old system (2 visits, 270; a lab, 54)
		opening = frappe.get_doc(
			{
				"doctype": "Package Opening Import",
				"company": COMPANY,
				"posting_date": day(-25),
				"lines": [
					{
						"customer": OTHER_CUSTOMER,
						"prepaid_package": consumption.name,
						"original_reference": "OLD-7",
						"purchase_date": day(-90),
						"expiry_date": day(-12),
						"item_code": item_code,
						"units_left": qty,
						"value_left": value,
					}
					for item_code, qty, value in ((VISIT, 2, 270), (LAB, 1, 54))
				],
			}
		).insert()
		opening.submit()
		self.opening_balance = frappe.db.get_value("Package Balance", {"opening_import": opening.name})

		pay(make_invoice([(consumption.item, 1)], posting_date=day(-20)))  # 720
		make_invoice([(immediate.item, 1)], customer=OTHER_CUSTOMER, posting_date=day(-20))  # 300, recognized
		pay(
			make_invoice([(short.item, 1)], posting_date=day(-19))
		)  # 210 (visit 150, lab 60), expires day -14
		self.visits = make_invoice([(VISIT, 2)], posting_date=day(-15))  # short's visit 150, a 135 one
		make_invoice([(VISIT, 1)], customer=OTHER_CUSTOMER, posting_date=day(-14))  # opening visit 135
		pair_sale = make_invoice([(pair.item, 2)], customer=CUSTOMER, posting_date=day(-11))  # 560
		credit_note(
			pair_sale, day(-10), rows=lambda items: [items[0].update({"qty": -1}) or items[0]]
		)  # -280
		expire.expire_balances()  # short: lab 60 broken on day -13; opening: visit 135 + lab 54 on day -11
		credit_note(
			self.visits,
			day(-5),
			rows=lambda items: [
				row.update({"qty": -1}) or row for row in items if row.package_balance != short_balance(short)
			],
		)  # the postpartum visit comes back, +135
		api.extend_expiry(self.opening_balance, day(60), "Patient was in hospital")  # breakage reversed

	def run_report(self, from_offset: int, to_offset: int, **filters):
		_columns, rows, _note, _chart, summary = roll_forward.execute(
			frappe._dict(company=COMPANY, from_date=day(from_offset), to_date=day(to_offset), **filters)
		)
		return rows, {item["label"]: item["value"] for item in summary}

	def test_closing_is_opening_plus_movements_and_the_gl_at_three_period_ends(self):
		previous_closing = None
		for from_offset, to_offset in self.PERIODS:
			with self.subTest(period=(from_offset, to_offset)):
				rows, summary = self.run_report(from_offset, to_offset)
				total = rows[-1]
				self.assertTrue(total["is_total"])
				for row in rows:
					self.assertAlmostEqual(
						row["closing"], row["opening"] + sum(row[f] for f in MOVEMENT_FIELDS), places=2
					)
				gl = deferred_liability(COMPANY, DEFERRED, upto=day(to_offset))
				self.assertEqual(total["closing"], gl)
				self.assertEqual(summary["Deferred Revenue in the General Ledger"], gl)
				self.assertEqual(summary["Difference"], 0)
				self.assertEqual(summary["Closing Deferred"], total["closing"])
				self.assertEqual(
					deferred_liability(COMPANY, DEFERRED, upto=day(from_offset - 1)), total["opening"]
				)
				if previous_closing is not None:
					self.assertEqual(total["opening"], previous_closing)
				previous_closing = total["closing"]

				by_package, _summary = self.run_report(from_offset, to_offset, group_by="Prepaid Package")
				for field in ("opening", *MOVEMENT_FIELDS, "closing"):
					self.assertAlmostEqual(by_package[-1][field], total[field], places=2)

	def test_each_movement_lands_in_its_column(self):
		rows, _summary = self.run_report(-30, 0, group_by="Prepaid Package")
		figures = {row["prepaid_package"]: row for row in rows[:-1]}
		postpartum, immediate = figures["Postpartum Care"], figures["Immediate Care"]
		short, pair = figures["Short Care"], figures["Two Visits"]

		self.assertEqual(postpartum["opening_imports"], 324)
		self.assertEqual(postpartum["sold"], 720)
		self.assertEqual(postpartum["redeemed"], -270)  # a visit on day -15, the opening visit on day -14
		self.assertEqual(postpartum["returned"], 135)
		# the opening balance's breakage was undone by its extension; nothing recognized with use
		self.assertEqual(
			(
				postpartum["breakage_with_use"],
				postpartum["breakage_at_expiry"],
				postpartum["breakage_reversed"],
			),
			(0, 0, 0),
		)
		self.assertEqual(postpartum["closing"], 324 + 720 - 270 + 135)
		self.assertEqual((immediate["sold"], immediate["recognized_upon_purchase"]), (300, -300))
		self.assertEqual(
			(short["sold"], short["redeemed"], short["breakage_at_expiry"], short["closing"]),
			(210, -150, -60, 0),
		)
		self.assertEqual((short["breakage_with_use"], short["breakage_reversed"]), (0, 0))
		self.assertEqual((pair["sold"], pair["refunded"], pair["closing"]), (560, -280, 280))

		rows, _summary = self.run_report(-30, 0)
		groups = {row["item_group"]: row for row in rows[:-1]}
		self.assertEqual(groups["PKT Labs"]["breakage_at_expiry"], -60)
		self.assertEqual(groups["PKT Visits"]["recognized_upon_purchase"], -300)

	def test_every_figure_drills_down_to_the_entries_it_sums(self):
		for from_offset, to_offset in self.PERIODS:
			for group_by in ("Item Group", "Prepaid Package"):
				rows, _summary = self.run_report(from_offset, to_offset, group_by=group_by)
				for row in rows:
					for field, filters in row["drilldown"].items():
						with self.subTest(period=(from_offset, to_offset), group_by=group_by, field=field):
							entries = frappe.get_all(
								"Package Ledger Entry",
								filters=filters,
								fields=["deferred_change", "voucher_type", "voucher_no"],
							)
							self.assertAlmostEqual(
								sum(e.deferred_change for e in entries), row[field], places=2
							)
							self.assertTrue(all(e.voucher_type and e.voucher_no for e in entries))

	def test_filters_narrow_the_rows_and_their_drill_down(self):
		rows, summary = self.run_report(-30, 0, item_group="PKT Labs")
		self.assertEqual([row["item_group"] for row in rows], ["PKT Labs", "Total"])
		self.assertEqual(
			rows[-1]["drilldown"]["closing"]["item_group"], ["descendants of (inclusive)", "PKT Labs"]
		)
		self.assertEqual(summary["Difference"], 0)

		rows, _summary = self.run_report(-30, 0, group_by="Prepaid Package", prepaid_package="Two Visits")
		self.assertEqual([row["prepaid_package"] for row in rows], ["Two Visits", "Total"])
		self.assertEqual(rows[-1]["closing"], 280)

	def test_every_event_that_moves_value_has_a_column(self):
		# each event, taking from deferred revenue or giving back to it, is summed by exactly one column
		both = (roll_forward.TAKEN, roll_forward.GIVEN_BACK)
		covered = [
			(event, sign)
			for _name, events, direction in roll_forward.MOVEMENTS
			for event in events
			for sign in ((direction,) if direction else both)
		]
		self.assertEqual(len(covered), len(set(covered)))  # none counted in two columns
		# an expiry moves units' availability, no value
		uncovered = {(event, sign) for event in EVENTS for sign in both} - set(covered)
		self.assertEqual(uncovered, {(EXPIRY, sign) for sign in both})


def short_balance(package) -> str:
	return frappe.db.get_value("Package Balance", {"prepaid_package": package.name}, "name")


class TestRollForwardOnAnImmutableLedger(PackageTestCase):
	"""Where cancelling adds reversing entries dated the day of cancellation, a period shows the
	movement and the next one its reversal, in the same column; both still agree with the GL."""

	def test_a_cancelled_redemption_reverses_in_the_period_of_its_cancellation(self):
		frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 1)
		try:
			package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
			pay(make_invoice([(package.item, 1)], posting_date=day(-6)))
			make_invoice([(VISIT, 1)], posting_date=day(-3)).cancel()

			before, _summary = self.run_report(-7, -1)
			self.assertEqual(
				[(row["opening"], row["sold"], row["redeemed"], row["closing"]) for row in before],
				[(0, 100, -33.33, 66.67), (0, 100, -33.33, 66.67)],
			)
			today, summary = self.run_report(0, 0)
			self.assertEqual(
				[(row["opening"], row["redeemed"], row["closing"]) for row in today],
				[(66.67, 33.33, 100), (66.67, 33.33, 100)],
			)
			self.assertEqual(summary["Difference"], 0)
			self.assertEqual(deferred_liability(COMPANY, DEFERRED, upto=day(-1)), 66.67)
		finally:
			frappe.db.set_single_value("Accounts Settings", "enable_immutable_ledger", 0)

	def run_report(self, from_offset: int, to_offset: int):
		_columns, rows, _note, _chart, summary = roll_forward.execute(
			frappe._dict(
				company=COMPANY,
				from_date=day(from_offset),
				to_date=day(to_offset),
				group_by="Prepaid Package",
				prepaid_package="Three Visits",
			)
		)
		return rows, {item["label"]: item["value"] for item in summary}
