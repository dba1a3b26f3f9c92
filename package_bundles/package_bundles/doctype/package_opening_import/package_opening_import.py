# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from package_bundles.flows import import_opening


class PackageOpeningImport(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from package_bundles.package_bundles.doctype.package_opening_import_line.package_opening_import_line import (
			PackageOpeningImportLine,
		)

		amended_from: DF.Link | None
		company: DF.Link
		journal_entry: DF.Link | None
		lines: DF.Table[PackageOpeningImportLine]
		opening_account: DF.Link | None
		posting_date: DF.Date
		remarks: DF.SmallText | None
		total_units_left: DF.Float
		total_value_left: DF.Currency
	# end: auto-generated types

	def validate(self):
		import_opening.validate_import(self)

	def on_submit(self):
		import_opening.submit_import(self)

	def before_cancel(self):
		import_opening.check_import_cancel(self)

	def on_cancel(self):
		import_opening.cancel_import(self)
