# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 20, Upgrade: a balance exchanged for another package on the invoice that sells it.

The worked example: Postpartum Care (720: 4 visits at 135, the kit 72, 2 labs at 54) with one visit
used is traded up to Postpartum Care Plus (8 visits, the kit, 2 labs; default price 1,400, sold for
1,260: visits 135 each, kit 72, labs 54 each). The invoice selling Plus carries the credit row
*Package Upgrade Credit* at -585.00 (3 visits 405 + kit 72 + labs 108), untaxed; its GL: Dr Debtors
680.76, Dr Deferred 585.00 (the old balance's), Cr Deferred 1,260.00 (the new), Cr Sales Tax 5.76.
"""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate

from package_bundles import api, engine
from package_bundles.exceptions import (
	BalanceAlreadyRedeemedError,
	BalanceExpiredError,
	BalanceFrozenError,
	BalanceRefundedError,
	BalanceUnavailableError,
	BalanceUpgradedError,
	BalanceUponPurchaseError,
	UpgradeCreditChangedError,
	UpgradeDuplicateError,
	UpgradeInvoiceError,
	UpgradeNegativeRatesError,
	UpgradeOtherPartyError,
	UpgradeWithoutPackageError,
)
from package_bundles.flows import expire
from package_bundles.ledger.posting import LedgerPosting
from package_bundles.package_bundles.doctype.package_balance.test_desk_cancel import (
	cancel_from_form,
	journal_entries_of,
	listed_by_dialog,
)
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
)
from package_bundles.setup.install import UPGRADE_CREDIT_ITEM_KEY, make_upgrade_credit_item
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	DEBTORS,
	DEFERRED,
	KIT,
	LAB,
	OTHER_CUSTOMER,
	SALES_TAX,
	VISIT,
	VISIT_INCOME,
	gl_balance,
	gl_entries,
	make_invoice,
	make_package,
	pay,
)

test_ignore = [*IGNORED_TEST_RECORDS, "Package Balance Freeze"]

WRITES = ("Sales Invoice", "Package Balance", "Package Ledger Entry", "GL Entry", "Journal Entry")


def line_state(balance_name: str) -> list[tuple]:
	return [
		(
			row.item_code,
			row.qty_redeemed,
			row.qty_remaining,
			row.qty_moved_out,
			row.moved_out_amount,
			row.recognized_amount,
			row.breakage_amount,
			row.deferred_amount,
		)
		for row in frappe.get_all(
			"Package Balance Item",
			filters={"parent": balance_name},
			fields=[
				"item_code",
				"qty_redeemed",
				"qty_remaining",
				"qty_moved_out",
				"moved_out_amount",
				"recognized_amount",
				"breakage_amount",
				"deferred_amount",
			],
			order_by="idx asc",
		)
	]


def gl_rows(voucher_no: str, account_name: str) -> list[tuple]:
	"""(debit, credit) of each live GL Entry of a voucher on an account, largest first."""
	rows = frappe.get_all(
		"GL Entry",
		filters={"voucher_no": voucher_no, "account": account_name, "is_cancelled": 0},
		fields=["debit", "credit"],
		order_by="debit desc, credit desc",
	)
	return [(row.debit, row.credit) for row in rows]


def upgrade_ledger(invoice_name: str) -> list[tuple]:
	return [
		(row.event, row.item_code, row.qty_change, row.deferred_change, row.is_cancelled)
		for row in frappe.get_all(
			"Package Ledger Entry",
			filters={"voucher_no": invoice_name, "event": ("like", "%Upgrade%")},
			fields=["event", "item_code", "qty_change", "deferred_change", "is_cancelled"],
			order_by="item_code asc",
		)
	]


class TestPackageUpgrade(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		# as after_install or after_migrate make it on a site whose item tree exists
		frappe.cache.delete_value(UPGRADE_CREDIT_ITEM_KEY)
		make_upgrade_credit_item()
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		# ERPNext accepts the credit row's negative rate only so (rolled back after each test)
		frappe.db.set_single_value("Selling Settings", "allow_negative_rates_for_items", 1)
		self.credit_item = make_upgrade_credit_item()
		self.old_package = make_package()
		# 8 visits, the kit, 2 labs: default price 1,400, sold for 1,260 (135 a visit, like the old one)
		self.new_package = make_package(
			name="Postpartum Care Plus", items=[(VISIT, 8), (KIT, 1), (LAB, 2)], price=1260
		)

	# --- helpers ----------------------------------------------------------------------------

	def sell_old(self, customer=CUSTOMER, paid=True, visits_used=1, package=None, **values):
		package = package or self.old_package
		sale = make_invoice([(package.item, 1)], customer=customer, **values)
		if paid:
			pay(sale)
		[balance] = balances_of(sale)
		if visits_used:
			visit = make_invoice([(VISIT, visits_used)], customer=customer, taxes=False)
			self.assertEqual(visit.items[0].package_balance, balance.name)
		return balance.name

	def credit_row(self, balance: str, **values) -> dict:
		return {"item_code": self.credit_item, "qty": 1, "package_upgrade_from": balance, **values}

	def upgrade(self, balance: str, package=None, submit=True, customer=CUSTOMER, extra_rows=()):
		package = package or self.new_package
		return make_invoice(
			[(package.item, 1), self.credit_row(balance), *extra_rows], customer=customer, submit=submit
		)

	def assert_refused(self, exception, make):
		before = self.count_documents(*WRITES)
		with self.assertRaises(exception):
			make()
		self.assertEqual(self.count_documents(*WRITES), before)

	# --- the happy path ---------------------------------------------------------------------

	def test_worked_example_a_partly_used_balance_traded_up(self):
		old = self.sell_old()
		deferred_before = round(-gl_balance(DEFERRED), 2)

		invoice = self.upgrade(old)

		package_row, credit = invoice.items
		self.assertEqual((package_row.rate, package_row.income_account), (1260, DEFERRED))
		self.assertEqual((credit.qty, credit.rate, credit.amount), (1, -585, -585))
		self.assertEqual(credit.income_account, DEFERRED)
		self.assertEqual(credit.cost_center, frappe.db.get_value("Package Balance", old, "cost_center"))
		self.assertIsNone(credit.pricing_rules or None)
		# zero-rated: only the new package's kit bears tax, 72 x 8%
		self.assertEqual(invoice.total_taxes_and_charges, 5.76)
		self.assertEqual(invoice.grand_total, 680.76)
		self.assertEqual(gl_entries(invoice.name), {DEBTORS: 680.76, DEFERRED: -675.0, SALES_TAX: -5.76})
		# ERPNext merges the two deferred lines of one account and cost center: 1,260 - 585
		self.assertEqual(gl_rows(invoice.name, DEFERRED), [(0.0, 675.0)])
		# the exchange recognizes no revenue and posts no Journal Entry of the app
		self.assertEqual(journal_entries_of(invoice.name), [])
		self.assertEqual(round(-gl_balance(DEFERRED), 2), deferred_before + 675)

		old_doc = frappe.get_doc("Package Balance", old)
		self.assertEqual(old_doc.status, "Upgraded")
		self.assertEqual(old_doc.total_deferred, 0)
		self.assertEqual(
			line_state(old),
			[
				(VISIT, 1, 0, 3, 405, 135, 0, 0),
				(KIT, 0, 0, 1, 72, 0, 0, 0),
				(LAB, 0, 0, 2, 108, 0, 0, 0),
			],
		)
		self.assertEqual(
			upgrade_ledger(invoice.name),
			[("Upgrade", LAB, -2, -108, 0), ("Upgrade", KIT, -1, -72, 0), ("Upgrade", VISIT, -3, -405, 0)],
		)
		[new] = balances_of(invoice)
		self.assertEqual((new.total_deferred, new.package_price, new.upgraded_from), (1260, 1260, old))
		self.assertEqual(old_doc.upgraded_to, new.name)
		self.assertEqual(new.status, "Awaiting Payment")
		# the roll-forward shows the credit leaving the old balance (the new one's sale is under Sold)
		_columns, rows, *_rest = roll_forward.execute(
			frappe._dict(company=COMPANY, from_date=nowdate(), to_date=nowdate())
		)
		self.assertEqual(rows[-1]["credited_to_upgrades"], -585)
		pay(invoice)
		new.reload()
		self.assertEqual(new.status, "Active")
		self.assertEqual(invariant_problems(), [])

	def test_proportional_balance_gives_back_its_breakage_before_the_credit(self):
		"""Breakage recognized with the visit (20%: 33.75) goes back to deferred, then all 585 leaves."""
		package = make_package(
			name="Postpartum Care Proportional", breakage_method="Proportional", expected_breakage_rate=20
		)
		old = self.sell_old(package=package)
		self.assertEqual(frappe.db.get_value("Package Balance", old, "total_deferred"), 551.25)

		invoice = self.upgrade(old)

		self.assertEqual(invoice.items[1].rate, -585)
		[journal_entry] = journal_entries_of(invoice.name)
		# back from the account it was booked to (no breakage account in Package Settings: the visit's)
		self.assertEqual(gl_entries(journal_entry), {VISIT_INCOME: 33.75, DEFERRED: -33.75})
		self.assertEqual(
			frappe.db.get_value("Package Balance", old, ["status", "total_deferred"]), ("Upgraded", 0)
		)
		self.assertEqual(invariant_problems(), [])
		# the form's Cancel All leaves the app's entry to the invoice, whose cancel takes it back
		self.assertNotIn(
			journal_entry, {doc["name"] for doc in listed_by_dialog("Sales Invoice", invoice.name)}
		)
		cancel_from_form("Sales Invoice", invoice.name)
		self.assertEqual(frappe.db.get_value("Journal Entry", journal_entry, "docstatus"), 2)
		self.assertEqual(
			frappe.db.get_value("Package Balance", old, ["status", "total_deferred"]), ("Active", 551.25)
		)
		self.assertEqual(invariant_problems(), [])

	def test_the_balance_form_prepares_the_invoice(self):
		old = self.sell_old()
		self.assertEqual(
			api.prepare_upgrade(old),
			{"balance": old, "customer": CUSTOMER, "company": COMPANY, "item_code": self.credit_item},
		)

	# --- refusals -----------------------------------------------------------------------------

	def test_a_refunded_balance_cannot_be_upgraded(self):
		sale = make_invoice([(self.old_package.item, 1)])
		pay(sale)
		[balance] = balances_of(sale)
		refund = make_sales_return(sale.name)
		refund.insert()
		refund.submit()
		self.assertEqual(frappe.db.get_value("Package Balance", balance.name, "status"), "Refunded")
		self.assert_refused(BalanceRefundedError, lambda: self.upgrade(balance.name))

	def test_an_expired_balance_cannot_be_upgraded(self):
		package = make_package(name="Postpartum Care 30 Days", valid_for_days=30)
		old = self.sell_old(package=package, visits_used=0, posting_date=add_days(nowdate(), -40))
		# past its expiry date, before the expiry job ran
		self.assert_refused(BalanceExpiredError, lambda: self.upgrade(old))
		expire.expire_balances()
		self.assertEqual(frappe.db.get_value("Package Balance", old, "status"), "Expired")
		self.assert_refused(BalanceExpiredError, lambda: self.upgrade(old))

	def test_another_customers_balance_cannot_be_credited(self):
		old = self.sell_old(customer=OTHER_CUSTOMER)
		self.assert_refused(UpgradeOtherPartyError, lambda: self.upgrade(old, customer=CUSTOMER))

	def test_an_unpaid_upon_purchase_or_frozen_balance_is_refused(self):
		unpaid = self.sell_old(paid=False, visits_used=0)
		self.assert_refused(BalanceUnavailableError, lambda: self.upgrade(unpaid))

		prepaid = make_package(name="Postpartum Care Prepaid", revenue_recognition="Upon Purchase")
		upon_purchase = self.sell_old(package=prepaid, visits_used=0)
		self.assert_refused(BalanceUponPurchaseError, lambda: self.upgrade(upon_purchase))

		frozen = self.sell_old(visits_used=0)
		freeze = frappe.get_doc(
			{
				"doctype": "Package Balance Freeze",
				"package_balance": frozen,
				"from_date": nowdate(),
				"to_date": add_days(nowdate(), 10),
				"reason": "In hospital",
			}
		)
		freeze.insert()
		freeze.submit()
		self.assert_refused(BalanceFrozenError, lambda: self.upgrade(frozen))

	def test_a_credit_note_cannot_carry_the_credit_row(self):
		invoice = self.upgrade(self.sell_old())
		credit_note = make_sales_return(invoice.name)
		self.assert_refused(UpgradeInvoiceError, credit_note.insert)
		# the way back is cancelling the invoice
		invoice.reload()
		invoice.cancel()
		self.assertEqual(
			frappe.db.get_value("Package Balance", invoice.items[1].package_upgrade_from, "status"), "Active"
		)

	def test_a_credit_above_the_package_or_without_one_is_refused(self):
		old = self.sell_old(visits_used=0)  # 720 to credit
		small = make_package(name="Single Visit Pack", items=[(VISIT, 2)], price=300)
		self.assert_refused(UpgradeWithoutPackageError, lambda: self.upgrade(old, package=small))
		self.assert_refused(
			UpgradeWithoutPackageError, lambda: make_invoice([(VISIT, 1), self.credit_row(old)], taxes=False)
		)

	def test_negative_rates_must_be_allowed_in_selling_settings(self):
		old = self.sell_old()
		frappe.db.set_single_value("Selling Settings", "allow_negative_rates_for_items", 0)
		self.assert_refused(UpgradeNegativeRatesError, lambda: self.upgrade(old))

	def test_one_balance_credited_twice_on_an_invoice_is_refused(self):
		old = self.sell_old()
		self.assert_refused(
			UpgradeDuplicateError, lambda: self.upgrade(old, extra_rows=[self.credit_row(old)])
		)

	def test_a_pos_invoice_cannot_carry_the_credit_row(self):
		from package_bundles.package_bundles.doctype.package_balance.test_point_of_sale import pos_invoice
		from package_bundles.tests.fixtures import make_till

		make_till()
		self.assert_refused(
			UpgradeInvoiceError,
			lambda: pos_invoice(CUSTOMER, [(VISIT, 1), {"item_code": self.credit_item, "qty": 1}], pay=False),
		)

	# --- cancel, redemption while upgraded, amend -------------------------------------------------

	def test_cancel_restores_the_old_balance_exactly(self):
		old = self.sell_old()
		state_before = line_state(old)
		deferred_before = round(-gl_balance(DEFERRED), 2)
		invoice = self.upgrade(old)
		[new] = balances_of(invoice)

		# while upgraded, the old balance serves no visit (charged in full), and the engine refuses one
		visit = make_invoice([(VISIT, 1)], taxes=False)
		self.assertFalse(visit.items[0].package_balance)
		self.assertEqual(visit.items[0].rate, 150)
		posting = LedgerPosting("Sales Invoice", "test", nowdate(), visit.company, balances=[old], lock=False)
		with self.assertRaises(BalanceUpgradedError):
			posting.apply(posting.find_line(old, VISIT).name, engine.Redeem(1))

		invoice.reload()
		invoice.cancel()

		self.assertEqual(frappe.db.get_value("Package Balance", old, "status"), "Active")
		self.assertIsNone(frappe.db.get_value("Package Balance", old, "upgraded_to"))
		self.assertEqual(line_state(old), state_before)
		self.assertEqual(frappe.db.get_value("Package Balance", new.name, "status"), "Cancelled")
		self.assertEqual(gl_entries(invoice.name), {})
		self.assertEqual(round(-gl_balance(DEFERRED), 2), deferred_before)
		self.assertEqual({row[4] for row in upgrade_ledger(invoice.name)}, {1})
		self.assertEqual(invariant_problems(), [])

		# used again after the cancel: the next visit redeems from it
		again = make_invoice([(VISIT, 1)], taxes=False)
		self.assertEqual(again.items[0].package_balance, old)
		self.assertEqual(line_state(old)[0][:3], (VISIT, 2, 2))
		self.assertEqual(invariant_problems(), [])

	def test_a_balance_used_after_the_draft_was_saved_refuses_its_submit(self):
		old = self.sell_old()
		draft = self.upgrade(old, submit=False)
		self.assertEqual(draft.items[1].rate, -585)
		make_invoice([(VISIT, 1)], taxes=False)  # one more visit from the old balance: 450 left
		draft.reload()
		self.assert_refused(UpgradeCreditChangedError, draft.submit)
		draft.reload()
		draft.save()
		self.assertEqual(draft.items[1].rate, -450)
		draft.submit()
		self.assertEqual(frappe.db.get_value("Package Balance", old, "status"), "Upgraded")
		self.assertEqual(invariant_problems(), [])

	def test_a_return_of_a_visit_from_an_upgraded_balance_is_refused_before_posting(self):
		old = self.sell_old()
		visit = frappe.get_all(
			"Package Redemption", filters={"package_balance": old}, pluck="sales_invoice", order_by="name asc"
		)[0]
		self.upgrade(old)
		credit_note = make_sales_return(visit)
		self.assert_refused(BalanceUpgradedError, credit_note.insert)

	def test_amend_after_cancel_upgrades_again(self):
		old = self.sell_old()
		invoice = self.upgrade(old)
		invoice.reload()
		invoice.cancel()
		amended = frappe.copy_doc(invoice)
		amended.amended_from = invoice.name
		amended.docstatus = 0
		amended.insert()
		amended.submit()

		self.assertEqual(amended.items[1].rate, -585)
		self.assertEqual(frappe.db.get_value("Package Balance", old, "status"), "Upgraded")
		[new] = balances_of(amended)
		self.assertEqual(frappe.db.get_value("Package Balance", old, "upgraded_to"), new.name)
		self.assertEqual(gl_entries(amended.name), {DEBTORS: 680.76, DEFERRED: -675.0, SALES_TAX: -5.76})
		self.assertEqual(invariant_problems(), [])

	def test_cancel_all_from_the_form_with_a_payment(self):
		"""A paid upgrade invoice cancels from its form (ERPNext unlinks the payment, as Accounts Settings say)."""
		frappe.db.set_single_value("Accounts Settings", "unlink_payment_on_cancellation_of_invoice", 1)
		old = self.sell_old()
		invoice = self.upgrade(old)
		pay(invoice)
		cancel_from_form("Sales Invoice", invoice.name)

		self.assertEqual(frappe.db.get_value("Sales Invoice", invoice.name, "docstatus"), 2)
		self.assertEqual(frappe.db.get_value("Package Balance", old, "status"), "Active")
		self.assertEqual(invariant_problems(), [])

	def test_a_new_balance_used_blocks_the_cancel(self):
		"""The new package's purchase with redemptions is refused, as any purchase is: nothing moves."""
		old = self.sell_old()
		invoice = self.upgrade(old)
		pay(invoice)
		make_invoice([(VISIT, 1)], taxes=False)  # from the new balance: the old one is Upgraded
		invoice.reload()
		with self.assertRaises(BalanceAlreadyRedeemedError):
			invoice.cancel()
		self.assertEqual(frappe.db.get_value("Package Balance", old, "status"), "Upgraded")
