"""Filter pieces the package reports share."""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import getdate

from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import currency_precision
from package_bundles.permissions import check_company, check_customer, permitted_customers


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


# --- summary first -----------------------------------------------------------------------------

# what a summary can be grouped by, and the column each names
GROUP_BY_FIELDS = {
	"Item Group": ("item_group", "Item Group"),
	"Prepaid Package": ("prepaid_package", "Prepaid Package"),
	"Customer": ("customer", "Customer"),
}
DEFAULT_GROUP_BY = "Item Group"


def summary_group_by(filters, choices: dict | None = None) -> str | None:
	"""The field the report's summary groups by, or None when it shows detail.

	Detail is shown when asked for (Show Details) or when the report is filtered narrowly,
	to one customer: its rows are few whatever the size of the practice.
	"""
	if filters.get("show_details") or filters.get("customer"):
		return None
	choices = choices or GROUP_BY_FIELDS
	group_by = filters.get("group_by") or DEFAULT_GROUP_BY
	if group_by not in choices:
		frappe.throw(
			_("Group By must be one of {0}").format(", ".join(_(choice) for choice in choices)),
			frappe.ValidationError,
		)
	return choices[group_by][0]


def group_column(filters, choices: dict | None = None) -> dict:
	choices = choices or GROUP_BY_FIELDS
	group_by = filters.get("group_by") or DEFAULT_GROUP_BY
	fieldname, doctype = choices[group_by]
	if not doctype:
		return {"label": _(group_by), "fieldname": fieldname, "fieldtype": "Data", "width": 160}
	return {
		"label": _(group_by),
		"fieldname": fieldname,
		"fieldtype": "Link",
		"options": doctype,
		"width": 200,
	}


def money_column(label: str, fieldname: str, width: int = 120) -> dict:
	return {
		"label": label,
		"fieldname": fieldname,
		"fieldtype": "Currency",
		"options": "currency",
		"width": width,
	}


def currency_column() -> dict:
	"""The hidden column the money columns take their currency from."""
	return {
		"label": _("Currency"),
		"fieldname": "currency",
		"fieldtype": "Link",
		"options": "Currency",
		"hidden": 1,
	}


# --- user permissions --------------------------------------------------------------------------


def apply_user_permissions(filters, ref_doctype: str) -> None:
	"""User Permissions on Company and Customer hold in the reports as they do in lists.

	A company the user may not see is refused; a user limited to some customers sees only
	theirs (``filters.permitted_customers``, None when unrestricted). The rule is
	package_bundles.permissions, shared with the cards, charts and whitelisted calls.
	"""
	check_company(filters.company, ref_doctype)
	filters.permitted_customers = permitted_customers(ref_doctype)
	check_customer(filters.get("customer"), ref_doctype)


def where_permitted(query, customer_field, filters):
	if filters.get("permitted_customers") is not None:
		query = query.where(customer_field.isin(filters.permitted_customers or [""]))
	return query
