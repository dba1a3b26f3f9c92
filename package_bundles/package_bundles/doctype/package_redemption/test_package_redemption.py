# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate

from package_bundles.exceptions import (
	BalanceAlreadyRedeemedError,
	BalanceReadOnlyError,
	BalanceUnavailableError,
)
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	balances_of,
	deferred_liability,
)
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	DEFERRED,
	KIT,
	LAB,
	OTHER_COMPANY,
	OTHER_CUSTOMER,
	PRICE_LIST,
	PRODUCT_INCOME,
	STORES,
	VISIT,
	VISIT_INCOME,
	account,
	gl_balance,
	gl_entries,
	make_invoice,
	make_package,
	pay,
	reset_settings,
)

test_ignore = IGNORED_TEST_RECORDS

COGS = account("Cost of Goods Sold")
STOCK_IN_HAND = account("Stock In Hand")


def buy(package, qty=1, customer=CUSTOMER, posting_date=None, paid=True):
	invoice = make_invoice([(package.item, qty)], customer=customer, posting_date=posting_date)
	if paid:
		pay(invoice)
	return invoice


def remaining(balance_name: str) -> dict[str, float]:
	return {
		row.item_code: row.qty_remaining
		for row in frappe.get_all(
			"Package Balance Item", filters={"parent": balance_name}, fields=["item_code", "qty_remaining"]
		)
	}


def logs_of(invoice) -> list:
	return frappe.get_all(
		"Package Redemption",
		filters={"sales_invoice": invoice.name},
		fields=[
			"package_balance",
			"item_code",
			"qty",
			"amount",
			"status",
			"journal_entry",
			"purchase_invoice",
		],
		order_by="creation asc",
	)


class TestRedemption(PackageTestCase):
	def test_worked_example_redemptions(self):
		package = make_package()
		purchase = buy(package)
		[balance] = balances_of(purchase)
		self.assertEqual(balance.status, "Active")

		visit = make_invoice([(VISIT, 1)])
		row = visit.items[0]
		self.assertEqual(row.package_balance, balance.name)
		# a package redemption, not a discount: ERPNext's free-item row, the list price kept beside it
		self.assertEqual(
			(row.rate, row.amount, row.is_free_item, row.price_list_rate, row.discount_percentage),
			(0, 0, 1, 0, 0),
		)
		self.assertEqual(row.package_list_rate, 150)
		self.assertEqual(visit.grand_total, 0)
		[log] = logs_of(visit)
		self.assertEqual(
			(log.qty, log.amount, log.status, log.purchase_invoice), (1, 135, "Redeemed", purchase.name)
		)
		self.assertEqual(gl_entries(log.journal_entry), {DEFERRED: 135.0, VISIT_INCOME: -135.0})

		kit = make_invoice([(KIT, 1)], update_stock=1, set_warehouse=STORES)
		self.assertEqual(kit.items[0].package_balance, balance.name)
		self.assertEqual(kit.grand_total, 0)
		stock = frappe.get_all(
			"Stock Ledger Entry",
			filters={"voucher_no": kit.name, "is_cancelled": 0},
			fields=["item_code", "actual_qty"],
		)
		self.assertEqual([(s.item_code, s.actual_qty) for s in stock], [(KIT, -1)])
		kit_gl = gl_entries(kit.name)
		self.assertEqual(kit_gl[COGS], 30)
		self.assertEqual(kit_gl[STOCK_IN_HAND], -30)
		[kit_log] = logs_of(kit)
		self.assertEqual(gl_entries(kit_log.journal_entry), {DEFERRED: 72.0, PRODUCT_INCOME: -72.0})

		self.assertEqual(remaining(balance.name), {VISIT: 3, KIT: 0, LAB: 2})
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 513)
		self.assert_reconciled()

	def test_uneven_values_move_by_cumulative_rounding(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
		buy(package)
		moved = []
		for _ in range(3):
			[log] = logs_of(make_invoice([(VISIT, 1)]))
			moved.append(log.amount)
		self.assertEqual(moved, [33.33, 33.33, 33.34])
		self.assert_reconciled()
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)

	def test_row_split_across_two_balances_and_charged_remainder(self):
		package = make_package(name="Two Visits", items=[(VISIT, 2)], price=280)
		first = balances_of(buy(package, posting_date=add_days(nowdate(), -2)))[0]
		second = balances_of(buy(package, posting_date=add_days(nowdate(), -1)))[0]

		invoice = make_invoice([(VISIT, 5)], submit=False)
		rows = [(r.qty, r.package_balance, r.rate) for r in invoice.items]
		self.assertEqual(rows, [(2, first.name, 0), (2, second.name, 0), (1, None, 150)])
		self.assertEqual(invoice.grand_total, 150)

		invoice.save()  # saving again neither splits nor redeems twice
		self.assertEqual([(r.qty, r.package_balance, r.rate) for r in invoice.items], rows)

		invoice.items[-1].qty = 2  # more units than the balances hold: the charged row grows
		invoice.save()
		self.assertEqual(
			[(r.qty, r.package_balance) for r in invoice.items],
			[(2, first.name), (2, second.name), (2, None)],
		)
		invoice.items = invoice.items[:2]  # fewer units (3 in all): re-planned from the first balance
		invoice.items[1].qty = 1
		invoice.save()
		self.assertEqual(
			[(r.qty, r.package_balance) for r in invoice.items], [(2, first.name), (1, second.name)]
		)

		invoice.customer = OTHER_CUSTOMER  # another patient: nothing of this customer's is used
		invoice.save()
		self.assertEqual([(r.qty, r.package_balance, r.rate) for r in invoice.items], [(3, None, 150)])
		invoice.customer = CUSTOMER
		invoice.posting_date = add_days(
			nowdate(), -2
		)  # the day the first balance was bought, before the second
		invoice.save()
		self.assertEqual([(r.qty, r.package_balance) for r in invoice.items], [(2, first.name), (1, None)])
		invoice.posting_date = nowdate()
		invoice.save()

		invoice.submit()
		self.assertEqual(remaining(first.name), {VISIT: 0})
		self.assertEqual(remaining(second.name), {VISIT: 1})
		self.assertEqual(frappe.db.get_value("Package Balance", first.name, "status"), "Exhausted")
		self.assertEqual(sorted(log.amount for log in logs_of(invoice)), [140, 280])
		self.assert_reconciled()

	def test_upon_purchase_balance_redeems_units_without_moving_value(self):
		package = make_package(
			name="Prepaid Visits", items=[(VISIT, 2)], price=300, revenue_recognition="Upon Purchase"
		)
		[balance] = balances_of(buy(package))
		journal_entries = frappe.db.count("Journal Entry")
		invoice = make_invoice([(VISIT, 1)])
		[log] = logs_of(invoice)
		self.assertEqual(
			(log.package_balance, log.qty, log.amount, log.journal_entry), (balance.name, 1, 0, None)
		)
		self.assertEqual(frappe.db.count("Journal Entry"), journal_entries)
		self.assertEqual(remaining(balance.name), {VISIT: 1})
		self.assert_reconciled()

	def test_goods_through_a_delivery_note(self):
		from erpnext.stock.doctype.delivery_note.delivery_note import make_sales_invoice

		package = make_package()
		[balance] = balances_of(buy(package))
		delivery = frappe.get_doc(
			{
				"doctype": "Delivery Note",
				"company": COMPANY,
				"customer": CUSTOMER,
				"selling_price_list": PRICE_LIST,
				"set_warehouse": STORES,
				"items": [{"item_code": KIT, "qty": 1, "warehouse": STORES}],
			}
		)
		delivery.insert()
		delivery.submit()
		stock = frappe.get_all(
			"Stock Ledger Entry", filters={"voucher_no": delivery.name, "is_cancelled": 0}, pluck="actual_qty"
		)
		self.assertEqual(stock, [-1])

		invoice = make_sales_invoice(delivery.name)
		invoice.insert()
		self.assertEqual((invoice.items[0].package_balance, invoice.items[0].rate), (balance.name, 0))
		invoice.submit()
		[log] = logs_of(invoice)
		self.assertEqual(gl_entries(log.journal_entry), {DEFERRED: 72.0, PRODUCT_INCOME: -72.0})
		self.assertEqual(remaining(balance.name)[KIT], 0)
		self.assert_reconciled()

	def test_balance_paid_by_an_unhooked_route_is_used_up_to_exhausted(self):
		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		purchase = buy(package, paid=False)
		[balance] = balances_of(purchase)
		# paid outside Payment Entry / Journal Entry (e.g. reconciliation): the status still says Awaiting Payment
		frappe.db.set_value("Sales Invoice", purchase.name, "outstanding_amount", 0)
		invoice = make_invoice([(VISIT, 1)])
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		self.assertEqual(frappe.db.get_value("Package Balance", balance.name, "status"), "Exhausted")

	def test_earliest_expiry_is_used_first(self):
		lasting = make_package(name="Lasting", items=[(VISIT, 1)], price=150)
		soon = make_package(name="Soon", items=[(VISIT, 1)], price=150, valid_for_days=30)
		lasting_balance = balances_of(buy(lasting, posting_date=add_days(nowdate(), -5)))[0]
		soon_balance = balances_of(buy(soon))[0]
		invoice = make_invoice([(VISIT, 1)], submit=False)
		self.assertEqual(invoice.items[0].package_balance, soon_balance.name)
		self.assertNotEqual(invoice.items[0].package_balance, lasting_balance.name)

	def test_unusable_balances_are_never_used(self):
		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		short = make_package(name="Short Visit", items=[(VISIT, 1)], price=150, valid_for_days=1)
		buy(short, posting_date=add_days(nowdate(), -10))  # expired on the posting date
		buy(package, paid=False)  # unpaid
		buy(package, customer=OTHER_CUSTOMER)  # someone else's
		cases = {
			"same customer": make_invoice([(VISIT, 1)], submit=False),
			"other company": make_invoice(
				[
					{
						"item_code": VISIT,
						"qty": 1,
						"income_account": account("Sales", "PKW"),
						"cost_center": account("Main", "PKW"),
					}
				],
				company=OTHER_COMPANY,
				debit_to=account("Debtors", "PKW"),
				taxes=False,
				submit=False,
			),
		}
		for label, invoice in cases.items():
			with self.subTest(label):
				self.assertEqual([(r.package_balance, r.rate) for r in invoice.items], [(None, 150)])

	def test_package_comes_before_membership_unless_settings_reverse_it(self):
		make_member_rule()
		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		[balance] = balances_of(buy(package))

		invoice = make_invoice([(VISIT, 1)], submit=False)
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		self.assertFalse(invoice.items[0].pricing_rules)

		reset_settings(package_before_membership=0)
		invoice.save()
		self.assertIsNone(invoice.items[0].package_balance)
		self.assertTrue(invoice.items[0].pricing_rules)
		self.assertEqual(invoice.items[0].rate, 0)
		invoice.submit()
		self.assertEqual(remaining(balance.name), {VISIT: 1})

	def test_opt_out_row_is_charged(self):
		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		[balance] = balances_of(buy(package))
		invoice = make_invoice([{"item_code": VISIT, "qty": 1, "skip_package_redemption": 1}])
		self.assertEqual((invoice.items[0].package_balance, invoice.items[0].rate), (None, 150))
		self.assertEqual(remaining(balance.name), {VISIT: 1})

	def test_cancel_restores_units_stock_and_ledger(self):
		package = make_package()
		[balance] = balances_of(buy(package))
		invoice = make_invoice([(VISIT, 2), (KIT, 1)], update_stock=1, set_warehouse=STORES)
		journal_entry = logs_of(invoice)[0].journal_entry
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720 - 270 - 72)

		invoice.cancel()
		self.assertEqual(remaining(balance.name), {VISIT: 4, KIT: 1, LAB: 2})
		self.assertEqual({log.status for log in logs_of(invoice)}, {"Reversed"})
		self.assertEqual(frappe.db.get_value("Journal Entry", journal_entry, "docstatus"), 2)
		self.assertEqual(gl_balance(VISIT_INCOME), 0)
		self.assertEqual(gl_balance(PRODUCT_INCOME), 0)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720)
		stock = frappe.get_all("Stock Ledger Entry", filters={"voucher_no": invoice.name, "is_cancelled": 0})
		self.assertEqual(stock, [])
		self.assert_reconciled()

	def test_credit_note_returns_units_and_its_cancel_takes_them_again(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=100)
		[balance] = balances_of(buy(package))
		invoice = make_invoice([(VISIT, 2)])
		self.assertEqual(remaining(balance.name), {VISIT: 1})

		credit_note = make_sales_return(invoice.name)
		credit_note.items[0].qty = -1
		credit_note.insert()
		credit_note.submit()
		self.assertEqual(remaining(balance.name), {VISIT: 2})
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 66.67)
		self.assert_reconciled()

		credit_note.cancel()
		self.assertEqual(remaining(balance.name), {VISIT: 1})
		self.assert_reconciled()

		whole = make_sales_return(invoice.name)
		whole.insert()
		whole.submit()
		self.assertEqual(remaining(balance.name), {VISIT: 3})
		self.assertEqual({log.status for log in logs_of(invoice)}, {"Reversed"})
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 100)
		self.assert_reconciled()

	def test_purchase_cannot_be_cancelled_once_redeemed(self):
		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		purchase = buy(package)
		make_invoice([(VISIT, 1)])
		purchase.reload()
		for payment in frappe.get_all(
			"Payment Entry Reference", filters={"reference_name": purchase.name}, pluck="parent"
		):
			frappe.get_doc("Payment Entry", payment).cancel()
		purchase.reload()
		with self.assertRaises(BalanceAlreadyRedeemedError):
			purchase.cancel()

	def test_refund_of_used_package_is_refused_unless_allowed(self):
		from package_bundles.exceptions import RefundNotAllowedError

		package = make_package()
		purchase = buy(package)
		[balance] = balances_of(purchase)
		make_invoice([(VISIT, 1)])

		credit_note = make_sales_return(purchase.name)
		with self.assertRaises(RefundNotAllowedError):
			credit_note.insert()

		reset_settings(allow_unused_refund=1)
		credit_note = make_sales_return(purchase.name)
		credit_note.insert()
		# the unused remainder at its deferred value: 720 - 135; its tax is the kit's 5.76
		self.assertEqual(credit_note.items[0].rate, 585)
		self.assertEqual(credit_note.total_taxes_and_charges, -5.76)
		credit_note.submit()
		self.assertEqual(frappe.db.get_value("Package Balance", balance.name, "status"), "Refunded")
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 0)
		self.assert_reconciled()

	def test_submit_refuses_units_another_invoice_took(self):
		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		[balance] = balances_of(buy(package))
		first = make_invoice([(VISIT, 1)], submit=False)
		second = make_invoice([(VISIT, 1)], submit=False)
		self.assertEqual(second.items[0].package_balance, balance.name)
		first.submit()
		before = self.count_documents("Package Redemption", "Journal Entry", "GL Entry")
		with self.assertRaises(BalanceUnavailableError):
			second.submit()
		self.assertEqual(self.count_documents("Package Redemption", "Journal Entry", "GL Entry"), before)
		self.assertEqual(remaining(balance.name), {VISIT: 0})

	def test_redemption_logs_are_read_only(self):
		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		buy(package)
		invoice = make_invoice([(VISIT, 1)])
		log = frappe.get_doc("Package Redemption", {"sales_invoice": invoice.name})
		log.qty = 5
		with self.assertRaises(BalanceReadOnlyError):
			log.save()


def make_member_rule():
	if frappe.db.exists("Pricing Rule", {"title": "PKT Member Visits"}):
		return
	frappe.get_doc(
		{
			"doctype": "Pricing Rule",
			"title": "PKT Member Visits",
			"apply_on": "Item Code",
			"items": [{"item_code": VISIT}],
			"selling": 1,
			"applicable_for": "Customer",
			"customer": CUSTOMER,
			"rate_or_discount": "Discount Percentage",
			"discount_percentage": 100,
			"company": COMPANY,
			"currency": "USD",
			"price_or_product_discount": "Price",
		}
	).insert(ignore_permissions=True)


class QueryCounter:
	"""Counts the SQL statements run inside the app's Sales Invoice hooks."""

	HOOKS = ("before_validate", "validate", "on_submit")

	def __init__(self):
		self.counts = dict.fromkeys(self.HOOKS, 0)
		self.statements: list[tuple] = []
		self._active = None

	def __enter__(self):
		from package_bundles.flows import invoice as invoice_hooks

		self._module = invoice_hooks
		self._originals = {name: getattr(invoice_hooks, name) for name in self.HOOKS}
		for name, original in self._originals.items():
			setattr(invoice_hooks, name, self._wrap(name, original))
		self._sql = frappe.db.sql

		def counting_sql(query, *args, **kwargs):
			if self._active:
				self.counts[self._active] += 1
				self.statements.append((str(query), args, kwargs))
			return self._sql(query, *args, **kwargs)

		frappe.db.sql = counting_sql
		return self

	def _wrap(self, name, original):
		def wrapped(doc, method=None):
			self._active = name
			try:
				return original(doc, method)
			finally:
				self._active = None

		return wrapped

	def __exit__(self, *exc):
		for name, original in self._originals.items():
			setattr(self._module, name, original)
		frappe.db.sql = self._sql


class TestRedemptionQueryBudget(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.package = make_package(name="Budget Visits", items=[(VISIT, 2)], price=280)
		buy(self.package, customer=OTHER_CUSTOMER)  # VISIT is now an item some balance holds
		make_invoice([(VISIT, 1)], submit=False)  # warm the caches

	def test_customer_without_balances_costs_one_indexed_query(self):
		with QueryCounter() as counter:
			invoice = make_invoice([(VISIT, 1)])
		# rows are final before ERPNext validates them, so the look-up happens in before_validate
		self.assertEqual(counter.counts, {"before_validate": 1, "validate": 0, "on_submit": 0})
		self.assertIsNone(invoice.items[0].package_balance)
		query, args, _kwargs = counter.statements[0]
		plan = frappe.db.sql(f"explain {query}", *args, as_dict=True)
		balance_access = next(row for row in plan if row.table in ("tabPackage Balance", "Package Balance"))
		self.assertIn("customer", balance_access.key or "")

	def test_items_no_balance_holds_cost_nothing(self):
		from package_bundles.tests.fixtures import make_item

		unpackaged = f"PKT Unpackaged {frappe.generate_hash(length=6)}"
		make_item(unpackaged, "PKT Labs", 40, account("Lab Income"), None, is_stock_item=0)
		make_invoice([(unpackaged, 1)], submit=False)  # warm the item's caches
		with QueryCounter() as counter:
			make_invoice([(unpackaged, 1)])
		self.assertEqual(counter.counts, {"before_validate": 0, "validate": 0, "on_submit": 0})

	def test_redemption_cost_does_not_grow_with_the_balances_held(self):
		# each measurement follows one warm-up redemption, so caches are equally warm
		buy(self.package, qty=1)
		make_invoice([(VISIT, 1)])
		with QueryCounter() as with_one:
			make_invoice([(VISIT, 1)])
		buy(self.package, qty=200)
		make_invoice([(VISIT, 1)])
		with QueryCounter() as with_many:
			invoice = make_invoice([(VISIT, 1)])
		self.assertTrue(invoice.items[0].package_balance)
		self.assertEqual(with_one.counts, with_many.counts)
		self.assertEqual(with_many.counts["validate"], 0)


class TestConcurrentRedemption(PackageTestCase):
	"""Separate database connections submit invoices against one balance at once."""

	def test_five_units_go_to_five_of_eight_invoices(self):
		import threading

		from package_bundles.tests.fixtures import get_or_make

		suffix = frappe.generate_hash(length=6)
		customer = get_or_make(
			"Customer",
			f"PKT Concurrent {suffix}",
			{
				"customer_name": f"PKT Concurrent {suffix}",
				"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}),
				"territory": frappe.db.get_value("Territory", {"is_group": 0}),
			},
		).name
		package = make_package(name=f"Five Visits {suffix}", items=[(VISIT, 5)], price=500)
		[balance] = balances_of(buy(package, customer=customer))
		drafts = [make_invoice([(VISIT, 1)], customer=customer, submit=False).name for _ in range(8)]
		self.assertEqual(
			{frappe.db.get_value("Sales Invoice Item", {"parent": d}, "package_balance") for d in drafts},
			{balance.name},
		)
		frappe.db.commit()

		site, sites_path = frappe.local.site, frappe.local.sites_path
		barrier = threading.Barrier(len(drafts))
		results: dict[str, str] = {}

		def submit(name):
			frappe.init(site=site, sites_path=sites_path)
			frappe.connect()
			frappe.set_user("Administrator")
			try:
				doc = frappe.get_doc("Sales Invoice", name)
				barrier.wait(timeout=60)
				doc.submit()
				frappe.db.commit()
				results[name] = "submitted"
			except BalanceUnavailableError:
				frappe.db.rollback()
				results[name] = "refused"
			except Exception as error:
				frappe.db.rollback()
				results[name] = f"error: {error!r}"
			finally:
				frappe.destroy()

		threads = [threading.Thread(target=submit, args=(name,)) for name in drafts]
		try:
			for thread in threads:
				thread.start()
			for thread in threads:
				thread.join(timeout=300)
			frappe.db.rollback()  # see what the other connections committed

			outcome = sorted(results.values())
			self.assertEqual(outcome, ["refused"] * 3 + ["submitted"] * 5, results)
			item = frappe.db.get_value(
				"Package Balance Item",
				{"parent": balance.name},
				["qty_redeemed", "qty_remaining"],
				as_dict=True,
			)
			self.assertEqual((item.qty_redeemed, item.qty_remaining), (5, 0))
			self.assertEqual(frappe.db.count("Package Redemption", {"package_balance": balance.name}), 5)
			self.assertEqual(frappe.db.get_value("Package Balance", balance.name, "status"), "Exhausted")
		finally:
			cleanup_customer(customer)


def cleanup_customer(customer: str):
	"""Undo what a committing test left behind, newest first."""
	frappe.db.rollback()
	for name in frappe.get_all(
		"Sales Invoice",
		filters={"customer": customer, "docstatus": 1},
		pluck="name",
		order_by="creation desc",
	):
		for payment in frappe.get_all(
			"Payment Entry Reference", filters={"reference_name": name, "docstatus": 1}, pluck="parent"
		):
			frappe.get_doc("Payment Entry", payment).cancel()
		frappe.get_doc("Sales Invoice", name).cancel()
	for name in frappe.get_all("Sales Invoice", filters={"customer": customer, "docstatus": 0}, pluck="name"):
		frappe.delete_doc("Sales Invoice", name, force=True)
	frappe.db.commit()


class TestPointOfSale(PackageTestCase):
	def test_pos_sale_is_paid_and_pos_redemption_takes_no_cash(self):
		from package_bundles.tests.fixtures import CASH, POS_PROFILE

		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		sale = make_invoice(
			[(package.item, 1)],
			is_pos=1,
			pos_profile=POS_PROFILE,
			payments=[{"mode_of_payment": "Cash", "amount": 150}],
			taxes=False,
		)
		self.assertEqual(sale.outstanding_amount, 0)
		[balance] = balances_of(sale)
		self.assertEqual(balance.status, "Active")

		visit = make_invoice(
			[(VISIT, 1)],
			is_pos=1,
			pos_profile=POS_PROFILE,
			payments=[{"mode_of_payment": "Cash", "amount": 150}],
			taxes=False,
		)
		self.assertEqual(visit.items[0].package_balance, balance.name)
		self.assertEqual((visit.grand_total, visit.paid_amount, visit.change_amount), (0, 0, 0))
		self.assertNotIn(CASH, gl_entries(visit.name))
		self.assertEqual(logs_of(visit)[0].amount, 150)


class TestFrontDeskPermissions(PackageTestCase):
	def test_accounts_user_sells_and_redeems_but_cannot_touch_balances(self):
		from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user

		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		clerk = make_user("pkt-front-desk@example.com", ["Accounts User", "Sales User"])
		frappe.set_user(clerk)
		purchase = make_invoice([(package.item, 1)])
		pay(purchase)
		[balance] = balances_of(purchase)
		self.assertEqual(balance.status, "Active")
		visit = make_invoice([(VISIT, 1)])
		self.assertEqual(visit.items[0].package_balance, balance.name)
		self.assertEqual(logs_of(visit)[0].amount, 150)

		self.assertTrue(frappe.has_permission("Package Balance", "read", doc=balance.name))
		self.assertFalse(frappe.has_permission("Package Balance", "write", doc=balance.name))
		self.assertFalse(frappe.has_permission("Package Redemption", "delete"))
		self.assertFalse(frappe.has_permission("Prepaid Package", "write", doc=package.name))
		with self.assertRaises(frappe.PermissionError):
			frappe.get_doc("Prepaid Package", package.name).save()
		frappe.set_user("Administrator")


class TestFractionalUnits(PackageTestCase):
	def test_botox_units_redeem_in_fractions_where_the_unit_allows(self):
		from package_bundles.tests.fixtures import get_or_make, make_item

		get_or_make("UOM", "PKT Unit", {"uom_name": "PKT Unit", "must_be_whole_number": 0})
		item_code = f"PKT Botox {frappe.generate_hash(length=6)}"
		make_item(item_code, "PKT Products", 12, PRODUCT_INCOME, None, is_stock_item=0)
		frappe.db.set_value("Item", item_code, "stock_uom", "PKT Unit")
		frappe.get_doc("Item", item_code).save()  # conversion row for the unit

		package = make_package(name="Botox 50", items=[(item_code, 50)], price=500)
		self.assertEqual(package.items[0].allocated_amount, 500)
		[balance] = balances_of(buy(package))
		invoice = make_invoice([(item_code, 12.5)], taxes=False)
		self.assertEqual(invoice.items[0].package_balance, balance.name)
		[log] = logs_of(invoice)
		self.assertEqual((log.qty, log.amount), (12.5, 125))
		self.assertEqual(remaining(balance.name), {item_code: 37.5})
		self.assert_reconciled()
