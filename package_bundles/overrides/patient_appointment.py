"""Patient Appointment doc_events (Frappe Health, issue 17): a visit a package covers is billed on
booking with nothing to pay (package_bundles.flows.appointments). Registered in hooks.py; the
doctype exists only where Health is installed, so elsewhere these never run."""

from package_bundles.flows import appointments


def after_insert(doc, method=None):
	# after Health's own after_insert, which put the visit's charge in paid_amount
	appointments.bill_covered_booking(doc)
