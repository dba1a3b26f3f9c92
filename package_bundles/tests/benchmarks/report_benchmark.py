"""Time the four package reports and the expiry job on synthetic data, and count queries.

    bench --site test_site2 execute package_bundles.tests.benchmarks.report_benchmark.run \
        --kwargs "{'balances': 10000}"

Builds ``balances`` Package Balances of the worked example (SPEC §6: 4 visits, a kit,
2 labs, sold for 720) over a year of history, four per patient, each with its items, its
Sale ledger entries, one redeemed visit (ledger entry and Package Redemption) and the GL
rows those vouchers would have posted, all with frappe.db.bulk_insert in the practice of
the test fixtures. One balance in ten is past its expiry date.

Every report view is then timed and its SQL statements counted: the summary a report
opens on, one patient's detail, and the detail of everything (which the desk runs as a
Prepared Report in the background). Last, the expiry job runs over the expired tenth as
one worker would, batch after batch, with its time and the process's memory per batch.
Everything written is rolled back at the end, whatever happens.
"""

import resource
import time
from contextlib import contextmanager

import frappe
from frappe.utils import add_days, getdate, now, nowdate

from package_bundles.flows import expire
from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_billed_revenue import package_billed_revenue
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_usage import package_usage
from package_bundles.tests.fixtures import (
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
	make_practice,
)

BENCHMARK_PACKAGE = "Benchmark Postpartum Care"
BALANCES_PER_CUSTOMER = 4
EXPIRED_EVERY = 10  # one balance in ten is past its expiry date
DAYS_OF_HISTORY = 365
SYNTHETIC_DOCTYPES = (
	"Customer",
	"Package Balance",
	"Package Balance Item",
	"Package Ledger Entry",
	"Package Redemption",
)
RUNS = 3
DETAIL_RUNS = 2

# item, name, group, qty, allocated, income account (SPEC §6)
LINES = (
	(VISIT, "Office Visit", "PKT Visits", 4, 540, VISIT_INCOME),
	(KIT, "Lactation Kit", "PKT Products", 1, 72, PRODUCT_INCOME),
	(LAB, "Lab Panel", "PKT Labs", 2, 108, LAB_INCOME),
)
VISIT_VALUE = 135


def run(
	balances: int = 10000,
	explain: bool = False,
	expire: bool = True,
	keep: bool = False,
	reports: bool = True,
) -> list[dict]:
	"""``keep`` commits the synthetic data (on a site kept for benchmarks) so later runs reuse it."""
	make_practice()
	frappe.db.commit()  # the shared practice of the tests, as their setUpClass commits it
	try:
		if frappe.db.exists("Package Balance", f"PKB-BENCH-{int(balances) - 1:06d}"):
			print(f"synthetic data: reusing {int(balances)} balances kept by an earlier run")
		else:
			started = time.perf_counter()
			make_synthetic_data(int(balances))
			print(f"synthetic data: {int(balances)} balances in {time.perf_counter() - started:.1f} s")
			if keep:
				frappe.db.commit()
				# fresh statistics, as InnoDB keeps them for a site that grew over a year
				# (ANALYZE commits, so only for data that is kept)
				for doctype in (*SYNTHETIC_DOCTYPES, "GL Entry"):
					frappe.db.sql(f"analyze table `tab{doctype}`")
		results = [time_report(*view, explain=explain) for view in report_runs()] if reports else []
		print_table(results)
		totals = package_deferred_revenue.get_totals(COMPANY, nowdate())
		print(f"reconciliation as of today: {totals}")
		if expire:
			time_expiry()
		return results
	finally:
		frappe.db.rollback()


def benchmark_customer(number: int = 0) -> str:
	return f"PKT Bench Patient {number:06d}"


def report_runs() -> list[tuple]:
	"""(label, kind, report, filters): the view a report opens on, one patient, everything."""
	period = {"from_date": add_days(nowdate(), -DAYS_OF_HISTORY), "to_date": nowdate()}
	as_of = {"as_of_date": nowdate()}
	one = {"customer": benchmark_customer(0)}
	everything = {"show_details": 1}
	return [
		("Package Deferred Revenue", "summary", package_deferred_revenue, as_of),
		(
			"Package Deferred Revenue by customer",
			"summary",
			package_deferred_revenue,
			{**as_of, "group_by": "Customer"},
		),
		(
			"Package Deferred Revenue, customer and item group",
			"one customer",
			package_deferred_revenue,
			{**as_of, **one, "item_group": "PKT Visits"},
		),
		("Package Deferred Revenue: reconciliation with the GL", "page asks", GlReconciliation, as_of),
		(
			"Package Deferred Revenue (all lines)",
			"background",
			package_deferred_revenue,
			{**as_of, **everything},
		),
		("Package Billed Revenue", "summary", package_billed_revenue, period),
		("Package Billed Revenue", "one customer", package_billed_revenue, {**period, **one}),
		(
			"Package Billed Revenue (all lines)",
			"background",
			package_billed_revenue,
			{**period, **everything},
		),
		("Package Balances", "summary", package_balances, {}),
		("Package Balances by status", "summary", package_balances, {"group_by": "Status"}),
		("Package Balances", "one customer", package_balances, one),
		("Package Balances (all)", "background", package_balances, everything),
		("Package Usage", "summary", package_usage, period),
		("Package Usage", "one customer", package_usage, {**period, **one}),
		("Package Usage (all rows)", "background", package_usage, {**period, **everything}),
	]


class GlReconciliation:
	"""The call the Package Deferred Revenue page makes once its rows show."""

	@staticmethod
	def execute(filters):
		return [], package_deferred_revenue.get_reconciliation(filters.company, filters.as_of_date)


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


def time_report(label: str, kind: str, report, filters: dict, explain: bool = False) -> dict:
	"""The first run fills caches (meta, company, currency); later runs show the report's own queries."""
	filters = {"company": COMPANY, **filters}
	timings, statements_per_run = [], []
	for _run in range(DETAIL_RUNS if kind == "background" else RUNS):
		with recording_queries() as statements:
			started = time.perf_counter()
			rows = report.execute(frappe._dict(filters))[1]
			timings.append(time.perf_counter() - started)
		statements_per_run.append(statements)
	if explain:
		print_plans(label, statements_per_run[-1])
	return {
		"report": label,
		"kind": kind,
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
		f"{'report':<52} {'view':<13} {'rows':>7} {'queries (cold)':>15} {'queries':>8}"
		f" {'first ms':>9} {'best ms':>8}"
	)
	print(header)
	print("-" * len(header))
	for r in results:
		print(
			f"{r['report']:<52} {r['kind']:<13} {r['rows']:>7} {r['first_queries']:>15} {r['queries']:>8}"
			f" {r['first_ms']:>9} {r['best_ms']:>8}"
		)


def time_expiry() -> dict:
	"""The expiry job over every balance due, as one worker runs its batches, with memory per batch.

	The batches' commits are skipped so that the run can be rolled back like the rest.
	"""
	today = getdate(nowdate())
	due = expire.balances_to_expire(today)
	batches = expire.expiry_batches(due)
	rss_per_batch = []
	outcome = {"expired": 0, "failed": 0}
	peak_before = peak_rss_mb()
	failed = []
	with commits_skipped():
		started = time.perf_counter()
		for batch in batches:
			result = expire.expire_batch(batch, today)
			outcome["expired"] += len(result["expired"])
			outcome["failed"] += len(result["failed"])
			failed += result["failed"]
			rss_per_batch.append(current_rss_mb())
		elapsed = time.perf_counter() - started
	for name in failed[:3]:
		error = frappe.get_all(
			"Error Log", {"reference_name": name}, ["error"], order_by="creation desc", limit=1
		)
		print(f"failed: {name}: {(error[0].error if error else '').strip().splitlines()[-1:]}")
	journal_entries = frappe.db.count(
		"Journal Entry", {"package_balance": ["is", "set"], "docstatus": 1, "company": COMPANY}
	)
	print(
		f"expiry job: {len(due)} balances due in {len(batches)} batches of {expire.BATCH_SIZE}:"
		f" {outcome['expired']} expired, {outcome['failed']} failed, {journal_entries} breakage Journal"
		f" Entries, {elapsed:.1f} s ({elapsed / max(len(due), 1) * 1000:.0f} ms per balance)"
	)
	if rss_per_batch:
		print(
			f"memory: peak RSS {peak_before:.0f} MB before the job, {peak_rss_mb():.0f} MB after;"
			f" RSS after the first batch {rss_per_batch[0]:.0f} MB, after the last {rss_per_batch[-1]:.0f} MB,"
			f" highest {max(rss_per_batch):.0f} MB"
		)
	return {"due": len(due), "seconds": elapsed, **outcome}


@contextmanager
def commits_skipped():
	"""Commits do nothing, but what a commit sends (realtime updates to the desk) is still sent
	and its count of writes starts afresh: left alone, Frappe's realtime log grows without end
	(its duplicate check with it), and the count reaches Frappe's limit of writes per transaction."""
	from frappe.realtime import flush_realtime_log

	def pretend_commit(*args, **kwargs):
		flush_realtime_log()
		# a commit also starts Frappe's count of writes per transaction afresh
		frappe.db.transaction_writes = 0

	commit = frappe.db.commit
	frappe.db.commit = pretend_commit
	try:
		yield
	finally:
		frappe.db.commit = commit


def peak_rss_mb() -> float:
	return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
	with open("/proc/self/status") as status:
		for line in status:
			if line.startswith("VmRSS:"):
				return int(line.split()[1]) / 1024
	return 0.0


# --- synthetic data ------------------------------------------------------------


def make_synthetic_data(count: int) -> None:
	rows = {
		"Package Balance": [],
		"Package Balance Item": [],
		"Package Ledger Entry": [],
		"Package Redemption": [],
	}
	rows["GL Entry"] = []
	rows["Customer"] = make_customers(-(-count // BALANCES_PER_CUSTOMER))
	today = getdate(nowdate())
	for number in range(count):
		customer = benchmark_customer(number // BALANCES_PER_CUSTOMER)
		if number % EXPIRED_EVERY == 0:
			# sold 2 to 11 months ago, expired a month after
			sold_on = add_days(today, -60 - (number % 300))
			expiry_date = add_days(sold_on, 30)
		else:
			sold_on = add_days(today, -(number % DAYS_OF_HISTORY) - 1)
			# every third of the others expires a year after purchase, the rest never
			expiry_date = add_days(sold_on, 365) if number % 3 == 0 else None
		add_balance(rows, number, customer, sold_on, add_days(sold_on, 1), expiry_date)
	for doctype, values in rows.items():
		insert(doctype, values)


def make_customers(count: int) -> list[dict]:
	group = frappe.db.get_value("Customer Group", {"is_group": 0})
	territory = frappe.db.get_value("Territory", {"is_group": 0})
	return [
		{
			"name": benchmark_customer(number),
			"customer_name": benchmark_customer(number),
			"customer_type": "Individual",
			"customer_group": group,
			"territory": territory,
		}
		for number in range(count)
	]


def add_balance(rows: dict, number: int, customer: str, sold_on, redeemed_on, expiry_date) -> None:
	balance = f"PKB-BENCH-{number:06d}"
	purchase_invoice = f"BENCH-SINV-{number:06d}"
	redemption_invoice = f"BENCH-SINV-R-{number:06d}"
	journal_entry = f"BENCH-JV-{number:06d}"
	redemption = f"PKR-BENCH-{number:06d}"

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
			"cost_center": MAIN_COST_CENTER,
			"invoice_type": "Sales Invoice",
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
