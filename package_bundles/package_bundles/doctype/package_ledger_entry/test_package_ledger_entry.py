# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate

from package_bundles import api
from package_bundles.flows import expire
from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
	get_totals,
)
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	deferred_in_balances,
	deferred_liability,
)
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	DEFERRED,
	KIT,
	LAB,
	OTHER_CUSTOMER,
	STORES,
	VISIT,
	make_invoice,
	make_package,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS


def ledger_deferred(company: str, as_of) -> float:
	"""The Package Deferred Revenue report's total, which must have no gap to the GL."""
	totals = get_totals(company, as_of)
	assert totals["difference"] == 0, totals
	return totals["deferred"]


def day(offset: int):
	return add_days(nowdate(), offset)


class TestReconciliation(PackageTestCase):
	"""SPEC §4 invariant 2: per company, the deferred revenue in the GL from packages equals
	the deferred amounts of the balances, at any date, through every kind of event."""

	def test_mixed_history_reconciles_at_every_date(self):
		consumption = make_package()
		immediate = make_package(
			name="Immediate Care", items=[(VISIT, 2)], price=300, revenue_recognition="Upon Purchase"
		)
		short = make_package(name="Short Care", items=[(VISIT, 1), (LAB, 1)], price=200, valid_for_days=5)
		pair = make_package(name="Two Visits", items=[(VISIT, 2)], price=280)

		pay(make_invoice([(consumption.item, 1)], posting_date=day(-20)))
		make_invoice([(immediate.item, 1)], customer=OTHER_CUSTOMER, posting_date=day(-20))
		short_sale = make_invoice([(short.item, 1)], posting_date=day(-18))
		pay(short_sale)

		two_visits = make_invoice(
			[(VISIT, 2)], posting_date=day(-15)
		)  # Short Care first (earlier expiry), then Postpartum
		make_invoice([(LAB, 1), (KIT, 1)], posting_date=day(-14), update_stock=1, set_warehouse=STORES)
		undone = make_invoice([(VISIT, 1)], posting_date=day(-12))
		undone.cancel()
		make_invoice(
			[(VISIT, 1)], customer=OTHER_CUSTOMER, posting_date=day(-11)
		)  # Upon Purchase: units only

		pair_sale = make_invoice([(pair.item, 2)], customer=OTHER_CUSTOMER, posting_date=day(-10))
		refund = make_sales_return(pair_sale.name)
		refund.items[0].qty = -1
		refund.posting_date = day(-9)
		refund.set_posting_time = 1
		refund.insert()
		refund.submit()

		returned = make_sales_return(two_visits.name)
		returned.items = [row for row in returned.items if row.package_balance][:1]
		returned.items[0].qty = -1
		returned.posting_date = day(-8)
		returned.set_posting_time = 1
		returned.insert()
		returned.submit()

		expired = expire.expire_balances()  # Short Care expired on day -13: breakage on day -12
		short_balance = frappe.get_doc("Package Balance", {"sales_invoice": short_sale.name})
		self.assertEqual(expired["expired"], [short_balance.name])
		self.assertTrue(short_balance.breakage_journal_entry)

		for offset in (-21, -20, -19, -15, -14, -13, -12, -11, -10, -9, -8, 0):
			with self.subTest(as_of=offset):
				self.assertEqual(
					ledger_deferred(COMPANY, day(offset)),
					deferred_liability(COMPANY, DEFERRED, upto=day(offset)),
				)
		self.assertEqual(ledger_deferred(COMPANY, day(0)), deferred_in_balances(COMPANY))
		before_extension = ledger_deferred(COMPANY, day(0))

		# invariant 4: every voucher of the history left the ledger balanced
		unbalanced = frappe.db.sql(
			"""select voucher_no, sum(debit) - sum(credit) as gap from `tabGL Entry`
			where company = %s and is_cancelled = 0 group by voucher_no having abs(gap) > 0.005""",
			COMPANY,
			as_dict=True,
		)
		self.assertEqual(unbalanced, [])

		api.extend_expiry(short_balance.name, day(30), "Clinic closed for a week")
		for offset in (-12, -8, 0):
			with self.subTest(after_extension=offset):
				self.assertEqual(
					ledger_deferred(COMPANY, day(offset)),
					deferred_liability(COMPANY, DEFERRED, upto=day(offset)),
				)
		self.assertEqual(ledger_deferred(COMPANY, day(0)), deferred_in_balances(COMPANY))
		self.assertGreater(ledger_deferred(COMPANY, day(0)), before_extension)

	def test_ledger_entries_are_read_only(self):
		from package_bundles.exceptions import BalanceReadOnlyError

		package = make_package(name="One Visit", items=[(VISIT, 1)], price=150)
		invoice = make_invoice([(package.item, 1)], customer=CUSTOMER)
		entry = frappe.get_doc("Package Ledger Entry", {"voucher_no": invoice.name})
		self.assertEqual((entry.event, entry.deferred_change, entry.qty_change), ("Sale", 150, 1))
		entry.deferred_change = 0
		with self.assertRaises(BalanceReadOnlyError):
			entry.save()
