"""The expiry job on one and on several real RQ workers (issue 22).

    bench --site bench_expiry execute package_bundles.tests.benchmarks.expiry_benchmark.run \
        --kwargs "{'balances': 20000, 'workers': [1, 2]}"

For each worker count: commits ``balances`` balances of the worked example past their expiry
(synthetic, as report_benchmark makes them, numbered from 5,000,000, apart from its kept data),
queues the daily job as the scheduler does (flows.expire.enqueue_expiry: batches on the long
queue), starts that many ``bench worker --queue long --burst`` processes on a Redis queue of the
run's own (tests.workers) and times them until the last one has emptied the queue. Then it checks
what they posted: every balance Expired, one submitted breakage Journal Entry per balance with a
balanced GL, one Breakage ledger entry per line, nothing posted twice, no job failed. The round's
records are deleted afterwards (its Journal Entries and GL too), so each round starts from the
same site. Run it on a site kept for benchmarks where the tests ran once (the practice of the
fixtures), with no other balance due and no month-end snapshot of the practice.
"""

import time

import frappe
from frappe.utils import add_days, getdate, nowdate

from package_bundles.flows import expire
from package_bundles.tests import workers as rq_workers
from package_bundles.tests.benchmarks.report_benchmark import (
	BALANCES_PER_CUSTOMER,
	add_balance,
	benchmark_customer,
	insert,
	make_customers,
)
from package_bundles.tests.fixtures import COMPANY, make_practice

FIRST = 5_000_000  # apart from the kept data of report_benchmark (six digits, numbered from 0)
SOLD_DAYS_AGO = 100
EXPIRED_DAYS_AGO = 10


def run(balances: int = 20000, workers: list | tuple = (1, 2)) -> list[dict]:
	make_practice()
	frappe.db.commit()
	check_site()
	results = []
	for count in workers:
		names = make_expiring_balances(int(balances))
		try:
			results.append(expire_with_workers(names, int(count)))
		finally:
			delete_round(names)
	print_results(results)
	return results


def check_site() -> None:
	"""What the rounds would disturb: balances due of the site's own, snapshots their rows would fall in."""
	if due := expire.balances_to_expire(getdate(nowdate())):
		frappe.throw(f"{len(due)} balances of the site are due: the job would expire them too")
	if snapshots := frappe.db.count(
		"Package Ledger Closing",
		{"company": COMPANY, "period_end": [">=", add_days(nowdate(), -SOLD_DAYS_AGO)]},
	):
		# the job carries its rows into them; deleting the rows afterwards would not take them out
		frappe.throw(f"{COMPANY} has {snapshots} month-end snapshots the synthetic rows would fall in")


def make_expiring_balances(count: int) -> list[str]:
	"""``count`` balances sold 100 days ago, one visit used, expired 10 days ago; committed."""
	today = getdate(nowdate())
	rows = {
		"Package Balance": [],
		"Package Balance Item": [],
		"Package Ledger Entry": [],
		"Package Redemption": [],
		"GL Entry": [],
	}
	patients = -(-count // BALANCES_PER_CUSTOMER)
	rows["Customer"] = make_customers(patients, first=FIRST // BALANCES_PER_CUSTOMER)
	sold_on = add_days(today, -SOLD_DAYS_AGO)
	for number in range(FIRST, FIRST + count):
		add_balance(
			rows,
			number,
			benchmark_customer(number // BALANCES_PER_CUSTOMER),
			sold_on,
			add_days(sold_on, 1),
			add_days(today, -EXPIRED_DAYS_AGO),
		)
	for doctype, values in rows.items():
		insert(doctype, values)
	frappe.db.commit()
	return [row["name"] for row in rows["Package Balance"]]


def expire_with_workers(names: list[str], workers: int) -> dict:
	with rq_workers.private_queue() as queue_url:
		before = lock_status()
		started = time.perf_counter()
		batches = expire.enqueue_expiry()
		processes = [rq_workers.start_worker(queue_url) for _ in range(workers)]
		try:
			for process in processes:
				process.wait(timeout=4 * 3600)
			seconds = time.perf_counter() - started
			after = lock_status()
			jobs = rq_workers.jobs()
		finally:
			for process in processes:
				process.close()
	frappe.db.rollback()  # see what the workers committed
	finished = jobs["finished"]
	span = (max(job.ended_at for job in finished) - min(job.started_at for job in finished)).total_seconds()
	return {
		"workers": workers,
		"balances": len(names),
		"batches": batches,
		"seconds": seconds,
		"job_seconds": span,
		"jobs_failed": len(jobs["failed"]) + len(jobs["started"]) + len(jobs["queued"]),
		**{name: after[name] - before[name] for name in after},
		**posted(names),
	}


def lock_status() -> dict:
	"""InnoDB's counters of row lock waits and deadlocks (the whole server's)."""
	rows = dict(
		frappe.db.sql(
			"""show global status where Variable_name in
			('Innodb_row_lock_waits', 'Innodb_row_lock_time', 'Innodb_deadlocks')"""
		)
	)
	return {
		"lock_waits": int(rows.get("Innodb_row_lock_waits", 0)),
		"lock_wait_ms": int(rows.get("Innodb_row_lock_time", 0)),
		"deadlocks": int(rows.get("Innodb_deadlocks", 0)),
	}


def posted(names: list[str]) -> dict:
	"""What the workers posted for these balances, and what they posted twice."""
	expired = frappe.db.count("Package Balance", {"name": ["in", names], "status": "Expired"})
	journals = frappe.db.sql(
		"""select package_balance, count(*) from `tabJournal Entry`
		where docstatus = 1 and package_balance in %(names)s group by package_balance""",
		{"names": names},
	)
	breakage = frappe.db.sql(
		"""select package_balance_item, count(*) from `tabPackage Ledger Entry`
		where is_cancelled = 0 and event = 'Breakage' and package_balance in %(names)s
		group by package_balance_item""",
		{"names": names},
	)
	unbalanced = frappe.db.sql(
		"""select count(*) from (select gle.voucher_no from `tabGL Entry` gle
			join `tabJournal Entry` je on je.name = gle.voucher_no
			where gle.voucher_type = 'Journal Entry' and gle.is_cancelled = 0
				and je.package_balance in %(names)s
			group by gle.voucher_no having abs(sum(gle.debit) - sum(gle.credit)) > 0.005) t""",
		{"names": names},
	)[0][0]
	with_gl = frappe.db.sql(
		"""select count(distinct je.name) from `tabJournal Entry` je
		join `tabGL Entry` gle on gle.voucher_type = 'Journal Entry' and gle.voucher_no = je.name
		where je.docstatus = 1 and je.package_balance in %(names)s""",
		{"names": names},
	)[0][0]
	return {
		"expired": expired,
		"journal_entries": sum(count for _balance, count in journals),
		"journal_entries_with_gl": with_gl,
		"gl_unbalanced": unbalanced,
		"balances_posted_twice": sum(1 for _balance, count in journals if count > 1),
		"lines": frappe.db.count("Package Balance Item", {"parent": ["in", names]}),
		"lines_broken": len(breakage),
		"lines_broken_twice": sum(1 for _line, count in breakage if count > 1),
		"failed": frappe.db.count("Package Balance", {"name": ["in", names], "expiry_error": ["is", "set"]}),
	}


def delete_round(names: list[str]) -> None:
	"""The round's balances and everything the job posted for them (Journal Entries, GL, ledger)."""
	frappe.db.rollback()
	journals = frappe.get_all("Journal Entry", {"package_balance": ["in", names]}, pluck="name")
	for chunk in chunks(journals):
		frappe.db.delete("GL Entry", {"voucher_type": "Journal Entry", "voucher_no": ["in", chunk]})
		frappe.db.delete("Journal Entry Account", {"parent": ["in", chunk]})
		frappe.db.delete("Journal Entry", {"name": ["in", chunk]})
	numbers = [name.rsplit("-", 1)[1] for name in names]
	vouchers = [f"BENCH-SINV-{number}" for number in numbers] + [f"BENCH-JV-{number}" for number in numbers]
	customers = sorted({benchmark_customer(int(number) // BALANCES_PER_CUSTOMER) for number in numbers})
	for chunk in chunks(names):
		frappe.db.delete("Package Ledger Entry", {"package_balance": ["in", chunk]})
		frappe.db.delete("Package Redemption", {"package_balance": ["in", chunk]})
		frappe.db.delete("Package Balance Item", {"parent": ["in", chunk]})
		frappe.db.delete("Package Balance", {"name": ["in", chunk]})
		frappe.db.delete(
			"Error Log", {"reference_doctype": "Package Balance", "reference_name": ["in", chunk]}
		)
	for chunk in chunks(vouchers):
		frappe.db.delete("GL Entry", {"voucher_no": ["in", chunk]})
	for chunk in chunks(customers):
		frappe.db.delete("Customer", {"name": ["in", chunk]})
	frappe.db.commit()


def chunks(values: list, size: int = 5000):
	for start in range(0, len(values), size):
		yield values[start : start + size]


def print_results(results: list[dict]) -> None:
	print(
		f"{'workers':>7} {'balances':>9} {'batches':>8} {'seconds':>8} {'job s':>7} {'ms/balance':>10}"
		f" {'expired':>8} {'JEs':>7} {'posted twice':>13} {'broken twice':>13} {'failed':>7}"
		f" {'lock waits':>10} {'wait ms':>8} {'deadlocks':>9}"
	)
	for result in results:
		print(
			f"{result['workers']:>7} {result['balances']:>9} {result['batches']:>8} {result['seconds']:>8.1f}"
			f" {result['job_seconds']:>7.1f} {result['seconds'] / max(result['balances'], 1) * 1000:>10.2f}"
			f" {result['expired']:>8} {result['journal_entries']:>7} {result['balances_posted_twice']:>13}"
			f" {result['lines_broken_twice']:>13} {result['failed'] + result['jobs_failed']:>7}"
			f" {result['lock_waits']:>10} {result['lock_wait_ms']:>8} {result['deadlocks']:>9}"
		)
	if len(results) > 1:
		print(
			f"time of {results[-1]['workers']} workers / {results[0]['workers']} worker(s):"
			f" {results[-1]['seconds'] / results[0]['seconds']:.2f}"
		)
