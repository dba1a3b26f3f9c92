# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Month-end snapshots of the Package Ledger (issue 22): snapshot plus movements equal the whole ledger.

A history of real invoices over three months is snapshotted at its month ends; then back-dated
vouchers land in the closed months (a sale, a redemption, a credit note) and an old redemption
is cancelled. After each step every figure of every grain, as of dates before, on and after
each month end, equals the same figure summed from the whole ledger, in the snapshots' SQL
and in the reports' own ledger queries; a snapshot built again equals the one carried forward.
"""

from collections import defaultdict

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, add_months, flt, get_last_day, getdate, nowdate

from package_bundles.exceptions import PackageValidityError
from package_bundles.ledger import closing, package_ledger
from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user
from package_bundles.package_bundles.report.package_billed_revenue import package_billed_revenue
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward as roll_forward,
)
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	COMPANY,
	CUSTOMER,
	LAB,
	OTHER_CUSTOMER,
	VISIT,
	make_invoice,
	make_package,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

GROUPINGS = (("item_group",), ("prepaid_package",), ("customer",), ())


def day(offset: int) -> str:
	return str(getdate(add_days(nowdate(), offset)))


def month_end(months_back: int) -> str:
	return str(get_last_day(add_months(nowdate(), -months_back)))


def ledger_figures(as_of) -> dict:
	"""Every figure per grain key as of a date, summed in Python from every live ledger row."""
	rows = frappe.get_all(
		"Package Ledger Entry",
		filters={"company": COMPANY, "is_cancelled": 0, "posting_date": ("<=", as_of)},
		fields=["*"],
		order_by="creation asc, name asc",
	)
	sums = {grain: defaultdict(lambda: defaultdict(float)) for grain in closing.GRAIN_KEYS}
	for row in rows:
		for grain, keys in closing.GRAIN_KEYS.items():
			key = tuple(row[field] for field in keys)
			for figure in closing.figures():
				sums[grain][key][figure.name] += float(figure.of(row))
	return {
		grain: {
			key: {name: flt(value, 6) for name, value in figures.items()} for key, figures in by_key.items()
		}
		for grain, by_key in sums.items()
	}


def without_zero_groups(figures_by_key: dict) -> dict:
	return {key: figures for key, figures in figures_by_key.items() if any(figures.values())}


class TestPackageLedgerClosing(PackageTestCase):
	def setUp(self):
		super().setUp()
		frappe.db.delete("Package Ledger Closing", {"company": COMPANY})
		frappe.db.delete("Package Ledger Closing Balance", {"company": COMPANY})
		self.package = make_package()  # 4 visits 135, kit 72, 2 labs 54
		self.pair = make_package(name="Two Visits", items=[(VISIT, 2)], price=280)
		pay(make_invoice([(self.package.item, 1)], posting_date=day(-80)))
		pay(make_invoice([(self.pair.item, 1)], customer=OTHER_CUSTOMER, posting_date=day(-70)))
		self.early_visit = make_invoice([(VISIT, 1)], posting_date=day(-50))
		self.lab = make_invoice([(LAB, 1)], posting_date=day(-20))
		make_invoice([(VISIT, 1)], customer=OTHER_CUSTOMER, posting_date=day(-20))
		make_invoice([(VISIT, 1)], posting_date=day(-2))

	def dates(self) -> list[str]:
		dates = [day(offset) for offset in (-81, -60, -35, -20, -10, -1, 0)]
		for months_back in (1, 2, 3):
			end = month_end(months_back)
			dates += [end, str(add_days(end, 1)), str(add_days(end, -1))]
		return sorted(set(dates))

	def assert_snapshots_add_up(self):
		"""As of every date: snapshot + movements = whole ledger, per grain and per report."""
		for as_of in self.dates():
			expected = ledger_figures(as_of)
			for group_fields in GROUPINGS:
				with self.subTest(as_of=as_of, group_by=group_fields):
					rows = closing.summed(COMPANY, as_of, group_fields)
					grain = closing.grain_for(group_fields, False)
					wanted = defaultdict(lambda: defaultdict(float))
					for key, figures in expected[grain].items():
						group_key = tuple(
							value
							for field, value in zip(closing.GRAIN_KEYS[grain], key, strict=True)
							if field in group_fields
						)
						for name, value in figures.items():
							wanted[group_key][name] = flt(wanted[group_key][name] + value, 6)
					got = {
						tuple(row[field] for field in group_fields): {
							name: flt(row[name], 6) for name in closing.figure_names()
						}
						for row in rows
					}
					wanted = without_zero_groups({key: dict(figures) for key, figures in wanted.items()})
					if not group_fields:
						got = without_zero_groups(got)
					self.assertEqual(got, wanted)
			self.assert_reports_agree(as_of)
			self.assert_customer_pages(as_of, expected)

	def assert_customer_pages(self, as_of, expected):
		"""Pages of one customer, by deferred revenue (highest first, then name) and by name, walk the
		customers in the order the whole ledger gives them."""
		customers = {key[0]: figures for key, figures in without_zero_groups(expected["Customer"]).items()}
		orders = {
			("deferred", "desc"): sorted(customers, key=lambda name: (-customers[name]["deferred"], name)),
			("customer", "asc"): sorted(customers),
		}
		for order_by, wanted in orders.items():
			pages = [
				row["customer"]
				for offset in range(len(wanted) + 1)
				for row in closing.summed(
					COMPANY, as_of, ("customer",), order_by=order_by, limit=1, offset=offset
				)
			]
			self.assertEqual(pages, wanted, f"as of {as_of}, by {order_by}")

	def assert_reports_agree(self, as_of):
		"""The reports read through the snapshots exactly what their own ledger queries sum."""
		for group_by, field in (("Item Group", "item_group"), ("Prepaid Package", "prepaid_package")):
			filters = frappe._dict(company=COMPANY, as_of_date=as_of, group_by=group_by)
			package_deferred_revenue.validate_filters(filters)
			from_snapshots = package_deferred_revenue.summary_from_snapshots(filters, field)
			from_ledger = package_deferred_revenue.summary_from_ledger(filters, field)
			self.assertEqual(
				{
					row[field]: [flt(row[f], 6) for f in package_deferred_revenue.SNAPSHOT_FIELDS]
					for row in from_snapshots
				},
				{
					row[field]: [flt(row[f], 6) for f in package_deferred_revenue.SNAPSHOT_FIELDS]
					for row in from_ledger
				},
			)
			period = frappe._dict(company=COMPANY, from_date=day(-65), to_date=as_of, group_by=group_by)
			if getdate(period.from_date) <= getdate(as_of):
				roll_forward.validate_filters(period)
				self.assertEqual(
					{
						row.group_value: [flt(row[f], 6) for f in roll_forward.FIGURES]
						for row in roll_forward.figures_from_snapshots(period, field)
					},
					{
						row.group_value: [flt(row[f], 6) for f in roll_forward.FIGURES]
						for row in roll_forward.figures_from_ledger(period, field)
						if any(flt(row[f]) for f in roll_forward.FIGURES)
					},
				)
				package_billed_revenue.validate_filters(period)
				billed = ("redemption", "purchase", "breakage", "amount")
				self.assertEqual(
					{
						row[field]: [flt(row[f], 6) for f in billed]
						for row in package_billed_revenue.summary_from_snapshots(period, field)
					},
					{
						row[field]: [flt(row[f], 6) for f in billed]
						for row in package_billed_revenue.summary_from_ledger(period, field)
						if any(flt(row[f]) for f in billed)
					},
				)
		totals = package_deferred_revenue.get_totals(COMPANY, as_of)
		self.assertEqual(totals["difference"], 0, f"as of {as_of}")

	def snapshot_rows(self, period_end) -> dict:
		rows = frappe.get_all(
			"Package Ledger Closing Balance",
			filters={"company": COMPANY, "period_end": period_end},
			fields=["grain", "customer", "item_group", "prepaid_package", *closing.figure_names()],
		)
		return {
			(row.grain, row.customer, row.item_group, row.prepaid_package): {
				name: flt(row[name], 6) for name in closing.figure_names()
			}
			for row in rows
			if any(flt(row[name]) for name in closing.figure_names())
		}

	def test_snapshots_through_back_dated_vouchers_and_cancels(self):
		outcomes = closing.build_closings(COMPANY, commit=False)
		built = [outcome["period_end"] for outcome in outcomes]
		for months_back in (1, 2, 3):
			self.assertIn(month_end(months_back), built)
		self.assertEqual(closing.last_closing(COMPANY, day(0)), getdate(month_end(1)))
		self.assert_snapshots_add_up()

		# back-dated into closed months: a sale two months back, a redemption, a partial credit
		# note of a redemption, and the cancel of a redemption three months back
		carried_before = frappe.db.get_value(
			"Package Ledger Closing", {"company": COMPANY, "period_end": month_end(1)}, "carried_movements"
		)
		pay(make_invoice([(self.pair.item, 1)], customer=CUSTOMER, posting_date=day(-45)))
		make_invoice([(VISIT, 2)], customer=OTHER_CUSTOMER, posting_date=day(-40))
		note = make_sales_return(self.lab.name)
		note.posting_date = day(-19)
		note.set_posting_time = 1
		note.insert()
		note.submit()
		self.early_visit.reload()
		self.early_visit.cancel()
		self.assertGreater(
			frappe.db.get_value(
				"Package Ledger Closing",
				{"company": COMPANY, "period_end": month_end(1)},
				"carried_movements",
			),
			carried_before,
		)
		self.assert_snapshots_add_up()

		# a month end built again from the ledger equals the one the movements were carried into
		for months_back in (2, 1):
			carried = self.snapshot_rows(month_end(months_back))
			closing.build_closing(COMPANY, month_end(months_back), commit=False)
			self.assertEqual(self.snapshot_rows(month_end(months_back)), carried)
		self.assert_snapshots_add_up()

	def test_a_movement_after_the_last_month_end_costs_one_query(self):
		closing.build_closings(COMPANY, commit=False)
		entry = frappe.get_all(
			"Package Ledger Entry", filters={"company": COMPANY, "is_cancelled": 0}, fields=["*"], limit=1
		)[0]
		statements = []
		original = frappe.db.sql

		def counting(query, *args, **kwargs):
			statements.append(str(query))
			return original(query, *args, **kwargs)

		frappe.db.sql = counting
		try:
			closing.carry_into_snapshots([{**entry, "posting_date": day(0)}])
			self.assertEqual(len(statements), 1)  # the locking read finds no month end on or after today
			statements.clear()
			closing.carry_into_snapshots([{**entry, "posting_date": day(-40)}])
			# the read, one upsert per grain and the count of carried movements: not the ledger's size
			self.assertEqual(len(statements), 4)
		finally:
			frappe.db.sql = original

	def test_customers_page_sorted_in_the_database(self):
		closing.build_closings(COMPANY, commit=False)
		everyone = package_deferred_revenue.execute(
			frappe._dict(company=COMPANY, group_by="Customer", page_length=500)
		)[1]
		self.assertEqual(
			[row.deferred for row in everyone], sorted((row.deferred for row in everyone), reverse=True)
		)
		first = package_deferred_revenue.execute(
			frappe._dict(company=COMPANY, group_by="Customer", page_length=1)
		)[1]
		second = package_deferred_revenue.execute(
			frappe._dict(company=COMPANY, group_by="Customer", page_length=1, page=2)
		)[1]
		self.assertEqual([row.customer for row in first + second], [row.customer for row in everyone[:2]])
		by_name = package_deferred_revenue.execute(
			frappe._dict(company=COMPANY, group_by="Customer", sort_by="Customer", page_length=500)
		)[1]
		self.assertEqual([row.customer for row in by_name], sorted(row.customer for row in everyone))
		ours = {row.customer: row.deferred for row in everyone if row.customer in (CUSTOMER, OTHER_CUSTOMER)}
		# 720 - a visit (135) - a lab (54) - a visit; 280 - a visit (140)
		self.assertEqual(ours, {CUSTOMER: 396.0, OTHER_CUSTOMER: 140.0})

	def test_only_past_month_ends(self):
		with self.assertRaises(PackageValidityError):
			closing.build_closing(COMPANY, day(-40) if day(-40) != month_end(2) else day(-41), commit=False)
		with self.assertRaises(PackageValidityError):
			closing.build_closing(COMPANY, str(get_last_day(nowdate())), commit=False)

	def test_without_a_snapshot_the_ledger_answers(self):
		self.assertIsNone(closing.last_closing(COMPANY, day(0)))
		self.assert_reports_agree(day(0))
		package_ledger.make_entries([])  # nothing to carry, nothing asked


class TestBuildSnapshotsOnDemand(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.queued = []
		self.enqueue = frappe.enqueue
		# the package jobs are recorded, not queued; the jobs creating a user queues are left out
		frappe.enqueue = lambda method, **kwargs: (
			self.queued.append((method, kwargs)) if str(method).startswith("package_bundles.") else None
		)

	def tearDown(self):
		frappe.enqueue = self.enqueue
		super().tearDown()

	def test_an_accounts_manager_queues_the_build(self):
		from package_bundles.api.closing import build_snapshots

		manager = make_user("package-closing-manager@example.com", ["Accounts Manager"])
		clerk = make_user("package-closing-clerk@example.com", ["Accounts User", "Package Manager"])
		frappe.set_user(clerk)
		with self.assertRaises(frappe.PermissionError):
			build_snapshots(COMPANY)
		self.assertEqual(self.queued, [])
		frappe.set_user(manager)
		build_snapshots(COMPANY)
		build_snapshots(COMPANY, month_end(2))
		self.assertEqual(
			[(method, kwargs.get("company"), kwargs.get("period_end")) for method, kwargs in self.queued],
			[
				("package_bundles.ledger.closing.build_closings", COMPANY, None),
				("package_bundles.ledger.closing.build_closing", COMPANY, month_end(2)),
			],
		)
		with self.assertRaises(PackageValidityError):
			build_snapshots(COMPANY, day(0))


class TestBuildAgainstBackDatedWrites(PackageTestCase):
	"""Two connections: a month end's build and a ledger write dated inside it, in either order.

	They run on a company of their own (its ledger rows and snapshots only), committed, then removed.
	"""

	def setUp(self):
		super().setUp()
		self.company = f"PKT Closing Race {frappe.generate_hash(length=6)}"
		self.period_end = month_end(2)
		package_ledger.make_entries([self.row(-10, 4, 540)])
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		for doctype in ("Package Ledger Entry", "Package Ledger Closing", "Package Ledger Closing Balance"):
			frappe.db.delete(doctype, {"company": self.company})
		frappe.db.commit()
		super().tearDown()

	def row(self, days_before_month_end: int, qty, amount) -> dict:
		return {
			"posting_date": add_days(self.period_end, days_before_month_end),
			"company": self.company,
			"customer": CUSTOMER,
			"event": "Sale",
			"item_group": "PKT Visits",
			"prepaid_package": "Postpartum Care",
			"item_code": VISIT,
			"qty_change": qty,
			"deferred_change": amount,
			"revenue_change": 0,
			"voucher_type": "Sales Invoice",
			"voucher_no": f"RACE-{self.company}",
			"is_reversal": 0,
		}

	def in_a_connection(self, work, errors: list):
		import threading

		site, sites_path = frappe.local.site, frappe.local.sites_path

		def run():
			frappe.init(site=site, sites_path=sites_path)
			frappe.connect()
			frappe.set_user("Administrator")
			try:
				work()
			except Exception as error:
				frappe.db.rollback()
				errors.append(repr(error))
			finally:
				frappe.destroy()

		thread = threading.Thread(target=run)
		thread.start()
		return thread

	def snapshot(self) -> tuple:
		frappe.db.rollback()  # see what the other connections committed
		row = frappe.db.get_value(
			"Package Ledger Closing Balance",
			{"company": self.company, "period_end": self.period_end, "grain": "Customer"},
			["qty_purchased", "allocated", "deferred"],
		)
		carried = frappe.db.get_value(
			"Package Ledger Closing",
			{"company": self.company, "period_end": self.period_end},
			"carried_movements",
		)
		return tuple(flt(value) for value in row), carried

	def test_a_write_during_a_build_waits_and_is_carried_into_it(self):
		import threading
		from unittest.mock import patch

		claimed, go, written = threading.Event(), threading.Event(), threading.Event()
		errors: list = []
		claim = closing.claim_period

		def claim_then_pause(company, period_end):
			name = claim(company, period_end)
			claimed.set()
			go.wait(60)
			return name

		def write():
			package_ledger.make_entries([self.row(-5, 1, 135)])  # the locking read waits for the build
			written.set()
			frappe.db.commit()

		with patch.object(closing, "claim_period", claim_then_pause):
			builder = self.in_a_connection(
				lambda: closing.build_closing(self.company, self.period_end), errors
			)
			self.assertTrue(claimed.wait(60))
			writer = self.in_a_connection(write, errors)
			self.assertFalse(written.wait(3), "the back-dated write did not wait for the build")
			go.set()
			builder.join(120)
			writer.join(120)
		self.assertEqual(errors, [])
		self.assertEqual(self.snapshot(), ((5.0, 675.0, 675.0), 1))

	def test_a_build_waits_for_a_write_in_progress_and_reads_it(self):
		import threading

		written, go, built = threading.Event(), threading.Event(), threading.Event()
		errors: list = []

		def write():
			package_ledger.make_entries([self.row(-5, 1, 135)])  # no month end yet: nothing to carry
			written.set()
			go.wait(60)
			frappe.db.commit()

		def build():
			closing.build_closing(self.company, self.period_end)
			built.set()

		writer = self.in_a_connection(write, errors)
		self.assertTrue(written.wait(60))
		builder = self.in_a_connection(build, errors)
		self.assertFalse(built.wait(3), "the build did not wait for the write in progress")
		go.set()
		writer.join(120)
		builder.join(120)
		self.assertEqual(errors, [])
		self.assertEqual(self.snapshot(), ((5.0, 675.0, 675.0), 0))
