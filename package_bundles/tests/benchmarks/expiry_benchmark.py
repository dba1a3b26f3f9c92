"""The expiry job on one and on several real RQ workers (issue 22).

    bench --site bench_expiry execute package_bundles.tests.benchmarks.expiry_benchmark.run \
        --kwargs "{'balances': 20000, 'workers': [1, 2]}"

For each worker count: commits ``balances`` balances of the worked example past their expiry
(synthetic, as report_benchmark makes them, numbered apart from its kept data), queues the
daily job (flows.expire.enqueue_expiry: batches on the long queue), starts that many
``bench worker --queue long --burst`` processes and times them until the last one has emptied
the queue. Then it checks what they posted: every balance Expired, one breakage Journal Entry
and one Breakage ledger entry per balance and line, nothing posted twice. The round's records
are deleted afterwards, so each round starts from the same site. Run it on a site that has no
other balance due (it expires whatever is due).
"""

import os
import subprocess
import time

import frappe
from frappe.utils import add_days, getdate, nowdate

from package_bundles.flows import expire
from package_bundles.tests.benchmarks.report_benchmark import (
	BALANCES_PER_CUSTOMER,
	add_balance,
	benchmark_customer,
	insert,
	make_customers,
)
from package_bundles.tests.fixtures import COMPANY, make_practice

FIRST = 5_000_000  # apart from the kept data of report_benchmark (numbered from 0)


def run(balances: int = 20000, workers: list | tuple = (1, 2)) -> list[dict]:
	make_practice()
	frappe.db.commit()
	results = []
	for count in workers:
		names = make_expiring_balances(int(balances))
		try:
			results.append(expire_with_workers(names, int(count)))
		finally:
			delete_round(names)
	print_results(results)
	return results


def make_expiring_balances(count: int) -> list[str]:
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
	for number in range(FIRST, FIRST + count):
		sold_on = add_days(today, -100)
		add_balance(
			rows,
			number,
			benchmark_customer(number // BALANCES_PER_CUSTOMER),
			sold_on,
			add_days(sold_on, 1),
			add_days(today, -10),
		)
	for doctype, values in rows.items():
		insert(doctype, values)
	frappe.db.commit()
	return [row["name"] for row in rows["Package Balance"]]


def expire_with_workers(names: list[str], workers: int) -> dict:
	bench = os.path.abspath(os.path.join(frappe.local.sites_path, ".."))
	started = time.perf_counter()
	batches = expire.enqueue_expiry()
	processes = [
		subprocess.Popen(
			["bench", "worker", "--queue", "long", "--burst"],
			cwd=bench,
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
			# a worker under CI=1 runs its jobs as tests do (no commit of their own): not here
			env={key: value for key, value in os.environ.items() if key != "CI"},
		)
		for _ in range(workers)
	]
	for process in processes:
		process.wait(timeout=4 * 3600)
	seconds = time.perf_counter() - started
	frappe.db.rollback()  # see what the workers committed
	return {
		"workers": workers,
		"balances": len(names),
		"batches": batches,
		"seconds": seconds,
		**posted(names),
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
	failed = frappe.db.count("Package Balance", {"name": ["in", names], "expiry_error": ["is", "set"]})
	return {
		"expired": expired,
		"journal_entries": sum(count for _balance, count in journals),
		"balances_posted_twice": sum(1 for _balance, count in journals if count > 1),
		"lines_broken_twice": sum(1 for _line, count in breakage if count > 1),
		"failed": failed,
	}


def delete_round(names: list[str]) -> None:
	"""The round's balances and everything the job posted for them."""
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
		f"{'workers':>7} {'balances':>9} {'batches':>8} {'seconds':>8} {'ms/balance':>10} {'expired':>8}"
		f" {'JEs':>7} {'posted twice':>13} {'broken twice':>13} {'failed':>7}"
	)
	for result in results:
		print(
			f"{result['workers']:>7} {result['balances']:>9} {result['batches']:>8} {result['seconds']:>8.1f}"
			f" {result['seconds'] / max(result['balances'], 1) * 1000:>10.1f} {result['expired']:>8}"
			f" {result['journal_entries']:>7} {result['balances_posted_twice']:>13}"
			f" {result['lines_broken_twice']:>13} {result['failed']:>7}"
		)
	if len(results) > 1:
		print(
			f"time of {results[-1]['workers']} workers / 1 worker: {results[-1]['seconds'] / results[0]['seconds']:.2f}"
		)
