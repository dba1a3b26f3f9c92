"""Company and Customer User Permissions on every read of package records (issue 16 item 7).

One rule for reports, number cards, charts and whitelisted calls, as Frappe applies User
Permissions to lists: a user limited to some companies or customers sees theirs and nothing
else. Figures (reports, cards, charts) refuse a company the user may not see and cover only
the customers they may see; a call about one document (an invoice's redemption preview, a
balance) refuses when its company or customer is not the user's.
"""

import frappe
from frappe import _
from frappe.permissions import get_allowed_docs_for_doctype, get_user_permissions


def permitted_values(doctype: str, ref_doctype: str) -> list[str] | None:
	"""The documents a User Permission limits the user to for this doctype, None when none does."""
	user_permissions = get_user_permissions(frappe.session.user)
	if not user_permissions.get(doctype):
		return None
	allowed = get_allowed_docs_for_doctype(user_permissions[doctype], ref_doctype)
	return list(allowed) or None


def permitted_customers(ref_doctype: str) -> list[str] | None:
	"""The customers the user may see packages of, None when every customer."""
	return permitted_values("Customer", ref_doctype)


def check_company(company: str | None, ref_doctype: str) -> None:
	companies = permitted_values("Company", ref_doctype)
	if companies is not None and company not in companies:
		frappe.throw(
			_("You are not permitted to see packages of company {0}").format(frappe.bold(company)),
			frappe.PermissionError,
		)


def check_customer(customer: str | None, ref_doctype: str) -> None:
	customers = permitted_customers(ref_doctype)
	if customer and customers is not None and customer not in customers:
		frappe.throw(
			_("You are not permitted to see packages of customer {0}").format(frappe.bold(customer)),
			frappe.PermissionError,
		)


def check_company_and_customer(company: str | None, customer: str | None, ref_doctype: str) -> None:
	"""Refuse (PermissionError) a read about one company's and customer's packages the user may not see."""
	check_company(company, ref_doctype)
	check_customer(customer, ref_doctype)


def is_permitted(company: str | None, customer: str | None, ref_doctype: str) -> bool:
	companies = permitted_values("Company", ref_doctype)
	customers = permitted_customers(ref_doctype)
	return (companies is None or company in companies) and (
		customers is None or not customer or customer in customers
	)
