"""Refunds: a credit note against the purchase invoice returns package instances (SPEC §3 Refund).

Opening balances (opening.py) have no purchase invoice: a credit note with no invoice to
return against, for the customer, with the package's item, refunds them the same way.

The credit note's rows claim instances across the whole note: each row takes, from the
balances its purchase row sold and no earlier row of the note took, the unused ones first,
then (where Package Settings allow) partly used ones at their unused value. Each row
records which balances it refunded. The engine decides what each line gives back; the
credit note's own GL takes it out of deferred revenue, and the app's Journal Entry moves
back what was recognized (Upon Purchase) or broken at expiry.
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt

from package_bundles import engine
from package_bundles.catalog import get_package_item_map
from package_bundles.exceptions import RefundNotAllowedError, refuse
from package_bundles.ledger_posting import LedgerPosting
from package_bundles.package_bundles.doctype.package_settings.package_settings import get_settings
from package_bundles.taxes import refund_tax_template

CLOSED_STATUSES = ("Refunded", "Cancelled")


class RefundClaim:
	"""The balances one credit-note row refunds, and what each gives back."""

	def __init__(self, row, balances: list[str], values: dict[str, Decimal]):
		self.row = row
		self.balances = balances
		self.values = values

	@property
	def total(self) -> Decimal:
		return sum(self.values.values(), Decimal(0))


def validate_refund_rows(doc, purchase_rows) -> None:
	"""Set each refund row's rate, account, tax and refunded balances from what it claims."""
	posting = refund_posting(doc, lock=False)
	for claim in claim_instances(doc, purchase_rows, posting):
		set_refund_row(doc, claim, posting)


def refund_on_submit(doc, purchase_rows) -> None:
	posting = refund_posting(doc, lock=True)
	claims = claim_instances(doc, purchase_rows, posting)
	for claim in claims:
		validate_claim_unchanged(claim)
		for balance in claim.balances:
			for line in posting.lines_of(balance):
				posting.apply(
					line.name,
					engine.Refund(allow_used=bool(get_settings().allow_unused_refund)),
					context=_("Row #{0}").format(claim.row.idx),
					voucher_detail_no=claim.row.name,
				)
	posting.post_journal(_("Refund of prepaid packages, credit note {0}").format(doc.name))
	posting.write()


def validate_claim_unchanged(claim: RefundClaim) -> None:
	"""Submit keeps what the saved credit note says; if the balances moved meanwhile, save again."""
	row = claim.row
	rate = flt(next(iter(claim.values.values()), 0))
	if (row.refunded_package_balances or "") != ", ".join(claim.balances) or flt(row.rate) != rate:
		frappe.throw(
			_(
				"Row #{0}: The package balances this row refunds changed since it was saved; save the credit note again to re-check"
			).format(row.idx),
			RefundNotAllowedError,
		)


def refund_posting(doc, lock: bool) -> LedgerPosting:
	return LedgerPosting(
		doc.doctype, doc.name, doc.posting_date, doc.company, balances=refundable_balances(doc), lock=lock
	)


def refundable_balances(doc) -> list[str]:
	"""A credit note against a purchase refunds what that invoice sold; one with no invoice to
	return against refunds the customer's opening balances, which were bought in another system."""
	filters = {"status": ("not in", CLOSED_STATUSES)}
	if doc.return_against:
		filters["sales_invoice"] = doc.return_against
	else:
		filters.update({"customer": doc.customer, "company": doc.company, "is_opening": 1})
	return frappe.get_all("Package Balance", filters=filters, pluck="name", order_by="name asc")


def claim_instances(doc, purchase_rows, posting: LedgerPosting) -> list[RefundClaim]:
	"""Rows in order; no instance is claimed twice across the credit note."""
	allow_used = bool(get_settings().allow_unused_refund)
	package_items = get_package_item_map()
	balances = sorted({line.balance for line in posting.lines.values()})
	claimed: set[str] = set()
	claims = []
	for row, _package in purchase_rows:
		instances = int(abs(flt(row.qty)))
		pool = [
			balance
			for balance in balances
			if balance not in claimed and belongs_to_row(posting, balance, row, package_items)
		]
		# unused instances first, then the oldest
		pool.sort(key=lambda balance: (is_used(posting, balance), balance))
		if instances > len(pool):
			refuse_short_pool(doc, row, len(pool))
		taken = pool[:instances]
		values = {balance: refund_value(posting, balance, allow_used, row) for balance in taken}
		claimed.update(taken)
		claims.append(RefundClaim(row, taken, values))
	return claims


def refuse_short_pool(doc, row, available: int) -> None:
	if doc.return_against:
		message = _("Row #{0}: Only {1} instances of package {2} are left to refund on invoice {3}").format(
			row.idx, available, frappe.bold(row.item_code), frappe.bold(doc.return_against)
		)
	else:
		message = _(
			"Row #{0}: A credit note with no invoice to return against refunds opening balances; customer {1} has {2} opening balances of package {3} left to refund. To refund a package sold on an invoice, make the credit note from that invoice."
		).format(row.idx, frappe.bold(doc.customer), available, frappe.bold(row.item_code))
	frappe.throw(message, RefundNotAllowedError)


def belongs_to_row(posting, balance, row, package_items) -> bool:
	line = posting.lines_of(balance)[0]
	if row.get("sales_invoice_item"):
		return line.sales_invoice_item == row.sales_invoice_item
	return line.prepaid_package == package_items.get(row.item_code)


def is_used(posting, balance) -> bool:
	return any(posting.states[line.name].is_used for line in posting.lines_of(balance))


def is_opening(posting, balance) -> bool:
	"""An opening balance has no purchase invoice; its lines are what the old system left."""
	return not posting.lines_of(balance)[0].sales_invoice


def refund_value(posting, balance, allow_used: bool, row) -> Decimal:
	"""What refunding this balance gives back; the engine refuses what may not be refunded."""
	total = Decimal(0)
	for line in posting.lines_of(balance):
		try:
			result = engine.transition(posting.states[line.name], engine.Refund(allow_used=allow_used))
		except engine.EngineError as error:
			refuse(error, balance, line.item_code, _("Row #{0}").format(row.idx))
		total += -sum((m.deferred for m in result.movements if m.event == engine.state.REFUND), Decimal(0))
	if total <= 0:
		frappe.throw(
			_("Row #{0}: Package balance {1} is used up; nothing of it is left to refund").format(
				row.idx, frappe.bold(balance)
			),
			RefundNotAllowedError,
		)
	return total


def set_refund_row(doc, claim: RefundClaim, posting: LedgerPosting) -> None:
	"""The row refunds exactly what its balances give back, at one rate per instance."""
	row = claim.row
	if len(set(claim.values.values())) > 1:
		frappe.throw(
			_(
				"Row #{0}: The balances this row refunds give back different amounts ({1}); refund each on its own credit-note row with quantity -1"
			).format(row.idx, ", ".join(f"{b}: {flt(v)}" for b, v in claim.values.items())),
			RefundNotAllowedError,
		)
	rate = flt(next(iter(claim.values.values()), 0))
	lines = [posting.lines_of(balance)[0] for balance in claim.balances]
	accounts = {line.deferred_revenue_account for line in lines}
	if len(accounts) > 1:
		frappe.throw(
			_(
				"Row #{0}: The balances this row refunds were sold on different deferred revenue accounts; refund each on its own row"
			).format(row.idx),
			RefundNotAllowedError,
		)
	row.income_account = accounts.pop()
	row.rate = rate
	row.price_list_rate = flt(lines[0].get("package_price") or rate)
	row.discount_percentage = 0
	row.discount_amount = 0
	row.refunded_package_balances = ", ".join(claim.balances)
	weighted = [
		balance for balance in claim.balances if is_used(posting, balance) or is_opening(posting, balance)
	]
	if weighted:
		# what is left of a used package, or of one brought in from another system, bears the
		# tax its unused items would
		components = [
			(line.item_code, posting.states[line.name].unused_value)
			for balance in claim.balances
			for line in posting.lines_of(balance)
		]
		row.item_tax_template = refund_tax_template(
			claim.balances[0],
			doc.company,
			components,
			doc.posting_date,
			posting.lines_of(weighted[0])[0].precision,
		)


def calculate_opening_refund_totals(doc) -> None:
	"""Total a credit note that refunds opening balances, keeping the tax templates its rows were given.

	ERPNext leaves a credit note against an invoice its rows' templates; on one with nothing to
	return against it puts the item's own template back, which would tax the balance's items
	left at the package's average rates instead of their own.
	"""
	from erpnext.controllers.taxes_and_totals import calculate_taxes_and_totals

	class KeepingRowTemplates(calculate_taxes_and_totals):
		def validate_item_tax_template(self):
			pass

	KeepingRowTemplates(doc)
	doc.calculate_commission()
	doc.calculate_contribution()


def restore_package_templates(doc, purchase_rows) -> None:
	"""before_validate of a credit note refunding opening balances: its rows carry the package's own
	template while ERPNext validates them (it would replace any other, with a message); validate then
	sets each row's template again from its balances."""
	for row, package_name in purchase_rows:
		package_item = frappe.get_cached_value("Prepaid Package", package_name, "item")
		row.item_tax_template = frappe.db.get_value(
			"Item Tax", {"parent": package_item, "parenttype": "Item"}, "item_tax_template"
		)
