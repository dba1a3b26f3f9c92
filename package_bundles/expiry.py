"""Daily expiry of balances (SPEC §3 Expiry). Breakage posting comes with the expiry issue."""

import frappe
from frappe.query_builder import DocType
from frappe.utils import getdate, now, nowdate


def expire_balances(today=None):
	Balance = DocType("Package Balance")
	frappe.qb.update(Balance).set(Balance.status, "Expired").set(Balance.modified, now()).where(
		Balance.status.isin(("Active", "Awaiting Payment"))
	).where(Balance.expiry_date < getdate(today or nowdate())).run()
