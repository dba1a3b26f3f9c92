"""Real RQ workers for the expiry tests and benchmark (issue 22), on a Redis queue of their own.

A ``bench worker`` process takes every job of the bench's queues, whatever site queued it: on a
shared Redis it would run jobs other sites queued (or jobs earlier tests queued and no worker ran,
as in CI), and other workers would take this site's. ``private_queue`` therefore moves this
process's ``frappe.enqueue`` to a database of the same Redis server that nothing else uses, and
``start_worker`` starts ``bench worker --queue long --burst`` on it (FRAPPE_REDIS_QUEUE, which
Frappe reads before common_site_config). The jobs, the queue and the workers are RQ's and
Frappe's own; only the Redis database number differs.
"""

import os
import signal
import subprocess
import sys
import tempfile
import zlib
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import frappe
import redis
from frappe.utils import background_jobs
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

# Redis has databases 0 to 15; Frappe's cache and queue use 0
PRIVATE_DATABASES = range(1, 16)


@contextmanager
def private_queue():
	"""Within: frappe.enqueue (this process) and start_worker use an empty Redis database, emptied after."""
	url = free_database(frappe.conf.redis_queue)
	kept = frappe.local.conf.redis_queue, background_jobs._redis_queue_conn
	frappe.local.conf.redis_queue = url
	background_jobs._redis_queue_conn = None  # the next enqueue connects to the private database
	try:
		yield url
	finally:
		redis.from_url(url).flushdb()
		frappe.local.conf.redis_queue, background_jobs._redis_queue_conn = kept


def free_database(base_url: str) -> str:
	"""The URL of an empty database of the queue's Redis server (tried from one the site's name picks)."""
	parts = urlsplit(base_url)
	start = zlib.crc32(frappe.local.site.encode()) % len(PRIVATE_DATABASES)
	for offset in range(len(PRIVATE_DATABASES)):
		number = PRIVATE_DATABASES[(start + offset) % len(PRIVATE_DATABASES)]
		url = urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))
		if not redis.from_url(url).dbsize():
			return url
	raise RuntimeError(f"No empty Redis database on {base_url} for a private queue")


class Worker:
	"""One ``bench worker --queue long --burst`` process: it runs the queued jobs and exits when none is left."""

	def __init__(self, queue_url: str, queue: str = "long"):
		self.log = tempfile.NamedTemporaryFile(prefix="expiry-worker-", suffix=".log", delete=False)
		env = {key: value for key, value in os.environ.items() if key != "CI"}
		# under CI=1 a worker runs its jobs as tests do (frappe.flags.in_test: nothing committed)
		env["FRAPPE_REDIS_QUEUE"] = queue_url
		self.process = subprocess.Popen(
			# what `bench worker --queue long --burst` runs, in the bench's sites folder
			[
				sys.executable,
				"-m",
				"frappe.utils.bench_helper",
				"frappe",
				"worker",
				"--queue",
				queue,
				"--burst",
			],
			cwd=frappe.local.sites_path,
			env=env,
			stdout=self.log,
			stderr=subprocess.STDOUT,
			start_new_session=True,  # its own process group: a kill takes its work horse too
		)

	def wait(self, timeout: float = 600) -> int:
		return self.process.wait(timeout=timeout)

	def running(self) -> bool:
		return self.process.poll() is None

	def kill(self) -> None:
		"""SIGKILL to the worker and its work horse: the job in hand stops where it is."""
		if self.running():
			os.killpg(self.process.pid, signal.SIGKILL)
		self.process.wait()

	def output(self) -> str:
		with open(self.log.name) as log:
			return log.read()

	def close(self) -> None:
		self.kill()
		self.log.close()
		os.unlink(self.log.name)


def start_worker(queue_url: str) -> Worker:
	return Worker(queue_url)


def jobs(queue: str = "long") -> dict[str, list[Job]]:
	"""The private queue's jobs by state: finished (with their results), failed, started, queued."""
	connection = background_jobs.get_redis_conn()
	rq_queue = Queue(background_jobs.generate_qname(queue), connection=connection)
	registries = {
		"finished": FinishedJobRegistry(queue=rq_queue),
		"failed": FailedJobRegistry(queue=rq_queue),
		"started": StartedJobRegistry(queue=rq_queue),
	}
	found = {
		state: [job for job in Job.fetch_many(registry.get_job_ids(), connection=connection) if job]
		for state, registry in registries.items()
	}
	found["queued"] = rq_queue.get_jobs()
	return found
