# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The expiry job on real RQ workers (issue 22): two ``bench worker`` processes share it.

The balances are committed (synthetic, as the benchmark makes them, numbered apart), the job is
queued on the long queue as the scheduler queues it (flows.expire.enqueue_expiry), and two
``bench worker --queue long --burst`` processes run it against this site, on a Redis queue of
the test's own (tests.workers: a shared queue would hand them other sites' jobs, or jobs earlier
tests left queued). Nothing may be posted twice: one submitted breakage Journal Entry per
balance, one Breakage ledger entry per line, whichever worker and whichever run got there first.
A worker killed mid-batch leaves every balance whole (posted or not at all), and the next run
finishes them. What the tests committed is deleted.
"""

import time
from collections import Counter
from contextlib import ExitStack
from unittest.mock import patch

import frappe
from frappe.utils import now

from package_bundles.flows import expire
from package_bundles.tests import workers as rq_workers
from package_bundles.tests.benchmarks import expiry_benchmark
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase

test_ignore = IGNORED_TEST_RECORDS

BALANCES = 300
SMALL_BATCH = 25


class TestExpiryOnWorkers(PackageTestCase):
	def setUp(self):
		super().setUp()
		frappe.db.commit()  # the settings the workers read (breakage on)
		expiry_benchmark.check_site()  # no balance of the site's own due, no snapshot in the way
		self.started = now()
		self.names = expiry_benchmark.make_expiring_balances(BALANCES)
		self.lines = frappe.db.count("Package Balance Item", {"parent": ["in", self.names]})
		self.stack = ExitStack()
		self.queue_url = self.stack.enter_context(rq_workers.private_queue())
		self.workers: list[rq_workers.Worker] = []

	def tearDown(self):
		for worker in self.workers:
			worker.close()
		self.stack.close()  # the private queue emptied
		expiry_benchmark.delete_round(self.names)
		super().tearDown()

	def start_worker(self) -> rq_workers.Worker:
		worker = rq_workers.start_worker(self.queue_url)
		self.workers.append(worker)
		return worker

	def queue_the_job(self, batch_size: int | None = None) -> int:
		"""As the scheduler does (or an on-demand run): real jobs on the queue, the data committed first."""
		frappe.db.commit()
		with patch.object(expire, "BATCH_SIZE", batch_size or expire.BATCH_SIZE):
			return expire.enqueue_expiry()

	def expired(self) -> int:
		frappe.db.rollback()  # see what the workers committed
		return frappe.db.count("Package Balance", {"name": ["in", self.names], "status": "Expired"})

	def wait_for(self, condition, seconds: int = 120) -> bool:
		deadline = time.monotonic() + seconds
		while not condition() and time.monotonic() < deadline:
			time.sleep(0.2)
		return condition()

	def run_what_is_queued(self, workers: list[rq_workers.Worker]) -> None:
		"""Wait for the workers; a job queued after they left (the queue was empty a moment) gets one more."""
		for worker in workers:
			self.assertEqual(worker.wait(timeout=300), 0, worker.output()[-3000:])
		if rq_workers.jobs()["queued"]:
			worker = self.start_worker()
			self.assertEqual(worker.wait(timeout=300), 0, worker.output()[-3000:])

	def assert_posted_once(self):
		frappe.db.rollback()  # see what the workers committed
		self.assertEqual(
			expiry_benchmark.posted(self.names),
			{
				"expired": BALANCES,
				"journal_entries": BALANCES,
				"journal_entries_with_gl": BALANCES,
				"gl_unbalanced": 0,
				"balances_posted_twice": 0,
				"lines": self.lines,
				"lines_broken": self.lines,
				"lines_broken_twice": 0,
				"failed": 0,
			},
		)
		self.assertEqual(frappe.db.count("Journal Entry", {"package_balance": ["in", self.names]}), BALANCES)
		self.assertEqual(self.lock_errors(), [])

	def lock_errors(self) -> list:
		"""Error Logs since the test began of a deadlock, a lock wait, the expiry job or these balances."""
		logs = frappe.get_all(
			"Error Log",
			filters={"creation": [">=", self.started]},
			fields=["method", "error", "reference_name"],
		)
		return [
			(log.method, (log.error or "").strip().splitlines()[-1:])
			for log in logs
			if "Deadlock" in (log.error or "")
			or "Lock wait timeout" in (log.error or "")
			or "expire" in (log.method or "").lower()
			or log.reference_name in self.names
		]

	def test_two_workers_and_three_runs_post_each_balance_once(self):
		# the scheduler's run in one batch and an on-demand run in small ones, queued at once: one
		# worker goes down the whole list while the other takes the same balances 25 at a time
		self.assertEqual(self.queue_the_job(batch_size=BALANCES), 1)
		self.assertEqual(self.queue_the_job(batch_size=SMALL_BATCH), BALANCES // SMALL_BATCH)
		first, second = self.start_worker(), self.start_worker()
		# and a third run while they work: it queues what is still due, some of it in their hands
		self.assertTrue(self.wait_for(lambda: self.expired() >= BALANCES // 3), first.output()[-3000:])
		self.assertGreater(self.queue_the_job(), 0)
		self.run_what_is_queued([first, second])
		self.assert_posted_once()

		jobs = rq_workers.jobs()
		self.assertEqual((jobs["failed"], jobs["started"], jobs["queued"]), ([], [], []))
		results = [job.return_value() for job in jobs["finished"]]
		# each balance expired by one job only, whichever got its lock first
		expired_by_jobs = Counter(name for result in results for name in result["expired"])
		self.assertEqual(set(expired_by_jobs), set(self.names))
		self.assertEqual(set(expired_by_jobs.values()), {1})
		self.assertEqual([name for result in results for name in result["failed"]], [])
		# the two workers did share the list, at the same time
		whole = next(job for job in jobs["finished"] if len(job.kwargs["kwargs"]["balances"]) == BALANCES)
		others = [job for job in jobs["finished"] if job is not whole]
		self.assertTrue(whole.return_value()["expired"])
		self.assertTrue(any(job.return_value()["expired"] for job in others))
		self.assertTrue(
			any(job.started_at < whole.ended_at and whole.started_at < job.ended_at for job in others),
			"no job ran beside the one of the whole list",
		)
		self.assertEqual(len({job.worker_name for job in jobs["finished"]}), 2)

	def test_a_worker_killed_mid_batch_is_finished_by_the_next_run(self):
		self.queue_the_job(batch_size=BALANCES)  # one batch: the worker is killed in the middle of it
		worker = self.start_worker()
		self.assertTrue(self.wait_for(lambda: self.expired() >= 20), worker.output()[-3000:])
		worker.kill()  # the work horse too: nothing may finish the batch
		done = self.expired()
		self.assertLess(done, BALANCES, "the worker finished its batch before it was killed")
		# each balance whole: expired with its Journal Entry and breakage, or untouched
		outcome = expiry_benchmark.posted(self.names)
		self.assertEqual(outcome["journal_entries"], done)
		self.assertEqual(outcome["journal_entries_with_gl"], done)
		self.assertEqual(outcome["lines_broken"], done * self.lines // BALANCES)
		self.assertEqual((outcome["balances_posted_twice"], outcome["lines_broken_twice"]), (0, 0))
		# RQ still counts the killed job as started: the next run must not wait for it
		self.assertEqual(len(rq_workers.jobs()["started"]), 1)

		self.assertEqual(self.queue_the_job(), -(-(BALANCES - done) // expire.BATCH_SIZE))
		self.run_what_is_queued([self.start_worker(), self.start_worker()])
		self.assert_posted_once()
		self.assertEqual(rq_workers.jobs()["failed"], [])
