"""Filter pieces the package reports share."""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import getdate

from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import currency_precision


def item_group_subtree(item_group: str):
	"""Subquery: the item group and every group below it, the way ERPNext's reports filter item groups."""
	Group = DocType("Item Group")
	Ancestor = DocType("Item Group").as_("ancestor")
	return (
		frappe.qb.from_(Group)
		.join(Ancestor)
		.on((Group.lft >= Ancestor.lft) & (Group.rgt <= Ancestor.rgt))
		.select(Group.name)
		.where(Ancestor.name == item_group)
	)


def validate_date_range(filters) -> None:
	if (
		filters.get("from_date")
		and filters.get("to_date")
		and getdate(filters.from_date) > getdate(filters.to_date)
	):
		frappe.throw(_("From Date must be before To Date"))


def company_currency(company: str) -> str:
	return frappe.get_cached_value("Company", company, "default_currency")


def money_precision(company: str) -> int:
	return currency_precision(company_currency(company))
