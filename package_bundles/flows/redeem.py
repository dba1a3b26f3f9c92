"""Redeeming invoice rows from balances (SPEC §3 Redemption, Undo).

validate: plan which balance serves which row (engine) and apply the plan to
the rows: a free row (is_free_item, price-list rate 0, the list price kept in
package_list_rate), the balance linked, rows split where one balance does not cover them.
submit: lock the balance lines, re-check, record the redemption in the ledger (the
engine decides the value), log it, one Journal Entry.
credit note: give back the units and value of the rows it returns.
cancel: undo exactly what the voucher moved (ledger.posting.cancel_entries).
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.model.naming import make_autoname, parse_naming_series
from frappe.query_builder import DocType, Field
from frappe.query_builder.functions import Coalesce
from frappe.utils import cint, flt, getdate, now, nowdate
from pypika.terms import ValueWrapper

from package_bundles import engine
from package_bundles.exceptions import BalanceFrozenError, BalanceUnavailableError
from package_bundles.flows import freeze, orders, share
from package_bundles.flows.catalog import get_package_item_map, get_redeemable_items
from package_bundles.ledger import balance_state, package_ledger
from package_bundles.ledger.journal_entries import (
	AccountKey,
	captured_dimension_fields,
	dimensions_of,
	key_of,
	row_key,
)
from package_bundles.ledger.posting import LedgerPosting, cancel_entries
from package_bundles.package_bundles.doctype.package_settings.package_settings import get_settings, is_paid

REDEEMABLE_STATUSES = ("Active", "Awaiting Payment")


# --- before_validate: start from what ERPNext alone would do ------------------


def restore_redeemed_rows(doc) -> None:
	"""Merge rows split by an earlier save (in stock units) and let ERPNext price them afresh."""
	merged = []
	for row in doc.items:
		previous = merged[-1] if merged else None
		if (
			row.package_row_group
			and previous is not None
			and previous.package_row_group == row.package_row_group
		):
			if previous.uom != row.uom:
				to_stock_uom(previous)
				to_stock_uom(row)
			previous.qty = flt(previous.qty) + flt(row.qty)
			previous.stock_qty = flt(previous.qty) * flt(previous.conversion_factor or 1)
			continue
		merged.append(row)
	if len(merged) != len(doc.items):
		doc.items = merged
		for idx, row in enumerate(doc.items, start=1):
			row.idx = idx
	reset = [row for row in doc.items if row.package_balance or row.package_row_group]
	for row in reset:
		reset_row_price(row)
	orders.restore_billed_rates(reset)


def to_stock_uom(row) -> None:
	"""The same row counted in stock units: quantity up, prices per unit down."""
	factor = flt(row.conversion_factor or 1)
	row.qty = flt(row.qty) * factor
	for fieldname in ("price_list_rate", "rate", "discount_amount", "package_list_rate"):
		if row.get(fieldname):
			row.set(fieldname, flt(row.get(fieldname)) / factor)
	row.uom = row.stock_uom or frappe.get_cached_value("Item", row.item_code, "stock_uom")
	row.conversion_factor = 1


def reset_row_price(row):
	was_redeemed = bool(row.package_balance)
	row.package_balance = None
	row.package_row_group = None
	if was_redeemed:
		row.is_free_item = 0
		row.price_list_rate = row.package_list_rate or None
		row.package_list_rate = None
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
	return [
		row
		for row in doc.items
		if row.item_code in redeemable
		and row.item_code not in package_items
		and not row.skip_package_redemption
		and not row.is_free_item  # a pricing rule's free item is free already
		and flt(row.qty) > 0
	]


def left_to_membership(row) -> bool:
	"""Package Settings may put membership coverage (a pricing rule on the row) before the package."""
	return bool(row.pricing_rules) and not get_settings().package_before_membership


def load_holdings(customer: str, company: str, item_codes: set[str], posting_date=None) -> list[frappe._dict]:
	"""One indexed query: the live balance rows for these items the customer may use, their own
	and, after them, other customers' balances shared with them (household sharing, issue 20);
	none frozen on the posting date (today unless given; the period each balance keeps on record,
	flows/freeze.py).

	Two branches of one UNION ALL, each driven by an index on the customer (Package Balance's
	customer, company, status; Package Balance Sharer's customer, parent): a customer without
	balances costs this one query whatever the number of balances on the site."""
	Balance = DocType("Package Balance")
	Sharer = DocType("Package Balance Sharer")
	own = holdings_query(company, item_codes, posting_date, shared=False).where(Balance.customer == customer)
	shared = (
		holdings_query(company, item_codes, posting_date, shared=True)
		.join(Sharer)
		.on((Sharer.parent == Balance.name) & (Sharer.parenttype == "Package Balance"))
		.where(Sharer.customer == customer)
		.where(Balance.customer != customer)
	)
	return (
		own.union_all(shared)
		.orderby(Field("shared"))
		.orderby(Field("expiry_date"))
		.orderby(Field("purchase_date"))
		.orderby(Field("balance"))
		.run(as_dict=True)
	)


def holdings_query(company: str, item_codes: set[str], posting_date, shared: bool):
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	Invoice = DocType("Sales Invoice")
	PosInvoice = DocType("POS Invoice")
	query = (
		frappe.qb.from_(Balance)
		.join(Item)
		.on(Item.parent == Balance.name)
		.left_join(Invoice)
		.on((Invoice.name == Balance.sales_invoice) & (Balance.invoice_type == "Sales Invoice"))
		.left_join(PosInvoice)
		.on((PosInvoice.name == Balance.sales_invoice) & (Balance.invoice_type == "POS Invoice"))
		.select(
			Balance.name.as_("balance"),
			Balance.customer,
			Balance.status,
			Balance.purchase_date,
			Balance.expiry_date,
			Balance.sales_invoice,
			Coalesce(Invoice.outstanding_amount, PosInvoice.outstanding_amount).as_("outstanding_amount"),
			Item.item_code,
			Item.qty_remaining,
			ValueWrapper(int(shared)).as_("shared"),
		)
		.where(Balance.company == company)
		.where(Balance.status.isin(REDEEMABLE_STATUSES))
		.where(Item.parenttype == "Package Balance")
		.where(Item.item_code.isin(sorted(item_codes)))
		.where(Item.qty_remaining > 0)
	)
	day = getdate(posting_date or nowdate())
	return query.where(
		Balance.frozen_from.isnull() | (Balance.frozen_from > day) | (Balance.frozen_until < day)
	)


def is_holding_paid(holding) -> bool:
	"""The purchase invoice's live outstanding decides, as at submit (balance_state.paid_by_balance),
	never the stored status: a plan made at save passes the submit re-check when nothing changed.
	An opening balance has no invoice and counts as paid."""
	return not holding.sales_invoice or is_paid(holding.outstanding_amount)


def apply_redemptions(doc, fill_details: bool = True) -> bool:
	"""Redeem what the customer's balances cover; True when any row changed.

	``fill_details``: let ERPNext fill the rows' prices, units and pricing rules first, as its
	validate would (off for previews, which must not cost ERPNext's work twice).
	"""
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
			paid=is_holding_paid(h),
			shared=bool(h.shared),
		)
		for h in load_holdings(doc.customer, doc.company, {row.item_code for row in rows}, doc.posting_date)
	]
	if not holdings:
		return False
	if fill_details:
		# ERPNext's own details first (prices, units, pricing rules), as its validate would set them
		doc.set_missing_values(for_validate=True)
	rows = [row for row in rows if not left_to_membership(row)]

	keys = {id(row): str(index) for index, row in enumerate(rows)}
	plans = engine.plan_redemption(
		[engine.InvoiceRow(keys[id(row)], row.item_code, Decimal(str(stock_qty(row)))) for row in rows],
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
	remember_redeemed_rows(doc)
	return True


def stock_qty(row) -> float:
	"""The row's quantity in the item's stock UOM, the unit balances hold (SPEC §3 Quantities)."""
	if not row.conversion_factor:
		row.conversion_factor = conversion_factor(row)
	return flt(row.qty) * flt(row.conversion_factor)


def conversion_factor(row) -> float:
	stock_uom = row.stock_uom or frappe.get_cached_value("Item", row.item_code, "stock_uom")
	if not row.uom or row.uom == stock_uom:
		return 1.0
	from erpnext.stock.get_item_details import get_conversion_factor

	return flt(get_conversion_factor(row.item_code, row.uom).get("conversion_factor")) or 1.0


def split_row(doc, row, plan: engine.RowPlan) -> list:
	"""The row redeemed from one balance, or split into one row per balance plus a charged remainder.

	Portions are stock units; each part keeps the row's UOM where it is a whole number of it
	(or the UOM allows fractions), and falls back to the stock UOM otherwise.
	"""
	needs_split = len(plan.portions) > 1 or plan.uncovered > 0
	if needs_split and has_serial_or_batch(row):
		return [row]  # serial and batch bundles cannot be split here; charge it normally
	group = frappe.generate_hash(length=10) if needs_split else None
	list_rate = list_price(doc, row)
	fields = row.as_dict(no_default_fields=True, no_child_table_fields=True)

	rows = []
	for index, portion in enumerate(plan.portions):
		target = row if index == 0 else doc.append("items", fields)
		set_units(target, flt(portion.qty))
		mark_redeemed(target, portion.balance, group, list_rate)
		rows.append(target)
	if plan.uncovered > 0:
		remainder = doc.append("items", fields)
		set_units(remainder, flt(plan.uncovered))
		remainder.package_row_group = group
		remainder.package_balance = None
		rows.append(remainder)
	return rows


def set_units(row, units: float) -> None:
	"""Give a (split) row ``units`` stock units, in its own UOM where that stays whole."""
	factor = flt(row.conversion_factor or 1)
	in_uom = units / factor
	if factor != 1 and in_uom != int(in_uom) and is_whole_number_uom(row.uom):
		to_stock_uom(row)
		in_uom, factor = units, 1
	row.qty = in_uom
	row.stock_qty = in_uom * factor


def is_whole_number_uom(uom: str | None) -> bool:
	return bool(uom and frappe.get_cached_value("UOM", uom, "must_be_whole_number"))


def list_price(doc, row) -> float:
	"""The price the row would have cost, kept on the redeemed row for reference (receipts, reports)."""
	if flt(row.price_list_rate):
		return flt(row.price_list_rate) / flt(row.conversion_factor or 1)
	from erpnext.stock.get_item_details import get_price_list_rate_for

	args = frappe._dict(
		price_list=doc.selling_price_list,
		customer=doc.customer,
		company=doc.company,
		uom=row.stock_uom or frappe.get_cached_value("Item", row.item_code, "stock_uom"),
		transaction_date=doc.posting_date,
		posting_date=doc.posting_date,
		qty=1,
		conversion_factor=1,
	)
	return flt(get_price_list_rate_for(args, row.item_code)) if doc.selling_price_list else 0.0


def mark_redeemed(row, balance: str, group: str | None, list_rate: float | None = None):
	"""Rate 0 as a package redemption, not a discount: ERPNext's max-discount and selling-price
	checks let it pass, and ERPNext prices it afresh from nothing (its price-list rate is 0)."""
	row.package_balance = balance
	row.package_row_group = group
	if list_rate is not None:
		row.package_list_rate = flt(list_rate) * flt(row.conversion_factor or 1)
	row.is_free_item = 1
	row.price_list_rate = 0
	row.rate = 0
	row.discount_percentage = 0
	row.discount_amount = 0
	row.margin_type = None
	row.margin_rate_or_amount = 0
	row.rate_with_margin = 0
	row.pricing_rules = None


def keep_redeemed_rows_free(doc) -> bool:
	"""Submitting a saved draft: its redeemed rows stay as they were saved."""
	redeemed = [row for row in doc.items if row.package_balance]
	for row in redeemed:
		mark_redeemed(row, row.package_balance, row.package_row_group)
	drop_pricing_rule_details(doc)
	remember_redeemed_rows(doc)
	return bool(redeemed)


def remember_redeemed_rows(doc) -> None:
	doc.flags.package_redeemed_rows = [row for row in doc.items if row.package_balance]


def put_back_removed_rows(doc) -> bool:
	"""ERPNext drops free rows when a transaction-level pricing rule stops applying; a redeemed row
	is not a pricing rule's free item, so it goes back where it was."""
	removed = [row for row in doc.flags.package_redeemed_rows or [] if row not in doc.items]
	for row in sorted(removed, key=lambda row: row.idx):
		doc.items.insert(min(row.idx - 1, len(doc.items)), row)
	if removed:
		for idx, row in enumerate(doc.items, start=1):
			row.idx = idx
	return bool(removed)


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
		payment.base_amount = flt(payment.amount) * flt(doc.conversion_rate or 1)
		excess -= taken
		changed = changed or bool(taken)
	if changed:
		# a POS Invoice's paid amount is the page's sum of its payments; ERPNext does not redo it
		doc.paid_amount = sum(flt(payment.amount) for payment in doc.payments)
		doc.base_paid_amount = sum(flt(payment.base_amount) for payment in doc.payments)
	return changed


def has_serial_or_batch(row) -> bool:
	return bool(row.get("serial_and_batch_bundle") or row.get("serial_no") or row.get("batch_no"))


def drop_pricing_rule_details(doc):
	redeemed = {row.name for row in doc.items if row.package_balance and row.name}
	if redeemed and doc.get("pricing_rules"):
		doc.pricing_rules = [d for d in doc.pricing_rules if d.child_docname not in redeemed]


# --- submit -----------------------------------------------------------------


def redeem_on_submit(doc) -> None:
	"""Lock the balance lines, re-check each redeemed row, and record its redemption; one Journal Entry."""
	rows = [row for row in doc.items if row.package_balance]
	if not rows:
		return
	posting = LedgerPosting(
		doc.doctype, doc.name, doc.posting_date, doc.company, balances={row.package_balance for row in rows}
	)
	posting_date = getdate(doc.posting_date)
	# another customer's balance serves the invoice only while it is shared with its customer (read
	# under the balances' locks, which adding or removing a sharer takes too); no query otherwise
	shared = share.shared_with(
		{line.balance for line in posting.lines.values() if line.customer != doc.customer}, doc.customer
	)
	redeemed = []
	for row in rows:
		line = posting.find_line(row.package_balance, row.item_code)
		validate_still_redeemable(doc, row, line, posting_date, posting, shared)
		income = row_key(row, parent=doc)
		result = posting.apply(
			line.name,
			engine.Redeem(Decimal(str(stock_qty(row)))),
			income=income,
			fallback=income,
			context=_("Row #{0}").format(row.idx),
			voucher_detail_no=row.name,
		)
		# the value the units moved to income; breakage recognized with them is not part of it
		value = sum((m.revenue for m in result.movements if m.event == engine.state.REDEMPTION), Decimal(0))
		redeemed.append((row, line, value, posting.entries[-len(result.movements) :], income))

	journal_entry = posting.post_journal(_("Prepaid package redemptions on invoice {0}").format(doc.name))
	logs = [
		redemption_log(doc, row, line, value, journal_entry, income)
		for row, line, value, _entries, income in redeemed
	]
	write_redemption_logs(logs)
	for log, (_row, _line, _value, entries, _income) in zip(logs, redeemed, strict=True):
		for entry in entries:
			entry["package_redemption"] = log["name"]
		if not any(entry["event"] == engine.state.REDEMPTION for entry in entries):
			posting.redemptions.add(log["name"])  # not the usual new log: let the ledger set its status
	posting.write()


def validate_still_redeemable(doc, row, line, posting_date, posting, shared=frozenset()) -> None:
	reason = None
	if not line:
		reason = _("it does not hold item {0}").format(frappe.bold(row.item_code))
	elif line.company != doc.company:
		reason = _("it belongs to another company")
	elif line.customer != doc.customer and line.balance not in shared:
		reason = _("it belongs to customer {0} and is not shared with {1}").format(
			frappe.bold(line.customer), frappe.bold(doc.customer)
		)
	elif (status := posting.status(line.balance)) not in REDEEMABLE_STATUSES:
		reason = _("it is {0}").format(_(status))
	elif not posting.states[line.name].paid:
		reason = _("its purchase invoice {0} is not fully paid").format(frappe.bold(line.sales_invoice))
	elif line.expiry_date and getdate(line.expiry_date) < posting_date:
		reason = _("it expired on {0}").format(frappe.format(line.expiry_date, "Date"))
	elif freeze.covers(line.frozen_from, line.frozen_until, posting_date):
		refuse_frozen(row, line)
	elif getdate(line.purchase_date) > posting_date:
		reason = _("it was bought after {0}").format(frappe.format(posting_date, "Date"))
	elif posting.states[line.name].qty_remaining < Decimal(str(stock_qty(row))):
		reason = _("it has only {0} of {1} left").format(
			flt(posting.states[line.name].qty_remaining), frappe.bold(row.item_code)
		)
	if reason:
		frappe.throw(
			_(
				"Row #{0}: Package balance {1} cannot be redeemed: {2}. Save the invoice again to re-check."
			).format(row.idx, frappe.bold(row.package_balance), reason),
			BalanceUnavailableError,
		)


def refuse_frozen(row, line) -> None:
	frappe.throw(
		_(
			"Row #{0}: Package balance {1} is frozen from {2} to {3}: nothing is redeemed from it then. Save the invoice again to charge the row."
		).format(
			row.idx,
			frappe.bold(line.balance),
			frappe.format(line.frozen_from, "Date"),
			frappe.format(line.frozen_until, "Date"),
		),
		BalanceFrozenError,
	)


def redemption_log(doc, row, line, value: Decimal, journal_entry: str | None, income: AccountKey) -> dict:
	"""The immutable log of one redeemed row; its returned units and status come from the ledger.

	A new log is written with the state balance_state.refresh_redemptions would derive from its
	redemption entries (balance_state.logged_redemption_state), and not refreshed."""
	log = {
		"package_balance": line.balance,
		"package_balance_item": line.name,
		"prepaid_package": line.prepaid_package,
		# whose balance paid, and who used it (another customer where the balance is shared)
		"customer": line.customer,
		"used_by_customer": doc.customer,
		"company": doc.company,
		"item_code": row.item_code,
		"item_group": line.item_group,
		"qty": stock_qty(row),
		"amount": flt(value),
		"currency": line.currency,
		"posting_date": getdate(doc.posting_date),
		"invoice_type": doc.doctype,
		"sales_invoice": doc.name,
		"sales_invoice_item": row.name,
		"purchase_invoice_type": line.invoice_type if line.sales_invoice else None,
		"purchase_invoice": line.sales_invoice,
		"income_account": income.account,
		"cost_center": income.cost_center,
		"project": income.project,
		"journal_entry": journal_entry,
	}
	dimensions = dict(income.dimensions)
	for fieldname in captured_dimension_fields("Package Redemption"):
		log[fieldname] = dimensions.get(fieldname)
	log.update(balance_state.logged_redemption_state())
	return log


def write_redemption_logs(logs: list[dict]) -> None:
	"""Name the logs from their series in one reservation and write them in one statement.

	Logs are the app's own records (no hand-made ones, no hooks of their own): written the way
	package_ledger.make_entries writes ledger rows, not one Document.insert per row."""
	if not logs:
		return
	names = reserve_names("Package Redemption", [frappe._dict(log) for log in logs])
	timestamp, user = now(), frappe.session.user
	fields = list(logs[0])
	columns = ["name", "creation", "modified", "owner", "modified_by", "docstatus", "idx", *fields]
	values = []
	for log, name in zip(logs, names, strict=True):
		log["name"] = name
		values.append((name, timestamp, timestamp, user, user, 0, 0, *(log[field] for field in fields)))
	frappe.db.bulk_insert("Package Redemption", columns, values)


def reserve_names(doctype: str, docs: list) -> list[str]:
	"""The names Document.insert would give these documents, from the doctype's naming series.

	One locked read and one update of each series used, where naming each document on its own
	takes two statements per document."""
	autoname = frappe.get_meta(doctype).autoname or ""
	if "#" not in autoname:
		return [make_autoname(autoname or "hash", doctype, doc) for doc in docs]
	keys: list[str] = []

	def record(key: str, digits: int) -> str:
		keys.append(key)
		return ""

	for doc in docs:
		parse_naming_series(autoname, doctype, doc=doc, number_generator=record)
	numbers = {key: reserve_numbers(key, keys.count(key)) for key in sorted(set(keys))}

	def take(key: str, digits: int) -> str:
		if key not in numbers:  # the date moved on between the two passes
			numbers[key] = reserve_numbers(key, 1)
		return ("%0" + str(digits) + "d") % next(numbers[key])

	return [parse_naming_series(autoname, doctype, doc=doc, number_generator=take) for doc in docs]


def reserve_numbers(key: str, count: int):
	"""The next ``count`` numbers of a naming series, as frappe.model.naming.getseries counts them."""
	Series = DocType("Series")
	current = frappe.qb.from_(Series).select(Series.current).where(Series.name == key).for_update().run()
	if current and current[0][0] is not None:
		start = cint(current[0][0])
		frappe.qb.update(Series).set(Series.current, Series.current + count).where(Series.name == key).run()
	else:
		start = 0
		frappe.qb.into(Series).columns(Series.name, Series.current).insert(key, count).run()
	return iter(range(start + 1, start + count + 1))


# --- returns: a credit note against a redemption invoice ---------------------------------------


def returned_row(row) -> str | None:
	"""The row of the original invoice a credit-note row returns (POS returns name it differently)."""
	return row.get("sales_invoice_item") or row.get("pos_invoice_item")


def return_rows(doc) -> list:
	package_items = get_package_item_map()
	return [
		row
		for row in doc.items
		if returned_row(row) and flt(row.qty) < 0 and row.item_code not in package_items
	]


def redemption_logs(doc, rows, lock: bool = False) -> dict[str, frappe._dict]:
	"""The redemption logs of the original rows a credit note returns, keyed by the original row."""
	if not rows:
		return {}
	Log = DocType("Package Redemption")
	query = (
		frappe.qb.from_(Log)
		.select("*")
		.where(Log.sales_invoice == doc.return_against)
		.where(Log.sales_invoice_item.isin([returned_row(row) for row in rows]))
		.where(Log.status == "Redeemed")
		.orderby(Log.name)
	)
	if lock:
		query = query.for_update()
	return {log.sales_invoice_item: log for log in query.run(as_dict=True)}


def mark_returned_rows(doc) -> None:
	"""validate: a credit-note row that returns a redeemed row names the balance its units go back to."""
	rows = return_rows(doc)
	logs = redemption_logs(doc, rows)
	for row in rows:
		log = logs.get(returned_row(row))
		row.package_balance = log.package_balance if log else None


def return_on_submit(doc) -> None:
	"""Give back the units (and their value) of the redeemed rows a credit note returns."""
	rows = return_rows(doc)
	logs = redemption_logs(doc, rows, lock=True)
	if not logs:
		return
	posting = LedgerPosting(
		doc.doctype,
		doc.name,
		doc.posting_date,
		doc.company,
		balances={log.package_balance for log in logs.values()},
	)
	returned_before = {log.name: Decimal(str(flt(log.qty_returned))) for log in logs.values()}
	for row in rows:
		log = logs.get(returned_row(row))
		if not log:
			continue
		left = Decimal(str(flt(log.qty))) - returned_before[log.name]
		qty = min(Decimal(str(abs(stock_qty(row)))), left)
		if qty <= 0:
			continue
		income = key_of(log.income_account, log.cost_center, log.project, dimensions_of(log))
		posting.apply(
			log.package_balance_item,
			engine.ReturnRedemption(
				qty, Decimal(str(flt(log.qty))), Decimal(str(flt(log.amount))), returned_before[log.name]
			),
			income=income,
			fallback=row_key(row, parent=doc),
			context=_("Row #{0}").format(row.idx),
			voucher_detail_no=row.name,
			package_redemption=log.name,
		)
		returned_before[log.name] += qty
		posting.redemptions.add(log.name)
	posting.post_journal(_("Prepaid package redemptions returned by credit note {0}").format(doc.name))
	posting.write()


# --- cancel -------------------------------------------------------------------------------------


def voucher_entries(doc, exclude_balances=()) -> list[dict]:
	entries = package_ledger.live_entries(voucher_type=doc.doctype, voucher_no=doc.name)
	return [row for row in entries if row.package_balance not in exclude_balances]


def check_voucher_cancel(doc, exclude_balances=()) -> None:
	"""before_cancel: refuse (nothing written) what cancelling this voucher's movements would break."""
	cancel_entries(voucher_entries(doc, exclude_balances), doc.posting_date, doc.company, check_only=True)


def cancel_voucher(doc, exclude_balances=()) -> None:
	"""on_cancel: undo exactly what this invoice or credit note moved on balances it did not sell."""
	cancel_entries(voucher_entries(doc, exclude_balances), doc.posting_date, doc.company, voucher=doc)
