"""Refunds: a credit note against the purchase invoice returns package instances (SPEC §3 Refund).

Opening balances (import_opening.py) have no purchase invoice: a credit note with no invoice to
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
from frappe.query_builder import DocType
from frappe.utils import flt

from package_bundles import engine
from package_bundles.exceptions import RefundNotAllowedError, refuse
from package_bundles.flows.catalog import get_package_item_map
from package_bundles.flows.redeem import returned_row
from package_bundles.flows.taxes import set_row_tax
from package_bundles.ledger.posting import LedgerPosting
from package_bundles.package_bundles.doctype.package_settings.package_settings import get_settings

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


def set_refund_rows(doc, purchase_rows) -> None:
	"""before_validate: each refund row's rate, account, tax and refunded balances, from what it claims."""
	posting = refund_posting(doc, lock=False)
	claimed = {}
	for claim in claim_instances(doc, purchase_rows, posting):
		set_refund_row(doc, claim, posting)
		claimed[claim.row.name or str(id(claim.row))] = (claim.balances, claim.values)
	doc.flags.package_refund_claims = claimed


def validate_returned_packages_keep_their_item(doc) -> None:
	"""validate: ERPNext checks a return row against its original row only when the row has an item;
	a row cleared of the package item would take the package's price out of deferred revenue while
	its balance stays sold. Queried only for such rows."""
	rows = [row for row in doc.items if not row.item_code and returned_row(row)]
	package_items = get_package_item_map() if rows else {}
	if not package_items:
		return
	Item = DocType(f"{doc.doctype} Item")
	originals = dict(
		frappe.qb.from_(Item)
		.select(Item.name, Item.item_code)
		.where(Item.parent == doc.return_against)
		.where(Item.name.isin(sorted({returned_row(row) for row in rows})))
		.orderby(Item.name)
		.run()
	)
	for row in rows:
		item_code = originals.get(returned_row(row))
		if item_code in package_items:
			frappe.throw(
				_(
					"Row #{0}: This row returns package {1}; keep its item on the row so its package balance is refunded"
				).format(row.idx, frappe.bold(item_code)),
				RefundNotAllowedError,
			)


def refund_on_submit(doc, purchase_rows) -> None:
	posting = refund_posting(doc, lock=True)
	claims = claim_instances(doc, purchase_rows, posting)
	for claim in claims:
		validate_claim_unchanged(doc, claim)
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


def validate_claim_unchanged(doc, claim: RefundClaim) -> None:
	"""Submit refunds what the credit note was validated for; if the balances moved meanwhile, save again."""
	row = claim.row
	if (doc.flags.package_refund_claims or {}).get(row.name) != (claim.balances, claim.values):
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
		instances = returned_instances(row)
		if not instances:
			continue  # ERPNext's return checks and sell.validate_purchase_qty refuse the row by name
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


def returned_instances(row) -> int:
	"""Whole instances a credit-note row returns; 0 for a row no refund can come from (qty 0, a
	fraction, a positive qty), which validation then refuses with its own message."""
	qty = flt(row.qty)
	return int(-qty) if qty < 0 and qty == int(qty) else 0


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
	if returned_row(row):
		return line.sales_invoice_item == returned_row(row)
	return line.prepaid_package == package_items.get(row.item_code)


def is_used(posting, balance) -> bool:
	return any(posting.states[line.name].is_used for line in posting.lines_of(balance))


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
	"""The row refunds exactly what its balances give back, at one rate per instance, taxed as they were."""
	row = claim.row
	if len(set(claim.values.values())) > 1:
		frappe.throw(
			_(
				"Row #{0}: The balances this row refunds give back different amounts ({1}); refund each on its own credit-note row with quantity -1"
			).format(row.idx, ", ".join(f"{b}: {flt(v)}" for b, v in claim.values.items())),
			RefundNotAllowedError,
		)
	lines = [line for balance in claim.balances for line in posting.lines_of(balance)]
	accounts = {line.deferred_revenue_account for line in lines}
	if len(accounts) > 1:
		frappe.throw(
			_(
				"Row #{0}: The balances this row refunds were sold on different deferred revenue accounts; refund each on its own row"
			).format(row.idx),
			RefundNotAllowedError,
		)
	row.income_account = accounts.pop()
	row.refunded_package_balances = ", ".join(claim.balances)
	value = next(iter(claim.values.values()))
	# the unused items bear the tax they bore at sale, on this credit note's (the sale's) tax rows
	components = [
		(line.item_code, posting.states[line.name].unused_value, posting.states[line.name].qty_remaining or 1)
		for line in lines
	]
	package = lines[0].prepaid_package
	rate = set_row_tax(doc, row, package, components, claim.total, lines[0].precision)
	instances = len(claim.balances)
	row.rate = row.price_list_rate = flt(rate / instances, row.precision("rate"))
	row.discount_percentage = 0
	row.discount_amount = 0
	if flt(row.rate * instances, row.precision("amount")) != flt(rate, row.precision("amount")):
		frappe.throw(
			_(
				"Row #{0}: Refund each package balance of {1} on its own credit-note row with quantity -1"
			).format(row.idx, frappe.format(value, "Currency")),
			RefundNotAllowedError,
		)
