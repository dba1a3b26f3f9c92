"""Redeeming invoice rows from balances (SPEC §3 Redemption, Undo).

validate: plan which balance serves which row (engine) and apply the plan to
the rows: rate 0 through a 100% discount, price-list rate kept, the balance
linked, rows split where one balance does not cover them.
submit: lock the balance rows, re-check, decrement, log, one Journal Entry.
cancel / credit note: give the units and the value back.
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import flt, getdate, now

from package_bundles import engine, package_ledger
from package_bundles.accounting import cancel_journal_entry, post_recognition
from package_bundles.catalog import get_package_item_map, get_redeemable_items
from package_bundles.exceptions import BalanceUnavailableError
from package_bundles.package_bundles.doctype.package_balance.package_balance import refresh_balances
from package_bundles.package_bundles.doctype.package_settings.package_settings import get_settings, is_paid
from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import currency_precision

UPON_CONSUMPTION = "Upon Consumption"
REDEEMABLE_STATUSES = ("Active", "Awaiting Payment")


# --- before_validate: start from what ERPNext alone would do ------------------


def restore_redeemed_rows(doc) -> None:
	"""Merge rows split by an earlier save and let ERPNext price them afresh."""
	merged = []
	for row in doc.items:
		previous = merged[-1] if merged else None
		if (
			row.package_row_group
			and previous is not None
			and previous.package_row_group == row.package_row_group
		):
			previous.qty = flt(previous.qty) + flt(row.qty)
			continue
		merged.append(row)
	if len(merged) != len(doc.items):
		doc.items = merged
		for idx, row in enumerate(doc.items, start=1):
			row.idx = idx
	for row in doc.items:
		if row.package_balance or row.package_row_group:
			reset_row_price(row)


def reset_row_price(row):
	row.package_balance = None
	row.package_row_group = None
	for fieldname in (
		"rate",
		"discount_percentage",
		"discount_amount",
		"margin_type",
		"margin_rate_or_amount",
	):
		row.set(fieldname, None)
	row.stock_qty = flt(row.qty) * flt(row.conversion_factor or 1)


# --- validate: plan and apply --------------------------------------------------


def redeemable_rows(doc) -> list:
	redeemable = get_redeemable_items()
	if not redeemable or not doc.customer:
		return []
	package_items = get_package_item_map()
	membership_first = not get_settings().package_before_membership
	return [
		row
		for row in doc.items
		if row.item_code in redeemable
		and row.item_code not in package_items
		and not row.skip_package_redemption
		and flt(row.qty) > 0
		and not (membership_first and row.pricing_rules)
	]


def load_holdings(customer: str, company: str, item_codes: set[str]) -> list[frappe._dict]:
	"""One indexed query: the customer's live balance rows for these items."""
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	Invoice = DocType("Sales Invoice")
	return (
		frappe.qb.from_(Balance)
		.join(Item)
		.on(Item.parent == Balance.name)
		.left_join(Invoice)
		.on(Invoice.name == Balance.sales_invoice)
		.select(
			Balance.name.as_("balance"),
			Balance.status,
			Balance.purchase_date,
			Balance.expiry_date,
			Invoice.outstanding_amount,
			Item.item_code,
			Item.qty_remaining,
		)
		.where(Balance.customer == customer)
		.where(Balance.company == company)
		.where(Balance.status.isin(REDEEMABLE_STATUSES))
		.where(Item.parenttype == "Package Balance")
		.where(Item.item_code.isin(sorted(item_codes)))
		.where(Item.qty_remaining > 0)
		.orderby(Balance.expiry_date)
		.orderby(Balance.purchase_date)
		.orderby(Balance.name)
		.run(as_dict=True)
	)


def is_holding_paid(status: str, outstanding_amount) -> bool:
	# Active was paid when last refreshed; Awaiting Payment may have been paid since
	return status == "Active" or is_paid(outstanding_amount)


def apply_redemptions(doc) -> bool:
	"""Redeem what the customer's balances cover; True when any row changed."""
	rows = redeemable_rows(doc)
	if not rows:
		return False
	holdings = [
		engine.Holding(
			balance=h.balance,
			item_code=h.item_code,
			qty_remaining=Decimal(str(h.qty_remaining)),
			purchase_date=getdate(h.purchase_date),
			expiry_date=getdate(h.expiry_date) if h.expiry_date else None,
			paid=is_holding_paid(h.status, h.outstanding_amount),
		)
		for h in load_holdings(doc.customer, doc.company, {row.item_code for row in rows})
	]
	if not holdings:
		return False

	keys = {id(row): str(index) for index, row in enumerate(rows)}
	plans = engine.plan_redemption(
		[engine.InvoiceRow(keys[id(row)], row.item_code, Decimal(str(flt(row.qty)))) for row in rows],
		holdings,
		getdate(doc.posting_date),
	)
	plan_by_row = {id(row): plan for row, plan in zip(rows, plans, strict=True) if plan.portions}
	if not plan_by_row:
		return False

	ordered = []
	for row in list(doc.items):  # split_row appends to doc.items
		plan = plan_by_row.get(id(row))
		ordered += split_row(doc, row, plan) if plan else [row]
	doc.items = ordered
	for idx, row in enumerate(doc.items, start=1):
		row.idx = idx
	drop_pricing_rule_details(doc)
	return True


def split_row(doc, row, plan: engine.RowPlan) -> list:
	"""The row redeemed from one balance, or split into one row per balance plus a charged remainder."""
	needs_split = len(plan.portions) > 1 or plan.uncovered > 0
	if needs_split and has_serial_or_batch(row):
		return [row]  # serial and batch bundles cannot be split here; charge it normally
	group = frappe.generate_hash(length=10) if needs_split else None
	fields = row.as_dict(no_default_fields=True, no_child_table_fields=True)

	rows = []
	for index, portion in enumerate(plan.portions):
		target = row if index == 0 else doc.append("items", fields)
		mark_redeemed(target, portion.balance, flt(portion.qty), group)
		rows.append(target)
	if plan.uncovered > 0:
		remainder = doc.append("items", fields)
		remainder.qty = flt(plan.uncovered)
		remainder.stock_qty = flt(remainder.qty) * flt(remainder.conversion_factor or 1)
		remainder.package_row_group = group
		remainder.package_balance = None
		rows.append(remainder)
	return rows


def mark_redeemed(row, balance: str, qty: float, group: str | None):
	row.qty = qty
	row.stock_qty = qty * flt(row.conversion_factor or 1)
	row.package_balance = balance
	row.package_row_group = group
	row.margin_type = None
	row.margin_rate_or_amount = 0
	row.rate_with_margin = 0
	row.pricing_rules = None
	# a 100% discount is how ERPNext keeps rate 0 with the price-list rate shown
	row.discount_percentage = 100
	row.discount_amount = flt(row.price_list_rate)
	row.rate = 0


def keep_redeemed_rows_free(doc) -> bool:
	"""On submit ERPNext prices rows again (pricing rules included); redeemed rows stay at 0."""
	redeemed = [row for row in doc.items if row.package_balance]
	for row in redeemed:
		mark_redeemed(row, row.package_balance, flt(row.qty), row.package_row_group)
	drop_pricing_rule_details(doc)
	return bool(redeemed)


def fit_pos_payments(doc) -> bool:
	"""ERPNext fills a POS payment with the total before redemption; take back what is no longer due."""
	if not doc.get("is_pos") or doc.is_return:
		return False
	excess = flt(doc.paid_amount) - flt(doc.rounded_total or doc.grand_total)
	changed = False
	for payment in reversed(doc.get("payments") or []):
		if excess <= 0:
			break
		taken = min(flt(payment.amount), excess)
		payment.amount = flt(payment.amount) - taken
		excess -= taken
		changed = changed or bool(taken)
	return changed


def has_serial_or_batch(row) -> bool:
	return bool(row.get("serial_and_batch_bundle") or row.get("serial_no") or row.get("batch_no"))


def drop_pricing_rule_details(doc):
	redeemed = {row.name for row in doc.items if row.package_balance and row.name}
	if redeemed and doc.get("pricing_rules"):
		doc.pricing_rules = [d for d in doc.pricing_rules if d.child_docname not in redeemed]


# --- submit -----------------------------------------------------------------


def lock_balance_items(balance_names: list[str]) -> dict[str, frappe._dict]:
	"""SELECT ... FOR UPDATE the balances' rows (and their parents); keyed by (balance, item)."""
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	rows = (
		frappe.qb.from_(Item)
		.join(Balance)
		.on(Item.parent == Balance.name)
		.select(
			Item.name,
			Item.parent,
			Item.item_code,
			Item.item_group,
			Item.qty_purchased,
			Item.qty_redeemed,
			Item.qty_remaining,
			Item.allocated_amount,
			Item.recognized_amount,
			Balance.customer,
			Balance.company,
			Balance.status,
			Balance.expiry_date,
			Balance.purchase_date,
			Balance.revenue_recognition,
			Balance.prepaid_package,
			Balance.sales_invoice.as_("purchase_invoice"),
			Balance.currency,
		)
		.where(Item.parent.isin(sorted(set(balance_names))))
		.where(Item.parenttype == "Package Balance")
		.orderby(Item.parent)
		.orderby(Item.idx)
		.for_update()
		.run(as_dict=True)
	)
	return {(row.parent, row.item_code): row for row in rows}


def redeem_on_submit(doc) -> None:
	rows = [row for row in doc.items if row.package_balance]
	if not rows:
		return
	locked = lock_balance_items([row.package_balance for row in rows])
	posting_date = getdate(doc.posting_date)
	outstanding = purchase_outstanding({line.purchase_invoice for line in locked.values()})

	credits, logs = [], []
	for row in rows:
		line = locked.get((row.package_balance, row.item_code))
		validate_still_redeemable(doc, row, line, posting_date, outstanding)
		precision = currency_precision(line.currency)
		qty = Decimal(str(flt(row.qty)))
		value = Decimal(0)
		if line.revenue_recognition == UPON_CONSUMPTION:
			value = engine.redemption_value(
				Decimal(str(line.allocated_amount)),
				Decimal(str(line.qty_purchased)),
				Decimal(str(line.qty_redeemed)),
				qty,
				precision,
				recognized_before=Decimal(str(line.recognized_amount)),
			)
			credits.append(engine.Credit(row.income_account, row.cost_center, value))
			line.recognized_amount = flt(Decimal(str(line.recognized_amount)) + value)
		line.qty_redeemed = flt(line.qty_redeemed) + flt(qty)
		line.qty_remaining = flt(line.qty_remaining) - flt(qty)
		line.changed = True
		logs.append((row, line, value))

	journal_entry = post_recognition(
		doc.company,
		doc.posting_date,
		credits,
		_("Prepaid package redemptions on invoice {0}").format(doc.name),
		sales_invoice=doc.name,
	)
	write_balance_lines([line for line in locked.values() if line.get("changed")])
	entries = []
	for row, line, value in logs:
		log = write_redemption_log(doc, row, line, value, journal_entry)
		entries.append(
			package_ledger.entry(
				"Redemption",
				balance_of(line),
				line_of(line, row),
				doc.posting_date,
				doc.doctype,
				doc.name,
				qty_change=-flt(row.qty),
				deferred_change=-value,
				revenue_change=value,
				journal_entry=journal_entry,
				package_redemption=log.name,
			)
		)
	package_ledger.make_entries(entries)


def balance_of(line) -> dict:
	"""Balance-level values of a locked line, for the ledger."""
	return {
		"name": line.parent,
		"company": line.company,
		"customer": line.customer,
		"prepaid_package": line.prepaid_package,
		"purchase_invoice": line.purchase_invoice,
		"currency": line.currency,
	}


def line_of(line, row=None, log=None) -> dict:
	source = row or log
	return {
		"name": line.name,
		"item_code": line.item_code,
		"item_group": line.item_group,
		"income_account": source.income_account if source else None,
		"cost_center": source.cost_center if source else None,
	}


def validate_still_redeemable(doc, row, line, posting_date, outstanding):
	reason = None
	if not line:
		reason = _("it does not hold item {0}").format(frappe.bold(row.item_code))
	elif line.customer != doc.customer or line.company != doc.company:
		reason = _("it belongs to another customer or company")
	elif line.status not in REDEEMABLE_STATUSES:
		reason = _("it is {0}").format(_(line.status))
	elif not is_holding_paid(line.status, outstanding.get(line.purchase_invoice)):
		reason = _("its purchase invoice {0} is not fully paid").format(frappe.bold(line.purchase_invoice))
	elif line.expiry_date and getdate(line.expiry_date) < posting_date:
		reason = _("it expired on {0}").format(frappe.format(line.expiry_date, "Date"))
	elif getdate(line.purchase_date) > posting_date:
		reason = _("it was bought after {0}").format(frappe.format(posting_date, "Date"))
	elif flt(line.qty_remaining) < flt(row.qty):
		reason = _("it has only {0} of {1} left").format(flt(line.qty_remaining), frappe.bold(row.item_code))
	if reason:
		frappe.throw(
			_(
				"Row #{0}: Package balance {1} cannot be redeemed: {2}. Save the invoice again to re-check."
			).format(row.idx, frappe.bold(row.package_balance), reason),
			BalanceUnavailableError,
		)


def purchase_outstanding(invoices: set[str]) -> dict[str, float]:
	if not invoices or not get_settings().require_full_payment:
		return {}
	Invoice = DocType("Sales Invoice")
	rows = (
		frappe.qb.from_(Invoice)
		.select(Invoice.name, Invoice.outstanding_amount)
		.where(Invoice.name.isin(sorted(invoices)))
		.run(as_dict=True)
	)
	return {row.name: row.outstanding_amount for row in rows}


def write_balance_lines(lines: list[frappe._dict]) -> None:
	"""Persist changed balance rows and refresh their balances' totals and status."""
	Item = DocType("Package Balance Item")
	for line in lines:
		deferred = (
			flt(line.allocated_amount) - flt(line.recognized_amount)
			if line.revenue_recognition == UPON_CONSUMPTION
			else 0
		)
		frappe.qb.update(Item).set(Item.qty_redeemed, line.qty_redeemed).set(
			Item.qty_remaining, line.qty_remaining
		).set(Item.recognized_amount, line.recognized_amount).set(Item.deferred_amount, deferred).where(
			Item.name == line.name
		).run()
	refresh_balances({line.parent for line in lines})


def write_redemption_log(doc, row, line, value: Decimal, journal_entry: str | None):
	log = frappe.get_doc(
		{
			"doctype": "Package Redemption",
			"package_balance": line.parent,
			"package_balance_item": line.name,
			"prepaid_package": line.prepaid_package,
			"customer": doc.customer,
			"company": doc.company,
			"status": "Redeemed",
			"item_code": row.item_code,
			"item_group": line.item_group,
			"qty": row.qty,
			"amount": flt(value),
			"currency": line.currency,
			"posting_date": doc.posting_date,
			"sales_invoice": doc.name,
			"sales_invoice_item": row.name,
			"purchase_invoice": line.purchase_invoice,
			"income_account": row.income_account,
			"cost_center": row.cost_center,
			"journal_entry": journal_entry,
		}
	)
	log.flags.written_by_package_bundles = True
	log.flags.ignore_permissions = True
	log.insert()
	return log


# --- undo -------------------------------------------------------------------


def undo_on_cancel(doc) -> None:
	"""Cancelling a redemption invoice gives every unit and every cent back."""
	logs = frappe.get_all(
		"Package Redemption",
		filters={"sales_invoice": doc.name, "status": "Redeemed"},
		fields=["name", "package_balance", "item_code", "qty", "qty_returned", "amount", "journal_entry"],
		order_by="name asc",
	)
	if not logs:
		return
	locked = lock_balance_items([log.package_balance for log in logs])
	for log in logs:
		line = locked[(log.package_balance, log.item_code)]
		giving_back_qty = flt(log.qty) - flt(log.qty_returned)
		giving_back_value = engine.reversal_value(
			Decimal(str(log.amount)),
			Decimal(str(log.qty)),
			Decimal(str(log.qty_returned)),
			Decimal(str(giving_back_qty)),
			currency_precision(line.currency),
		)
		give_back(line, giving_back_qty, flt(giving_back_value))
	for journal_entry in {log.journal_entry for log in logs if log.journal_entry}:
		cancel_journal_entry(journal_entry)
	write_balance_lines([line for line in locked.values() if line.get("changed")])
	Log = DocType("Package Redemption")
	frappe.qb.update(Log).set(Log.status, "Reversed").set(Log.reversed_by, doc.name).set(
		Log.modified, now()
	).where(Log.name.isin([log.name for log in logs])).run()


def give_back(line, qty: float, value: float):
	line.qty_redeemed = flt(line.qty_redeemed) - qty
	line.qty_remaining = flt(line.qty_remaining) + qty
	if line.revenue_recognition == UPON_CONSUMPTION:
		line.recognized_amount = flt(line.recognized_amount) - value
	line.changed = True


def undo_on_credit_note(doc) -> None:
	"""A credit note against a redemption invoice returns units of the rows it names."""
	returned = [
		row for row in doc.items if row.package_balance and row.get("sales_invoice_item") and flt(row.qty) < 0
	]
	if not returned:
		return
	Log = DocType("Package Redemption")
	logs = {
		log.sales_invoice_item: log
		for log in frappe.qb.from_(Log)
		.select("*")
		.where(Log.sales_invoice == doc.return_against)
		.where(Log.sales_invoice_item.isin([row.sales_invoice_item for row in returned]))
		.orderby(Log.name)
		.for_update()
		.run(as_dict=True)
	}
	locked = lock_balance_items([row.package_balance for row in returned])
	credits, reversed_logs, return_entries = [], [], []
	for row in returned:
		log = logs.get(row.sales_invoice_item)
		if not log:
			continue
		line = locked[(log.package_balance, log.item_code)]
		qty = min(abs(flt(row.qty)), flt(log.qty) - flt(log.qty_returned))
		if qty <= 0:
			continue
		value = engine.reversal_value(
			Decimal(str(log.amount)),
			Decimal(str(log.qty)),
			Decimal(str(log.qty_returned)),
			Decimal(str(qty)),
			currency_precision(line.currency),
		)
		give_back(line, qty, flt(value))
		if line.revenue_recognition == UPON_CONSUMPTION:
			credits.append(engine.Credit(log.income_account, log.cost_center, value))
		else:
			value = Decimal(0)
		log.qty_returned = flt(log.qty_returned) + qty
		reversed_logs.append(log)
		return_entries.append(
			package_ledger.entry(
				"Redemption Return",
				balance_of(line),
				line_of(line, log=log),
				doc.posting_date,
				doc.doctype,
				doc.name,
				qty_change=qty,
				deferred_change=value,
				revenue_change=-value,
				package_redemption=log.name,
			)
		)

	journal_entry = post_recognition(
		doc.company,
		doc.posting_date,
		credits,
		_("Prepaid package redemptions returned by credit note {0}").format(doc.name),
		reverse=True,
		sales_invoice=doc.name,
	)
	write_balance_lines([line for line in locked.values() if line.get("changed")])
	for return_entry in return_entries:
		return_entry["journal_entry"] = journal_entry
	package_ledger.make_entries(return_entries)
	for log in reversed_logs:
		fully = flt(log.qty_returned) >= flt(log.qty)
		frappe.qb.update(Log).set(Log.qty_returned, log.qty_returned).set(
			Log.status, "Reversed" if fully else "Redeemed"
		).set(Log.reversed_by, doc.name).set(Log.reversal_journal_entry, journal_entry).set(
			Log.modified, now()
		).where(Log.name == log.name).run()


def redo_on_credit_note_cancel(doc) -> None:
	"""Cancelling such a credit note takes the units again, if they are still there."""
	Log = DocType("Package Redemption")
	logs = (
		frappe.qb.from_(Log)
		.select("*")
		.where(Log.reversed_by == doc.name)
		.orderby(Log.name)
		.for_update()
		.run(as_dict=True)
	)
	if not logs:
		return
	returned_by_row = {
		row.sales_invoice_item: abs(flt(row.qty)) for row in doc.items if row.get("sales_invoice_item")
	}
	locked = lock_balance_items([log.package_balance for log in logs])
	journal_entries, true_ups = set(), []
	for log in logs:
		line = locked[(log.package_balance, log.item_code)]
		qty = min(returned_by_row.get(log.sales_invoice_item, 0), flt(log.qty_returned))
		if flt(line.qty_remaining) < qty:
			frappe.throw(
				_(
					"Credit note {0} cannot be cancelled: package balance {1} no longer holds {2} of {3}"
				).format(
					frappe.bold(doc.name), frappe.bold(log.package_balance), qty, frappe.bold(log.item_code)
				),
				BalanceUnavailableError,
			)
		returned_after = flt(log.qty_returned) - qty
		value = engine.reversal_value(
			Decimal(str(log.amount)),
			Decimal(str(log.qty)),
			Decimal(str(returned_after)),
			Decimal(str(qty)),
			currency_precision(line.currency),
		)
		give_back(line, -qty, -flt(value))
		journal_entries.add(log.reversal_journal_entry)
		true_ups += true_up_used_line(line, log)
		frappe.qb.update(Log).set(Log.qty_returned, returned_after).set(Log.status, "Redeemed").set(
			Log.reversed_by, None
		).set(Log.reversal_journal_entry, None).set(Log.modified, now()).where(Log.name == log.name).run()
	for journal_entry in journal_entries:
		cancel_journal_entry(journal_entry)
	for line, credit in true_ups:
		journal_entry = post_recognition(
			doc.company,
			doc.posting_date,
			[credit],
			_("Rounding of package balance {0}, used up again by cancelling credit note {1}").format(
				line.parent, doc.name
			),
			package_balance=line.parent,
		)
		package_ledger.make_entries(
			[
				package_ledger.entry(
					"Rounding",
					balance_of(line),
					{**line_of(line), "income_account": credit.account, "cost_center": credit.cost_center},
					doc.posting_date,
					"Package Balance",
					line.parent,
					deferred_change=-credit.amount,
					revenue_change=credit.amount,
					journal_entry=journal_entry,
				)
			]
		)
	write_balance_lines([line for line in locked.values() if line.get("changed")])


def true_up_used_line(line, log) -> list:
	"""A line used up again must have moved exactly its allocation (cumulative rounding's promise)."""
	if line.revenue_recognition != UPON_CONSUMPTION or flt(line.qty_remaining) > 0:
		return []
	difference = Decimal(str(flt(line.allocated_amount))) - Decimal(str(flt(line.recognized_amount)))
	difference = engine.round_money(difference, currency_precision(line.currency))
	if difference <= 0:
		return []
	line.recognized_amount = flt(line.allocated_amount)
	return [(line, engine.Credit(log.income_account, log.cost_center, difference))]
