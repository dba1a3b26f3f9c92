"""Upgrading a balance: its unused deferred value credited toward a new package (issue 20, Upgrade).

The Sales Invoice that sells the new package carries a **credit row**: the app's item *Package
Upgrade Credit* (setup/install.py), quantity 1, naming the old balance in ``package_upgrade_from``.
The app sets that row before ERPNext totals the invoice: its rate is minus the unused deferred value
the engine's Upgrade would move off the balance's lines; its income account is the deferred revenue
account the balance captured at sale, its cost center, project and accounting dimensions the
balance's; it bears no tax (a template rating the invoice's tax accounts at 0) and no pricing rule.
ERPNext's own GL of the invoice then debits the old deferred revenue by the credit and credits the
new package's deferred revenue by its full price; the customer owes the difference. The exchange
recognizes no revenue.

On submit the old balance's lines record the Upgrade under lock: ledger entries naming the invoice,
no Journal Entry (the invoice moved the value), except where breakage recognized ahead of use goes
back to deferred first (a Proportional balance). The old balance ends *Upgraded*; the two balances
name each other (``upgraded_to`` / ``upgraded_from``). Cancelling the invoice undoes the Upgrade
with the invoice's other movements on balances it did not sell (flows.invoice: before_cancel checks,
on_cancel cancels the voucher's entries as Cancel(upgrade)): the old balance is restored.
"""

import json
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt, getdate

from package_bundles import engine
from package_bundles.engine.state import UPGRADE
from package_bundles.exceptions import (
	BalanceExpiredError,
	BalanceFrozenError,
	BalanceUpgradedError,
	BalanceUsedUpError,
	UpgradeCreditChangedError,
	UpgradeCreditRowError,
	UpgradeDuplicateError,
	UpgradeInvoiceError,
	UpgradeNegativeRatesError,
	UpgradeOtherPartyError,
	UpgradeWithoutPackageError,
	refuse,
)
from package_bundles.flows.catalog import get_package_item_map
from package_bundles.flows.taxes import invoice_tax_rows, list_on_package_item, sync_template
from package_bundles.ledger.posting import LedgerPosting
from package_bundles.setup.install import UPGRADE_CREDIT_ITEM, upgrade_credit_item

# sync_template names the zero-rated template of a credit row "Package Upgrade Credit <rates digest>"
CREDIT_TEMPLATE = "Upgrade Credit"


def credit_rows(doc) -> list:
	"""The invoice's upgrade credit rows: a row of the credit item, or any row naming a balance to upgrade."""
	item = upgrade_credit_item()
	return [
		row
		for row in doc.get("items") or []
		if row.get("package_upgrade_from") or (item and row.item_code == item)
	]


def is_consolidation(doc) -> bool:
	return bool(doc.get("is_consolidated"))


# --- before_validate: the credit row as the app sets it ------------------------------------------


def before_validate(doc, method=None):
	"""Set each credit row from the balance it names, before ERPNext totals the invoice; or refuse."""
	if is_consolidation(doc):
		return
	rows = credit_rows(doc)
	if not rows:
		return
	validate_invoice_can_credit(doc, rows)
	validate_credit_rows(rows)
	posting = upgrade_posting(doc, rows, lock=False)
	template = zero_rated_template(doc)
	credits = {}
	for row in rows:
		validate_balance(doc, row, posting)
		credits[row_key(row)] = upgrade_credit(posting, row)
		if keeps_saved_credit(doc, row):
			# the submit re-checks the credit the user saw under lock, and refuses if it moved
			credits[row_key(row)] = Decimal(str(-flt(row.rate)))
		set_credit_row(
			doc, row, posting.lines_of(row.package_upgrade_from)[0], credits[row_key(row)], template
		)
	doc.flags.package_upgrade_credits = credits
	doc.flags.package_upgrade_template = template
	# before ERPNext's totals refuse a negative grand total: at the packages' prices
	validate_package_rows(doc, rows, packages_total(doc, package_rows(doc)), sum(credits.values()))


def keeps_saved_credit(doc, row) -> bool:
	"""Submitting a saved draft keeps the credit it was saved with, as a redeemed row keeps its balance."""
	return doc._action == "submit" and not doc.is_new() and bool(row.name) and flt(row.rate) < 0


def row_key(row) -> str:
	return row.name or str(id(row))


def validate_invoice_can_credit(doc, rows) -> None:
	row = rows[0]
	if doc.doctype != "Sales Invoice":
		frappe.throw(
			_(
				"Row #{0}: A {1} cannot carry an upgrade credit; sell the new package on a Sales Invoice"
			).format(row.idx, _(doc.doctype)),
			UpgradeInvoiceError,
		)
	if doc.get("is_return") or doc.get("is_debit_note"):
		frappe.throw(
			_(
				"Row #{0}: A credit or debit note cannot carry an upgrade credit; to undo an upgrade, cancel"
				" the invoice that made it"
			).format(row.idx),
			UpgradeInvoiceError,
		)
	if not frappe.db.get_single_value("Selling Settings", "allow_negative_rates_for_items"):
		# ERPNext's own check, made at submit; refused here before anything is planned
		frappe.throw(
			_(
				"Row #{0}: An upgrade credit is a row at a negative rate, which ERPNext accepts only when"
				" Allow Negative Rates for Items is ticked in Selling Settings"
			).format(row.idx),
			UpgradeNegativeRatesError,
		)
	company_currency = frappe.get_cached_value("Company", doc.company, "default_currency")
	if doc.currency != company_currency:
		frappe.throw(
			_("Row #{0}: An upgrade credit is given on an invoice in the company's currency, {1}").format(
				row.idx, frappe.bold(company_currency)
			),
			UpgradeInvoiceError,
		)


def validate_credit_rows(rows) -> None:
	item = upgrade_credit_item() or UPGRADE_CREDIT_ITEM
	seen = {}
	for row in rows:
		if row.item_code != item:
			frappe.throw(
				_("Row #{0}: An upgrade credit is given on a row of item {1}").format(
					row.idx, frappe.bold(item)
				),
				UpgradeCreditRowError,
			)
		if not row.get("package_upgrade_from"):
			frappe.throw(
				_("Row #{0}: Name the package balance it credits in Upgrade Credit From Balance").format(
					row.idx
				),
				UpgradeCreditRowError,
			)
		if flt(row.qty) != 1 or flt(row.conversion_factor or 1) != 1:
			frappe.throw(
				_("Row #{0}: An upgrade credit row has quantity 1, not {1}").format(row.idx, row.qty),
				UpgradeCreditRowError,
			)
		balance = row.package_upgrade_from
		if balance in seen:
			frappe.throw(
				_("Row #{0}: Package balance {1} is upgraded already by row #{2}").format(
					row.idx, frappe.bold(balance), seen[balance]
				),
				UpgradeDuplicateError,
			)
		seen[balance] = row.idx


def upgrade_posting(doc, rows, lock: bool) -> LedgerPosting:
	balances = {row.package_upgrade_from for row in rows}
	return LedgerPosting(doc.doctype, doc.name, doc.posting_date, doc.company, balances=balances, lock=lock)


def validate_balance(doc, row, posting: LedgerPosting) -> None:
	"""What the engine cannot see: whose balance it is, its expiry date and its freeze on the invoice's day."""
	balance = row.package_upgrade_from
	lines = posting.lines_of(balance)
	if not lines:
		frappe.throw(
			_("Row #{0}: Package balance {1} not found").format(row.idx, frappe.bold(balance)),
			UpgradeCreditRowError,
		)
	line = lines[0]
	if line.customer != doc.customer or line.company != doc.company:
		frappe.throw(
			_(
				"Row #{0}: Package balance {1} belongs to {2} of {3}; only its own customer's invoice in that"
				" company can upgrade it"
			).format(row.idx, frappe.bold(balance), frappe.bold(line.customer), frappe.bold(line.company)),
			UpgradeOtherPartyError,
		)
	if line.expiry_date and getdate(doc.posting_date) > getdate(line.expiry_date):
		frappe.throw(
			_("Row #{0}: Package balance {1} expired on {2}; an expired balance cannot be upgraded").format(
				row.idx, frappe.bold(balance), frappe.bold(frappe.format(line.expiry_date, "Date"))
			),
			BalanceExpiredError,
		)
	from package_bundles.flows.freeze import is_frozen_on

	if is_frozen_on(balance, doc.posting_date):
		frappe.throw(
			_("Row #{0}: Package balance {1} is frozen on {2}; unfreeze it before upgrading it").format(
				row.idx, frappe.bold(balance), frappe.bold(frappe.format(doc.posting_date, "Date"))
			),
			BalanceFrozenError,
		)


def upgrade_credit(posting: LedgerPosting, row) -> Decimal:
	"""The unused deferred value an Upgrade would move off the balance's lines; the engine refuses what it must."""
	balance = row.package_upgrade_from
	total = Decimal(0)
	for line in posting.lines_of(balance):
		try:
			result = engine.transition(posting.states[line.name], engine.Upgrade())
		except engine.EngineError as error:
			refuse(error, balance, line.item_code, _("Row #{0}").format(row.idx))
		total += moved_value(result)
	if total <= 0:
		frappe.throw(
			_("Row #{0}: Package balance {1} has no unused value left to credit").format(
				row.idx, frappe.bold(balance)
			),
			BalanceUsedUpError,
		)
	return total


def moved_value(result: engine.Transition) -> Decimal:
	return -sum((m.deferred for m in result.movements if m.event == UPGRADE), Decimal(0))


def set_credit_row(doc, row, line, credit: Decimal, template: str | None) -> None:
	"""The row moves the credit out of the deferred revenue the balance sits on, untaxed and unpriced."""
	row.rate = row.price_list_rate = -flt(credit)
	clear_pricing(row)
	row.income_account = line.deferred_revenue_account
	row.enable_deferred_revenue = 0
	if line.balance_cost_center:
		row.cost_center = line.balance_cost_center
	if row.meta.has_field("project"):
		row.project = line.project
	for fieldname in captured_dimensions(row):
		row.set(fieldname, line.dimensions.get(fieldname))
	set_zero_tax(row, template)
	row.description = _("Unused value of package balance {0} ({1}), credited toward the new package").format(
		line.balance, line.prepaid_package
	)


def clear_pricing(row) -> None:
	row.discount_percentage = 0
	row.discount_amount = 0
	row.margin_type = None
	row.margin_rate_or_amount = 0
	row.rate_with_margin = 0
	row.is_free_item = 0
	row.pricing_rules = None


def captured_dimensions(row) -> list[str]:
	from package_bundles.ledger.journal_entries import captured_dimension_fields

	return [
		fieldname
		for fieldname in captured_dimension_fields("Package Balance")
		if row.meta.has_field(fieldname)
	]


def zero_rated_template(doc) -> str | None:
	"""An Item Tax Template rating each of the invoice's tax accounts at 0, listed on the credit item so
	that ERPNext keeps it on the row (flows/taxes.py names and lists it as it does a package's)."""
	accounts = sorted({row.account for row in invoice_tax_rows(doc)})
	if not accounts:
		return None
	template = sync_template(CREDIT_TEMPLATE, doc.company, {account: Decimal(0) for account in accounts})
	list_on_package_item(upgrade_credit_item(), template, doc.get("tax_category"))
	return template


def set_zero_tax(row, template: str | None) -> None:
	row.item_tax_template = template
	if template:
		accounts = [tax.tax_type for tax in frappe.get_cached_doc("Item Tax Template", template).taxes]
		row.item_tax_rate = json.dumps({account: 0 for account in accounts})
	else:
		row.item_tax_rate = "{}"


# --- validate: after ERPNext's own validation and totals ----------------------------------------


def validate(doc, method=None):
	"""Keep the credit rows as set (a pricing rule ERPNext applied is taken off), then check what the
	invoice sells: a package worth at least the credit, and no redemption from a balance it upgrades."""
	if is_consolidation(doc) or doc.doctype != "Sales Invoice" or doc.get("is_return"):
		return
	rows = credit_rows(doc)
	if not rows:
		return
	if keep_credit_rows(doc, rows):
		doc.calculate_taxes_and_totals()
	validate_not_redeemed_here(doc, rows)
	validate_package_rows(doc, rows)


def keep_credit_rows(doc, rows) -> bool:
	credits = doc.flags.package_upgrade_credits or {}
	template = doc.flags.package_upgrade_template
	changed = False
	for row in rows:
		rate = -flt(credits.get(row_key(row), -flt(row.rate)))
		if (
			flt(row.rate) != rate
			or flt(row.discount_percentage)
			or flt(row.discount_amount)
			or row.pricing_rules
			or (row.item_tax_template or None) != template
		):
			row.rate = row.price_list_rate = rate
			clear_pricing(row)
			set_zero_tax(row, template)
			changed = True
	names = {row.name for row in rows if row.name}
	if names and doc.get("pricing_rules"):
		doc.pricing_rules = [d for d in doc.pricing_rules if d.child_docname not in names]
	return changed


def validate_not_redeemed_here(doc, rows) -> None:
	upgraded = {row.package_upgrade_from for row in rows}
	for row in doc.items:
		if row.get("package_balance") in upgraded:
			frappe.throw(
				_(
					"Row #{0}: {1} is redeemed from package balance {2}, which this invoice upgrades; redeem it on"
					" an invoice of its own first, or tick Charge Normally on the row"
				).format(row.idx, frappe.bold(row.item_code), frappe.bold(row.package_balance)),
				UpgradeCreditRowError,
			)


def package_rows(doc) -> list:
	package_items = get_package_item_map()
	return [row for row in doc.items if row.item_code in package_items and flt(row.qty) > 0]


def packages_total(doc, rows) -> float:
	"""What the invoice's package rows sell for, net of tax, at their packages' prices."""
	package_items = get_package_item_map()
	return sum(
		flt(frappe.get_cached_value("Prepaid Package", package_items[row.item_code], "package_price"))
		* flt(row.qty)
		for row in rows
	)


def validate_package_rows(doc, rows, total: float | None = None, credit: float | None = None) -> None:
	"""The credit goes toward a package this invoice sells, and never above what its package rows cost."""
	packages = package_rows(doc)
	if not packages:
		frappe.throw(
			_(
				"Row #{0}: An upgrade credit goes toward a package this invoice sells; add the new package's row"
			).format(rows[0].idx),
			UpgradeWithoutPackageError,
		)
	total = sum(flt(row.net_amount) for row in packages) if total is None else flt(total)
	credit = sum(-flt(row.net_amount) for row in rows) if credit is None else flt(credit)
	if flt(credit, 2) > flt(total, 2):
		frappe.throw(
			_(
				"The upgrade credit, {0}, is more than the packages this invoice sells, {1}; refund the balance"
				" instead, or sell a package worth at least the credit"
			).format(
				frappe.bold(frappe.format(credit, "Currency")), frappe.bold(frappe.format(total, "Currency"))
			),
			UpgradeWithoutPackageError,
		)


def check_returns(doc, method=None):
	"""validate of a credit note: a redeemed row it returns gives units back to a balance that must be
	live; one upgraded since is refused here, before ERPNext posts the note (cancel the upgrade first)."""
	if not doc.get("is_return"):
		return
	balances = sorted({row.package_balance for row in doc.items if row.get("package_balance")})
	if not balances:
		return
	upgraded = frappe.get_all(
		"Package Balance",
		filters={"name": ("in", balances), "status": "Upgraded"},
		pluck="name",
		order_by="name asc",
	)
	for row in doc.items:
		if row.get("package_balance") in upgraded:
			frappe.throw(
				_(
					"Row #{0}: Package balance {1} was exchanged for another package; cancel the invoice"
					" that upgraded it before returning what it paid for"
				).format(row.idx, frappe.bold(row.package_balance)),
				BalanceUpgradedError,
			)


# --- submit and cancel ------------------------------------------------------------------------------


def before_submit(doc, method=None):
	"""Lock the old balances and re-check each credit before ERPNext writes the invoice's GL."""
	if is_consolidation(doc) or doc.doctype != "Sales Invoice" or doc.get("is_return"):
		return
	rows = credit_rows(doc)
	if not rows:
		return
	posting = upgrade_posting(doc, rows, lock=True)
	for row in rows:
		validate_balance(doc, row, posting)
		validate_credit_unchanged(row, upgrade_credit(posting, row))


def on_submit(doc, method=None):
	"""Lock the old balances, re-check, record the Upgrade of each line; the invoice's own GL moved the value."""
	if is_consolidation(doc) or doc.doctype != "Sales Invoice" or doc.get("is_return"):
		return
	rows = credit_rows(doc)
	if not rows:
		return
	posting = upgrade_posting(doc, rows, lock=True)
	for row in rows:
		validate_balance(doc, row, posting)
		moved = Decimal(0)
		for line in posting.lines_of(row.package_upgrade_from):
			result = posting.apply(
				line.name, engine.Upgrade(), context=_("Row #{0}").format(row.idx), voucher_detail_no=row.name
			)
			moved += moved_value(result)
		validate_credit_unchanged(row, moved)
	# only breakage recognized ahead of use, going back to deferred first, needs an entry of the app's
	posting.post_journal(
		_(
			"Breakage recognized with use of package balances upgraded on invoice {0}, back to deferred revenue"
		).format(doc.name)
	)
	posting.write()
	link_balances(doc, rows)


def validate_credit_unchanged(row, moved: Decimal) -> None:
	if flt(moved, 2) != flt(-flt(row.base_net_amount), 2):
		frappe.throw(
			_(
				"Row #{0}: Package balance {1} now credits {2}, not {3}; it changed since the invoice was saved."
				" Save the invoice again to re-check"
			).format(
				row.idx,
				frappe.bold(row.package_upgrade_from),
				frappe.format(flt(moved), "Currency"),
				frappe.format(-flt(row.base_net_amount), "Currency"),
			),
			UpgradeCreditChangedError,
		)


def link_balances(doc, rows) -> None:
	"""The old balance names the new one it was exchanged for, and the new one the old (row by row, in order)."""
	sold = frappe.get_all(
		"Package Balance",
		filters={"invoice_type": doc.doctype, "sales_invoice": doc.name},
		pluck="name",
		order_by="name asc",
	)
	if not sold:
		return
	for index, row in enumerate(sorted(rows, key=lambda row: row.idx)):
		new = sold[min(index, len(sold) - 1)]
		frappe.db.set_value(
			"Package Balance", row.package_upgrade_from, "upgraded_to", new, update_modified=False
		)
		if index < len(sold):
			frappe.db.set_value(
				"Package Balance", new, "upgraded_from", row.package_upgrade_from, update_modified=False
			)


def on_cancel(doc, method=None):
	"""flows.invoice restored the old balances (their Upgrade cancelled); they no longer point at the new one."""
	if is_consolidation(doc) or doc.doctype != "Sales Invoice" or doc.get("is_return"):
		return
	balances = sorted(
		{row.package_upgrade_from for row in credit_rows(doc) if row.get("package_upgrade_from")}
	)
	for balance in balances:
		frappe.db.set_value("Package Balance", balance, "upgraded_to", None, update_modified=False)
