"""Expiry, breakage and extension of balances (SPEC §3 Expiry and breakage).

A daily job marks balances past their expiry date Expired. With breakage on,
the deferred value still in an expired Upon Consumption balance is recognized
by a Journal Entry (Dr deferred revenue, Cr the breakage income account, or
each item's own income account), so the liability does not sit forever. A
Package Manager may extend a balance; that undoes breakage already posted (cancelled, or
reversed on the first open date if it lies in a locked period: ledger.posting.undo_entries).
"""

import time

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.query_builder.functions import Max
from frappe.utils import add_days, getdate, now_datetime, nowdate, strip_html

from package_bundles import engine
from package_bundles.engine.state import BREAKAGE, CANCEL_EXTENSION, EXPIRY
from package_bundles.exceptions import PackageValidityError
from package_bundles.flows import freeze
from package_bundles.ledger import package_ledger
from package_bundles.ledger.journal_entries import first_open_date, naming_connection
from package_bundles.ledger.posting import LedgerPosting, cancel_entries
from package_bundles.package_bundles.doctype.package_settings.package_settings import get_settings

EXPIRING_STATUSES = ("Active", "Awaiting Payment")
UPON_CONSUMPTION = "Upon Consumption"


MAX_ERROR_LENGTH = 1000

# balances per background job, the share a worker takes at a time (each balance is committed on
# its own: expire_batch); small enough that the last batches of a run end close together
BATCH_SIZE = 100


def enqueue_expiry(today=None) -> int:
	"""Scheduler (daily): the balances to expire, in batches on the long queue, for as many workers as run.

	Each balance is committed on its own (expire_batch); if a worker dies mid-batch the balance
	it was on is rolled back and, with the rest of its batch, picked up by the next run; a
	balance already expired is left alone, so nothing is posted twice. Returns the number of
	batches queued.
	"""
	today = getdate(today or nowdate())
	batches = expiry_batches(balances_to_expire(today))
	run = frappe.generate_hash(length=8)
	for batch in batches:
		frappe.enqueue(
			"package_bundles.flows.expire.expire_batch",
			queue="long",
			timeout=3600,
			balances=batch,
			today=str(today),
			# named per run: a run queued again the same day (after a worker died mid-batch, whose
			# job RQ still counts as started) queues what is left; a balance two batches share is
			# expired once, under its lock
			job_id=f"package_expiry::{frappe.local.site}::{today}::{run}::{batch[0]}",
		)
	return len(batches)


def expiry_batches(names: list[str], size: int | None = None) -> list[list[str]]:
	size = size or BATCH_SIZE
	return [names[start : start + size] for start in range(0, len(names), size)]


def expire_balances(today=None, batch_size: int | None = None) -> dict:
	"""Expire every balance due, batch after batch in this process (what the queued jobs do, at once)."""
	today = getdate(today or nowdate())
	outcome = {"expired": [], "failed": []}
	for batch in expiry_batches(balances_to_expire(today), batch_size):
		batch_outcome = expire_batch(batch, today)
		outcome["expired"] += batch_outcome["expired"]
		outcome["failed"] += batch_outcome["failed"]
	return outcome


def expire_batch(balances: list[str], today) -> dict:
	"""Each balance on its own: one failure is logged and skipped, the rest go on.

	In a background job each balance is its own transaction, committed when it is done (issue 22):
	the locks it takes (its lines and ledger rows) are held for one balance, and its Journal Entry
	takes its number in a transaction of its own (journal_entries.name_apart), so the naming
	series row is not held through the posting either; several workers then share the job. A
	worker killed mid-batch leaves the balances it did not commit to the next run, and the ones it
	did are not due any more. In tests (nothing is committed) each balance has a savepoint.
	"""
	today = getdate(today)
	outcome = {"expired": [], "failed": []}
	if not commits_each_balance():
		for name in balances:
			expire_one(name, today, outcome)
		return outcome
	# whatever the caller left uncommitted goes first: it may hold the naming series row, which
	# the naming connection would wait for
	frappe.db.commit()  # nosemgrep: the job commits balance by balance
	with naming_connection() as naming:
		for name in balances:
			expire_one(name, today, outcome, naming)
			frappe.db.commit()  # nosemgrep: a balance is the unit of work of a background job
	return outcome


# a balance that hit a deadlock or a lock wait timeout is tried this many times more
LOCK_RETRIES = 3


def commits_each_balance() -> bool:
	"""A background job (or a console) commits balance by balance; tests roll everything back."""
	return not frappe.flags.in_test


def expire_one(name: str, today, outcome: dict, naming=None) -> None:
	"""One balance in a savepoint; after a deadlock or a lock wait timeout it is tried again."""
	for attempt in range(LOCK_RETRIES + 1):
		savepoint = f"expire_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		try:
			if expire_balance(name, today, naming=naming):
				outcome["expired"].append(name)
			clear_expiry_error(name)
			frappe.db.release_savepoint(savepoint)
			return
		except Exception as error:
			undo(savepoint)
			if attempt < LOCK_RETRIES and is_lock_conflict(error):
				time.sleep(0.05 * (attempt + 1))
				continue
			fail(name, error, outcome)
			return


def undo(savepoint: str) -> None:
	"""Back to the savepoint; a deadlock has rolled back the whole transaction, savepoint and all."""
	try:
		frappe.db.rollback(save_point=savepoint)
	except Exception:
		frappe.db.rollback()


def is_lock_conflict(error: Exception) -> bool:
	"""A deadlock or a lock wait timeout (MariaDB's error number first in the error's args)."""
	if not error.args:
		return False
	return frappe.db.is_deadlocked(error) or frappe.db.is_timedout(error)


def fail(name: str, error: Exception, outcome: dict) -> None:
	"""Nothing of the balance was posted: logged, noted on the balance, and left to the next run."""
	outcome["failed"].append(name)
	error_log = frappe.log_error(
		title=_("Could not expire package balance {0}").format(name),
		reference_doctype="Package Balance",
		reference_name=name,
	)
	record_expiry_error(name, error, error_log)


def record_expiry_error(name: str, error: Exception, error_log) -> None:
	"""The balance says why the job could not expire it (nothing was posted); the next run tries again."""
	message = _("{0}: {1} (Error Log {2})").format(
		frappe.format(nowdate(), "Date"),
		strip_html(str(error)).strip() or type(error).__name__,
		error_log.name if error_log else "",
	)
	Balance = DocType("Package Balance")
	frappe.qb.update(Balance).set(Balance.expiry_error, message[:MAX_ERROR_LENGTH]).where(
		Balance.name == name
	).run()


def clear_expiry_error(name: str) -> None:
	Balance = DocType("Package Balance")
	frappe.qb.update(Balance).set(Balance.expiry_error, None).where(Balance.name == name).where(
		Balance.expiry_error.isnotnull()
	).run()


def balances_to_expire(today) -> list[str]:
	"""Live balances past their expiry date, and expired ones that value came back to (breakage on)."""
	Balance = DocType("Package Balance")
	condition = Balance.status.isin(EXPIRING_STATUSES)
	if get_settings().recognize_breakage:
		condition = condition | ((Balance.status == "Expired") & (Balance.total_deferred > 0))
	return (
		frappe.qb.from_(Balance)
		.select(Balance.name)
		.where(condition)
		.where(Balance.expiry_date < today)
		.orderby(Balance.expiry_date)
		.orderby(Balance.name)
		.run(pluck=True)
	)


def expire_balance(name: str, today, naming=None) -> bool:
	"""Mark the balance expired and book the breakage of what it still defers; twice posts nothing twice.

	The expiry date is read from the balance's locked row, so an extension committed while the
	job ran wins; so does another worker that expired it meanwhile (two runs queued at once).
	``naming``: the connection its Journal Entry takes its name on (expire_batch).
	"""
	posting = LedgerPosting("Package Balance", name, None, None, balances=[name], naming=naming)
	locked = next(iter(posting.lines.values()), None)
	if not locked or not locked.expiry_date or getdate(locked.expiry_date) >= getdate(today):
		return False
	if freeze.covers(locked.frozen_from, locked.frozen_until, today):
		return False  # a frozen balance does not expire (nor break) while frozen
	posting.company = locked.company
	status = posting.status(name)
	if status not in (*EXPIRING_STATUSES, "Expired"):
		return False  # used up, refunded or cancelled meanwhile
	for line in posting.lines.values():
		if not posting.states[line.name].is_expired:
			posting.apply(line.name, engine.Expire())
		if get_settings().recognize_breakage and not line.upon_purchase:
			posting.apply(line.name, engine.Break())
	if not posting.entries:
		return False
	posting.redate(breakage_date(name, locked.company, locked.expiry_date))
	book_expiry(posting, name)
	return True


def breakage_date(name: str, company: str, expiry_date):
	"""The day after expiry; the day of the balance's latest movement if that is later (value that
	came back after expiry, by a return); and never inside a frozen or closed period."""
	Entry = DocType("Package Ledger Entry")
	latest = (
		frappe.qb.from_(Entry)
		.select(Max(Entry.posting_date))
		.where(Entry.package_balance == name)
		.where(Entry.is_cancelled == 0)
		.run()
	)[0][0]
	natural = getdate(add_days(expiry_date, 1))
	return first_open_date(company, max(natural, getdate(latest)) if latest else natural)


def book_expiry(posting: LedgerPosting, name: str) -> None:
	posting.post_journal(_("Breakage of expired package balance {0}").format(name), package_balance=name)
	posting.write()


def extend_balance(doc, new_expiry, reason: str) -> dict:
	"""Move a balance's expiry later (doc locked by the caller); breakage already posted is reversed.

	The whitelisted entry point, with its permission checks, is api.balances.extend_expiry.
	"""
	validate_extension(doc, new_expiry, reason)

	# the balance's expiry and breakage leave the ledger, their Journal Entries cancelled (reversed
	# where they lie in a locked period)
	undone = package_ledger.live_entries(package_balance=doc.name, event=[EXPIRY, BREAKAGE])
	breakage_entries = sorted({row.journal_entry for row in undone if row.journal_entry})
	cancel_entries(undone, nowdate(), doc.company, kind=CANCEL_EXTENSION)

	extension = doc.append(
		"extensions",
		{
			"previous_expiry_date": doc.expiry_date,
			"new_expiry_date": new_expiry,
			"reason": reason,
			"extended_by": frappe.session.user,
			"extended_on": now_datetime(),
			"reversed_breakage_journal_entry": breakage_entries[-1] if breakage_entries else None,
		},
	)
	extension.db_insert()
	Balance = DocType("Package Balance")
	frappe.qb.update(Balance).set(Balance.expiry_date, new_expiry).set(Balance.expiry_error, None).set(
		Balance.modified, now_datetime()
	).where(Balance.name == doc.name).run()
	status = frappe.db.get_value("Package Balance", doc.name, "status")
	return {"name": doc.name, "status": status, "expiry_date": str(new_expiry)}


def validate_extension(doc, new_expiry, reason: str):
	if doc.status not in ("Active", "Awaiting Payment", "Expired"):
		frappe.throw(
			_("Package balance {0} is {1}; only active or expired balances can be extended").format(
				frappe.bold(doc.name), _(doc.status)
			),
			PackageValidityError,
		)
	if not (reason or "").strip():
		frappe.throw(
			_("Give a reason for extending package balance {0}").format(frappe.bold(doc.name)),
			PackageValidityError,
		)
	if doc.expiry_date and new_expiry <= getdate(doc.expiry_date):
		frappe.throw(
			_("The new expiry date {0} must be later than the current one, {1}").format(
				frappe.bold(frappe.format(new_expiry, "Date")),
				frappe.bold(frappe.format(doc.expiry_date, "Date")),
			),
			PackageValidityError,
		)
	if new_expiry < getdate(nowdate()):
		frappe.throw(
			_("The new expiry date {0} is in the past").format(
				frappe.bold(frappe.format(new_expiry, "Date"))
			),
			PackageValidityError,
		)
