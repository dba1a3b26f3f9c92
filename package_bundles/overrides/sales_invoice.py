"""Sales Invoice doc_events: a package sold, redeemed, returned or refunded (package_bundles.flows).

flows.invoice tells the cases apart; flows.orders keeps ERPNext's billing of Sales Orders and
Delivery Notes right about redeemed rows; flows.pay keeps balances in step with what the
purchase invoice still owes; flows.appointments puts Frappe Health's Fee Validity first and keeps
money paid at booking (it returns at once on an invoice that bills no Patient Appointment);
flows.consumables puts a Clinical Procedure's consumables a package holds on rows of their own
and flows.therapy refuses billing as one item a Therapy Plan billed by its sessions (both return
at once on an invoice without Health's rows); flows.upgrade sets an upgrade's credit row first (before
anything plans), checks it (at submit under lock, before ERPNext posts), records the old balance's Upgrade once the new package's balances exist,
and unlinks them on cancel, after flows.invoice restored the old balance (it returns at once on an
invoice without a credit row). The flows are called through their modules so a test can wrap them.
"""

from package_bundles.flows import appointments, consumables, invoice, orders, pay, therapy, upgrade


def before_validate(doc, method=None):
	upgrade.before_validate(doc, method)
	appointments.before_planning(doc)
	consumables.split_covered_consumables(doc)
	invoice.before_validate(doc, method)
	# "Maintain Same Rate" compares charged rows with their order, not redeemed ones
	orders.compare_charged_rates_only(doc, method)


def validate(doc, method=None):
	invoice.validate(doc, method)
	upgrade.validate(doc, method)
	upgrade.check_returns(doc, method)
	therapy.check_plan_rows(doc)
	consumables.check_stock(doc)


def before_submit(doc, method=None):
	upgrade.before_submit(doc, method)
	orders.count_redeemed_rows_as_billed(doc, method)


def on_submit(doc, method=None):
	invoice.on_submit(doc, method)
	upgrade.on_submit(doc, method)
	appointments.keep_booking_payments(doc)
	orders.update_delivery_notes_billed(doc, method)


def before_cancel(doc, method=None):
	invoice.before_cancel(doc, method)
	orders.count_redeemed_rows_as_billed(doc, method)


def on_cancel(doc, method=None):
	invoice.on_cancel(doc, method)
	upgrade.on_cancel(doc, method)
	orders.update_delivery_notes_billed(doc, method)


def on_change(doc, method=None):
	# ERPNext sets the status (db_set runs on_change) wherever it recomputes the outstanding
	pay.refresh_sold_balances(doc, method)
