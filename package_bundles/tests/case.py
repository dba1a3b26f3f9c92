"""Base class for the integration tests (v15 FrappeTestCase, v16 IntegrationTestCase)."""

import frappe

try:  # v16
	from frappe.tests import IntegrationTestCase as _BaseTestCase
except ImportError:  # v15
	from frappe.tests.utils import FrappeTestCase as _BaseTestCase

from package_bundles.flows import catalog
from package_bundles.tests.fixtures import make_practice, reset_settings

# Linked doctypes whose ERPNext test records these tests do not use: they build their own practice.
IGNORED_TEST_RECORDS = [
	"Account",
	"Company",
	"Cost Center",
	"Currency",
	"Customer",
	"Item",
	"Item Group",
	"Item Tax Template",
	"Journal Entry",
	"Package Balance",
	"Package Redemption",
	"Prepaid Package",
	"Price List",
	"Sales Invoice",
	"UOM",
]


class PackageTestCase(_BaseTestCase):
	"""Each test starts from the committed practice and is rolled back after."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.set_user("Administrator")
		make_practice()
		frappe.db.commit()

	def setUp(self):
		frappe.set_user("Administrator")
		reset_settings()
		clear_app_caches()

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()
		clear_app_caches()

	def assert_reconciled(self):
		"""SPEC §4 invariant 2 now: the deferred account's GL balance equals the balances' deferred amounts."""
		from package_bundles.tests.fixtures import COMPANY, DEFERRED

		self.assertEqual(deferred_liability(COMPANY, DEFERRED), deferred_in_balances(COMPANY))

	def count_documents(self, *doctypes: str) -> dict[str, int]:
		return {doctype: frappe.db.count(doctype) for doctype in doctypes}


def balances_of(invoice) -> list:
	"""The balances an invoice sold, oldest first."""
	names = frappe.get_all(
		"Package Balance", filters={"sales_invoice": invoice.name}, pluck="name", order_by="name asc"
	)
	return [frappe.get_doc("Package Balance", name) for name in names]


def clear_app_caches():
	catalog._clear()
	frappe.clear_document_cache("Package Settings")
	frappe.clear_document_cache("Prepaid Package")
	frappe.local.cache = {}


def deferred_liability(company: str, account: str, upto=None) -> float:
	"""Credit balance of the deferred revenue account."""
	from package_bundles.tests.fixtures import gl_balance

	return round(-gl_balance(account, company=company, upto=upto), 2)


def deferred_in_balances(company: str) -> float:
	rows = frappe.get_all(
		"Package Balance Item",
		filters={"parenttype": "Package Balance"},
		fields=["parent", "deferred_amount"],
	)
	companies = dict(frappe.get_all("Package Balance", fields=["name", "company"], as_list=True))
	return round(sum(row.deferred_amount for row in rows if companies.get(row.parent) == company), 2)


def invariant_problems(company: str | None = None) -> list[str]:
	"""SPEC §4 (2-6) on the whole company, from the ledger, the GL, the balances and the report."""
	from package_bundles.ledger import balance_state
	from package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue import (
		get_totals,
	)
	from package_bundles.tests.fixtures import COMPANY, gl_balance

	company = company or COMPANY
	problems = []
	ledger = frappe.db.sql(
		"""select deferred_account, sum(deferred_change) from `tabPackage Ledger Entry`
		where company = %s and is_cancelled = 0 group by deferred_account""",
		company,
	)
	for account, amount in ledger:
		gl = round(-gl_balance(account, company=company), 2)
		if round(amount or 0, 2) != gl:
			problems.append(f"ledger {account} {round(amount or 0, 2)} != GL {gl}")
	totals = get_totals(company)
	if (
		round(totals["deferred"], 2) != round(sum(amount or 0 for _a, amount in ledger), 2)
		or totals["difference"]
	):
		problems.append(f"report {totals} disagrees with the ledger")
	unbalanced = frappe.db.sql(
		"""select voucher_type, voucher_no, sum(debit) - sum(credit) from `tabGL Entry`
		where company = %s and is_cancelled = 0 group by voucher_type, voucher_no
		having abs(sum(debit) - sum(credit)) > 0.005""",
		company,
	)
	problems += [f"GL of {vt} {vn} is off by {diff}" for vt, vn, diff in unbalanced]

	names = frappe.get_all("Package Balance", filters={"company": company}, pluck="name", order_by="name asc")
	lines = balance_state.lock_lines(names, lock=False)
	states = balance_state.line_states(lines, lock=False)
	statuses = balance_state.balance_states(lines, states)
	stored_status = dict(
		frappe.get_all(
			"Package Balance", filters={"company": company}, fields=["name", "status"], as_list=True
		)
	)
	for name, line in lines.items():
		state = states[name]
		for field, value in balance_state.line_values(state).items():
			if round(line[f"stored_{field}"] or 0, 6) != round(value, 6):
				problems.append(
					f"{line.balance} {line.item_code} stored {field} {line[f'stored_{field}']} != {value}"
				)
		if state.qty_remaining < 0 or state.deferred < 0:
			problems.append(f"{line.balance} {line.item_code} negative: {state}")
		# units moved out (a transfer or an upgrade, issue 20) left without being used
		moved_out = line.stored_qty_moved_out or 0
		if (
			line.stored_qty_redeemed + line.stored_qty_remaining + moved_out != line.qty_purchased
			and state.is_sold
		):
			problems.append(f"{line.balance} {line.item_code} units do not add up")
	# issue 22: a balance's units are its lines' (the Package Balances summaries read them)
	units: dict[str, list[float]] = {}
	stored_units: dict[str, list[float]] = {}
	for name, line in lines.items():
		sums = units.setdefault(line.balance, [0.0, 0.0])
		sums[0] += line.qty_purchased or 0
		sums[1] += float(states[name].qty_remaining)
		stored_units[line.balance] = [
			round(line.stored_balance_units_purchased or 0, 6),
			round(line.stored_balance_units_remaining or 0, 6),
		]
	for balance, (purchased, remaining) in units.items():
		if stored_units[balance] != [round(purchased, 6), round(remaining, 6)]:
			problems.append(
				f"{balance} stored units {stored_units[balance]} != its lines' {[purchased, remaining]}"
			)
	for balance, status in statuses.items():
		if stored_status.get(balance) != status:
			problems.append(f"{balance} stored status {stored_status.get(balance)} != {status}")
	sold: dict[str, list] = {}
	for name, line in lines.items():
		sold.setdefault(line.sales_invoice, []).append(states[name])
	for invoice, invoice_states in sold.items():
		allocated = sum(s.allocated for s in invoice_states)
		taken = sum(s.recognized + s.broken + s.refunded for s in invoice_states)
		if taken > allocated:
			problems.append(f"{invoice}: recognized + refunded {taken} exceeds what it sold, {allocated}")
	return problems + snapshot_problems(company)


def snapshot_problems(company: str) -> list[str]:
	"""Issue 22: each month-end snapshot of the company equals its whole ledger summed up to that date."""
	from package_bundles.ledger import closing

	periods = frappe.get_all(
		"Package Ledger Closing",
		filters={"company": company},
		pluck="period_end",
		order_by="period_end asc",
	)
	if not periods:
		return []
	names = closing.figure_names()
	entries = frappe.get_all(
		"Package Ledger Entry",
		filters={"company": company, "is_cancelled": 0},
		fields=[
			"posting_date",
			"event",
			"customer",
			"item_group",
			"prepaid_package",
			"qty_change",
			"deferred_change",
			"revenue_change",
		],
		order_by="name asc",
	)
	problems = []
	for period_end in periods:
		expected: dict[tuple, list[float]] = {}
		for row in entries:
			if row.posting_date > period_end:
				continue
			for grain, keys in closing.GRAIN_KEYS.items():
				sums = expected.setdefault((grain, *(row[key] for key in keys)), [0.0] * len(names))
				for index, figure in enumerate(closing.figures()):
					sums[index] += float(figure.of(row))
		stored: dict[tuple, list[float]] = {}
		for row in frappe.get_all(
			"Package Ledger Closing Balance",
			filters={"company": company, "period_end": period_end},
			fields=["grain", "customer", "item_group", "prepaid_package", *names],
		):
			key = (row.grain, *(row[field] for field in closing.GRAIN_KEYS[row.grain]))
			sums = stored.setdefault(key, [0.0] * len(names))
			for index, name in enumerate(names):
				sums[index] += row[name] or 0
		for key in sorted(set(expected) | set(stored), key=str):
			want = [round(value, 6) for value in expected.get(key, [0.0] * len(names))]
			got = [round(value, 6) for value in stored.get(key, [0.0] * len(names))]
			if want != got:
				problems.append(
					f"snapshot {period_end} {key}: {dict(zip(names, got, strict=True))} != ledger {dict(zip(names, want, strict=True))}"
				)
	return problems
