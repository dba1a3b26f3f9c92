"""Recording the events of one voucher on balance lines: the engine decides, this writes.

A ``LedgerPosting`` locks the lines it is given, folds their state from the ledger, and
runs every event through ``engine.transition``. A refusal raises a translated error before
anything is written. ``post_journal`` then turns the postings into one Journal Entry
(deferred revenue of each balance as captured at sale, income of the row or line), and
``write`` stores the ledger movements and refreshes the balances from the ledger.
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import getdate, nowdate

from package_bundles import engine
from package_bundles.engine import state as events
from package_bundles.exceptions import refuse
from package_bundles.ledger import balance_state, package_ledger
from package_bundles.ledger.journal_entries import (
	AccountKey,
	book_locks,
	cancel_journal_entry,
	first_open_date,
	key_of,
	post_journal_entry,
	reverse_journal_entry,
	temporary_opening_account,
)
from package_bundles.package_bundles.doctype.package_settings.package_settings import (
	get_breakage_income_account,
)

# movements whose value the app's own Journal Entry moves (a sale's and a refund's value
# is moved by the invoice or credit note itself)
POSTED_BY_APP = frozenset(
	{
		events.OPENING,
		events.RECOGNITION,
		events.REDEMPTION,
		events.RETURN,
		events.ROUNDING,
		events.REFUND_REVERSAL,
		events.BREAKAGE,
		events.BREAKAGE_REVERSAL,
		events.BREAKAGE_WITH_USE,
		events.BREAKAGE_WITH_USE_REVERSAL,
		# a transfer's Journal Entry, only where the two balances defer on different accounts or
		# dimensions (on the same ones the two sides net to nothing and no entry is made)
		events.TRANSFER_OUT,
		events.TRANSFER_IN,
	}
)
# movements whose revenue side is the breakage income account (at expiry, or with use)
BREAKING = events.BREAKING
# a reversal of breakage goes back to the account its kind of breakage was booked to
BOOKED_BY_REVERSAL = {
	events.BREAKAGE_REVERSAL: events.BREAKAGE,
	events.BREAKAGE_WITH_USE_REVERSAL: events.BREAKAGE_WITH_USE,
}


class LedgerPosting:
	def __init__(
		self,
		voucher_type: str,
		voucher_no: str,
		posting_date,
		company: str,
		balances=(),
		lock: bool = True,
		naming=None,
	):
		"""``naming``: a connection of journal_entries.naming_connection() on which post_journal names
		its Journal Entry, apart from this transaction (the expiry job's workers, issue 22)."""
		self.voucher_type = voucher_type
		self.voucher_no = voucher_no
		self.posting_date = posting_date
		self.company = company
		self.locked = lock
		self.lines = balance_state.lock_lines(balances, lock=lock)
		# read once: nothing a posting does between here and write changes what its purchases owe
		self.paid = balance_state.paid_by_balance(self.lines.values())
		self.states = balance_state.line_states(self.lines, paid=self.paid, lock=lock)
		self.entries: list[dict] = []
		self.journal: list[engine.Entry] = []
		self.redemptions: set[str] = set()
		self.journal_entry: str | None = None
		# what an opening import posts against: the company's Temporary Opening account unless it chose one
		self.opening_account: str | None = None
		self.naming = naming

	# --- lines -----------------------------------------------------------------------------------

	def lines_of(self, balance: str) -> list[frappe._dict]:
		return [line for line in self.lines.values() if line.balance == balance]

	def find_line(self, balance: str, item_code: str) -> frappe._dict | None:
		return next((line for line in self.lines_of(balance) if line.item_code == item_code), None)

	def status(self, balance: str) -> str:
		return engine.balance_status([self.states[line.name] for line in self.lines_of(balance)])

	# --- events ----------------------------------------------------------------------------------

	def apply(
		self,
		line_name: str,
		event,
		income: AccountKey | None = None,
		fallback: AccountKey | None = None,
		context: str | None = None,
		other_deferred: AccountKey | None = None,
		**entry_values,
	) -> engine.Transition:
		"""Run one event on a line; refused (translated, specific) before anything is written.

		``other_deferred``: for a transfer, the deferred revenue key of the balance on its other side.
		"""
		line = self.lines[line_name]
		try:
			result = engine.transition(self.states[line_name], event)
		except engine.EngineError as error:
			refuse(error, line.balance, line.item_code, context)
		self.states[line_name] = result.state
		income = (income or self.own_income(line)).with_fallback(fallback)
		breakage_keys: dict[str, AccountKey] = {}

		def breakage(event: str) -> AccountKey:
			# breakage goes back to the account it was booked to, whatever the settings say today
			if event not in breakage_keys:
				booked = BOOKED_BY_REVERSAL.get(event)
				key = self.booked_breakage_key(line, booked) if booked else self.breakage_key(line)
				breakage_keys[event] = key.with_fallback(fallback)
			return breakage_keys[event]

		for movement in result.movements:
			key = breakage(movement.event) if movement.event in BREAKING else income
			self.entries.append(
				package_ledger.entry(
					movement,
					line,
					self.posting_date,
					self.voucher_type,
					self.voucher_no,
					income_account=key.account,
					cost_center=key.cost_center,
					**entry_values,
				)
			)
		# the engine lists a posting to or from breakage income for each breaking movement, in order
		breaking = iter([m.event for m in result.movements if m.event in BREAKING and m.revenue])
		for posting in result.postings:
			event = None
			if events.BREAKAGE_INCOME in (posting.debit, posting.credit):
				event = next(breaking, None) or events.BREAKAGE
			keys = {
				events.DEFERRED: lambda: self.deferred_key(line).with_fallback(fallback),
				events.INCOME: lambda: income,
				events.BREAKAGE_INCOME: lambda event=event: breakage(event),
				# only an opening import posts against the company's temporary opening account
				events.OPENING_ACCOUNT: lambda: self.opening_key(line),
				events.OTHER_DEFERRED: lambda: other_deferred or self.deferred_key(line),
			}
			self.journal.append(engine.Entry(keys[posting.debit](), keys[posting.credit](), posting.amount))
		return result

	def deferred_key(self, line) -> AccountKey:
		return key_of(line.deferred_revenue_account, line.balance_cost_center, line.project, line.dimensions)

	def own_income(self, line) -> AccountKey:
		return key_of(line.income_account, line.cost_center, line.project, line.dimensions)

	def breakage_key(self, line) -> AccountKey:
		account = get_breakage_income_account(line.company) or line.income_account
		return key_of(account, line.cost_center, line.project, line.dimensions)

	def booked_breakage_key(self, line, event: str = events.BREAKAGE) -> AccountKey:
		"""The account and cost center the line's live breakage of this kind was last booked to."""
		booked = package_ledger.live_entries(package_balance_item=line.name, event=event)
		if not booked:
			return self.breakage_key(line)
		return key_of(booked[-1].income_account, booked[-1].cost_center, line.project, line.dimensions)

	def opening_key(self, line) -> AccountKey:
		account = self.opening_account or temporary_opening_account(line.company)
		return key_of(account, line.balance_cost_center, line.project, line.dimensions)

	# --- writing ---------------------------------------------------------------------------------

	def redate(self, posting_date) -> None:
		"""Date everything this posting moves on another day: its ledger entries and its Journal Entry."""
		self.posting_date = posting_date
		for entry in self.entries:
			entry["posting_date"] = posting_date

	def post_journal(
		self, remark: str, package_balance: str | None = None, is_opening: bool = False
	) -> str | None:
		"""One Journal Entry for everything the events moved through the app's own postings."""
		self.journal_entry = post_journal_entry(
			self.company,
			self.posting_date,
			engine.journal_lines(self.journal),
			remark,
			voucher_type=None if package_balance else self.voucher_type,
			voucher_no=None if package_balance else self.voucher_no,
			package_balance=package_balance,
			is_opening=is_opening,
			naming=self.naming,
		)
		if self.journal_entry:
			for entry in self.entries:
				if entry["event"] in POSTED_BY_APP and (entry["deferred_change"] or entry["revenue_change"]):
					entry["journal_entry"] = self.journal_entry
		return self.journal_entry

	def write(self) -> dict[str, str]:
		package_ledger.make_entries(self.entries)
		# the lines are locked by this posting already: refresh needs only their new ledger
		return balance_state.refresh(
			{line.balance for line in self.lines.values()},
			self.redemptions,
			locked_lines=self.lines if self.locked else None,
			paid=self.paid if self.locked else None,
		)


# --- cancelling a voucher --------------------------------------------------------------------------

CANCEL_KIND_BY_EVENT = {
	events.SALE: events.CANCEL_PURCHASE,
	events.OPENING: events.CANCEL_PURCHASE,
	events.RECOGNITION: events.CANCEL_PURCHASE,
	events.REDEMPTION: events.CANCEL_REDEMPTION,
	events.RETURN: events.CANCEL_RETURN,
	events.ROUNDING: events.CANCEL_RETURN,
	events.REFUND: events.CANCEL_REFUND,
	events.REFUND_REVERSAL: events.CANCEL_REFUND,
	events.BREAKAGE_REVERSAL: events.CANCEL_REFUND,
	events.EXPIRY: events.CANCEL_EXTENSION,
	events.BREAKAGE: events.CANCEL_EXTENSION,
	# breakage with use moves with the redemption, return or refund it belongs to, whose own
	# movement decides the kind
	events.BREAKAGE_WITH_USE: events.CANCEL_REDEMPTION,
	events.BREAKAGE_WITH_USE_REVERSAL: events.CANCEL_REDEMPTION,
	# a transfer's receiving line was sold by it; its giving line and an upgrade are undone as such
	events.TRANSFER_IN: events.CANCEL_PURCHASE,
	events.TRANSFER_OUT: events.CANCEL_TRANSFER,
	events.UPGRADE: events.CANCEL_UPGRADE,
}


def cancel_kind(movements) -> str:
	"""What a voucher's movements on a line undo: the weightiest kind among them."""
	kinds = {CANCEL_KIND_BY_EVENT[m.event] for m in movements}
	for kind in (
		events.CANCEL_PURCHASE,
		events.CANCEL_UPGRADE,
		events.CANCEL_TRANSFER,
		events.CANCEL_REFUND,
		events.CANCEL_RETURN,
		events.CANCEL_REDEMPTION,
	):
		if kind in kinds:
			return kind
	return events.CANCEL_EXTENSION


def cancel_entries(
	entries: list[dict], posting_date, company: str, check_only: bool = False, kind=None, voucher=None
) -> None:
	"""Undo exactly these ledger entries (a voucher's, or a balance's expiry), their Journal Entries too.

	With ``check_only`` nothing is written: the refusal, if any, is raised (before_cancel).
	``voucher``: the document being cancelled, when a voucher's cancel undoes them.
	A line that a cancelled return leaves used up again is rounded to its allocation, and a
	Proportional line's breakage recognized with use follows the use it is left with, by a
	Journal Entry of its own, on the balance.
	"""
	if not entries:
		return
	by_balance: dict[str, list[dict]] = {}
	for row in entries:
		by_balance.setdefault(row["package_balance"], []).append(row)
	postings = []
	for balance, rows in sorted(by_balance.items()):
		posting = LedgerPosting("Package Balance", balance, posting_date, company, balances=[balance])
		for line_name, movements in package_ledger.movements_of(rows).items():
			posting.apply(line_name, engine.Cancel(kind or cancel_kind(movements), movements))
		postings.append(posting)
	if check_only:
		return
	undo_entries(entries, company, voucher)
	logs = {row["package_redemption"] for row in entries if row.get("package_redemption")}
	for posting in postings:
		if posting.journal:
			# a rounding the cancel makes is a posting of its own: never inside a locked period
			posting.redate(first_open_date(company, posting_date))
			posting.post_journal(adjustment_remark(posting), package_balance=posting.voucher_no)
		posting.redemptions = logs
		posting.write()


def adjustment_remark(posting: LedgerPosting) -> str:
	"""What the Journal Entry a cancel makes on a balance moves: a rounding, breakage with use, or both."""
	moved = {entry["event"] for entry in posting.entries}
	remarks = []
	if events.ROUNDING in moved:
		remarks.append(
			_("Rounding of package balance {0}, used up again when a return was cancelled").format(
				posting.voucher_no
			)
		)
	if moved & events.BREAKING_WITH_USE:
		remarks.append(
			_(
				"Breakage recognized with use of package balance {0}, following the use left when a voucher was cancelled"
			).format(posting.voucher_no)
		)
	return "; ".join(remarks)


def undo_entries(entries: list[dict], company: str, voucher=None) -> None:
	"""Take ledger entries and the app's Journal Entries that moved them out of the books, for a later event.

	An entry outside a locked period is cancelled, as ERPNext cancels any entry (its ledger
	entries cancelled, or reversed where Accounts Settings keep an immutable ledger). One in a
	locked period (first_open_date moves its date: frozen, a closed Accounting Period, a year
	closed by a Period Closing Voucher) ERPNext refuses to cancel, so it stays and is reversed:
	a reversing Journal Entry and reversing ledger entries, all dated the first open date on or
	after today, the day of the undoing (and after what they reverse), so the GL and the ledger
	agree on every date.
	"""
	locks = book_locks(company)
	journal_dates = submitted_journal_dates(
		{row["journal_entry"] for row in entries if row.get("journal_entry")}
	)
	locked_journals = {
		name for name, date in journal_dates.items() if first_open_date(company, date, locks) != getdate(date)
	}
	# entries without an app Journal Entry move no value, or value the voucher's own GL moves,
	# which ERPNext cancels with the voucher: they leave the ledger as that GL leaves the books
	locked = [row for row in entries if row.get("journal_entry") in locked_journals]
	locked_names = {row["name"] for row in locked}
	package_ledger.cancel([row for row in entries if row["name"] not in locked_names])
	for journal_entry in sorted(set(journal_dates) - locked_journals):
		cancel_journal_entry(journal_entry)
	if not locked:
		return
	# the undoing happens today, whatever date the voucher being cancelled bears
	latest = max([getdate(nowdate())] + [getdate(journal_dates[name]) for name in locked_journals])
	reversal_date = first_open_date(company, latest, locks)
	reversals = {
		name: reverse_journal_entry(
			name, reversal_date, _("Reversal of {0}, which lies in a closed or frozen period").format(name)
		)
		for name in sorted(locked_journals)
	}
	package_ledger.cancel(locked, reversal_date=reversal_date, reversing_journal_entries=reversals)
	if voucher is not None:
		allow_reversed_links(voucher, {*reversals, *reversals.values()})


def allow_reversed_links(voucher, reversed_pairs: set[str]) -> None:
	"""A voucher's own entries that were reversed stay submitted and name it, so Frappe's check of
	submitted documents linked to a cancelled one would refuse its cancel. Journal Entries are left
	out of that check only when no other submitted one refers to the voucher (a payment, say)."""
	Journal = DocType("Journal Entry")
	Account = DocType("Journal Entry Account")
	linked = (
		frappe.qb.from_(Journal)
		.select(Journal.name)
		.where(Journal.package_voucher_type == voucher.doctype)
		.where(Journal.package_voucher_no == voucher.name)
		.where(Journal.docstatus == 1)
		.orderby(Journal.name)
		.run(pluck=True)
	)
	if not set(linked) & reversed_pairs:
		return
	referring = (
		frappe.qb.from_(Account)
		.select(Account.parent)
		.where(Account.reference_type == voucher.doctype)
		.where(Account.reference_name == voucher.name)
		.where(Account.docstatus == 1)
		.orderby(Account.parent)
		.limit(1)
		.run(pluck=True)
	)
	if referring or set(linked) - reversed_pairs:
		return  # Frappe refuses the cancel as usual, naming that entry
	voucher.ignore_linked_doctypes = (*(voucher.get("ignore_linked_doctypes") or ()), "Journal Entry")


def submitted_journal_dates(names: set[str]) -> dict[str, object]:
	"""Posting date of each of these Journal Entries still submitted (a cancelled one is undone already)."""
	if not names:
		return {}
	Journal = DocType("Journal Entry")
	rows = (
		frappe.qb.from_(Journal)
		.select(Journal.name, Journal.posting_date)
		.where(Journal.name.isin(sorted(names)))
		.where(Journal.docstatus == 1)
		.orderby(Journal.name)
		.run()
	)
	return dict(rows)
