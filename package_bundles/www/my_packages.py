"""Portal: a logged-in customer sees their own balances and usage, nobody else's."""

import frappe
from frappe import _
from frappe.utils import getdate, nowdate

from package_bundles.api.balances import attach_items
from package_bundles.flows.patients import customers_of_patient_user
from package_bundles.permissions import permitted_values

no_cache = 1


def get_context(context):
	if frappe.session.user == "Guest":
		frappe.throw(_("Log in to see your packages"), frappe.PermissionError)
	customers = portal_customers()
	# a portal user's own customers; User Permissions on Company, if any, hold here too
	companies = permitted_values("Company", "Package Balance")
	company_filter = {"company": ("in", companies)} if companies is not None else {}
	context.no_cache = 1
	context.show_sidebar = True
	context.title = _("My Packages")
	# a balance of another customer shared with one of the user's (household sharing, issue 20)
	shared_by = shared_with_customers(customers)
	context.balances = attach_items(
		frappe.get_all(
			"Package Balance",
			filters={
				"status": ("not in", ("Cancelled",)),
				**company_filter,
			},
			or_filters={"customer": ("in", customers or [""]), "name": ("in", list(shared_by) or [""])},
			fields=[
				"name",
				"prepaid_package",
				"status",
				"purchase_date",
				"expiry_date",
				"customer",
				"frozen_from",
				"frozen_until",
			],
			order_by="status asc, expiry_date asc, name asc",
		)
	)
	today = getdate(nowdate())
	for balance in context.balances:
		# a freeze (issue 20) shows while it is live or ahead: its days and the expiry it moved
		balance["frozen"] = (
			balance.status in ("Active", "Awaiting Payment")
			and bool(balance.frozen_until)
			and getdate(balance.frozen_until) >= today
		)
	for balance in context.balances:
		balance["shared_by"] = shared_by.get(balance.name) if balance.customer not in customers else None
	item_names = {item.item_code: item.item_name for b in context.balances for item in b["items"]}
	# the user's own balances' use (by whoever it is shared with too), and their own use of shared ones
	context.usage = frappe.get_all(
		"Package Redemption",
		filters=company_filter,
		or_filters={"customer": ("in", customers or [""]), "used_by_customer": ("in", customers or [""])},
		fields=["posting_date", "item_code", "qty", "qty_returned", "status", "package_balance"],
		order_by="posting_date desc, creation desc",
		limit_page_length=100,
	)
	for row in context.usage:
		row.item_name = item_names.get(row.item_code) or row.item_code
		row.qty_used = (row.qty or 0) - (row.qty_returned or 0)
	return context


def shared_with_customers(customers: list[str]) -> dict[str, str]:
	"""Balances of other customers shared with these customers: balance -> its owner's name."""
	if not customers:
		return {}
	Sharer = frappe.qb.DocType("Package Balance Sharer")
	Balance = frappe.qb.DocType("Package Balance")
	rows = (
		frappe.qb.from_(Sharer)
		.join(Balance)
		.on(Balance.name == Sharer.parent)
		.select(Sharer.parent, Balance.customer_name, Balance.customer)
		.where(Sharer.parenttype == "Package Balance")
		.where(Sharer.customer.isin(customers))
		.orderby(Sharer.parent)
	).run(as_dict=True)
	return {row.parent: row.customer_name or row.customer for row in rows}


def portal_customers() -> list[str]:
	"""Customers the user is a portal user of (Customer > Portal Users), and, with Frappe Health,
	the Customers of the Patients the user is the portal user of (Patient > User)."""
	portal_user = frappe.qb.DocType("Portal User")
	customers = (
		frappe.qb.from_(portal_user)
		.select(portal_user.parent)
		.where(portal_user.user == frappe.session.user)
		.where(portal_user.parenttype == "Customer")
		.orderby(portal_user.parent)
	).run(pluck=True)
	return sorted(set(customers) | set(customers_of_patient_user(frappe.session.user)))
