"""Accounting dimensions captured by balances and redemption logs move from a JSON blob to
ERPNext's Link fields (one per dimension), which follow a renamed dimension value (issue 16).
"""

import json

import frappe
from frappe.query_builder import DocType

from package_bundles.ledger.journal_entries import CAPTURING_DOCTYPES, add_dimension_fields


def execute():
	add_dimension_fields()
	for doctype in CAPTURING_DOCTYPES:
		frappe.clear_cache(doctype=doctype)
		move_captured_dimensions(doctype)


def move_captured_dimensions(doctype: str) -> None:
	"""One update per distinct captured set; a dimension with no field of its own is left out."""
	if not frappe.db.has_column(doctype, "accounting_dimensions"):
		return
	Table = DocType(doctype)
	captured = (
		frappe.qb.from_(Table)
		.select(Table.name, Table.accounting_dimensions)
		.where(Table.accounting_dimensions.isnotnull())
		.where(Table.accounting_dimensions.notin(["", "{}"]))
		.orderby(Table.name)
		.run()
	)
	meta = frappe.get_meta(doctype)
	by_values: dict[str, list[str]] = {}
	for name, blob in captured:
		by_values.setdefault(blob, []).append(name)
	for blob, names in by_values.items():
		values = {
			field: value for field, value in json.loads(blob).items() if meta.has_field(field) and value
		}
		if not values:
			continue
		update = frappe.qb.update(Table).where(Table.name.isin(names))
		for field, value in sorted(values.items()):
			update = update.set(Table[field], value)
		update.run()
