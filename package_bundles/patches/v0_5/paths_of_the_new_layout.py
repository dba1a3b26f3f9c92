"""Issue 19: the code moved into overrides/, api/, ledger/ and flows/; stored dotted paths follow.

A site installed from the previous layout keeps, in its database, the paths it was installed
with: the daily jobs (Scheduled Job Type) and the workspace's number cards (Number Card.method).
Each Scheduled Job Type of an old path is renamed to the new one, keeping its last execution (the
job neither runs again today nor waits a day) and its logs; migrate's sync_jobs, which runs after
the patches, then finds it named in hooks and has nothing stale to delete. Jobs an RQ queue still
holds under an old path fail once; the next daily run finishes their balances.
"""

import frappe

MOVED_JOBS = {
	"package_bundles.expiry.enqueue_expiry": "package_bundles.flows.expire.enqueue_expiry",
	"package_bundles.reminders.send_expiry_reminders": "package_bundles.flows.remind.send_expiry_reminders",
}
MOVED_MODULES = {"package_bundles.dashboard.": "package_bundles.api.dashboard."}


def execute():
	for old_method, new_method in MOVED_JOBS.items():
		move_scheduled_job(old_method, new_method)
	move_number_card_methods()


def move_scheduled_job(old_method: str, new_method: str) -> None:
	old_name = frappe.db.get_value("Scheduled Job Type", {"method": old_method})
	if not old_name:
		return
	if frappe.db.exists("Scheduled Job Type", {"method": new_method}):
		frappe.delete_doc("Scheduled Job Type", old_name, force=True, ignore_permissions=True)
		return
	new_name = ".".join(new_method.split(".")[-2:])  # ScheduledJobType.autoname
	if new_name != old_name:
		frappe.rename_doc("Scheduled Job Type", old_name, new_name, force=True, show_alert=False)
	frappe.db.set_value("Scheduled Job Type", new_name, "method", new_method, update_modified=False)


def move_number_card_methods() -> None:
	Card = frappe.qb.DocType("Number Card")
	for old_prefix, new_prefix in MOVED_MODULES.items():
		cards = (
			frappe.qb.from_(Card)
			.select(Card.name, Card.method)
			.where(Card.method.like(f"{old_prefix}%"))
			.orderby(Card.name)
			.run(as_dict=True)
		)
		for card in cards:
			frappe.db.set_value(
				"Number Card",
				card.name,
				"method",
				new_prefix + card.method.removeprefix(old_prefix),
				update_modified=False,
			)
