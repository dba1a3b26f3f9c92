# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 19: every path the app hands Frappe resolves, and a site from the previous layout migrates.

Hooks, the desk's and the portal's ``frappe.call`` methods and the number cards name dotted
paths; each must import and, where a request calls it, be whitelisted. A site installed before
the layout moved keeps old paths in its Scheduled Job Types and Number Cards: the v0_5 patch and
migrate's own job sync must leave none behind.
"""

import re
from pathlib import Path

import frappe
from frappe.core.doctype.scheduled_job_type.scheduled_job_type import sync_jobs

import package_bundles
from package_bundles.patches.v0_5 import paths_of_the_new_layout
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase

test_ignore = IGNORED_TEST_RECORDS

APP = Path(package_bundles.__file__).parent
CALLED_METHOD = re.compile(r"""["']?method["']?\s*:\s*["'](package_bundles\.[\w.]+)["']""")
# the paths REST integrators call (SPEC §7), old and new
PUBLISHED_METHODS = (
	"package_bundles.api.get_customer_balances",
	"package_bundles.api.preview_redemption",
	"package_bundles.api.preview_package",
	"package_bundles.api.extend_expiry",
	"package_bundles.expiry.extend_expiry",
)


def hook_paths() -> list[str]:
	hooks = frappe.get_hooks(app_name="package_bundles")
	paths = []
	for events in hooks.get("doc_events", {}).values():
		for handlers in events.values():
			paths += handlers if isinstance(handlers, list) else [handlers]
	for handlers in hooks.get("scheduler_events", {}).values():
		paths += handlers
	for handlers in hooks.get("override_whitelisted_methods", {}).values():
		paths += handlers
	for handlers in hooks.get("override_doctype_dashboards", {}).values():
		paths += handlers
	paths += hooks.get("jinja", {}).get("methods", [])
	for key in ("after_install", "after_migrate", "before_uninstall", "before_tests"):
		paths += hooks.get(key, [])
	return paths


def called_methods() -> set[str]:
	methods = set()
	for pattern in ("**/*.js", "**/*.json", "**/*.html"):
		for path in APP.glob(pattern):
			if "node_modules" not in path.parts:
				methods.update(CALLED_METHOD.findall(path.read_text()))
	return methods


class TestLayout(PackageTestCase):
	def test_every_hook_path_imports(self):
		paths = hook_paths()
		self.assertGreater(len(paths), 20)
		for path in paths:
			self.assertTrue(callable(frappe.get_attr(path)), path)

	def test_every_method_the_desk_calls_is_whitelisted(self):
		methods = called_methods() | set(PUBLISHED_METHODS)
		self.assertIn("package_bundles.api.preview_row", methods)
		self.assertIn("package_bundles.api.dashboard.deferred_liability", methods)
		for method in sorted(methods):
			function = frappe.get_attr(frappe.override_whitelisted_method(method))
			self.assertIn(function, frappe.whitelisted, method)

	def test_the_old_extension_path_answers_as_the_new(self):
		from package_bundles.api import extend_expiry

		self.assertIs(
			frappe.get_attr(frappe.override_whitelisted_method("package_bundles.expiry.extend_expiry")),
			extend_expiry,
		)

	def test_a_site_from_the_previous_layout_keeps_no_stale_path(self):
		self.install_old_layout_paths()
		paths_of_the_new_layout.execute()
		sync_jobs()

		jobs = frappe.get_all(
			"Scheduled Job Type",
			filters={"method": ("like", "package_bundles.%")},
			fields=["name", "method", "last_execution"],
			order_by="name asc",
		)
		self.assertEqual(
			[(job.name, job.method) for job in jobs],
			[
				# issue 22: the monthly job that builds the package ledger's month-end snapshots
				(
					"closing.enqueue_monthly_closings",
					"package_bundles.ledger.closing.enqueue_monthly_closings",
				),
				("expire.enqueue_expiry", "package_bundles.flows.expire.enqueue_expiry"),
				("remind.send_expiry_reminders", "package_bundles.flows.remind.send_expiry_reminders"),
			],
		)
		# the daily job neither runs again today nor waits a day: its last run is kept, with its logs
		expiry = next(job for job in jobs if job.name == "expire.enqueue_expiry")
		self.assertEqual(str(expiry.last_execution), "2026-12-04 00:05:00")
		self.assertEqual(
			frappe.db.get_value("Scheduled Job Log", self.old_log, "scheduled_job_type"),
			"expire.enqueue_expiry",
		)
		for job in jobs:
			frappe.get_attr(job.method)
		for card in frappe.get_all("Number Card", filters={"module": "Package Bundles"}, pluck="method"):
			self.assertTrue(card.startswith("package_bundles.api.dashboard."), card)
			self.assertIn(frappe.get_attr(card), frappe.whitelisted)

	def test_the_patch_leaves_a_site_of_the_new_layout_as_it_is(self):
		before = frappe.get_all(
			"Scheduled Job Type",
			filters={"method": ("like", "package_bundles.%")},
			fields=["name", "method", "last_execution"],
			order_by="name asc",
		)
		paths_of_the_new_layout.execute()
		after = frappe.get_all(
			"Scheduled Job Type",
			filters={"method": ("like", "package_bundles.%")},
			fields=["name", "method", "last_execution"],
			order_by="name asc",
		)
		self.assertEqual(after, before)
		self.assertEqual(len(after), 3)  # expiry, reminders and (issue 22) the monthly snapshots

	def install_old_layout_paths(self):
		"""What a site installed before issue 19 holds: its jobs and cards under the old paths."""
		for name in frappe.get_all(
			"Scheduled Job Type", filters={"method": ("like", "package_bundles.%")}, pluck="name"
		):
			frappe.delete_doc("Scheduled Job Type", name, force=True, ignore_permissions=True)
		for method in paths_of_the_new_layout.MOVED_JOBS:
			job = frappe.new_doc("Scheduled Job Type")
			job.update(
				{
					"name": ".".join(method.split(".")[-2:]),
					"method": method,
					"frequency": "Daily",
					"last_execution": "2026-12-04 00:05:00",
				}
			)
			job.db_insert()
		log = frappe.new_doc("Scheduled Job Log")
		log.update(
			{
				"name": frappe.generate_hash(length=10),
				"scheduled_job_type": "expiry.enqueue_expiry",
				"status": "Complete",
			}
		)
		log.db_insert()
		self.old_log = log.name
		for card, method in frappe.get_all(
			"Number Card", filters={"module": "Package Bundles"}, fields=["name", "method"], as_list=True
		):
			old_method = method.replace("package_bundles.api.dashboard.", "package_bundles.dashboard.")
			frappe.db.set_value("Number Card", card, "method", old_method, update_modified=False)
		self.assertEqual(
			frappe.db.count("Number Card", {"method": ("like", "package_bundles.dashboard.%")}), 4
		)
