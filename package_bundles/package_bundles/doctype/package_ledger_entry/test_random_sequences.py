# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""SPEC §4.7: random sequences of ERPNext actions; after every one, invariants 2-6 hold.

A fixed list of seeds, each a sequence of actions a practice takes: sell (both recognition
modes, both breakage methods: one package recognizes expected breakage with each use, issue 21;
one to three instances, paid fully, partly or not), pay, redeem (rows split across
balances), cancel and amend invoices and credit notes, return parts of redemptions (several
credit notes per row), refund instances (the unused-refund setting on and off), run the
expiry job (breakage on and off) and extend expired balances; and what an accountant and the
till add (issue 16): allocate an advance through Payment Reconciliation, take a payment off an
invoice with Unreconcile Payment, raise a debit note against a redemption, move the books'
frozen date forward, cancel an invoice from its form through the desk's Cancel All, sell and
redeem at the till then close it, and bring in opening balances; and (issue 20) share a balance
with the other customer, stop sharing it, and invoice a sharer, who redeems from it; transfer a
balance's unused units to the other customer and cancel the transfer. After every
action the package
ledger, the Package Deferred Revenue report and the GL agree on every deferred account (of
the till's company too), every voucher's GL is balanced, no units are negative, the stored
state equals the state the ledger derives, no Journal Entry of the app is dated inside the
frozen period, and a balance is Active only while its purchase invoice is paid. A balance traded up (issue 20) is credited on
an invoice selling another package, and that invoice is cancelled (also from its form) or amended
like any other. A refused action must be one the app or ERPNext refuses on purpose; an
app refusal happens before anything is written.
"""

import os
import random
from collections import Counter
from unittest.mock import patch

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, flt, getdate, nowdate

from package_bundles import api, engine
from package_bundles.exceptions import BalanceStateError, PackageError
from package_bundles.flows import expire
from package_bundles.flows import freeze as freeze_flow
from package_bundles.ledger import closing
from package_bundles.package_bundles.doctype.package_balance.test_desk_cancel import (
	FORM_IGNORES,
	cancel_from_form,
	listed_by_dialog,
)
from package_bundles.package_bundles.doctype.package_balance.test_point_of_sale import pos_invoice
from package_bundles.setup.install import make_upgrade_credit_item, upgrade_credit_item
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	clear_app_caches,
	invariant_problems,
)
from package_bundles.tests.fixtures import (
	CASH,
	COMPANY,
	CUSTOMER,
	DEBTORS,
	KIT,
	LAB,
	OTHER_CUSTOMER,
	POS_COMPANY,
	VISIT,
	make_invoice,
	make_package,
	make_till,
	open_till,
	pay,
	reset_settings,
)

test_ignore = IGNORED_TEST_RECORDS


def seeds_to_run() -> tuple[int, ...]:
	"""The fixed seeds 1-60; PACKAGE_BUNDLES_SEEDS="7" or "1-5" replays some while debugging."""
	chosen = os.environ.get("PACKAGE_BUNDLES_SEEDS")
	if not chosen:
		return tuple(range(1, 61))
	first, _, last = chosen.partition("-")
	return tuple(range(int(first), int(last or first) + 1))


SEEDS = seeds_to_run()
ACTIONS_PER_SEED = 30
CUSTOMERS = (CUSTOMER, OTHER_CUSTOMER)


def fingerprint() -> tuple:
	"""What an action can write: ledger, journal entries, GL, balances, logs."""
	counts = [
		frappe.db.sql(f"select count(*) from `tab{doctype}`")[0][0]
		for doctype in (
			"Package Ledger Entry",
			"Journal Entry",
			"GL Entry",
			"Package Balance",
			"Package Redemption",
		)
	]
	live = frappe.db.sql("select sum(deferred_change) from `tabPackage Ledger Entry` where is_cancelled = 0")
	return (*counts, live[0][0])


class Practice:
	"""One seeded sequence of actions on a bench."""

	def __init__(self, seed: int, packages: dict, stats: Counter):
		self.seed = seed
		self.random = random.Random(seed)
		self.packages = packages
		self.stats = stats
		self.invoices: list[str] = []
		self.opening_balances: list[str] = []
		# balances a transfer made for the receiving customer (issue 20)
		self.received_balances: list[str] = []
		self.log: list[str] = []

	def run(self, steps: int):
		actions = [
			(self.sell, 3),
			(self.pay, 1),
			(self.redeem, 5),
			(self.cancel, 2),
			(self.amend, 1),
			(self.return_part, 3),
			(self.refund, 2),
			(self.expire, 2),
			(self.extend, 2),
			(self.unpay, 1),
			(self.cancel_app_journal_entry, 1),
			(self.reconcile_advance, 2),
			(self.unreconcile_payment, 1),
			(self.debit_note, 1),
			(self.freeze_books, 1),
			(self.cancel_from_desk, 2),
			(self.day_at_the_till, 1),
			(self.import_opening_balances, 1),
			(self.upgrade, 2),
			(self.cancel_upgrade, 1),
			(self.freeze, 2),
			(self.unfreeze, 1),
			(self.share, 2),
			(self.unshare, 1),
			(self.transfer, 2),
			(self.cancel_transfer, 1),
		]
		population = [action for action, weight in actions for _ in range(weight)]
		for step in range(steps):
			if step == steps // 3:
				# issue 22: the past month ends are snapshotted a third of the way in, so the
				# back-dated actions after it are carried into them (checked after every action)
				built = closing.build_closings(COMPANY, commit=False)
				self.log.append(
					f"{step}: month ends snapshotted: {[outcome['period_end'] for outcome in built]}"
				)
			action = self.random.choice(population)
			self.attempt(step, action)
			problems = invariant_problems() + self.books_problems()
			if action == self.day_at_the_till:
				problems += invariant_problems(POS_COMPANY)
			if problems:
				raise AssertionError(
					f"seed {self.seed}, after step {step} ({self.log[-1]}):\n"
					+ "\n".join(problems)
					+ "\nsteps:\n"
					+ "\n".join(self.log)
				)

	def attempt(self, step: int, action):
		savepoint = f"step_{step}"
		self.step_started = frappe.db.sql("select now(6)")[0][0]
		# an action of several documents may be refused at a later one, after the first were written
		self.app_refusal_is_early = action != self.day_at_the_till
		frappe.db.savepoint(savepoint)
		before = fingerprint()
		try:
			description = action()
		except (frappe.ValidationError, frappe.LinkExistsError) as error:
			kind = type(error).__name__
			if isinstance(error, BalanceStateError):
				raise AssertionError(
					f"seed {self.seed} step {step}: state broke an invariant: {error}"
				) from error
			if isinstance(error, PackageError) and getattr(self, "app_refusal_is_early", True):
				after = fingerprint()
				if after != before:
					raise AssertionError(
						f"seed {self.seed} step {step}: {kind} refused after writing {before} -> {after}: {error}\n"
						+ "\n".join(self.log)
					) from error
			frappe.db.rollback(save_point=savepoint)
			clear_app_caches()
			self.stats[f"{action.__name__}: refused ({kind})"] += 1
			self.log.append(
				f"{step}: {action.__name__} refused: {kind}: {frappe.utils.strip_html(str(error))[:160]}"
			)
			return
		frappe.db.release_savepoint(savepoint)
		self.stats[f"{action.__name__}: {'done' if description else 'nothing to do'}"] += 1
		self.log.append(f"{step}: {description or action.__name__ + ' (nothing to do)'}")

	# --- actions -------------------------------------------------------------------------

	def pick(self, candidates):
		return self.random.choice(candidates) if candidates else None

	def submitted(self, **filters) -> list[str]:
		names = frappe.get_all(
			"Sales Invoice",
			filters={"name": ("in", self.invoices or [""]), "docstatus": 1, **filters},
			pluck="name",
			order_by="name asc",
		)
		return names

	def sell(self):
		package = self.packages[self.random.choice(["Random Care", "Random Prepaid", "Random Proportional"])]
		qty = self.random.randint(1, 3)
		days_ago = self.random.choice([0, 40])
		customer = self.random.choice(CUSTOMERS)
		invoice = make_invoice(
			[(package.item, qty)], customer=customer, posting_date=add_days(nowdate(), -days_ago)
		)
		self.invoices.append(invoice.name)
		payment = self.random.choice(["full", "full", "full", "partly", "none"])
		if payment == "full":
			pay(invoice)
		elif payment == "partly":
			pay(invoice, amount=flt(invoice.grand_total / 2, 2))
		return (
			f"sell {qty} x {package.name} to {customer} {days_ago} days ago ({invoice.name}), paid {payment}"
		)

	def unpaid_invoice(self):
		"""An invoice that still owes, and what the patient pays now: all of it, or half."""
		name = self.pick(self.submitted(is_return=0, outstanding_amount=(">", 0)))
		if not name:
			return None, None
		invoice = frappe.get_doc("Sales Invoice", name)
		amount = (
			invoice.outstanding_amount
			if self.random.random() < 0.7
			else flt(invoice.outstanding_amount / 2, 2)
		)
		return invoice, amount

	def pay(self):
		invoice, amount = self.unpaid_invoice()
		if not invoice:
			return None
		name = invoice.name
		pay(invoice, amount=amount)
		return f"pay {amount} on {name}"

	def redeem(self):
		live = frappe.get_all(
			"Package Balance",
			filters={"name": ("in", self.balances() or [""]), "status": "Active"},
			fields=["name", "customer", "purchase_date", "expiry_date"],
			order_by="name asc",
		)
		if live and self.random.random() < 0.8:
			# a patient who holds a package comes in for what it covers, on a day it is valid
			balance = self.random.choice(live)
			customer = balance.customer
			sharers = frappe.get_all(
				"Package Balance Sharer",
				filters={"parent": balance.name},
				pluck="customer",
				order_by="idx asc",
			)
			if sharers and self.random.random() < 0.5:
				customer = self.random.choice(sharers)  # a household member uses the shared balance
			items = frappe.get_all(
				"Package Balance Item",
				filters={"parent": balance.name},
				pluck="item_code",
				order_by="idx asc",
			)
			valid_today = not balance.expiry_date or getdate(balance.expiry_date) >= getdate(nowdate())
			posting_date = nowdate() if valid_today and self.random.random() < 0.7 else balance.purchase_date
		else:
			customer = self.random.choice(CUSTOMERS)
			items = [VISIT, VISIT, LAB, KIT]
			posting_date = add_days(nowdate(), -self.random.choice([0, 0, 35]))
		rows = []
		for _ in range(self.random.randint(1, 2)):
			row = {"item_code": self.random.choice(items), "qty": self.random.randint(1, 4)}
			if self.random.random() < 0.1:
				row["skip_package_redemption"] = 1
			rows.append(row)
		invoice = make_invoice(rows, customer=customer, posting_date=posting_date)
		self.invoices.append(invoice.name)
		redeemed = sum(1 for row in invoice.items if row.package_balance)
		return f"invoice {invoice.name} for {customer} on {posting_date}: {[(r['item_code'], r['qty']) for r in rows]}, {redeemed} rows redeemed"

	def cancel(self):
		name = self.pick(self.submitted())
		if not name:
			return None
		frappe.get_doc("Sales Invoice", name).cancel()
		return f"cancel {name}"

	def amend(self):
		name = self.pick(self.submitted_or_cancelled(docstatus=2))
		if not name:
			return None
		original = frappe.get_doc("Sales Invoice", name)
		amended = frappe.copy_doc(original)
		amended.amended_from = original.name
		amended.docstatus = 0
		for row in amended.items:
			row.package_balance = None
		amended.insert(ignore_permissions=True)
		amended.submit()
		self.invoices.append(amended.name)
		return f"amend {name} as {amended.name}"

	def submitted_or_cancelled(self, docstatus):
		amended = set(
			frappe.get_all("Sales Invoice", filters={"amended_from": ("is", "set")}, pluck="amended_from")
		)
		names = frappe.get_all(
			"Sales Invoice",
			filters={"name": ("in", self.invoices or [""]), "docstatus": docstatus, "is_return": 0},
			pluck="name",
			order_by="name asc",
		)
		return [name for name in names if name not in amended]

	def return_part(self):
		redemptions = frappe.get_all(
			"Sales Invoice Item",
			filters={"parent": ("in", self.submitted(is_return=0) or [""]), "package_balance": ("is", "set")},
			pluck="parent",
			distinct=True,
			order_by="parent asc",
		)
		name = self.pick(redemptions)
		if not name:
			return None
		credit_note = make_sales_return(name)
		returnable = [row for row in credit_note.items if abs(flt(row.qty)) >= 1]
		kept = [row for row in returnable if self.random.random() < 0.7] or returnable[:1]
		if not kept:
			return None
		credit_note.items = kept
		for row in credit_note.items:
			row.qty = -self.random.randint(1, int(abs(row.qty)))
		credit_note.insert()
		credit_note.submit()
		self.invoices.append(credit_note.name)
		return f"credit note {credit_note.name} against {name}: {[(r.item_code, r.qty) for r in credit_note.items]}"

	def refund(self):
		package_items = {package.item for package in self.packages.values()}
		purchases = frappe.get_all(
			"Sales Invoice Item",
			filters={
				"parent": ("in", self.submitted(is_return=0) or [""]),
				"item_code": ("in", sorted(package_items)),
			},
			pluck="parent",
			distinct=True,
			order_by="parent asc",
		)
		name = self.pick(purchases)
		if not name:
			return None
		allow = self.random.random() < 0.5
		reset_settings(allow_unused_refund=int(allow))
		credit_note = make_sales_return(name)
		credit_note.items = [row for row in credit_note.items if abs(flt(row.qty)) >= 1]
		if not credit_note.items:
			return None
		one_per_row = self.random.random() < 0.5
		for row in list(credit_note.items):
			instances = int(abs(row.qty))
			first = self.random.randint(1, instances)
			if one_per_row:
				# each instance on a row of its own, as the app asks for partly used ones
				row.qty = -1
				for _ in range(first - 1):
					credit_note.append("items", row.as_dict(no_default_fields=True)).qty = -1
				continue
			row.qty = -first
			if first < instances and self.random.random() < 0.5:
				second = credit_note.append("items", row.as_dict(no_default_fields=True))
				second.qty = -self.random.randint(1, instances - first)
		credit_note.insert()
		credit_note.submit()
		self.invoices.append(credit_note.name)
		return f"refund {credit_note.name} against {name} (unused refund {'on' if allow else 'off'}): {[r.qty for r in credit_note.items]}"

	def expire(self):
		breakage = self.random.random() < 0.7
		reset_settings(recognize_breakage=int(breakage))
		outcome = expire.expire_balances()
		if outcome["failed"]:
			raise AssertionError(f"seed {self.seed}: the expiry job failed on {outcome['failed']}")
		return f"expiry job (breakage {'on' if breakage else 'off'}): {len(outcome['expired'])} expired"

	def unpay(self):
		payments = frappe.get_all(
			"Payment Entry Reference",
			filters={"reference_name": ("in", self.invoices or [""]), "docstatus": 1},
			pluck="parent",
			distinct=True,
			order_by="parent asc",
		)
		name = self.pick(payments)
		if not name:
			return None
		frappe.get_doc("Payment Entry", name).cancel()
		return f"cancel payment {name}"

	def balances(self) -> list[str]:
		"""The balances this sequence sold or brought in."""
		sold = frappe.get_all(
			"Package Balance",
			filters={"sales_invoice": ("in", self.invoices or [""])},
			pluck="name",
			order_by="name asc",
		)
		return sold + self.opening_balances + self.received_balances

	# --- the accountant's actions (issue 16) ----------------------------------------------

	def books_problems(self) -> list[str]:
		"""No app posting in the frozen period; a balance is Active only while its purchase is paid."""
		problems = []
		frozen = frappe.db.get_single_value("Accounts Settings", "acc_frozen_upto")
		if frozen:
			problems += [
				f"app Journal Entry {name} dated {date} inside the period frozen till {frozen}"
				for name, date in frappe.db.sql(
					"""select name, posting_date from `tabJournal Entry` where docstatus = 1
					and posting_date <= %s and creation >= %s
					and (ifnull(package_voucher_no, '') != '' or ifnull(package_balance, '') != '')""",
					(frozen, self.step_started),
				)
			]
		problems += [
			f"redemption {name} names {customer} / {used_by}, not its balance's owner / the invoice's customer"
			for name, customer, used_by in frappe.db.sql(
				"""select log.name, log.customer, log.used_by_customer from `tabPackage Redemption` log
				join `tabPackage Balance` balance on balance.name = log.package_balance
				join `tabSales Invoice` invoice on invoice.name = log.sales_invoice
				where log.invoice_type = 'Sales Invoice' and log.creation >= %s
				and (log.customer != balance.customer or log.used_by_customer != invoice.customer)""",
				self.step_started,
			)
		]
		problems += [
			f"redemption {name} of {balance} dated {date}, a day frozen by {frozen}"
			for name, balance, date, frozen in frappe.db.sql(
				"""select log.name, log.package_balance, log.posting_date, freeze.name
				from `tabPackage Redemption` log join `tabPackage Balance Freeze` freeze
				on freeze.package_balance = log.package_balance and freeze.docstatus = 1
				where log.creation >= %s and log.posting_date >= freeze.from_date
				and log.posting_date <= if(freeze.unfrozen_on is null, freeze.to_date,
					date_sub(freeze.unfrozen_on, interval 1 day))""",
				self.step_started,
			)
		]
		problems += [
			f"{name} is Active but its purchase invoice {invoice} owes {outstanding}"
			for name, invoice, outstanding in frappe.db.sql(
				"""select balance.name, balance.sales_invoice, invoice.outstanding_amount
				from `tabPackage Balance` balance join `tabSales Invoice` invoice
				on invoice.name = balance.sales_invoice and balance.invoice_type = 'Sales Invoice'
				where balance.status = 'Active' and invoice.outstanding_amount > 0"""
			)
		]
		return problems

	def reconcile_advance(self):
		"""An advance the patient paid earlier is allocated to an unpaid invoice (Payment Reconciliation)."""
		invoice, amount = self.unpaid_invoice()
		if not invoice:
			return None
		name = invoice.name
		advance = frappe.get_doc(
			{
				"doctype": "Payment Entry",
				"payment_type": "Receive",
				"company": COMPANY,
				"posting_date": invoice.posting_date,
				"party_type": "Customer",
				"party": invoice.customer,
				"paid_from": DEBTORS,
				"paid_to": CASH,
				"paid_amount": amount,
				"received_amount": amount,
				"source_exchange_rate": 1,
				"target_exchange_rate": 1,
				"reference_no": f"ADV-{name}",
				"reference_date": invoice.posting_date,
			}
		)
		advance.insert(ignore_permissions=True)
		advance.submit()
		reconciliation = frappe.new_doc("Payment Reconciliation")
		reconciliation.update(
			{
				"company": COMPANY,
				"party_type": "Customer",
				"party": invoice.customer,
				"receivable_payable_account": DEBTORS,
			}
		)
		reconciliation.get_unreconciled_entries()
		invoices = [row.as_dict() for row in reconciliation.invoices if row.invoice_number == name]
		payments = [row.as_dict() for row in reconciliation.payments if row.reference_name == advance.name]
		reconciliation.allocate_entries(frappe._dict({"invoices": invoices, "payments": payments}))
		reconciliation.reconcile()
		return f"advance {advance.name} of {amount} allocated to {name} by Payment Reconciliation"

	def unreconcile_payment(self):
		"""A payment is taken off an invoice with Unreconcile Payment (it stays on the customer as an advance)."""
		references = frappe.get_all(
			"Payment Entry Reference",
			filters={"reference_name": ("in", self.invoices or [""]), "docstatus": 1},
			fields=["parent", "reference_name"],
			order_by="parent asc, reference_name asc",
		)
		reference = self.pick(references)
		if not reference:
			return None
		unreconcile = frappe.get_doc(
			{
				"doctype": "Unreconcile Payment",
				"company": COMPANY,
				"voucher_type": "Payment Entry",
				"voucher_no": reference.parent,
			}
		)
		unreconcile.add_references()
		unreconcile.allocations = [
			row for row in unreconcile.allocations if row.reference_name == reference.reference_name
		]
		if not unreconcile.allocations:
			return None
		unreconcile.save()
		unreconcile.submit()
		return f"unreconcile {reference.parent} from {reference.reference_name}"

	def debit_note(self):
		"""A supplement charged on a redemption invoice: charged in full, it draws nothing."""
		redemptions = frappe.get_all(
			"Sales Invoice Item",
			filters={"parent": ("in", self.submitted(is_return=0) or [""]), "package_balance": ("is", "set")},
			fields=["parent", "item_code"],
			order_by="parent asc, idx asc",
		)
		redeemed = self.pick(redemptions)
		if not redeemed:
			return None
		original = frappe.db.get_value(
			"Sales Invoice", redeemed.parent, ["customer", "posting_date"], as_dict=True
		)
		before = frappe.db.count("Package Redemption")
		note = make_invoice(
			[{"item_code": redeemed.item_code, "qty": 1}],
			customer=original.customer,
			posting_date=original.posting_date,
			is_debit_note=1,
			return_against=redeemed.parent,
		)
		self.invoices.append(note.name)
		if any(row.package_balance for row in note.items) or frappe.db.count("Package Redemption") != before:
			raise AssertionError(f"seed {self.seed}: debit note {note.name} redeemed from a package")
		return f"debit note {note.name} against {redeemed.parent} for {redeemed.item_code}"

	def freeze_books(self):
		"""The accountant freezes the books up to a later date (never today: the practice works on)."""
		frozen = frappe.db.get_single_value("Accounts Settings", "acc_frozen_upto")
		start = max(getdate(frozen or "1900-01-01"), getdate(add_days(nowdate(), -60)))
		until = getdate(add_days(start, self.random.randint(1, 25)))
		if until >= getdate(nowdate()):
			return None
		frappe.db.set_single_value("Accounts Settings", "acc_frozen_upto", until)
		return f"freeze the books till {until}"

	def cancel_from_desk(self):
		"""An invoice or credit note cancelled from its form: the desk's Cancel All, then Cancel."""
		name = self.pick(self.submitted())
		if not name:
			return None
		# the dialog's Cancel All and the form's Cancel are two requests: when the dialog lists
		# documents, a refused Cancel follows what Cancel All cancelled (and kept)
		self.app_refusal_is_early = not listed_by_dialog(
			"Sales Invoice", name, FORM_IGNORES.get("Sales Invoice", [])
		)
		listed = cancel_from_form("Sales Invoice", name)
		return f"cancel {name} from its form (Cancel All listed {[doc['name'] for doc in listed]})"

	def day_at_the_till(self):
		"""A session at the till: packages sold and visits redeemed on POS Invoices, one cancelled
		from its form, then the till closed (ERPNext consolidates into a Sales Invoice)."""
		from erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry import (
			make_closing_entry_from_opening,
		)

		opening = open_till()
		customer = self.random.choice(CUSTOMERS)
		package = self.packages["Random Till"]
		sold, visits = [], []
		if self.random.random() < 0.6:
			sold.append(pos_invoice(customer, [(package.item, 1)]).name)
		for _ in range(self.random.randint(1, 2)):
			visits.append(pos_invoice(customer, [(VISIT, self.random.randint(1, 2))]).name)
		done = sold + visits
		cancelled = None
		if self.random.random() < 0.3:
			# a visit billed by mistake; a sale once used is refused (the sequences check that elsewhere)
			cancelled = self.random.choice(visits)
			cancel_from_form("POS Invoice", cancelled)
		closing = make_closing_entry_from_opening(opening)
		closing.insert(ignore_permissions=True)
		# ERPNext commits when it consolidates; the sequence must stay one transaction it can roll back
		with patch.object(frappe.db, "commit", lambda *args, **kwargs: None):
			closing.submit()
		return f"till for {customer}: POS Invoices {done}, cancelled {cancelled}, closed by {closing.name}"

	def import_opening_balances(self):
		"""Balances a patient bought in the practice's previous system, brought in with their value."""
		customer = self.random.choice(CUSTOMERS)
		units = self.random.randint(1, 3)
		days_ago = self.random.choice([5, 45])
		expiry_in = self.random.choice([-1, 20, None])
		reference = f"OLD-{self.seed}-{len(self.log)}"
		doc = frappe.get_doc(
			{
				"doctype": "Package Opening Import",
				"company": COMPANY,
				"posting_date": add_days(nowdate(), -self.random.choice([0, 3])),
				"lines": [
					{
						"customer": customer,
						"prepaid_package": "Random Care",
						"original_reference": reference,
						"purchase_date": add_days(nowdate(), -days_ago),
						"expiry_date": add_days(nowdate(), expiry_in) if expiry_in is not None else None,
						"item_code": VISIT,
						"units_left": units,
						"value_left": 125 * units,
					}
				],
			}
		)
		doc.insert()
		doc.submit()
		self.opening_balances += frappe.get_all(
			"Package Balance",
			filters={"customer": customer, "is_opening": 1, "creation": (">=", self.step_started)},
			pluck="name",
			order_by="name asc",
		)
		return f"opening import {doc.name}: {units} visits of {customer} ({reference})"

	def cancel_app_journal_entry(self):
		"""A user tries to cancel a Journal Entry the app posted: always refused."""
		name = self.pick(
			frappe.get_all(
				"Journal Entry",
				filters={"docstatus": 1, "package_voucher_no": ("in", self.invoices or [""])},
				pluck="name",
				order_by="name asc",
			)
		)
		if not name:
			return None
		frappe.get_doc("Journal Entry", name).cancel()
		raise AssertionError(f"seed {self.seed}: Journal Entry {name} of the app was cancelled by hand")

	def extend(self):
		name = self.pick(
			frappe.get_all(
				"Package Balance",
				filters={"status": "Expired", "sales_invoice": ("in", self.invoices or [""])},
				pluck="name",
				order_by="name asc",
			)
		)
		if not name:
			return None
		api.extend_expiry(name, add_days(nowdate(), 30), "Patient was away")
		return f"extend {name}"

	# --- freeze (issue 20): a balance paused for a few days, unfrozen early or cancelled ---------

	def freeze(self):
		live = frappe.get_all(
			"Package Balance",
			filters={
				"name": ("in", self.balances() or [""]),
				"status": ("in", ("Active", "Awaiting Payment")),
			},
			fields=["name", "expiry_date"],
			order_by="name asc",
		)
		balance = self.pick(live)
		if not balance:
			return None
		from_date = getdate(add_days(nowdate(), self.random.choice([0, 0, 1, 3])))
		to_date = getdate(add_days(from_date, self.random.randint(0, 10)))
		frozen = frappe.get_doc(
			{
				"doctype": "Package Balance Freeze",
				"package_balance": balance.name,
				"from_date": from_date,
				"to_date": to_date,
				"reason": "In hospital",
			}
		)
		frozen.insert()
		frozen.submit()
		moved = engine.move_expiry(
			getdate(balance.expiry_date) if balance.expiry_date else None, frozen.frozen_days
		)
		self.check_freeze_on_balance(balance.name, moved)
		return f"freeze {balance.name} from {from_date} to {to_date} ({frozen.name})"

	def unfreeze(self):
		"""End a live freeze early (from today or a day later), or cancel it."""
		live = frappe.get_all(
			"Package Balance Freeze",
			filters={
				"package_balance": ("in", self.balances() or [""]),
				"docstatus": 1,
				"unfrozen_on": ("is", "not set"),
				"to_date": (">=", nowdate()),
			},
			fields=["name", "package_balance", "from_date", "to_date"],
			order_by="name asc",
		)
		frozen = self.pick(live)
		if not frozen:
			return None
		expiry = frappe.db.get_value("Package Balance", frozen.package_balance, "expiry_date")
		if self.random.random() < 0.3:
			doc = frappe.get_doc("Package Balance Freeze", frozen.name)
			doc.cancel()
			taken_back = freeze_flow.period_of(doc).counted_days
			self.check_freeze_on_balance(frozen.package_balance, engine.move_expiry(expiry, -taken_back))
			return f"cancel freeze {frozen.name} of {frozen.package_balance}"
		on_date = add_days(nowdate(), self.random.choice([0, 0, 2]))
		given_back = api.unfreeze(frozen.name, on_date)["days_given_back"]
		self.check_freeze_on_balance(frozen.package_balance, engine.move_expiry(expiry, -given_back))
		return (
			f"unfreeze {frozen.name} of {frozen.package_balance} on {on_date}: {given_back} days given back"
		)

	def check_freeze_on_balance(self, balance: str, expected_expiry):
		"""The balance's expiry moved by exactly the freeze's days, and it keeps the period its freezes say."""
		stored = frappe.db.get_value(
			"Package Balance", balance, ["expiry_date", "frozen_from", "frozen_until"], as_dict=True
		)
		on_record = engine.period_on_record(freeze_flow.live_periods(balance), getdate(nowdate()))
		expected = (on_record.from_date, on_record.last_frozen_day) if on_record else (None, None)
		found = (
			getdate(stored.frozen_from) if stored.frozen_from else None,
			getdate(stored.frozen_until) if stored.frozen_until else None,
		)
		if (
			found != expected
			or (getdate(stored.expiry_date) if stored.expiry_date else None) != expected_expiry
		):
			raise AssertionError(
				f"seed {self.seed}: {balance} keeps {found} expiring {stored.expiry_date}, its freezes say {expected} expiring {expected_expiry}"
			)

	def share(self):
		"""A patient shares a balance with the other customer (household sharing, issue 20)."""
		balance = self.pick(
			frappe.get_all(
				"Package Balance",
				filters={"name": ("in", self.balances() or [""])},
				fields=["name", "customer"],
				order_by="name asc",
			)
		)
		if not balance:
			return None
		customer = self.random.choice([c for c in CUSTOMERS if c != balance.customer] or CUSTOMERS)
		api.add_sharer(balance.name, customer, "Household")
		return f"share {balance.name} of {balance.customer} with {customer}"

	def unshare(self):
		sharer = self.pick(
			frappe.get_all(
				"Package Balance Sharer",
				filters={"parent": ("in", self.balances() or [""])},
				fields=["parent", "customer"],
				order_by="parent asc, customer asc",
			)
		)
		if not sharer:
			return None
		api.remove_sharer(sharer.parent, sharer.customer, "Moved out")
		return f"stop sharing {sharer.parent} with {sharer.customer}"

	# --- upgrade (issue 20): a balance exchanged for another package on the invoice that sells it ---

	def upgrade(self):
		"""A patient trades a balance up: the invoice selling a package carries the balance's credit row."""
		candidates = frappe.get_all(
			"Package Balance",
			filters={
				"name": ("in", self.balances() or [""]),
				"status": ("in", ("Active", "Awaiting Payment", "Expired", "Upgraded")),
			},
			fields=["name", "customer", "status"],
			order_by="name asc",
		)
		# mostly a live one; now and then one the app must refuse
		active = [balance for balance in candidates if balance.status == "Active"]
		balance = self.pick(active if active and self.random.random() < 0.8 else candidates)
		if not balance:
			return None
		# mostly the dearest package: a credit above the new package's price is refused
		choices = ["Random Proportional", "Random Proportional", "Random Care"]
		package = self.packages[self.random.choice(choices)]
		credit_row = {"item_code": upgrade_credit_item(), "qty": 1, "package_upgrade_from": balance.name}
		invoice = make_invoice([(package.item, 1), credit_row], customer=balance.customer)
		self.invoices.append(invoice.name)
		if self.random.random() < 0.7:
			pay(invoice)
		credit = -invoice.items[1].rate
		return f"upgrade {balance.name} to {package.name} on {invoice.name}, credit {credit}"

	def cancel_upgrade(self):
		"""The upgrade invoice cancelled, from its form or not: the old balance comes back."""
		name = self.pick(
			frappe.get_all(
				"Sales Invoice Item",
				filters={
					"parent": ("in", self.submitted(is_return=0) or [""]),
					"package_upgrade_from": ("is", "set"),
				},
				pluck="parent",
				distinct=True,
				order_by="parent asc",
			)
		)
		if not name:
			return None
		if self.random.random() < 0.5:
			frappe.get_doc("Sales Invoice", name).cancel()
			return f"cancel upgrade {name}"
		cancel_from_form("Sales Invoice", name)
		return f"cancel upgrade {name} from its form"

	# --- transfer (issue 20): a balance's unused units given to the other customer -------------

	def transfer(self):
		"""Everything left of a balance, or part of one line, to the other customer; sometimes to
		another cost center (a Journal Entry moves the deferred revenue between the two)."""
		balance = self.pick(
			frappe.get_all(
				"Package Balance",
				filters={
					"name": ("in", self.balances() or [""]),
					"status": ("in", ("Active", "Awaiting Payment", "Expired")),
				},
				fields=["name", "customer"],
				order_by="name asc",
			)
		)
		if not balance:
			return None
		customer = self.random.choice([c for c in CUSTOMERS if c != balance.customer] or CUSTOMERS)
		items = []
		if self.random.random() < 0.5:
			line = self.pick(
				frappe.get_all(
					"Package Balance Item",
					filters={"parent": balance.name, "qty_remaining": (">", 0)},
					fields=["name", "qty_remaining"],
					order_by="idx asc",
				)
			)
			if line:
				items = [{"balance_item": line.name, "qty": self.random.randint(1, int(line.qty_remaining))}]
		doc = frappe.get_doc(
			{
				"doctype": "Package Balance Transfer",
				"from_balance": balance.name,
				"to_customer": customer,
				"reason": "Moving away",
				"items": items,
				"cost_center": self.transfer_cost_center() if self.random.random() < 0.3 else None,
			}
		)
		doc.insert()
		doc.submit()
		self.received_balances.append(doc.to_balance)
		moved = [(row.item_code, row.qty, row.value) for row in doc.items]
		return f"transfer {doc.name}: {balance.name} of {balance.customer} to {customer} as {doc.to_balance}: {moved}, Journal Entry {doc.journal_entry}"

	def transfer_cost_center(self) -> str:
		name = frappe.db.get_value(
			"Cost Center", {"cost_center_name": "PKT Transfer Desk", "company": COMPANY}
		)
		if name:
			return name
		root = frappe.db.get_value(
			"Cost Center", {"company": COMPANY, "is_group": 1, "parent_cost_center": ("is", "not set")}
		)
		return (
			frappe.get_doc(
				{
					"doctype": "Cost Center",
					"cost_center_name": "PKT Transfer Desk",
					"parent_cost_center": root,
					"company": COMPANY,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)

	def cancel_transfer(self):
		"""A transfer cancelled, from its form or not: refused once the receiver used the balance."""
		name = self.pick(
			frappe.get_all(
				"Package Balance Transfer",
				filters={"docstatus": 1, "from_balance": ("in", self.balances() or [""])},
				pluck="name",
				order_by="name asc",
			)
		)
		if not name:
			return None
		if self.random.random() < 0.5:
			frappe.get_doc("Package Balance Transfer", name).cancel()
			return f"cancel transfer {name}"
		cancel_from_form("Package Balance Transfer", name)
		return f"cancel transfer {name} from its form"


def kept_package(name: str, **values):
	"""The sequences' packages are kept on the site between runs, like a practice's catalog."""
	if frappe.db.exists("Prepaid Package", name):
		return frappe.get_doc("Prepaid Package", name)
	return make_package(name=name, **values)


class TestRandomSequences(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_till()
		cls.packages = {
			"Random Care": kept_package(
				name="Random Care", items=[(VISIT, 3), (LAB, 2)], price=500, valid_for_days=30
			),
			"Random Prepaid": kept_package(
				name="Random Prepaid",
				items=[(VISIT, 2), (KIT, 1)],
				price=300,
				revenue_recognition="Upon Purchase",
			),
			# issue 21: expected breakage recognized with each use, trued up at expiry
			"Random Proportional": kept_package(
				name="Random Proportional",
				items=[(VISIT, 4), (LAB, 2)],
				price=600,
				valid_for_days=30,
				breakage_method="Proportional",
				expected_breakage_rate=20,
			),
			# the till is a company of its own (tests/fixtures.make_till)
			"Random Till": kept_package(
				name="Random Till", items=[(VISIT, 3)], price=400, company=POS_COMPANY, valid_for_days=30
			),
		}
		make_upgrade_credit_item()
		frappe.db.commit()

	def test_invariants_hold_after_every_action(self):
		stats = Counter()
		for seed in SEEDS:
			frappe.db.savepoint("seed")
			# an upgrade's credit row has a negative rate, which ERPNext takes only so (rolled back)
			frappe.db.set_single_value("Selling Settings", "allow_negative_rates_for_items", 1)
			seed_started = frappe.utils.now_datetime()
			practice = Practice(seed, self.packages, stats)
			try:
				practice.run(ACTIONS_PER_SEED)
			except Exception:
				print(f"\nseed {seed} failed; its steps:\n" + "\n".join(practice.log))
				raise
			else:
				if os.environ.get("PACKAGE_BUNDLES_SEEDS"):
					print(f"\nseed {seed}:\n" + "\n".join(practice.log))
			finally:
				# what the seed's proportional balances moved (issue 21), before the seed is rolled back
				for event in ("Breakage With Use", "Breakage With Use Reversal", "Upgrade"):
					stats[f"ledger: {event}"] += frappe.db.count(
						"Package Ledger Entry", {"event": event, "creation": (">=", seed_started)}
					)
				# issue 20: redemptions a sharer made from another customer's balance
				stats["ledger: Redeemed by a sharer"] += frappe.db.sql(
					"""select count(*) from `tabPackage Redemption`
					where creation >= %s and used_by_customer != customer""",
					seed_started,
				)[0][0]
				# issue 22: back-dated movements carried into the month-end snapshots
				stats["ledger: Carried into a snapshot"] += flt(
					frappe.db.sql(
						"select sum(carried_movements) from `tabPackage Ledger Closing` where company = %s",
						COMPANY,
					)[0][0]
				)
				frappe.db.rollback(save_point="seed")
				reset_settings()
				clear_app_caches()
		ledger_events = {
			outcome: stats.pop(outcome) for outcome in list(stats) if outcome.startswith("ledger: ")
		}
		done = sum(count for outcome, count in stats.items() if outcome.endswith(": done"))
		refused = sum(count for outcome, count in stats.items() if ": refused" in outcome)
		print(
			f"\nrandom sequences: {len(SEEDS)} seeds x {ACTIONS_PER_SEED} actions: {done} done, {refused} refused"
		)
		for outcome, count in sorted(stats.items()):
			print(f"  {outcome}: {count}")
		for outcome, count in sorted(ledger_events.items()):
			print(f"  {outcome}: {count}")
		self.assertEqual(sum(stats.values()), len(SEEDS) * ACTIONS_PER_SEED)
		# the Proportional package was sold and used: breakage moved with use, and was given back
		self.assertGreater(ledger_events["ledger: Breakage With Use"], 0)
		self.assertGreater(ledger_events["ledger: Breakage With Use Reversal"], 0)
		# balances were shared and a sharer's invoice redeemed from one (issue 20)
		self.assertGreater(ledger_events["ledger: Redeemed by a sharer"], 0)
		# balances were frozen, and freezes ended early or cancelled (issue 20)
		self.assertGreater(stats["freeze: done"], 0)
		self.assertGreater(stats["unfreeze: done"], 0)
		# movements dated in snapshotted months were carried into the snapshots (issue 22)
		self.assertGreater(ledger_events["ledger: Carried into a snapshot"], 0)
		# balances were traded up (issue 20)
		self.assertGreater(ledger_events["ledger: Upgrade"], 0)
		# balances were transferred to the other customer, and transfers cancelled (issue 20)
		self.assertGreater(stats["transfer: done"], 0)
		self.assertGreater(stats["cancel_transfer: done"], 0)
		self.assertGreater(done, len(SEEDS) * ACTIONS_PER_SEED // 2)
