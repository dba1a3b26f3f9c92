"""Customer: its form's Connections show the app's records (hooks ``override_doctype_dashboards``)."""

from frappe import _


def customer_connections(data: dict) -> dict:
	"""The Customer form's Connections list the patient's package balances and redemptions.

	Both doctypes link the customer by the dashboard's own fieldname, ``customer``.
	"""
	data["transactions"] = [
		*data.get("transactions", []),
		{"label": _("Prepaid Packages"), "items": ["Package Balance", "Package Redemption"]},
	]
	return data
