"""Whitelisted: build the package ledger's month-end snapshots on demand (issue 22); permission checks first."""

import frappe
from frappe import _
from frappe.utils import getdate

from package_bundles.ledger import closing
from package_bundles.permissions import check_company

# who may close the books may snapshot them
BUILDERS = ("Accounts Manager", "System Manager")


@frappe.whitelist(methods=["POST"])
def build_snapshots(company: str, period_end: str | None = None) -> dict:
	"""Queue the build of the company's month ends not yet built, or of one month end again.

	The monthly job does the same on the first of each month; this is for a site that has just
	installed the app, or an accountant who wants a month end built again after a correction.
	"""
	if not set(BUILDERS) & set(frappe.get_roles()):
		frappe.throw(_("Only an Accounts Manager can build package ledger snapshots"), frappe.PermissionError)
	check_company(company, "Package Ledger Closing")
	if period_end:
		closing.validate_period_end(getdate(period_end))
		method, kwargs = (
			"package_bundles.ledger.closing.build_closing",
			{"period_end": str(getdate(period_end))},
		)
	else:
		method, kwargs = "package_bundles.ledger.closing.build_closings", {}
	frappe.enqueue(
		method,
		queue="long",
		timeout=4 * 3600,
		company=company,
		job_id=f"package_closing::{frappe.local.site}::{company}::{period_end or 'missing'}",
		deduplicate=True,
		**kwargs,
	)
	return {"company": company, "period_end": period_end, "queued": True}
