# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Household sharing (issue 20): a parent's balance used by a child.

The parent (PKT Patient A) buys the worked example's "Postpartum Care" (SPEC §6: 4 visits at 135,
1 kit at 72, 2 labs at 54) and shares it with the child. The child holds one visit of their own
("Child Visit", sold for 140). The child's invoice for two visits takes the child's own visit
first, then one of the parent's; the redemptions name whose balance paid and who used it, and
after every step the package ledger, the Package Deferred Revenue report and the GL agree.
"""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate, set_request
from frappe.website.serve import get_response

from package_bundles import api
from package_bundles.exceptions import (
	AlreadySharedError,
	BalanceUnavailableError,
	NotASharerError,
	ShareAcrossCompaniesError,
	ShareBalanceNotLiveError,
	ShareCustomerError,
	ShareWithOwnerError,
)
from package_bundles.flows import expire, share
from package_bundles.package_bundles.doctype.package_balance.test_package_balance_api import make_portal_user
from package_bundles.package_bundles.doctype.package_redemption.test_package_redemption import QueryCounter
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.print_format.package_receipt.package_receipt import package_receipt
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
	LAB,
	OTHER_ABBR,
	OTHER_COMPANY,
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

test_ignore = IGNORED_TEST_RECORDS

PARENT = CUSTOMER
CHILD = "PKT Household Child"
NEIGHBOUR = "PKT Household Neighbour"
WRITES = ("Package Ledger Entry", "Journal Entry", "GL Entry", "Package Redemption")


def buy(package, customer=PARENT, paid=True, posting_date=None):
	invoice = make_invoice([(package.item, 1)], customer=customer, posting_date=posting_date)
	if paid:
		pay(invoice)
	return invoice


def remaining(balance: str) -> dict[str, float]:
	return dict(
		frappe.get_all(
			"Package Balance Item",
			filters={"parent": balance},
			fields=["item_code", "qty_remaining"],
			order_by="idx asc",
			as_list=True,
		)
	)


def sharers(balance: str) -> list[str]:
	return frappe.get_all(
		"Package Balance Sharer", filters={"parent": balance}, pluck="customer", order_by="customer asc"
	)


def sharing_log(balance: str) -> list[tuple]:
	return [
		(row.action, row.customer, row.reason, row.changed_by, bool(row.changed_on))
		for row in frappe.get_all(
			"Package Balance Sharing Log",
			filters={"parent": balance},
			fields=["action", "customer", "reason", "changed_by", "changed_on"],
			order_by="idx asc",
		)
	]


def redemptions(invoice) -> list[tuple]:
	return [
		(log.package_balance, log.customer, log.used_by_customer, log.qty, log.amount, log.status)
		for log in frappe.get_all(
			"Package Redemption",
			filters={"sales_invoice": invoice.name},
			fields=["package_balance", "customer", "used_by_customer", "qty", "amount", "status"],
			order_by="creation asc, name asc",
		)
	]


class HouseholdCase(PackageTestCase):
	def setUp(self):
		super().setUp()
		make_patient(CHILD)
		make_patient(NEIGHBOUR)
		self.package = make_package()
		self.parent_purchase = buy(self.package, posting_date=add_days(nowdate(), -5))
		[self.balance] = [b.name for b in balances_of(self.parent_purchase)]
		self.child_package = make_package(name="Child Visit", items=[(VISIT, 1)], price=140)
		[self.child_balance] = [b.name for b in balances_of(buy(self.child_package, customer=CHILD))]

	def assert_books_agree(self):
		self.assertEqual(invariant_problems(), [])
		self.assert_reconciled()

	def writes(self) -> dict[str, int]:
		return self.count_documents(*WRITES, "Package Balance Sharer", "Package Balance Sharing Log")


class TestHouseholdSharing(HouseholdCase):
	def test_child_redeems_own_balance_first_then_the_parents(self):
		before = self.count_documents(*WRITES)
		result = api.add_sharer(self.balance, CHILD, "Daughter, lives at home")

		self.assertEqual(result["sharers"], [CHILD])
		self.assertEqual(sharers(self.balance), [CHILD])
		self.assertEqual(
			sharing_log(self.balance), [("Added", CHILD, "Daughter, lives at home", "Administrator", True)]
		)
		# sharing moves nothing: no ledger entry, no journal, the books as they were
		self.assertEqual(self.count_documents(*WRITES), before)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720 + 140)
		self.assert_books_agree()

		visit = make_invoice([(VISIT, 2)], customer=CHILD)

		self.assertEqual(
			[(r.qty, r.package_balance, r.rate) for r in visit.items],
			[(1, self.child_balance, 0), (1, self.balance, 0)],
		)
		self.assertEqual(
			redemptions(visit),
			[
				(self.child_balance, CHILD, CHILD, 1, 140, "Redeemed"),
				(self.balance, PARENT, CHILD, 1, 135, "Redeemed"),
			],
		)
		[journal_entry] = set(
			frappe.get_all("Package Redemption", filters={"sales_invoice": visit.name}, pluck="journal_entry")
		)
		self.assertEqual(gl_entries(journal_entry), {DEFERRED: 275.0, VISIT_INCOME: -275.0})
		# the ledger keeps the balance owner's customer
		self.assertEqual(
			set(
				frappe.get_all(
					"Package Ledger Entry",
					filters={"voucher_no": visit.name, "package_balance": self.balance},
					pluck="customer",
				)
			),
			{PARENT},
		)
		self.assertEqual(remaining(self.balance), {VISIT: 3, "PKT Lactation Kit": 1, LAB: 2})
		self.assertEqual(remaining(self.child_balance), {VISIT: 0})
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720 + 140 - 275)
		self.assert_books_agree()

		# the receipt says whose balance paid the row that is not the child's own
		receipt = package_receipt(visit)
		self.assertIsNone(receipt[visit.items[0].name].paid_by)
		self.assertEqual(receipt[visit.items[1].name].paid_by, PARENT)
		html = frappe.get_print("Sales Invoice", visit.name, print_format="Package Receipt", no_letterhead=1)
		self.assertEqual(html.count("Paid from the balance of"), 1)
		self.assertIn(f"Paid from the balance of {PARENT}, shared with {CHILD}", html)

		# cancelling the child's invoice gives the parent's visit back
		visit.cancel()
		self.assertEqual(remaining(self.balance), {VISIT: 4, "PKT Lactation Kit": 1, LAB: 2})
		self.assertEqual(remaining(self.child_balance), {VISIT: 1})
		self.assertEqual({row[-1] for row in redemptions(visit)}, {"Reversed"})
		self.assertEqual(frappe.db.get_value("Journal Entry", journal_entry, "docstatus"), 2)
		self.assertEqual(gl_balance(VISIT_INCOME), 0)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720 + 140)
		self.assert_books_agree()

	def test_the_parents_own_invoice_still_redeems_and_names_the_parent(self):
		api.add_sharer(self.balance, CHILD)
		visit = make_invoice([(VISIT, 1)])

		self.assertEqual(redemptions(visit), [(self.balance, PARENT, PARENT, 1, 135, "Redeemed")])
		self.assertIsNone(package_receipt(visit)[visit.items[0].name].paid_by)
		self.assert_books_agree()

	def test_removing_a_sharer_stops_redemption_and_is_logged(self):
		api.add_sharer(self.balance, CHILD, "Custody week")
		used_up = make_invoice([(VISIT, 1)], customer=CHILD)  # the child's own visit is used up first
		self.assertEqual(used_up.items[0].package_balance, self.child_balance)
		draft = make_invoice([(VISIT, 1)], customer=CHILD, submit=False)
		self.assertEqual(draft.items[0].package_balance, self.balance)

		result = api.remove_sharer(self.balance, CHILD, "Moved out")

		self.assertEqual(result["sharers"], [])
		self.assertEqual(sharers(self.balance), [])
		self.assertEqual(
			[row[:3] for row in sharing_log(self.balance)],
			[("Added", CHILD, "Custody week"), ("Removed", CHILD, "Moved out")],
		)
		# the draft saved while the balance was shared is refused at submit, nothing written
		before = self.count_documents(*WRITES)
		draft.reload()
		frappe.db.savepoint("refused_submit")
		with self.assertRaises(BalanceUnavailableError):
			draft.submit()
		self.assertEqual(self.count_documents(*WRITES), before)
		frappe.db.rollback(save_point="refused_submit")
		self.assertEqual(sharers(self.balance), [])

		# a new invoice is charged as usual
		visit = make_invoice([(VISIT, 1)], customer=CHILD)
		self.assertEqual((visit.items[0].package_balance, visit.items[0].rate), (None, 150))
		self.assertEqual(remaining(self.balance)[VISIT], 4)
		self.assert_books_agree()

	def test_a_package_manager_shares_and_an_accounts_user_may_not(self):
		manager = make_user("pkt-household-manager@example.com", ["Package Manager", "Accounts User"])
		clerk = make_user("pkt-household-clerk@example.com", ["Accounts User", "Sales User"])
		frappe.set_user(clerk)
		with self.assertRaises(frappe.PermissionError):
			api.add_sharer(self.balance, CHILD)
		frappe.set_user(manager)
		api.add_sharer(self.balance, CHILD, "Family")
		frappe.set_user(clerk)
		with self.assertRaises(frappe.PermissionError):
			api.remove_sharer(self.balance, CHILD)
		frappe.set_user("Administrator")
		self.assertEqual(sharing_log(self.balance), [("Added", CHILD, "Family", manager, True)])


class TestSharingRefusals(HouseholdCase):
	def assert_refused(self, error, call, *args):
		before = self.writes()
		with self.assertRaises(error):
			call(*args)
		self.assertEqual(self.writes(), before)

	def test_not_with_the_balances_own_customer_nor_twice(self):
		self.assert_refused(ShareWithOwnerError, api.add_sharer, self.balance, PARENT)
		api.add_sharer(self.balance, CHILD)
		self.assert_refused(AlreadySharedError, api.add_sharer, self.balance, CHILD)
		self.assertEqual(sharers(self.balance), [CHILD])

	def test_not_across_companies(self):
		internal = make_patient("PKT Household West Branch")
		frappe.db.set_value(
			"Customer", internal, {"is_internal_customer": 1, "represents_company": OTHER_COMPANY}
		)
		self.assert_refused(ShareAcrossCompaniesError, api.add_sharer, self.balance, internal)

		west = make_patient("PKT Household West Patient")
		customer = frappe.get_doc("Customer", west)
		customer.append("accounts", {"company": OTHER_COMPANY, "account": account("Debtors", OTHER_ABBR)})
		customer.save(ignore_permissions=True)
		self.assert_refused(ShareAcrossCompaniesError, api.add_sharer, self.balance, west)

		# a customer with accounts in both companies is a customer of this one too
		customer.append("accounts", {"company": COMPANY, "account": account("Debtors")})
		customer.save(ignore_permissions=True)
		api.add_sharer(self.balance, west)
		self.assertEqual(sharers(self.balance), [west])

	def test_not_a_customer_that_does_not_exist_or_is_disabled(self):
		self.assert_refused(ShareCustomerError, api.add_sharer, self.balance, "PKT Nobody At All")
		frappe.db.set_value("Customer", NEIGHBOUR, "disabled", 1)
		self.assert_refused(ShareCustomerError, api.add_sharer, self.balance, NEIGHBOUR)
		if "healthcare" not in frappe.get_installed_apps():
			# without Frappe Health a Patient resolves to no Customer
			self.assert_refused(ShareCustomerError, api.add_sharer, self.balance, None, "", "PKT Patient X")

	def test_only_a_live_balance(self):
		# exhausted: every unit used
		small = make_package(name="One Lab", items=[(LAB, 1)], price=50)
		[exhausted] = [b.name for b in balances_of(buy(small, customer=NEIGHBOUR))]
		make_invoice([(LAB, 1)], customer=NEIGHBOUR)
		self.assertEqual(frappe.db.get_value("Package Balance", exhausted, "status"), "Exhausted")
		self.assert_refused(ShareBalanceNotLiveError, api.add_sharer, exhausted, CHILD)

		# cancelled: its purchase invoice cancelled
		unpaid = buy(self.package, paid=False)
		[cancelled] = [b.name for b in balances_of(unpaid)]
		unpaid.cancel()
		self.assertEqual(frappe.db.get_value("Package Balance", cancelled, "status"), "Cancelled")
		self.assert_refused(ShareBalanceNotLiveError, api.add_sharer, cancelled, CHILD)

		# refunded: its instance returned by a credit note
		sold = buy(self.package, paid=False)
		[refunded] = [b.name for b in balances_of(sold)]
		credit_note = make_sales_return(sold.name)
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(frappe.db.get_value("Package Balance", refunded, "status"), "Refunded")
		self.assert_refused(ShareBalanceNotLiveError, api.add_sharer, refunded, CHILD)

		# expired: by the expiry job, and past its expiry date before the job ran
		short = make_package(name="Five Day Care", items=[(VISIT, 2)], price=270, valid_for_days=5)
		[lapsed] = [b.name for b in balances_of(buy(short, posting_date=add_days(nowdate(), -10)))]
		self.assertEqual(frappe.db.get_value("Package Balance", lapsed, "status"), "Active")
		self.assert_refused(ShareBalanceNotLiveError, api.add_sharer, lapsed, CHILD)
		expire.expire_balances()
		self.assertEqual(frappe.db.get_value("Package Balance", lapsed, "status"), "Expired")
		self.assert_refused(ShareBalanceNotLiveError, api.add_sharer, lapsed, CHILD)

		# upgraded or transferred (statuses the engine derives from those documents' ledger events)
		for status in ("Upgraded", "Transferred"):
			frappe.db.set_value("Package Balance", self.balance, "status", status)
			self.assert_refused(ShareBalanceNotLiveError, api.add_sharer, self.balance, CHILD)
		self.assertEqual(sharers(self.balance), [])

	def test_removing_a_customer_who_is_not_a_sharer(self):
		self.assert_refused(NotASharerError, api.remove_sharer, self.balance, CHILD)
		api.add_sharer(self.balance, CHILD)
		self.assert_refused(NotASharerError, api.remove_sharer, self.balance, NEIGHBOUR)


class TestSharedBalanceOnThePortal(HouseholdCase):
	def setUp(self):
		super().setUp()
		request = getattr(frappe.local, "request", None)
		self.addCleanup(setattr, frappe.local, "request", request)

	def render(self, user: str) -> str:
		frappe.set_user(user)
		set_request(method="GET", path="/my-packages")
		response = get_response("/my-packages")
		frappe.set_user("Administrator")
		self.assertEqual(response.status_code, 200)
		return response.get_data(as_text=True)

	def test_each_sharer_sees_the_shared_balance_and_nobody_else_does(self):
		parent = make_portal_user("pkt-household-parent@example.com", PARENT)
		child = make_portal_user("pkt-household-child@example.com", CHILD)
		neighbour = make_portal_user("pkt-household-neighbour@example.com", NEIGHBOUR)
		self.assertNotIn(self.balance, self.render(child))

		api.add_sharer(self.balance, CHILD)
		make_invoice([(VISIT, 2)], customer=CHILD)  # one of the child's own, one of the parent's

		parents_page = self.render(parent)
		self.assertIn(self.balance, parents_page)
		self.assertNotIn("Shared by", parents_page)
		self.assertNotIn(self.child_balance, parents_page)

		childs_page = self.render(child)
		self.assertIn(self.balance, childs_page)
		self.assertIn(self.child_balance, childs_page)
		self.assertEqual(childs_page.count("Shared by"), 1)
		self.assertIn(f"Shared by {PARENT}", childs_page)

		neighbours_page = self.render(neighbour)
		self.assertNotIn(self.balance, neighbours_page)
		self.assertNotIn("Shared by", neighbours_page)

		api.remove_sharer(self.balance, CHILD)
		self.assertNotIn(self.balance, self.render(child))


class TestSharingQueryBudget(HouseholdCase):
	def setUp(self):
		super().setUp()
		api.add_sharer(self.balance, CHILD)  # a shared balance exists on the site
		make_invoice([(VISIT, 1)], customer=NEIGHBOUR, submit=False)  # warm the caches

	def test_customer_without_balances_costs_one_indexed_query(self):
		with QueryCounter() as counter:
			invoice = make_invoice([(VISIT, 1)], customer=NEIGHBOUR)
		self.assertEqual(counter.counts, {"before_validate": 1, "validate": 0, "on_submit": 0})
		self.assertIsNone(invoice.items[0].package_balance)
		query, args, _kwargs = counter.statements[0]
		plan = frappe.db.sql(f"explain {query}", *args, as_dict=True)
		tables = {row.table: row for row in plan}
		# the own branch reads balances by customer, the shared branch the sharers by customer
		balance_access = next(row for row in plan if row.table in ("tabPackage Balance", "Package Balance"))
		self.assertIn("customer", balance_access.key or "")
		sharer_access = tables.get("tabPackage Balance Sharer") or tables.get("Package Balance Sharer")
		self.assertIn("customer", sharer_access.key or "")

	def test_a_sharers_redemption_does_not_cost_more_with_more_shared_balances(self):
		make_invoice([(VISIT, 1)], customer=CHILD)  # the child's own visit
		make_invoice([(VISIT, 1)], customer=CHILD)  # warm: the parent's, shared
		with QueryCounter() as with_one:
			make_invoice([(VISIT, 1)], customer=CHILD)
		for _ in range(10):
			[balance] = balances_of(buy(self.package))
			api.add_sharer(balance.name, CHILD)
		make_invoice([(VISIT, 1)], customer=CHILD)
		with QueryCounter() as with_many:
			invoice = make_invoice([(VISIT, 1)], customer=CHILD)
		self.assertTrue(invoice.items[0].package_balance)
		self.assertEqual(with_one.counts, with_many.counts)
		self.assertEqual(with_many.counts["validate"], 0)
		self.assert_books_agree()

	def test_a_patient_resolves_to_their_customer_only_with_frappe_health(self):
		self.assertEqual(share.customer_to_share_with(CHILD, None), CHILD)
		if "healthcare" not in frappe.get_installed_apps():
			with self.assertRaises(ShareCustomerError):
				share.customer_to_share_with(None, "PKT Patient X")
