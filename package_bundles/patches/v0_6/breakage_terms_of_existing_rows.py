"""Breakage methods (issue 21): balances sold before them keep today's behaviour, At expiry.

A balance locks its breakage method and rate at sale; one sold before the methods existed is
At expiry with no rate, and a company row of Package Settings defaults to At expiry. (A Prepaid
Package with no method takes its company's default, so it needs nothing.)
"""

import frappe
from frappe.query_builder import DocType

AT_EXPIRY = "At expiry"


def execute():
	Balance = DocType("Package Balance")
	frappe.qb.update(Balance).set(Balance.breakage_method, AT_EXPIRY).set(Balance.breakage_rate, 0).where(
		Balance.breakage_method.isnull() | (Balance.breakage_method == "")
	).run()
	Row = DocType("Package Settings Account")
	frappe.qb.update(Row).set(Row.breakage_method, AT_EXPIRY).set(Row.expected_breakage_rate, 0).where(
		Row.breakage_method.isnull() | (Row.breakage_method == "")
	).run()
	frappe.clear_document_cache("Package Settings")
