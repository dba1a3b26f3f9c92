# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""A month end whose Package Ledger figures are kept as a snapshot (issue 22).

Written by package_bundles.ledger.closing (the monthly job, or build_closings on demand); the
reports read the snapshot through it too.
"""

import frappe
from frappe.model.document import Document


class PackageLedgerClosing(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		build_seconds: DF.Float
		built_on: DF.Datetime | None
		carried_movements: DF.Int
		closing_rows: DF.Int
		company: DF.Link
		period_end: DF.Date
		previous_period_end: DF.Date | None
	# end: auto-generated types

	pass


def on_doctype_update():
	# one snapshot per company and month end, even when two builds race; the reports' lookup
	frappe.db.add_unique(
		"Package Ledger Closing", ["company", "period_end"], constraint_name="unique_company_period_end"
	)
