"""Time the four package reports on synthetic data, and count their queries.

    bench --site test_site2 execute package_bundles.benchmarks.report_benchmark.run \
        --kwargs "{'balances': 10000}"

Builds ``balances`` Package Balances of the worked example (SPEC §6: 4 visits, a kit,
2 labs, sold for 720), each with its items, its Sale ledger entries, one redeemed
visit (ledger entry and Package Redemption) and the GL rows those vouchers would
have posted, all with frappe.db.bulk_insert in the practice of the test fixtures.
Every report's execute() is then timed and its SQL statements counted. Everything
written is rolled back at the end, whatever happens.
"""

import time
from contextlib import contextmanager

import frappe
from frappe.utils import add_days, getdate, now, nowdate

from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_billed_revenue import package_billed_revenue
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_usage import package_usage
from package_bundles.test_fixtures import (
	COMPANY,
	DEBTORS,
	DEFERRED,
	KIT,
	LAB,
	LAB_INCOME,
	MAIN_COST_CENTER,
	PRODUCT_INCOME,
	VISIT,
	VISIT_INCOME,
	get_or_make,
	make_practice,
)

BENCHMARK_CUSTOMER = "PKT Benchmark Patient"
BENCHMARK_PACKAGE = "Benchmark Postpartum Care"
DAYS_OF_HISTORY = 365
RUNS = 3

# item, name, group, qty, allocated, income account (SPEC §6)
LINES = (
	(VISIT, "Office Visit", "PKT Visits", 4, 540, VISIT_INCOME),
	(KIT, "Lactation Kit", "PKT Products", 1, 72, PRODUCT_INCOME),
	(LAB, "Lab Panel", "PKT Labs", 2, 108, LAB_INCOME),
)
VISIT_VALUE = 135


def run(balances: int = 10000, explain: bool = False) -> list[dict]:
	make_practice()
	frappe.db.commit()  # the shared practice of the tests, as their setUpClass commits it
	try:
		started = time.perf_counter()
		make_synthetic_data(int(balances))
		print(f"synthetic data: {int(balances)} balances in {time.perf_counter() - started:.1f} s")
		results = [time_report(label, report, filters, explain) for label, report, filters in report_runs()]
		print_table(results)
		totals = package_deferred_revenue.get_totals(COMPANY, nowdate())
		print(f"reconciliation as of today: {totals}")
		return results
	finally:
		frappe.db.rollback()


def report_runs() -> list[tuple]:
	period = {"from_date": add_days(nowdate(), -DAYS_OF_HISTORY), "to_date": nowdate()}
	return [
		("Package Deferred Revenue", package_deferred_revenue, {"as_of_date": nowdate()}),
		(
			"Package Deferred Revenue (customer, item group)",
			package_deferred_revenue,
			{"as_of_date": nowdate(), "customer": BENCHMARK_CUSTOMER, "item_group": "PKT Visits"},
		),
		("Package Billed Revenue", package_billed_revenue, period),
		("Package Billed Revenue (grouped)", package_billed_revenue, {**period, "group_by_item_group": 1}),
		("Package Balances", package_balances, {}),
		("Package Usage", package_usage, period),
	]


# --- measuring -----------------------------------------------------------------


@contextmanager
def recording_queries():
	statements = []
	original = frappe.db.sql

	def recording_sql(query, *args, **kwargs):
		statements.append((str(query), args))
		return original(query, *args, **kwargs)

	frappe.db.sql = recording_sql
	try:
		yield statements
	finally:
		frappe.db.sql = original


def time_report(label: str, report, filters: dict, explain: bool) -> dict:
	"""The first run fills caches (meta, company, currency); later runs show the report's own queries."""
	filters = {"company": COMPANY, **filters}
	timings, statements_per_run = [], []
	for _run in range(RUNS):
		with recording_queries() as statements:
			started = time.perf_counter()
			rows = report.execute(frappe._dict(filters))[1]
			timings.append(time.perf_counter() - started)
		statements_per_run.append(statements)
	if explain:
		print_plans(label, statements_per_run[-1])
	return {
		"report": label,
		"rows": len(rows),
		"first_queries": len(statements_per_run[0]),
		"queries": len(statements_per_run[-1]),
		"first_ms": round(timings[0] * 1000),
		"best_ms": round(min(timings) * 1000),
	}


def print_plans(label: str, statements: list[tuple]) -> None:
	print(f"\n-- {label}")
	for query, args in statements:
		print(query)
		for step in frappe.db.sql(f"explain {query}", *args, as_dict=True):
			print(f"   {step.table}: type={step.type} key={step.key} rows={step.rows} {step.Extra or ''}")


def print_table(results: list[dict]) -> None:
	header = (
		f"{'report':<50} {'rows':>7} {'queries (cold)':>15} {'queries':>8} {'first ms':>9} {'best ms':>8}"
	)
	print(header)
	print("-" * len(header))
	for r in results:
		print(
			f"{r['report']:<50} {r['rows']:>7} {r['first_queries']:>15} {r['queries']:>8}"
			f" {r['first_ms']:>9} {r['best_ms']:>8}"
		)


# --- synthetic data ------------------------------------------------------------


def make_synthetic_data(count: int) -> None:
	customer = benchmark_customer()
	rows = {
		"Package Balance": [],
		"Package Balance Item": [],
		"Package Ledger Entry": [],
		"Package Redemption": [],
	}
	rows["GL Entry"] = []
	today = getdate(nowdate())
	for number in range(count):
		sold_on = add_days(today, -(number % DAYS_OF_HISTORY) - 1)
		add_balance(rows, number, customer, sold_on, add_days(sold_on, 1))
	for doctype, values in rows.items():
		insert(doctype, values)


def benchmark_customer() -> str:
	return get_or_make(
		"Customer",
		BENCHMARK_CUSTOMER,
		{
			"customer_name": BENCHMARK_CUSTOMER,
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}),
			"territory": frappe.db.get_value("Territory", {"is_group": 0}),
		},
	).name


def add_balance(rows: dict, number: int, customer: str, sold_on, redeemed_on) -> None:
	balance = f"PKB-BENCH-{number:06d}"
	purchase_invoice = f"BENCH-SINV-{number:06d}"
	redemption_invoice = f"BENCH-SINV-R-{number:06d}"
	journal_entry = f"BENCH-JV-{number:06d}"
	redemption = f"PKR-BENCH-{number:06d}"
	# every third balance expires a year after purchase; the others never do
	expiry_date = add_days(sold_on, 365) if number % 3 == 0 else None

	rows["Package Balance"].append(
		{
			"name": balance,
			"customer": customer,
			"customer_name": customer,
			"company": COMPANY,
			"currency": "USD",
			"prepaid_package": BENCHMARK_PACKAGE,
			"status": "Active",
			"revenue_recognition": "Upon Consumption",
			"sales_invoice": purchase_invoice,
			"purchase_date": sold_on,
			"expiry_date": expiry_date,
			"package_price": 720,
			"total_allocated": 720,
			"total_recognized": VISIT_VALUE,
			"total_deferred": 720 - VISIT_VALUE,
			"deferred_revenue_account": DEFERRED,
		}
	)
	for idx, (item_code, item_name, item_group, qty, allocated, income_account) in enumerate(LINES, start=1):
		line = f"{balance}-{idx}"
		redeemed = 1 if item_code == VISIT else 0
		recognized = VISIT_VALUE if redeemed else 0
		rows["Package Balance Item"].append(
			{
				"name": line,
				"parent": balance,
				"parenttype": "Package Balance",
				"parentfield": "items",
				"idx": idx,
				"item_code": item_code,
				"item_name": item_name,
				"item_group": item_group,
				"uom": "Nos",
				"qty_purchased": qty,
				"qty_redeemed": redeemed,
				"qty_remaining": qty - redeemed,
				"allocated_amount": allocated,
				"recognized_amount": recognized,
				"deferred_amount": allocated - recognized,
				"income_account": income_account,
				"cost_center": MAIN_COST_CENTER,
			}
		)
		common = {
			"company": COMPANY,
			"customer": customer,
			"is_cancelled": 0,
			"package_balance": balance,
			"package_balance_item": line,
			"prepaid_package": BENCHMARK_PACKAGE,
			"item_code": item_code,
			"item_group": item_group,
			"currency": "USD",
			"income_account": income_account,
			"cost_center": MAIN_COST_CENTER,
			"purchase_invoice": purchase_invoice,
		}
		rows["Package Ledger Entry"].append(
			{
				**common,
				"name": f"PLE-BENCH-{number:06d}-{idx}",
				"posting_date": sold_on,
				"event": "Sale",
				"qty_change": qty,
				"deferred_change": allocated,
				"revenue_change": 0,
				"voucher_type": "Sales Invoice",
				"voucher_no": purchase_invoice,
			}
		)
		if redeemed:
			rows["Package Ledger Entry"].append(
				{
					**common,
					"name": f"PLE-BENCH-{number:06d}-R",
					"posting_date": redeemed_on,
					"event": "Redemption",
					"qty_change": -1,
					"deferred_change": -VISIT_VALUE,
					"revenue_change": VISIT_VALUE,
					"voucher_type": "Sales Invoice",
					"voucher_no": redemption_invoice,
					"journal_entry": journal_entry,
					"package_redemption": redemption,
				}
			)
			rows["Package Redemption"].append(
				{
					"name": redemption,
					"package_balance": balance,
					"package_balance_item": line,
					"prepaid_package": BENCHMARK_PACKAGE,
					"customer": customer,
					"company": COMPANY,
					"status": "Redeemed",
					"item_code": item_code,
					"item_group": item_group,
					"qty": 1,
					"qty_returned": 0,
					"amount": VISIT_VALUE,
					"currency": "USD",
					"posting_date": redeemed_on,
					"sales_invoice": redemption_invoice,
					"sales_invoice_item": f"{redemption_invoice}-1",
					"purchase_invoice": purchase_invoice,
					"income_account": income_account,
					"cost_center": MAIN_COST_CENTER,
					"journal_entry": journal_entry,
				}
			)
	# what the sale and the redemption's journal entry post (tax left out)
	rows["GL Entry"] += [
		gl_row(f"GLE-BENCH-{number:06d}-1", sold_on, DEBTORS, "Sales Invoice", purchase_invoice, debit=720),
		gl_row(f"GLE-BENCH-{number:06d}-2", sold_on, DEFERRED, "Sales Invoice", purchase_invoice, credit=720),
		gl_row(
			f"GLE-BENCH-{number:06d}-3",
			redeemed_on,
			DEFERRED,
			"Journal Entry",
			journal_entry,
			debit=VISIT_VALUE,
		),
		gl_row(
			f"GLE-BENCH-{number:06d}-4",
			redeemed_on,
			VISIT_INCOME,
			"Journal Entry",
			journal_entry,
			credit=VISIT_VALUE,
		),
	]


def gl_row(name, posting_date, account, voucher_type, voucher_no, debit=0, credit=0) -> dict:
	return {
		"name": name,
		"docstatus": 1,
		"posting_date": posting_date,
		"company": COMPANY,
		"account": account,
		"account_currency": "USD",
		"debit": debit,
		"credit": credit,
		"debit_in_account_currency": debit,
		"credit_in_account_currency": credit,
		"voucher_type": voucher_type,
		"voucher_no": voucher_no,
		"cost_center": MAIN_COST_CENTER,
		"is_cancelled": 0,
	}


def insert(doctype: str, values: list[dict]) -> None:
	if not values:
		return
	timestamp, user = now(), frappe.session.user
	fields = sorted({field for row in values for field in row})
	columns = ["creation", "modified", "owner", "modified_by", *fields]
	frappe.db.bulk_insert(
		doctype,
		columns,
		((timestamp, timestamp, user, user, *(row.get(f) for f in fields)) for row in values),
	)
