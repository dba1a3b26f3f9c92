# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The reports after the sale (issue 20): transfers, upgrades, freezes and sharing.

One history on the worked example (Postpartum Care, 720: 4 visits at 135, the kit 72, 2 labs at
54), each step followed by the reports: Package Liability Roll-forward's Transferred In, Transferred
Out and Credited to Upgrades; Package Deferred Revenue's lines still reading allocated = recognized
+ broken + refunded + deferred; Package Balances showing units moved out, the freeze and the sharers.
"""

import frappe
from frappe.utils import add_days, flt, get_first_day, nowdate

from package_bundles import api
from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
)
from package_bundles.setup.install import make_upgrade_credit_item
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	KIT,
	LAB,
	OTHER_CUSTOMER,
	VISIT,
	make_invoice,
	make_package,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

MOVES = ("sold", "redeemed", "transferred_in", "transferred_out", "credited_to_upgrades", "closing")


def roll_forward_by_package() -> dict[str, dict]:
	filters = frappe._dict(
		company=COMPANY,
		from_date=get_first_day(nowdate()),
		to_date=add_days(nowdate(), 1),
		group_by="Prepaid Package",
	)
	_columns, rows, *_rest = roll_forward.execute(filters)
	return {row["prepaid_package"]: {move: flt(row[move]) for move in MOVES} for row in rows}


def deferred_lines(balance: str) -> list[tuple]:
	_columns, rows = package_deferred_revenue.execute(
		frappe._dict(company=COMPANY, as_of_date=nowdate(), show_details=1)
	)[:2]
	return [
		(
			row["item_code"],
			flt(row["qty_purchased"]),
			flt(row["qty_remaining"]),
			flt(row["allocated"]),
			flt(row["deferred"]),
		)
		for row in rows
		if row.get("package_balance") == balance
	]


def balance_row(balance: str) -> dict:
	_columns, rows = package_balances.execute(frappe._dict(company=COMPANY, show_details=1))[:2]
	[row] = [row for row in rows if row["package_balance"] == balance]
	return row


class TestReportsAfterTheSale(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.package = make_package()
		sale = make_invoice([(self.package.item, 1)])
		pay(sale)
		[self.balance] = [b.name for b in balances_of(sale)]
		# one visit used: 135.00 recognized, 585.00 deferred
		make_invoice([(VISIT, 1)], taxes=False)

	def assert_books_agree(self):
		self.assertEqual(invariant_problems(), [])
		self.assert_reconciled()

	def test_a_transfer_shows_out_on_the_giver_and_in_on_the_receiver(self):
		transfer = frappe.get_doc(
			{
				"doctype": "Package Balance Transfer",
				"from_balance": self.balance,
				"to_customer": OTHER_CUSTOMER,
				"reason": "Moving away; her sister takes the visits",
				"items": [
					{
						"balance_item": frappe.db.get_value(
							"Package Balance Item", {"parent": self.balance, "item_code": VISIT}
						),
						"item_code": VISIT,
						"qty": 2,
					}
				],
			}
		).insert()
		transfer.submit()

		moves = roll_forward_by_package()[self.package.name]
		# both balances are of the same package: the row shows 270.00 out and in, the closing unchanged
		self.assertEqual(
			moves,
			{
				"sold": 720.0,
				"redeemed": -135.0,
				"transferred_in": 270.0,
				"transferred_out": -270.0,
				"credited_to_upgrades": 0.0,
				"closing": 585.0,
			},
		)
		self.assertEqual(
			deferred_lines(self.balance),
			[(VISIT, 2.0, 1.0, 270.0, 135.0), (KIT, 1.0, 1.0, 72.0, 72.0), (LAB, 2.0, 2.0, 108.0, 108.0)],
		)
		self.assertEqual(deferred_lines(transfer.to_balance), [(VISIT, 2.0, 2.0, 270.0, 270.0)])
		giver = balance_row(self.balance)
		self.assertEqual((giver["units_moved_out"], giver["units_remaining"]), (2.0, 4.0))
		self.assertEqual(balance_row(transfer.to_balance)["customer"], OTHER_CUSTOMER)
		self.assert_books_agree()

		transfer.cancel()

		moves = roll_forward_by_package()[self.package.name]
		self.assertEqual(
			(moves["transferred_in"], moves["transferred_out"], moves["closing"]), (0.0, 0.0, 585.0)
		)
		self.assertEqual(balance_row(self.balance)["units_moved_out"], 0.0)
		self.assert_books_agree()

	def test_an_upgrade_credits_the_old_package_and_sells_the_new_one_whole(self):
		bigger = make_package(name="Postpartum Care Plus", items=[(VISIT, 8), (KIT, 1), (LAB, 2)], price=1260)
		# ERPNext takes the credit row's negative rate only so (rolled back after the test)
		frappe.db.set_single_value("Selling Settings", "allow_negative_rates_for_items", 1)
		credit_item = make_upgrade_credit_item()
		upgrade = make_invoice(
			[(bigger.item, 1), {"item_code": credit_item, "qty": 1, "package_upgrade_from": self.balance}]
		)
		pay(upgrade)

		moves = roll_forward_by_package()
		self.assertEqual(moves[self.package.name]["credited_to_upgrades"], -585.0)
		self.assertEqual(moves[self.package.name]["closing"], 0.0)
		self.assertEqual(moves[bigger.name]["sold"], flt(bigger.package_price))
		self.assertEqual(moves[bigger.name]["closing"], flt(bigger.package_price))
		self.assertEqual(
			deferred_lines(self.balance),
			[(VISIT, 1.0, 0.0, 135.0, 0.0), (KIT, 0.0, 0.0, 0.0, 0.0), (LAB, 0.0, 0.0, 0.0, 0.0)],
		)
		row = balance_row(self.balance)
		self.assertEqual(
			(row["status"], row["units_moved_out"], row["units_remaining"]), ("Upgraded", 6.0, 0.0)
		)
		self.assert_books_agree()

		upgrade.reload()
		upgrade.cancel()

		moves = roll_forward_by_package()
		self.assertEqual(moves[self.package.name]["credited_to_upgrades"], 0.0)
		self.assertEqual(moves[self.package.name]["closing"], 585.0)
		self.assertEqual(balance_row(self.balance)["status"], "Active")
		self.assert_books_agree()

	def test_the_balances_report_shows_a_freeze_and_the_sharers(self):
		freeze = frappe.get_doc(
			{
				"doctype": "Package Balance Freeze",
				"package_balance": self.balance,
				"from_date": add_days(nowdate(), 2),
				"to_date": add_days(nowdate(), 11),
				"reason": "In hospital",
			}
		).insert()
		freeze.submit()
		api.add_sharer(self.balance, OTHER_CUSTOMER, "Her sister")

		row = balance_row(self.balance)

		self.assertEqual(
			(str(row["frozen_from"]), str(row["frozen_until"])),
			(add_days(nowdate(), 2), add_days(nowdate(), 11)),
		)
		other_name = frappe.db.get_value("Customer", OTHER_CUSTOMER, "customer_name")
		self.assertEqual(row["shared_with"], other_name)
		self.assertEqual(row["customer"], CUSTOMER)
		# a freeze and a share move no value: the roll-forward is as the sale and the visit left it
		moves = roll_forward_by_package()[self.package.name]
		self.assertEqual((moves["sold"], moves["redeemed"], moves["closing"]), (720.0, -135.0, 585.0))
		self.assert_books_agree()

		api.remove_sharer(self.balance, OTHER_CUSTOMER, "Moved out")
		freeze.cancel()

		row = balance_row(self.balance)
		self.assertEqual((row["shared_with"], row["frozen_from"], row["frozen_until"]), ("", None, None))
