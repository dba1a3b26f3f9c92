"""Sales Invoice doc_events: a package sold, redeemed, returned or refunded (package_bundles.flows).

flows.invoice tells the cases apart; flows.orders keeps ERPNext's billing of Sales Orders and
Delivery Notes right about redeemed rows; flows.pay keeps balances in step with what the
purchase invoice still owes. The flows are called through their modules so a test can wrap them.
"""

from package_bundles.flows import invoice, orders, pay


def before_validate(doc, method=None):
	invoice.before_validate(doc, method)
	# "Maintain Same Rate" compares charged rows with their order, not redeemed ones
	orders.compare_charged_rates_only(doc, method)


def validate(doc, method=None):
	invoice.validate(doc, method)


def before_submit(doc, method=None):
	orders.count_redeemed_rows_as_billed(doc, method)


def on_submit(doc, method=None):
	invoice.on_submit(doc, method)
	orders.update_delivery_notes_billed(doc, method)


def before_cancel(doc, method=None):
	invoice.before_cancel(doc, method)
	orders.count_redeemed_rows_as_billed(doc, method)


def on_cancel(doc, method=None):
	invoice.on_cancel(doc, method)
	orders.update_delivery_notes_billed(doc, method)


def on_change(doc, method=None):
	# ERPNext sets the status (db_set runs on_change) wherever it recomputes the outstanding
	pay.refresh_sold_balances(doc, method)
