"""Household sharing (issue 20): a redemption names who used the balance (``used_by_customer``)
beside whose balance paid (``customer``). Before sharing they were always the same customer."""

import frappe
from frappe.query_builder import DocType


def execute():
	Redemption = DocType("Package Redemption")
	frappe.qb.update(Redemption).set(Redemption.used_by_customer, Redemption.customer).where(
		Redemption.used_by_customer.isnull() | (Redemption.used_by_customer == "")
	).run()
