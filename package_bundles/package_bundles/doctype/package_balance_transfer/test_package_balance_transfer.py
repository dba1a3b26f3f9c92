# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 20, Transfer: a balance's unused units, with the deferred value they carry, given to another
customer of the same company.

The worked example (Postpartum Care, 720: 4 visits at 135, the kit 72, 2 labs at 54). Whole and
unused, it moves 720 to a new balance of the receiving customer with the same terms and expiry; both
sit on the same deferred account and cost center, so no Journal Entry. With one visit used, two of
the three left move 270.00. To another cost center, one Journal Entry moves the deferred revenue
between the two. After every step the GL, the ledger and the Package Deferred Revenue report agree
(invariant_problems), per company and per customer.
"""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate

from package_bundles.exceptions import (
	BalanceExpiredError,
	BalanceFrozenError,
	BalanceRefundedError,
	BalanceTransferredError,
	BalanceUnavailableError,
	BalanceUponPurchaseError,
	BalanceUsedUpError,
	TransferAcrossCompaniesError,
	TransferCostCenterError,
	TransferCustomerError,
	TransferItemError,
	TransferReceiverUsedError,
	TransferToSameCustomerError,
)
from package_bundles.flows import expire
from package_bundles.package_bundles.doctype.package_balance.test_desk_cancel import (
	cancel_from_form,
	journal_entries_of,
	listed_by_dialog,
)
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	ledger_deferred,
)
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
)
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	DEFERRED,
	KIT,
	LAB,
	MAIN_COST_CENTER,
	OTHER_ABBR,
	OTHER_COMPANY,
	OTHER_CUSTOMER,
	VISIT,
	VISIT_INCOME,
	account,
	gl_balance,
	gl_entries,
	make_invoice,
	make_package,
	make_patient,
	pay,
)

test_ignore = [*IGNORED_TEST_RECORDS, "Package Balance Freeze", "Package Balance Transfer"]

WRITES = ("Package Balance", "Package Ledger Entry", "GL Entry", "Journal Entry")
REASON = "Moving abroad; the visits go to her sister"


def line_state(balance_name: str) -> list[tuple]:
	"""(item, purchased, redeemed, remaining, moved out, allocated, recognized, moved-out value, deferred)."""
	return [
		(
			row.item_code,
			row.qty_purchased,
			row.qty_redeemed,
			row.qty_remaining,
			row.qty_moved_out,
			row.allocated_amount,
			row.recognized_amount,
			row.moved_out_amount,
			row.deferred_amount,
		)
		for row in frappe.get_all(
			"Package Balance Item",
			filters={"parent": balance_name},
			fields=[
				"item_code",
				"qty_purchased",
				"qty_redeemed",
				"qty_remaining",
				"qty_moved_out",
				"allocated_amount",
				"recognized_amount",
				"moved_out_amount",
				"deferred_amount",
			],
			order_by="idx asc",
		)
	]


def transfer_ledger(transfer_name: str) -> list[tuple]:
	return [
		(row.event, row.customer, row.company, row.item_code, row.qty_change, row.deferred_change)
		for row in frappe.get_all(
			"Package Ledger Entry",
			filters={
				"voucher_type": "Package Balance Transfer",
				"voucher_no": transfer_name,
				"is_cancelled": 0,
			},
			fields=["event", "customer", "company", "item_code", "qty_change", "deferred_change"],
			order_by="event desc, item_code asc",
		)
	]


def gl_by_cost_center(voucher_no: str, account_name: str) -> dict[str, float]:
	rows = frappe.get_all(
		"GL Entry",
		filters={"voucher_no": voucher_no, "account": account_name, "is_cancelled": 0},
		fields=["cost_center", "sum(debit) - sum(credit) as amount"],
		group_by="cost_center",
		order_by="cost_center asc",
	)
	return {row.cost_center: round(row.amount, 2) for row in rows}


def lines_of(balance_name: str) -> dict[str, str]:
	"""item -> the balance line's name."""
	return dict(
		frappe.get_all(
			"Package Balance Item",
			filters={"parent": balance_name},
			fields=["item_code", "name"],
			as_list=True,
			order_by="idx asc",
		)
	)


def connections(balance_name: str) -> dict[str, int]:
	"""What the Package Balance form's Connections tab counts, per linked doctype."""
	from frappe.desk.notifications import get_open_count

	counts = get_open_count("Package Balance", balance_name)["count"]["external_links_found"]
	return {row["doctype"]: row["count"] for row in counts}


def per_customer(customer: str) -> float:
	return ledger_deferred(COMPANY, nowdate(), [customer])


class TestPackageBalanceTransfer(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.package = make_package()

	# --- helpers ----------------------------------------------------------------------------

	def sell(self, customer=CUSTOMER, paid=True, visits_used=0, package=None, **values) -> str:
		sale = make_invoice([((package or self.package).item, 1)], customer=customer, **values)
		if paid:
			pay(sale)
		[balance] = balances_of(sale)
		if visits_used:
			visit = make_invoice([(VISIT, visits_used)], customer=customer, taxes=False)
			self.assertEqual(visit.items[0].package_balance, balance.name)
		return balance.name

	def transfer(self, balance: str, to=OTHER_CUSTOMER, items=None, submit=True, **values):
		doc = frappe.get_doc(
			{
				"doctype": "Package Balance Transfer",
				"from_balance": balance,
				"to_customer": to,
				"reason": REASON,
				"items": items or [],
				**values,
			}
		)
		doc.insert()
		if submit:
			doc.submit()
		return doc

	def assert_refused(self, exception, make):
		before = self.count_documents(*WRITES)
		with self.assertRaises(exception):
			make()
		self.assertEqual(self.count_documents(*WRITES), before)

	def assert_refused_at_submit(self, exception, balance, **values):
		doc = self.transfer(balance, submit=False, **values)
		self.assert_refused(exception, doc.submit)

	def assert_books(self):
		self.assertEqual(invariant_problems(), [])
		self.assert_reconciled()

	def make_cost_center(self, name="PKT Transfer Clinic") -> str:
		if frappe.db.exists("Cost Center", f"{name} - PKP"):
			return f"{name} - PKP"
		return (
			frappe.get_doc(
				{
					"doctype": "Cost Center",
					"cost_center_name": name,
					"parent_cost_center": frappe.db.get_value(
						"Cost Center",
						{"company": COMPANY, "is_group": 1, "parent_cost_center": ("is", "not set")},
					),
					"company": COMPANY,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)

	# --- the happy paths ----------------------------------------------------------------------

	def test_whole_transfer_of_an_unused_balance_posts_nothing_and_the_receiver_redeems(self):
		giving = self.sell()
		deferred_before = round(-gl_balance(DEFERRED), 2)

		transfer = self.transfer(giving)  # no rows: everything left

		self.assertEqual(
			[(row.item_code, row.qty_available, row.qty, row.value) for row in transfer.items],
			[(VISIT, 4, 4, 540), (KIT, 1, 1, 72), (LAB, 2, 2, 108)],
		)
		transfer.reload()
		self.assertEqual(transfer.total_value, 720)
		self.assertEqual(str(transfer.transfer_date), nowdate())
		# same deferred account, cost center and dimensions: the two sides net to nothing
		self.assertIsNone(transfer.journal_entry)
		self.assertEqual(journal_entries_of(transfer.name), [])
		self.assertEqual(round(-gl_balance(DEFERRED), 2), deferred_before)

		given = frappe.get_doc("Package Balance", giving)
		self.assertEqual((given.status, given.total_deferred), ("Transferred", 0))
		self.assertEqual(
			line_state(giving),
			[
				(VISIT, 4, 0, 0, 4, 540, 0, 540, 0),
				(KIT, 1, 0, 0, 1, 72, 0, 72, 0),
				(LAB, 2, 0, 0, 2, 108, 0, 108, 0),
			],
		)
		received = frappe.get_doc("Package Balance", transfer.to_balance)
		self.assertEqual(
			(
				received.customer,
				received.company,
				received.prepaid_package,
				received.expiry_date,
				received.deferred_revenue_account,
				received.cost_center,
				received.status,
				received.total_deferred,
				received.package_price,
				received.sales_invoice,
				str(received.purchase_date),
				received.transferred_from,
				received.package_balance_transfer,
			),
			(
				OTHER_CUSTOMER,
				COMPANY,
				self.package.name,
				given.expiry_date,
				DEFERRED,
				given.cost_center,
				"Active",
				720,
				720,
				None,
				nowdate(),
				giving,
				transfer.name,
			),
		)
		self.assertEqual(
			line_state(received.name),
			[
				(VISIT, 4, 0, 4, 0, 540, 0, 0, 540),
				(KIT, 1, 0, 1, 0, 72, 0, 0, 72),
				(LAB, 2, 0, 2, 0, 108, 0, 0, 108),
			],
		)
		# each side's ledger entries carry their own customer and company
		self.assertEqual(
			transfer_ledger(transfer.name),
			[
				("Transfer Out", CUSTOMER, COMPANY, LAB, -2, -108),
				("Transfer Out", CUSTOMER, COMPANY, KIT, -1, -72),
				("Transfer Out", CUSTOMER, COMPANY, VISIT, -4, -540),
				("Transfer In", OTHER_CUSTOMER, COMPANY, LAB, 2, 108),
				("Transfer In", OTHER_CUSTOMER, COMPANY, KIT, 1, 72),
				("Transfer In", OTHER_CUSTOMER, COMPANY, VISIT, 4, 540),
			],
		)
		self.assertEqual((per_customer(CUSTOMER), per_customer(OTHER_CUSTOMER)), (0, 720))
		# the giving balance's form lists the transfer and the balance it made (Connections)
		self.assertEqual(connections(giving), {"Package Balance Transfer": 1, "Package Balance": 1})
		_columns, rows, *_rest = roll_forward.execute(
			frappe._dict(company=COMPANY, from_date=nowdate(), to_date=nowdate())
		)
		self.assertEqual((rows[-1]["transferred_in"], rows[-1]["transferred_out"]), (720, -720))
		self.assert_books()

		# the receiving customer's invoice redeems a visit from the new balance
		visit = make_invoice([(VISIT, 1)], customer=OTHER_CUSTOMER, taxes=False)
		self.assertEqual(visit.items[0].package_balance, received.name)
		[journal_entry] = journal_entries_of(visit.name)
		self.assertEqual(gl_entries(journal_entry), {DEFERRED: 135, VISIT_INCOME: -135})
		self.assertEqual(frappe.db.get_value("Package Balance", received.name, "total_deferred"), 585)
		self.assertEqual((per_customer(CUSTOMER), per_customer(OTHER_CUSTOMER)), (0, 585))
		self.assertEqual(round(-gl_balance(DEFERRED), 2), deferred_before - 135)
		self.assert_books()
		# the giving customer's invoice no longer finds a visit
		own = make_invoice([(VISIT, 1)], customer=CUSTOMER, taxes=False)
		self.assertFalse(own.items[0].package_balance)

	def test_part_of_a_partly_used_balance_moves_to_the_cent(self):
		giving = self.sell(visits_used=1)  # 135 recognized; 3 visits (405), the kit and the labs left
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "total_deferred"), 585)

		transfer = self.transfer(giving, items=[{"balance_item": lines_of(giving)[VISIT], "qty": 2}])

		self.assertEqual([(row.item_code, row.qty, row.value) for row in transfer.items], [(VISIT, 2, 270)])
		self.assertEqual(
			line_state(giving),
			[
				(VISIT, 4, 1, 1, 2, 540, 135, 270, 135),
				(KIT, 1, 0, 1, 0, 72, 0, 0, 72),
				(LAB, 2, 0, 2, 0, 108, 0, 0, 108),
			],
		)
		self.assertEqual(
			frappe.db.get_value("Package Balance", giving, ["status", "total_deferred"]), ("Active", 315)
		)
		received = transfer.to_balance
		self.assertEqual(line_state(received), [(VISIT, 2, 0, 2, 0, 270, 0, 0, 270)])
		self.assertEqual((per_customer(CUSTOMER), per_customer(OTHER_CUSTOMER)), (315, 270))
		self.assertIsNone(frappe.db.get_value("Package Balance Transfer", transfer.name, "journal_entry"))
		self.assert_books()

		# the visit the giver keeps recognizes exactly what it still defers
		last = make_invoice([(VISIT, 1)], customer=CUSTOMER, taxes=False)
		self.assertEqual(last.items[0].package_balance, giving)
		self.assertEqual(gl_entries(journal_entries_of(last.name)[0]), {DEFERRED: 135, VISIT_INCOME: -135})
		# and the receiver's two visits 135 each
		two = make_invoice([(VISIT, 2)], customer=OTHER_CUSTOMER, taxes=False)
		self.assertEqual(gl_entries(journal_entries_of(two.name)[0]), {DEFERRED: 270, VISIT_INCOME: -270})
		self.assertEqual(frappe.db.get_value("Package Balance", received, "status"), "Exhausted")
		self.assertEqual((per_customer(CUSTOMER), per_customer(OTHER_CUSTOMER)), (180, 0))
		self.assert_books()

	def test_uneven_units_split_by_what_they_carry(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
		giving = self.sell(package=package)
		transfer = self.transfer(giving, items=[{"balance_item": lines_of(giving)[VISIT], "qty": 1}])
		self.assertEqual(transfer.items[0].value, 33.33)
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "total_deferred"), 66.67)
		self.assert_books()

	def test_another_cost_center_moves_the_deferred_revenue_by_a_journal_entry(self):
		clinic = self.make_cost_center()
		giving = self.sell(visits_used=1)

		transfer = self.transfer(giving, cost_center=clinic)
		transfer.reload()

		self.assertEqual(transfer.total_value, 585)
		self.assertTrue(transfer.journal_entry)
		self.assertEqual(journal_entries_of(transfer.name), [transfer.journal_entry])
		self.assertEqual(
			gl_by_cost_center(transfer.journal_entry, DEFERRED), {MAIN_COST_CENTER: 585, clinic: -585}
		)
		self.assertIn(
			transfer.name, frappe.db.get_value("Journal Entry", transfer.journal_entry, "user_remark")
		)
		received = frappe.get_doc("Package Balance", transfer.to_balance)
		self.assertEqual((received.cost_center, received.total_deferred), (clinic, 585))
		# both sides' entries name the Journal Entry that moved them
		self.assertEqual(
			set(
				frappe.get_all(
					"Package Ledger Entry",
					filters={"voucher_no": transfer.name, "is_cancelled": 0},
					pluck="journal_entry",
				)
			),
			{transfer.journal_entry},
		)
		self.assert_books()

		# a redemption of the receiver takes the deferred revenue from the new cost center
		visit = make_invoice([(VISIT, 1)], customer=OTHER_CUSTOMER, taxes=False)
		self.assertEqual(gl_by_cost_center(journal_entries_of(visit.name)[0], DEFERRED), {clinic: 135})
		visit.cancel()
		self.assert_books()

		# cancelling the transfer from the form cancels its Journal Entry too
		self.assertNotIn(
			transfer.journal_entry,
			{doc["name"] for doc in listed_by_dialog("Package Balance Transfer", transfer.name)},
		)
		cancel_from_form("Package Balance Transfer", transfer.name)
		self.assertEqual(frappe.db.get_value("Journal Entry", transfer.journal_entry, "docstatus"), 2)
		self.assertEqual(frappe.db.get_value("Package Balance", received.name, "status"), "Cancelled")
		self.assertEqual(
			frappe.db.get_value("Package Balance", giving, ["status", "total_deferred"]), ("Active", 585)
		)
		self.assert_books()

	def test_a_proportional_balance_gives_back_its_breakage_before_the_units_leave(self):
		"""Breakage recognized with the used visit (20%: 33.75) goes back to deferred: all 585 leaves."""
		package = make_package(
			name="Postpartum Care Proportional", breakage_method="Proportional", expected_breakage_rate=20
		)
		giving = self.sell(package=package, visits_used=1)
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "total_deferred"), 551.25)

		transfer = self.transfer(giving)
		transfer.reload()

		self.assertEqual(transfer.total_value, 585)
		# the transfer itself nets to nothing; the breakage going back is the entry's only movement
		self.assertEqual(gl_entries(transfer.journal_entry), {VISIT_INCOME: 33.75, DEFERRED: -33.75})
		received = frappe.get_doc("Package Balance", transfer.to_balance)
		self.assertEqual((received.breakage_method, received.breakage_rate), ("Proportional", 20))
		self.assertEqual(received.total_deferred, 585)
		self.assert_books()

		transfer.cancel()
		self.assertEqual(frappe.db.get_value("Journal Entry", transfer.journal_entry, "docstatus"), 2)
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "total_deferred"), 551.25)
		self.assert_books()

	# --- cancel ---------------------------------------------------------------------------------

	def test_cancel_restores_the_giver_exactly(self):
		giving = self.sell(visits_used=1)
		before = line_state(giving)
		transfer = self.transfer(giving, items=[{"balance_item": lines_of(giving)[VISIT], "qty": 2}])

		transfer.cancel()

		self.assertEqual(line_state(giving), before)
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "status"), "Active")
		self.assertEqual(frappe.db.get_value("Package Balance", transfer.to_balance, "status"), "Cancelled")
		self.assertEqual(transfer_ledger(transfer.name), [])
		self.assertEqual((per_customer(CUSTOMER), per_customer(OTHER_CUSTOMER)), (585, 0))
		self.assert_books()
		# amended, it moves the units again to a new balance
		amended = frappe.copy_doc(transfer)
		amended.amended_from, amended.docstatus = transfer.name, 0
		amended.insert()
		amended.submit()
		self.assertNotEqual(amended.to_balance, transfer.to_balance)
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "total_deferred"), 315)
		self.assert_books()

	def test_cancel_with_the_books_frozen_reverses_both_sides_on_the_first_open_day(self):
		clinic = self.make_cost_center()
		giving = self.sell()
		transfer = self.transfer(giving, cost_center=clinic)
		transfer.reload()
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", nowdate())

		transfer.cancel()

		# the Journal Entry stays in the frozen day and a reversal lands the day after, like both sides' entries
		[reversal] = frappe.get_all(
			"Journal Entry", filters={"reversal_of": transfer.journal_entry, "docstatus": 1}, pluck="name"
		)
		self.assertEqual(
			str(frappe.db.get_value("Journal Entry", reversal, "posting_date")), add_days(nowdate(), 1)
		)
		self.assertEqual(gl_by_cost_center(reversal, DEFERRED), {MAIN_COST_CENTER: -720, clinic: 720})
		reversed_entries = frappe.get_all(
			"Package Ledger Entry",
			filters={"voucher_no": transfer.name, "is_reversal": 1},
			fields=["customer", "posting_date", "journal_entry"],
			order_by="customer asc",
		)
		self.assertEqual(
			{(row.customer, str(row.posting_date), row.journal_entry) for row in reversed_entries},
			{
				(CUSTOMER, add_days(nowdate(), 1), reversal),
				(OTHER_CUSTOMER, add_days(nowdate(), 1), reversal),
			},
		)
		self.assertEqual(
			frappe.db.get_value("Package Balance", giving, ["status", "total_deferred"]), ("Active", 720)
		)
		self.assertEqual(frappe.db.get_value("Package Balance", transfer.to_balance, "status"), "Cancelled")
		self.assert_books()

	def test_cancel_is_refused_once_the_receiver_used_the_balance(self):
		giving = self.sell()
		transfer = self.transfer(giving)
		visit = make_invoice([(VISIT, 1)], customer=OTHER_CUSTOMER, taxes=False)

		transfer.reload()
		self.assert_refused(TransferReceiverUsedError, transfer.cancel)
		self.assertEqual(frappe.db.get_value("Package Balance Transfer", transfer.name, "docstatus"), 1)

		# the invoice cancelled first, the transfer cancels
		visit.cancel()
		transfer.reload()
		transfer.cancel()
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "status"), "Active")
		self.assert_books()

	def test_a_transferred_balance_cannot_lose_its_purchase(self):
		"""The giver's invoice cannot be cancelled while its units sit on another customer's balance."""
		sale = make_invoice([(self.package.item, 1)])
		pay(sale)
		[giving] = balances_of(sale)
		self.transfer(giving.name)
		sale.reload()
		self.assert_refused(BalanceTransferredError, sale.cancel)

	def test_a_package_manager_transfers_and_an_accounts_user_may_not(self):
		giving = self.sell()
		manager = make_user("pkt-transfer-manager@example.com", ["Package Manager", "Accounts User"])
		clerk = make_user("pkt-transfer-clerk@example.com", ["Accounts User", "Sales User"])
		frappe.set_user(clerk)
		with self.assertRaises(frappe.PermissionError):
			self.transfer(giving)
		frappe.set_user(manager)
		transfer = self.transfer(giving)
		self.assertEqual(frappe.db.get_value("Package Balance Transfer", transfer.name, "owner"), manager)
		frappe.set_user(clerk)
		# an accounts user reads it, and cannot cancel it
		self.assertTrue(frappe.has_permission("Package Balance Transfer", "read", transfer.name))
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc("Package Balance Transfer", transfer.name).cancel()
		frappe.set_user("Administrator")
		self.assert_books()

	# --- refusals -------------------------------------------------------------------------------

	def test_not_to_the_same_customer_nor_an_unknown_or_disabled_one(self):
		giving = self.sell()
		self.assert_refused(TransferToSameCustomerError, lambda: self.transfer(giving, to=CUSTOMER))
		self.assert_refused(TransferCustomerError, lambda: self.transfer(giving, to="PKT Nobody At All"))
		neighbour = make_patient("PKT Transfer Neighbour")
		frappe.db.set_value("Customer", neighbour, "disabled", 1)
		self.assert_refused(TransferCustomerError, lambda: self.transfer(giving, to=neighbour))

	def test_not_across_companies(self):
		giving = self.sell()
		internal = make_patient("PKT Transfer West Branch")
		frappe.db.set_value(
			"Customer", internal, {"is_internal_customer": 1, "represents_company": OTHER_COMPANY}
		)
		self.assert_refused(TransferAcrossCompaniesError, lambda: self.transfer(giving, to=internal))

		west = make_patient("PKT Transfer West Patient")
		customer = frappe.get_doc("Customer", west)
		customer.append("accounts", {"company": OTHER_COMPANY, "account": account("Debtors", OTHER_ABBR)})
		customer.save(ignore_permissions=True)
		self.assert_refused(TransferAcrossCompaniesError, lambda: self.transfer(giving, to=west))

		# a customer with accounts in both companies is a customer of this one too
		customer.append("accounts", {"company": COMPANY, "account": account("Debtors")})
		customer.save(ignore_permissions=True)
		transfer = self.transfer(giving, to=west)
		self.assertEqual(frappe.db.get_value("Package Balance", transfer.to_balance, "customer"), west)

	def test_a_cost_center_of_another_company_is_refused(self):
		giving = self.sell()
		other = frappe.db.get_value("Company", OTHER_COMPANY, "cost_center")
		self.assert_refused(TransferCostCenterError, lambda: self.transfer(giving, cost_center=other))

	def test_rows_must_name_lines_of_the_balance_once_with_units(self):
		giving = self.sell()
		other = self.sell(customer=OTHER_CUSTOMER)
		visit = lines_of(giving)[VISIT]
		for items in (
			[{"balance_item": lines_of(other)[VISIT], "qty": 1}],
			[{"balance_item": visit, "qty": 1}, {"balance_item": visit, "qty": 1}],
			[{"balance_item": visit, "qty": 0}],
			[{"balance_item": visit, "qty": 1.5}],
		):
			self.assert_refused(TransferItemError, lambda items=items: self.transfer(giving, items=items))

	def test_a_used_up_line_or_more_than_is_left_is_refused(self):
		giving = self.sell(visits_used=4)
		visit = lines_of(giving)[VISIT]
		self.assert_refused_at_submit(BalanceUsedUpError, giving, items=[{"balance_item": visit, "qty": 1}])
		partly = self.sell(visits_used=3)
		self.assert_refused_at_submit(
			BalanceUnavailableError, partly, items=[{"balance_item": lines_of(partly)[VISIT], "qty": 2}]
		)

	def test_an_expired_balance_is_refused(self):
		package = make_package(name="Postpartum Care 30 Days", valid_for_days=30)
		giving = self.sell(package=package, posting_date=add_days(nowdate(), -40))
		# past its expiry date, before the expiry job ran
		self.assert_refused_at_submit(BalanceExpiredError, giving)
		expire.expire_balances()
		self.assertEqual(frappe.db.get_value("Package Balance", giving, "status"), "Expired")
		self.assert_refused_at_submit(BalanceExpiredError, giving)

	def test_a_frozen_balance_is_refused(self):
		giving = self.sell()
		freeze = frappe.get_doc(
			{
				"doctype": "Package Balance Freeze",
				"package_balance": giving,
				"from_date": nowdate(),
				"to_date": add_days(nowdate(), 10),
				"reason": "In hospital",
			}
		)
		freeze.insert()
		freeze.submit()
		self.assert_refused_at_submit(BalanceFrozenError, giving)

	def test_a_refunded_unpaid_or_upon_purchase_balance_is_refused(self):
		sale = make_invoice([(self.package.item, 1)])
		pay(sale)
		[refunded] = balances_of(sale)
		refund = make_sales_return(sale.name)
		refund.insert()
		refund.submit()
		self.assertEqual(frappe.db.get_value("Package Balance", refunded.name, "status"), "Refunded")
		self.assert_refused_at_submit(BalanceRefundedError, refunded.name)

		unpaid = self.sell(paid=False)
		self.assert_refused_at_submit(BalanceUnavailableError, unpaid)

		prepaid = make_package(name="Postpartum Care Prepaid", revenue_recognition="Upon Purchase")
		upon_purchase = self.sell(package=prepaid)
		self.assert_refused_at_submit(BalanceUponPurchaseError, upon_purchase)
		self.assert_books()
