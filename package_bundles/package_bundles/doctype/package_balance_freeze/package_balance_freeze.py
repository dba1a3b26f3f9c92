# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""A freeze of a package balance (issue 20): behaviour in package_bundles/flows/freeze.py, date rules
in engine/freeze.py, early unfreeze through package_bundles.api.unfreeze."""

from frappe.model.document import Document

from package_bundles.flows import freeze


class PackageBalanceFreeze(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		amended_from: DF.Link | None
		company: DF.Link | None
		customer: DF.Link | None
		customer_name: DF.Data | None
		days_given_back: DF.Int
		expiry_after_unfreeze: DF.Date | None
		from_date: DF.Date
		frozen_days: DF.Int
		new_expiry_date: DF.Date | None
		package_balance: DF.Link
		prepaid_package: DF.Link | None
		previous_expiry_date: DF.Date | None
		reason: DF.SmallText
		to_date: DF.Date
		unfrozen_at: DF.Datetime | None
		unfrozen_by: DF.Link | None
		unfrozen_on: DF.Date | None
	# end: auto-generated types

	def validate(self):
		freeze.validate_freeze(self)

	def before_submit(self):
		freeze.check_freeze(self)

	def on_submit(self):
		freeze.submit_freeze(self)

	def on_cancel(self):
		freeze.cancel_freeze(self)
