"""POS Invoice doc_events: the POS page's invoices sell and redeem exactly like Sales Invoices.

No Sales Order or Delivery Note bills through a POS Invoice, so only flows.invoice and
flows.pay run here; flows.upgrade refuses an upgrade's credit row (a Sales Invoice sells the upgrade).
"""

from package_bundles.flows import invoice, pay, upgrade


def before_validate(doc, method=None):
	upgrade.before_validate(doc, method)
	invoice.before_validate(doc, method)


def validate(doc, method=None):
	invoice.validate(doc, method)
	upgrade.check_returns(doc, method)


def on_submit(doc, method=None):
	invoice.on_submit(doc, method)


def before_cancel(doc, method=None):
	invoice.before_cancel(doc, method)


def on_cancel(doc, method=None):
	invoice.on_cancel(doc, method)


def on_change(doc, method=None):
	pay.refresh_sold_balances(doc, method)
