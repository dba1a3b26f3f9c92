"""Household sharing (issue 20): the other customers allowed to use a balance.

A balance lists its sharers (child table Package Balance Sharer). An invoice for a sharer redeems
from the balance after that customer's own balances (flows.redeem.load_holdings, the engine's plan
order); its Package Redemption names whose balance paid (``customer``) and who used it
(``used_by_customer``). Every add and remove is logged on the balance (Package Balance Sharing Log):
who, when, why. Sharing moves no units and no value: the balance stays its owner's, and its ledger,
the GL and the reports are untouched until a sharer's invoice redeems from it.

Across companies: a balance is one company's liability, so it is never shared with a customer of
another company, in ERPNext's own terms: an internal customer that represents another company
(Customer ``is_internal_customer`` and ``represents_company``), or a customer whose Accounts rows
(Customer ``accounts``, Party Account) name only other companies. A customer with no Accounts rows
uses the company's defaults and may share.

The whitelisted doors, with their permission checks, are api.balances.add_sharer and
remove_sharer; they lock the balance (SELECT ... FOR UPDATE) before calling here, so an invoice
submitted at the same time re-checks the sharers after the change (flows.redeem).
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import getdate, now_datetime, nowdate

from package_bundles.exceptions import (
	AlreadySharedError,
	NotASharerError,
	ShareAcrossCompaniesError,
	ShareBalanceNotLiveError,
	ShareCustomerError,
	ShareWithOwnerError,
)
from package_bundles.flows.patients import patient_customer

LIVE_STATUSES = ("Active", "Awaiting Payment")
ADDED = "Added"
REMOVED = "Removed"


def add_sharer(doc, customer: str, reason: str = "") -> dict:
	"""Let ``customer`` use the balance ``doc`` (locked by the caller); logged."""
	validate_live(doc)
	details = validate_customer(customer)
	validate_not_owner(doc, customer)
	validate_not_shared(doc, customer)
	validate_same_company(doc, details)

	now = now_datetime()
	sharer = doc.append(
		"sharers",
		{
			"customer": customer,
			"customer_name": details.customer_name,
			"added_by": frappe.session.user,
			"added_on": now,
		},
	)
	sharer.db_insert()
	log_change(doc, ADDED, customer, details.customer_name, reason, now)
	return sharing_of(doc)


def remove_sharer(doc, customer: str, reason: str = "") -> dict:
	"""Stop ``customer`` using the balance ``doc`` (locked by the caller); logged. Whatever the
	balance's status: a balance that is no longer live may still be tidied."""
	sharer = next((row for row in doc.sharers if row.customer == customer), None)
	if not sharer:
		frappe.throw(
			_("Package balance {0} is not shared with customer {1}").format(
				frappe.bold(doc.name), frappe.bold(customer)
			),
			NotASharerError,
		)
	Sharer = DocType("Package Balance Sharer")
	frappe.qb.from_(Sharer).delete().where(Sharer.name == sharer.name).run()
	doc.sharers.remove(sharer)
	log_change(doc, REMOVED, customer, sharer.customer_name, reason, now_datetime())
	return sharing_of(doc)


def log_change(doc, action: str, customer: str, customer_name: str | None, reason: str, on) -> None:
	row = doc.append(
		"sharing_log",
		{
			"action": action,
			"customer": customer,
			"customer_name": customer_name,
			"reason": (reason or "").strip() or None,
			"changed_by": frappe.session.user,
			"changed_on": on,
		},
	)
	row.db_insert()
	Balance = DocType("Package Balance")
	frappe.qb.update(Balance).set(Balance.modified, on).where(Balance.name == doc.name).run()


def sharing_of(doc) -> dict:
	return {
		"name": doc.name,
		"customer": doc.customer,
		"sharers": [row.customer for row in doc.sharers],
	}


# --- refusals ----------------------------------------------------------------------------------


def validate_live(doc) -> None:
	expired = doc.expiry_date and getdate(doc.expiry_date) < getdate(nowdate())
	if doc.status not in LIVE_STATUSES or expired:
		status = _("Expired") if expired and doc.status in LIVE_STATUSES else _(doc.status)
		frappe.throw(
			_(
				"Package balance {0} is {1}; only an active balance (or one awaiting payment) can be shared"
			).format(frappe.bold(doc.name), status),
			ShareBalanceNotLiveError,
		)


def validate_customer(customer: str) -> frappe._dict:
	details = (
		frappe.db.get_value(
			"Customer",
			customer,
			["name", "customer_name", "disabled", "is_internal_customer", "represents_company"],
			as_dict=True,
		)
		if customer
		else None
	)
	if not details:
		frappe.throw(_("Choose a customer to share the package balance with"), ShareCustomerError)
	if details.disabled:
		frappe.throw(
			_("Customer {0} is disabled; a package balance cannot be shared with it").format(
				frappe.bold(customer)
			),
			ShareCustomerError,
		)
	return details


def validate_not_owner(doc, customer: str) -> None:
	if customer == doc.customer:
		frappe.throw(
			_("Package balance {0} is customer {1}'s own; share it with another customer").format(
				frappe.bold(doc.name), frappe.bold(customer)
			),
			ShareWithOwnerError,
		)


def validate_not_shared(doc, customer: str) -> None:
	if any(row.customer == customer for row in doc.sharers):
		frappe.throw(
			_("Package balance {0} is already shared with customer {1}").format(
				frappe.bold(doc.name), frappe.bold(customer)
			),
			AlreadySharedError,
		)


def validate_same_company(doc, details) -> None:
	"""A balance of one company is not shared with a customer of another (see the module's note)."""
	other = other_companies_of(details, doc.company)
	if other:
		frappe.throw(
			_(
				"Package balance {0} belongs to company {1}; customer {2} is a customer of {3}, so the balance cannot be shared with it"
			).format(
				frappe.bold(doc.name), frappe.bold(doc.company), frappe.bold(details.name), frappe.bold(other)
			),
			ShareAcrossCompaniesError,
		)


def other_companies_of(details, company: str) -> str | None:
	"""The other company (or companies) a customer belongs to in ERPNext's terms, None when it may
	hold a balance of ``company``: an internal customer representing another company, or a customer
	whose Accounts rows (Party Account) name only other companies. Sharing and transfer ask this."""
	if details.is_internal_customer and details.represents_company != company:
		return details.represents_company
	companies = account_companies(details.name)
	if companies and company not in companies:
		return ", ".join(companies)
	return None


def account_companies(customer: str) -> list[str]:
	"""The companies a customer's Accounts rows (Party Account) name."""
	Account = DocType("Party Account")
	return (
		frappe.qb.from_(Account)
		.select(Account.company)
		.distinct()
		.where(Account.parenttype == "Customer")
		.where(Account.parent == customer)
		.where(Account.company.isnotnull())
		.orderby(Account.company)
		.run(pluck=True)
	)


def customer_to_share_with(customer: str | None, patient: str | None) -> str | None:
	"""The Customer given, or, with Frappe Health, the Customer a Patient is billed as."""
	if customer or not patient:
		return customer
	resolved = patient_customer(patient)
	if not resolved:
		frappe.throw(
			_("Patient {0} has no Customer to share the package balance with").format(frappe.bold(patient)),
			ShareCustomerError,
		)
	return resolved


# --- reads -------------------------------------------------------------------------------------


def shared_with(balances, customer: str) -> set[str]:
	"""Which of ``balances`` are shared with ``customer`` now (the redemption re-check at submit)."""
	if not balances or not customer:
		return set()
	Sharer = DocType("Package Balance Sharer")
	return set(
		frappe.qb.from_(Sharer)
		.select(Sharer.parent)
		.where(Sharer.parenttype == "Package Balance")
		.where(Sharer.customer == customer)
		.where(Sharer.parent.isin(sorted(set(balances))))
		.orderby(Sharer.parent)
		.run(pluck=True)
	)
