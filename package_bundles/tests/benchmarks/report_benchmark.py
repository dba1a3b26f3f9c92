"""Time the package reports, the month-end snapshots and the expiry job on synthetic data, and count queries.

    bench --site bench_100k execute package_bundles.tests.benchmarks.report_benchmark.run \
        --kwargs "{'balances': 100000, 'keep': True, 'details': False, 'expire': False, \
        'results_path': '/work/notes/bench/run-100k.json'}"

Builds ``balances`` Package Balances of the worked example (SPEC §6: 4 visits, a kit,
2 labs, sold for 720) over a year of history, four per patient, each with its items, its
Sale ledger entries, one redeemed visit (ledger entry and Package Redemption) and the GL
rows those vouchers would have posted, all with frappe.db.bulk_insert in the practice of
the test fixtures. One balance in ten is past its expiry date. The rows are made and
inserted ``CHUNK`` balances at a time (committed chunk by chunk with ``keep``), so that a
million balances take no more memory than ten thousand; a kept dataset smaller than asked
grows by the balances it lacks.

Every report view is then timed and its SQL statements counted: the summary a report
opens on, one patient's detail, and (with ``details``) the detail of everything, which the
desk runs as a Prepared Report in the background. With ``snapshots`` (kept data only) the
month-end snapshots of the package ledger are built first, each month's build timed, and
after the reports one ledger row is written dated today and dated in a closed month, to
time what carrying a back-dated movement into the snapshots adds. Last, with ``expire``,
the expiry job runs over the expired tenth as one worker would, batch after batch, with
its time and the process's memory per batch. Everything the measuring writes is rolled
back at the end, whatever happens (kept data and snapshot builds are committed).

``results_path`` saves a run's figures as JSON; ``compare`` prints several runs side by
side (say 100k | 300k | 1M). ``reports_at`` times the report modules as they were at a
commit of the app (the baseline before a change) instead of the working tree's.
"""

import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import frappe
from frappe.utils import add_days, getdate, now, nowdate

from package_bundles.flows import expire
from package_bundles.package_bundles.report.package_balances import package_balances
from package_bundles.package_bundles.report.package_billed_revenue import package_billed_revenue
from package_bundles.package_bundles.report.package_deferred_revenue import package_deferred_revenue
from package_bundles.package_bundles.report.package_liability_roll_forward import (
	package_liability_roll_forward,
)
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
CHUNK = 10_000  # balances made and inserted at a time (about 265,000 rows, 200 MB of Python dicts)
MAX_BALANCES = 1_000_000
INSERT_ROWS = 2000  # rows per INSERT statement (about 1 MB of SQL)
SYNTHETIC_DOCTYPES = (
	"Customer",
	"Package Balance",
	"Package Balance Item",
	"Package Ledger Entry",
	"Package Redemption",
)
RUNS = 3
DETAIL_RUNS = 2
BACKDATED_RUNS = 5

# the report modules timed, by module name (``reports_at`` loads these files as of a commit)
REPORTS = {
	"package_deferred_revenue": package_deferred_revenue,
	"package_billed_revenue": package_billed_revenue,
	"package_liability_roll_forward": package_liability_roll_forward,
	"package_balances": package_balances,
	"package_usage": package_usage,
}

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
	details: bool = True,
	snapshots: bool = False,
	rebuild_snapshots: bool = False,
	results_path: str | None = None,
	label: str | None = None,
	reports_at: str | None = None,
) -> list[dict]:
	"""``keep`` commits the synthetic data (on a site kept for benchmarks) so later runs reuse it.

	``details`` False leaves out the background views (at a million balances they bring three
	million rows into Python); ``expire`` False the expiry job. ``snapshots`` builds the
	month ends not built yet (``rebuild_snapshots``: every one again) and times a back-dated
	ledger write; ``results_path`` writes the figures as JSON for ``compare``.
	"""
	run_started = time.perf_counter()
	balances = int(balances)
	if balances > MAX_BALANCES:
		frappe.throw(f"At most {MAX_BALANCES:,} balances (their names have six digits)")
	make_practice()
	frappe.db.commit()  # the shared practice of the tests, as their setUpClass commits it
	outcome = {
		"label": label or size_label(balances),
		"site": frappe.local.site,
		"balances": balances,
		"app_commit": app_commit("HEAD"),
		"reports_at": app_commit(reports_at) if reports_at else None,
		"started": now(),
		"load_average": os.getloadavg(),
	}
	modules = reports_as_of(reports_at) if reports_at else REPORTS
	try:
		outcome["generation"] = ensure_synthetic_data(balances, keep)
		if snapshots:
			if outcome["generation"]["added"] and not keep:
				frappe.throw("The snapshots are built and committed on kept data only: run with 'keep': True")
			outcome["snapshots"] = time_snapshots(rebuild_snapshots)
		outcome["ledger_entries"] = frappe.db.count("Package Ledger Entry", {"company": COMPANY})
		outcome["snapshots_built"] = frappe.db.count("Package Ledger Closing", {"company": COMPANY})
		print(
			f"reports on {outcome['ledger_entries']:,} ledger entries, {outcome['snapshots_built']} month-end"
			f" snapshots built; report code: {outcome['reports_at'] or outcome['app_commit']}"
			f"{' (as of reports_at)' if reports_at else ' (working tree)'}",
			flush=True,
		)
		views = [view for view in report_runs(modules) if details or view[1] != "background"]
		results = [time_report(*view, explain=explain) for view in views] if reports else []
		outcome["results"] = results
		print_table(results)
		totals = modules["package_deferred_revenue"].get_totals(COMPANY, nowdate())
		print(f"reconciliation as of today: {totals}")
		if snapshots:
			outcome["backdated"] = time_backdated_movement()
		if expire:
			outcome["expiry"] = time_expiry()
		outcome["wall_seconds"] = round(time.perf_counter() - run_started, 1)
		outcome["load_average_after"] = os.getloadavg()
		print(f"wall time: {outcome['wall_seconds']} s")
		if results_path:
			save_results(outcome, results_path)
		return results
	finally:
		frappe.db.rollback()


def size_label(balances: int) -> str:
	if balances >= 1_000_000 and balances % 1_000_000 == 0:
		return f"{balances // 1_000_000}M"
	if balances >= 1000 and balances % 1000 == 0:
		return f"{balances // 1000}k"
	return str(balances)


def benchmark_customer(number: int = 0) -> str:
	return f"PKT Bench Patient {number:06d}"


def report_runs(modules: dict | None = None) -> list[tuple]:
	"""(label, kind, report, filters): the view a report opens on, one patient, everything."""
	modules = modules or REPORTS
	deferred_revenue = modules["package_deferred_revenue"]
	billed_revenue = modules["package_billed_revenue"]
	roll_forward = modules["package_liability_roll_forward"]
	balances = modules["package_balances"]
	usage = modules["package_usage"]
	period = {"from_date": add_days(nowdate(), -DAYS_OF_HISTORY), "to_date": nowdate()}
	as_of = {"as_of_date": nowdate()}
	one = {"customer": benchmark_customer(0)}
	everything = {"show_details": 1}
	return [
		("Package Deferred Revenue", "summary", deferred_revenue, as_of),
		(
			"Package Deferred Revenue by customer",
			"summary",
			deferred_revenue,
			{**as_of, "group_by": "Customer"},
		),
		(
			"Package Deferred Revenue, customer and item group",
			"one customer",
			deferred_revenue,
			{**as_of, **one, "item_group": "PKT Visits"},
		),
		(
			"Package Deferred Revenue: reconciliation with the GL",
			"page asks",
			GlReconciliation(deferred_revenue),
			as_of,
		),
		(
			"Package Deferred Revenue (all lines)",
			"background",
			deferred_revenue,
			{**as_of, **everything},
		),
		("Package Billed Revenue", "summary", billed_revenue, period),
		("Package Billed Revenue", "one customer", billed_revenue, {**period, **one}),
		(
			"Package Billed Revenue (all lines)",
			"background",
			billed_revenue,
			{**period, **everything},
		),
		# as the page asks for it: the GL cards come after, from the reconciliation view above
		("Package Liability Roll-forward", "summary", roll_forward, {**period, "reconcile_later": 1}),
		(
			"Package Liability Roll-forward by package",
			"summary",
			roll_forward,
			{**period, "group_by": "Prepaid Package", "reconcile_later": 1},
		),
		("Package Balances", "summary", balances, {}),
		("Package Balances by status", "summary", balances, {"group_by": "Status"}),
		("Package Balances", "one customer", balances, one),
		("Package Balances (all)", "background", balances, everything),
		("Package Usage", "summary", usage, period),
		("Package Usage", "one customer", usage, {**period, **one}),
		("Package Usage (all rows)", "background", usage, {**period, **everything}),
	]


class GlReconciliation:
	"""The call the Package Deferred Revenue page makes once its rows show."""

	def __init__(self, report=package_deferred_revenue):
		self.report = report

	def execute(self, filters):
		return [], self.report.get_reconciliation(filters.company, filters.as_of_date)


def reports_as_of(commit: str) -> dict:
	"""The report modules as they were at a commit of the app, loaded beside today's under other names.

	Only the report files are taken from the commit; what they import comes from the working
	tree, so the commit must be one whose other modules the reports still agree with (the
	baseline just before a change to the reports, say ``6d57254^``).
	"""
	folder = tempfile.mkdtemp(prefix="report_benchmark_")
	modules = {}
	for name in REPORTS:
		path = f"package_bundles/package_bundles/report/{name}/{name}.py"
		source = git("show", f"{commit}:{path}")
		file = os.path.join(folder, f"{name}.py")
		with open(file, "w") as handle:
			handle.write(source)
		spec = importlib.util.spec_from_file_location(f"report_benchmark_as_of.{name}", file)
		module = importlib.util.module_from_spec(spec)
		spec.loader.exec_module(module)
		modules[name] = module
	return modules


def git(*args: str) -> str:
	repo = os.path.dirname(frappe.get_app_path("package_bundles"))
	return subprocess.run(
		["git", "-c", "safe.directory=*", "-C", repo, *args], check=True, capture_output=True, text=True
	).stdout


def app_commit(revision: str) -> str | None:
	try:
		return git("rev-parse", "--short=10", revision).strip()
	except (OSError, subprocess.CalledProcessError):
		return None


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
	result = {
		"report": label,
		"kind": kind,
		"rows": len(rows),
		"first_queries": len(statements_per_run[0]),
		"queries": len(statements_per_run[-1]),
		"first_ms": round(timings[0] * 1000),
		"best_ms": round(min(timings) * 1000),
	}
	print(f"  {label} ({kind}): {result['best_ms']} ms", flush=True)
	return result


def print_plans(label: str, statements: list[tuple]) -> None:
	print(f"\n-- {label}")
	for query, args in statements:
		print(query)
		for step in frappe.db.sql(f"explain {query}", *args, as_dict=True):
			print(f"   {step.table}: type={step.type} key={step.key} rows={step.rows} {step.Extra or ''}")


def print_table(results: list[dict]) -> None:
	"""view, kind, rows, queries (warm), best ms: one line per view, easy to set beside another run's."""
	header = f"{'view':<52} {'kind':<13} {'rows':>9} {'queries':>8} {'best ms':>9}"
	print(header)
	print("-" * len(header))
	for r in results:
		print(f"{r['report']:<52} {r['kind']:<13} {r['rows']:>9} {r['queries']:>8} {r['best_ms']:>9}")


def save_results(outcome: dict, path: str) -> None:
	os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
	with open(path, "w") as handle:
		json.dump(outcome, handle, indent=1, default=str)
	print(f"results saved to {path}")


def compare(paths: list[str], out: str | None = None) -> None:
	"""Runs saved by ``results_path`` side by side, one column block (rows, queries, best ms) per run.

	    bench --site bench_100k execute package_bundles.tests.benchmarks.report_benchmark.compare \
	        --kwargs "{'paths': ['/work/notes/bench/baseline-100k.json', '/work/notes/bench/baseline-1m.json']}"

	or, without a site: ``python report_benchmark.py compare a.json b.json``.
	"""
	runs = []
	for path in paths:
		with open(path) as handle:
			runs.append(json.load(handle))
	if len({outcome["label"] for outcome in runs}) < len(runs):
		# runs of one size (the baseline, then the change): named by their files instead
		for outcome, path in zip(runs, paths, strict=True):
			outcome["label"] = os.path.splitext(os.path.basename(path))[0]
	views = []
	for outcome in runs:
		for r in outcome.get("results") or []:
			if (r["report"], r["kind"]) not in views:
				views.append((r["report"], r["kind"]))
	by_run = [{(r["report"], r["kind"]): r for r in outcome.get("results") or []} for outcome in runs]
	block = 27
	lines = []
	for outcome in runs:
		generation = outcome.get("generation") or {}
		lines.append(
			f"{outcome['label']}: site {outcome['site']}, {outcome['balances']:,} balances,"
			f" {outcome.get('ledger_entries', 0):,} ledger entries, {outcome.get('snapshots_built', 0)} snapshots,"
			f" report code {outcome.get('reports_at') or outcome.get('app_commit')}"
			f"{' (reports_at)' if outcome.get('reports_at') else ''}, run {outcome.get('started')},"
			f" wall {outcome.get('wall_seconds')} s, load {load_of(outcome)}"
			+ (
				f", generated {generation['added']:,} in {generation['seconds']} s"
				if generation.get("added")
				else ""
			)
		)
	lines.append("")
	head = f"{'view':<52} {'kind':<13}" + "".join(f" | {outcome['label']:^{block}}" for outcome in runs)
	sub = f"{'':<52} {'':<13}" + "".join(f" | {'rows':>10} {'q':>4} {'best ms':>10}" for _ in runs)
	lines += [head, sub, "-" * len(head)]
	for key in views:
		cells = []
		for results in by_run:
			r = results.get(key)
			cells.append(
				f" | {r['rows']:>10} {r['queries']:>4} {r['best_ms']:>10}" if r else f" | {'-':^{block}}"
			)
		lines.append(f"{key[0]:<52} {key[1]:<13}" + "".join(cells))
	for title, field in (("snapshot builds, s per month", "snapshots"), ("back-dated write", "backdated")):
		if any(outcome.get(field) for outcome in runs):
			lines += ["", title]
			for outcome in runs:
				lines.append(f"  {outcome['label']}: {summary_of(field, outcome.get(field))}")
	text = "\n".join(lines)
	print(text)
	if out:
		with open(out, "w") as handle:
			handle.write(text + "\n")


def load_of(outcome: dict) -> str:
	"""The 1-minute load average before and after the run: the run itself makes about 1, more on
	2 cores means other work shared them and the figures are slower than alone."""
	before, after = outcome.get("load_average"), outcome.get("load_average_after")
	return f"{before[0]:.1f}/{after[0]:.1f}" if before and after else "?"


def summary_of(field: str, value) -> str:
	if not value:
		return "-"
	if field == "snapshots":
		months = value.get("months") or []
		return ", ".join(f"{m['period_end'][:7]} {m['seconds']}" for m in months) + (
			f" (longest {max(m['seconds'] for m in months)} s)" if months else ""
		)
	return ", ".join(
		f"{case}: {figures['best_ms']} ms" for case, figures in value.get("cases", {}).items()
	) + (f"; extra {value.get('extra_ms')} ms" if "extra_ms" in value else "")


# --- snapshots -----------------------------------------------------------------


def time_snapshots(rebuild: bool = False) -> dict:
	"""Build the month ends not built yet (all again with ``rebuild``), each timed; the builds commit."""
	from package_bundles.ledger import closing

	if rebuild:
		drop_snapshots()
	started = time.perf_counter()
	built = closing.build_closings(COMPANY)
	elapsed = time.perf_counter() - started
	now_built = {str(outcome["period_end"]) for outcome in built}
	months = [
		{
			"period_end": str(row.period_end),
			"seconds": row.build_seconds,
			"rows": row.closing_rows,
			"built_now": str(row.period_end) in now_built,
		}
		for row in frappe.get_all(
			"Package Ledger Closing",
			{"company": COMPANY},
			["period_end", "build_seconds", "closing_rows"],
			order_by="period_end",
		)
	]
	for outcome in built:
		# the closing keeps build_seconds rounded to 0.1: the figure measured here is finer
		for month in months:
			if month["period_end"] == str(outcome["period_end"]):
				month["seconds"] = outcome["seconds"]
	print(f"snapshots: {len(built)} month ends built in {elapsed:.1f} s ({len(months)} built in all)")
	for month in months:
		print(
			f"  {month['period_end']}: {month['rows']:>8} rows in {month['seconds']:>7} s"
			f"{'' if month['built_now'] else ' (built by an earlier run)'}"
		)
	return {"built_now": len(built), "seconds": round(elapsed, 1), "months": months}


def drop_snapshots(commit: bool = True) -> None:
	"""The company's snapshots deleted: to time every build again, or when the data grows (without
	``commit``, data that is rolled back: the snapshots come back with the rollback)."""
	for doctype in ("Package Ledger Closing Balance", "Package Ledger Closing"):
		frappe.db.delete(doctype, {"company": COMPANY})
	if commit:
		frappe.db.commit()


def time_backdated_movement() -> dict:
	"""One ledger row through make_entries dated today, at the last and at the first closed month end.

	Dated in a closed month, the row is carried into that snapshot and every later one; the
	extra time over the same write dated today is the cost of a back-dated movement. The rows
	are rolled back with the rest of the run.
	"""
	from package_bundles.ledger.package_ledger import FIELDS, make_entries

	closed = frappe.get_all(
		"Package Ledger Closing",
		{"company": COMPANY},
		pluck="period_end",
		order_by="period_end",
	)
	if not closed:
		print("back-dated write: no snapshot built")
		return {}
	template = (
		frappe.db.get_value("Package Ledger Entry", f"PLE-BENCH-{0:06d}-R", ["*"], as_dict=True)
		or frappe.get_all("Package Ledger Entry", {"company": COMPANY}, ["*"], limit=1)[0]
	)
	entry = {field: template.get(field) for field in FIELDS}
	cases = {
		"today": nowdate(),
		f"last closed month ({closed[-1]})": closed[-1],
		f"first closed month ({closed[0]}, {len(closed)} snapshots)": closed[0],
	}
	figures = {}
	for case, posting_date in cases.items():
		timings = []
		for _run in range(BACKDATED_RUNS):
			started = time.perf_counter()
			make_entries([{**entry, "posting_date": posting_date}])
			timings.append(time.perf_counter() - started)
		timings.sort()
		figures[case] = {
			"best_ms": round(timings[0] * 1000, 1),
			"median_ms": round(timings[len(timings) // 2] * 1000, 1),
		}
	today = figures["today"]["median_ms"]
	worst = max(figures[case]["median_ms"] for case in figures)
	outcome = {"cases": figures, "extra_ms": round(worst - today, 1)}
	print("back-dated write (one Package Ledger Entry through make_entries, median of 5):")
	for case, values in figures.items():
		print(f"  {case}: best {values['best_ms']} ms, median {values['median_ms']} ms")
	print(f"  extra for a back-dated row: {outcome['extra_ms']} ms (median, worst case over today's)")
	return outcome


# --- expiry --------------------------------------------------------------------
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


def ensure_synthetic_data(balances: int, keep: bool) -> dict:
	"""The kept balances reused; the ones lacking added after them (committed chunk by chunk with ``keep``)."""
	existing = kept_balances()
	if existing >= balances:
		print(f"synthetic data: reusing {existing:,} balances kept by an earlier run", flush=True)
		return {"existing": existing, "added": 0, "seconds": 0}
	if existing and frappe.db.count("Package Ledger Closing", {"company": COMPANY}):
		# the new rows are dated over the whole year, in months already closed: the snapshots would
		# no longer equal the ledger (bulk inserts are not carried into them as make_entries are)
		print("synthetic data grows: the company's month-end snapshots are dropped (build them again)")
		drop_snapshots(commit=keep)
	print(f"synthetic data: {existing:,} balances kept, adding {balances - existing:,}", flush=True)
	started = time.perf_counter()
	make_synthetic_data(balances, first=existing, commit=keep)
	seconds = round(time.perf_counter() - started, 1)
	print(f"synthetic data: {balances - existing:,} balances in {seconds} s", flush=True)
	if keep:
		frappe.db.commit()
		# fresh statistics, as InnoDB keeps them for a site that grew over a year
		# (ANALYZE commits, so only for data that is kept)
		for doctype in (*SYNTHETIC_DOCTYPES, "GL Entry"):
			frappe.db.sql(f"analyze table `tab{doctype}`")
	return {"existing": existing, "added": balances - existing, "seconds": seconds}


def kept_balances() -> int:
	"""How many benchmark balances exist: numbered from 0 without a gap (each chunk commits whole).

	Six digits only: other benchmarks number their balances from 5,000,000 (expiry_benchmark).
	"""
	count = frappe.db.count("Package Balance", {"name": ["like", "PKB-BENCH-______"]})
	if count and not frappe.db.exists("Package Balance", f"PKB-BENCH-{count - 1:06d}"):
		frappe.throw(
			f"The {count} kept benchmark balances are not numbered 0 to {count - 1}: drop them first"
		)
	return count


def make_synthetic_data(count: int, first: int = 0, commit: bool = False, chunk: int = CHUNK) -> None:
	"""Balances ``first`` to ``count`` - 1 with their patients, made and inserted ``chunk`` at a time.

	Memory stays that of one chunk whatever the count; with ``commit`` each chunk is its own
	transaction, so a run stopped halfway leaves whole chunks that the next run goes on from.
	"""
	started = time.perf_counter()
	inserted = 0
	for start in range(first, count, chunk):
		end = min(start + chunk, count)
		rows = synthetic_rows(start, end)
		for doctype, values in rows.items():
			insert(doctype, values)
		if commit:
			frappe.db.commit()
		inserted += sum(len(values) for values in rows.values())
		elapsed = time.perf_counter() - started
		print(
			f"  {end:>9,} / {count:,} balances: {inserted:,} rows in {elapsed:.0f} s"
			f" ({inserted / elapsed:,.0f} rows/s, {(end - first) / elapsed:,.0f} balances/s,"
			f" RSS {current_rss_mb():.0f} MB)",
			flush=True,
		)


def synthetic_rows(start: int, end: int) -> dict[str, list[dict]]:
	"""Balances ``start`` to ``end`` - 1, and the patients whose first balance is among them."""
	rows = {
		"Package Balance": [],
		"Package Balance Item": [],
		"Package Ledger Entry": [],
		"Package Redemption": [],
	}
	rows["GL Entry"] = []
	first_patient = -(-start // BALANCES_PER_CUSTOMER)
	rows["Customer"] = make_customers(-(-end // BALANCES_PER_CUSTOMER) - first_patient, first=first_patient)
	today = getdate(nowdate())
	for number in range(start, end):
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
	return rows


def make_customers(count: int, first: int = 0) -> list[dict]:
	"""Rows of ``count`` benchmark patients, numbered from ``first``."""
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
		for number in range(first, first + count)
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
			"units_purchased": sum(line[3] for line in LINES),
			"units_remaining": sum(line[3] for line in LINES) - 1,
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
	"""The rows in multi-row INSERTs with parameters, ``INSERT_ROWS`` a statement.

	frappe.db.bulk_insert builds each statement with the query builder, which took two thirds
	of the time of a chunk (12 s of 16 for 10,000 balances); plain parameters take a third of it.
	"""
	if not values:
		return
	timestamp, user = now(), frappe.session.user
	fields = sorted({field for row in values for field in row})
	columns = ["creation", "modified", "owner", "modified_by", *fields]
	listed = ", ".join(f"`{column}`" for column in columns)
	placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
	for start in range(0, len(values), INSERT_ROWS):
		part = values[start : start + INSERT_ROWS]
		frappe.db.sql(
			f"insert into `tab{doctype}` ({listed}) values " + ", ".join([placeholders] * len(part)),
			[
				value
				for row in part
				for value in (timestamp, timestamp, user, user, *(row.get(field) for field in fields))
			],
		)


if __name__ == "__main__" and sys.argv[1:2] == ["compare"]:
	compare(sys.argv[2:])
