"""Whitelisted reads and actions on a customer's package balances (SPEC §5, §7).

Reads go through frappe.get_list so role and user permissions apply; each method also checks
permission on what it is asked about, first.
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import getdate

from package_bundles.flows import expire, share
from package_bundles.permissions import check_company_and_customer, check_customer

BALANCE_FIELDS = [
	"name",
	"customer",
	"company",
	"prepaid_package",
	"status",
	"purchase_date",
	"expiry_date",
	"sales_invoice",
	"is_opening",
	"opening_reference",
	"revenue_recognition",
	"currency",
	"package_price",
	"total_allocated",
	"total_recognized",
	"total_deferred",
]
ITEM_FIELDS = [
	"parent",
	"item_code",
	"item_name",
	"item_group",
	"uom",
	"qty_purchased",
	"qty_redeemed",
	"qty_remaining",
	"allocated_amount",
	"recognized_amount",
	"deferred_amount",
]


@frappe.whitelist()
def get_customer_balances(customer: str, include_closed: bool = False) -> list[dict]:
	"""The customer's balances with their items; live ones only unless ``include_closed``."""
	if not frappe.has_permission("Customer", "read", doc=customer):
		frappe.throw(
			_("Not permitted to read customer {0}").format(frappe.bold(customer)), frappe.PermissionError
		)
	return customer_balances(customer, include_closed)


def customer_balances(customer: str, include_closed: bool = False) -> list[dict]:
	"""Read through frappe.get_list (role and User Permissions apply); the caller checked the customer."""
	filters = {"customer": customer}
	if not frappe.utils.sbool(include_closed):
		filters["status"] = ("in", ("Awaiting Payment", "Active"))
	balances = frappe.get_list(
		"Package Balance",
		filters=filters,
		fields=BALANCE_FIELDS,
		order_by="expiry_date asc, purchase_date asc, name asc",
	)
	return attach_items(balances)


def attach_items(balances: list[dict]) -> list[dict]:
	if not balances:
		return balances
	Item = DocType("Package Balance Item")
	items = (
		frappe.qb.from_(Item)
		.select(*[Item[field] for field in ITEM_FIELDS])
		.where(Item.parent.isin([b.name for b in balances]))
		.where(Item.parenttype == "Package Balance")
		.orderby(Item.parent)
		.orderby(Item.idx)
		.run(as_dict=True)
	)
	by_balance: dict[str, list] = {}
	for item in items:
		by_balance.setdefault(item.pop("parent"), []).append(item)
	for balance in balances:
		balance["items"] = by_balance.get(balance.name, [])
	return balances


@frappe.whitelist(methods=["POST"])
def extend_expiry(balance: str, new_expiry_date: str, reason: str) -> dict:
	"""Package Manager: move a balance's expiry later; breakage already posted is reversed."""
	validate_package_manager()
	doc = frappe.get_doc("Package Balance", balance, for_update=True)
	check_company_and_customer(doc.company, doc.customer, "Package Balance")
	return expire.extend_balance(doc, getdate(new_expiry_date), reason)


def validate_package_manager():
	# frappe.only_for is silent under tests; this check must hold there too
	if frappe.session.user != "Administrator" and not {"Package Manager", "System Manager"} & set(
		frappe.get_roles()
	):
		frappe.throw(_("Only a Package Manager can extend a package balance"), frappe.PermissionError)


# --- household sharing (issue 20) --------------------------------------------------------------


@frappe.whitelist(methods=["POST"])
def add_sharer(
	balance: str, customer: str | None = None, reason: str = "", patient: str | None = None
) -> dict:
	"""Let another customer (with Frappe Health, a Patient's customer) redeem from a balance."""
	validate_can_share()
	customer = share.customer_to_share_with(customer, patient)
	doc = frappe.get_doc("Package Balance", balance, for_update=True)
	check_company_and_customer(doc.company, doc.customer, "Package Balance")
	check_customer(customer, "Package Balance")
	return share.add_sharer(doc, customer, reason)


@frappe.whitelist(methods=["POST"])
def remove_sharer(balance: str, customer: str, reason: str = "") -> dict:
	"""Stop a customer the balance is shared with from redeeming from it."""
	validate_can_share()
	doc = frappe.get_doc("Package Balance", balance, for_update=True)
	check_company_and_customer(doc.company, doc.customer, "Package Balance")
	return share.remove_sharer(doc, customer, reason)


def validate_can_share():
	"""A Package Manager, or a user the app's permission rules let write balances (none by default:
	balances are written by the app)."""
	if frappe.session.user == "Administrator" or {"Package Manager", "System Manager"} & set(
		frappe.get_roles()
	):
		return
	if not frappe.has_permission("Package Balance", "write"):
		frappe.throw(
			_("Only a Package Manager can share a package balance with other customers"),
			frappe.PermissionError,
		)
