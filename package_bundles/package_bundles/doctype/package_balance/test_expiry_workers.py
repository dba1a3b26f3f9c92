# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""The expiry job on real RQ workers (issue 22): two ``bench worker`` processes share it.

The balances are committed (synthetic, as the benchmark makes them, numbered apart), the job is
queued on the long queue as the scheduler queues it, and ``bench worker --queue long --burst``
processes run it against this site's Redis queue. Nothing may be posted twice: one breakage
Journal Entry per balance, one Breakage ledger entry per line. A worker killed mid-run leaves
its balance and the rest of its batch to the next run. What the tests committed is deleted.
"""

import os
import signal
import subprocess
import time

import frappe

from package_bundles.flows import expire
from package_bundles.tests.benchmarks import expiry_benchmark
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase

test_ignore = IGNORED_TEST_RECORDS

BALANCES = 120


class TestExpiryOnWorkers(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.assertEqual(expire.balances_to_expire(frappe.utils.nowdate()), [], "the site has balances due")
		self.names = expiry_benchmark.make_expiring_balances(BALANCES)
		self.workers: list[subprocess.Popen] = []

	def tearDown(self):
		for worker in self.workers:
			if worker.poll() is None:
				worker.kill()
				worker.wait()
		expiry_benchmark.delete_round(self.names)
		super().tearDown()

	def start_worker(self) -> subprocess.Popen:
		bench = os.path.abspath(os.path.join(frappe.local.sites_path, ".."))
		worker = subprocess.Popen(
			["bench", "worker", "--queue", "long", "--burst"],
			cwd=bench,
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
			# a worker under CI=1 runs its jobs as tests do (no commit of their own): not here
			env={key: value for key, value in os.environ.items() if key != "CI"},
			start_new_session=True,
		)
		self.workers.append(worker)
		return worker

	def queue_the_job(self) -> int:
		"""As the scheduler does: enqueued for real (a test's enqueue is not run in process)."""
		frappe.db.commit()
		return expire.enqueue_expiry()

	def expired(self) -> int:
		frappe.db.rollback()
		return frappe.db.count("Package Balance", {"name": ["in", self.names], "status": "Expired"})

	def assert_posted_once(self):
		frappe.db.rollback()  # see what the workers committed
		outcome = expiry_benchmark.posted(self.names)
		self.assertEqual(
			outcome,
			{
				"expired": BALANCES,
				"journal_entries": BALANCES,
				"balances_posted_twice": 0,
				"lines_broken_twice": 0,
				"failed": 0,
			},
		)

	def wait_for(self, condition, seconds: int = 300):
		deadline = time.monotonic() + seconds
		while not condition() and time.monotonic() < deadline:
			time.sleep(0.5)
		return condition()

	def test_two_workers_and_a_second_run_post_each_balance_once(self):
		with_batches = expire.BATCH_SIZE
		try:
			expire.BATCH_SIZE = 20
			self.assertEqual(self.queue_the_job(), BALANCES // 20)
			first, second = self.start_worker(), self.start_worker()
			# a second run queued while the first runs: what is left again, balances in two batches
			self.assertTrue(self.wait_for(lambda: self.expired() >= BALANCES // 4))
			self.queue_the_job()
		finally:
			expire.BATCH_SIZE = with_batches
		first.wait(timeout=600)
		second.wait(timeout=600)
		self.start_worker().wait(timeout=600)  # whatever the second run queued after they left
		self.assert_posted_once()

	def test_a_worker_killed_mid_run_is_finished_by_the_next_run(self):
		with_batches = expire.BATCH_SIZE
		try:
			expire.BATCH_SIZE = BALANCES  # one batch: the worker is killed in the middle of it
			self.queue_the_job()
		finally:
			expire.BATCH_SIZE = with_batches
		worker = self.start_worker()
		self.assertTrue(self.wait_for(lambda: self.expired() >= 10))
		os.killpg(worker.pid, signal.SIGKILL)  # the work horse too: nothing may finish the batch
		worker.wait()
		left = BALANCES - self.expired()
		self.assertGreater(left, 0, "the worker finished its batch before it was killed")
		# the next run queues what is left; RQ still counts the killed job as started
		self.queue_the_job()
		self.start_worker().wait(timeout=600)
		self.assert_posted_once()
