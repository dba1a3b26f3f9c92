# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class PackageReminderLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		company: DF.Link | None
		customer: DF.Link | None
		email_queue: DF.Link | None
		email_template: DF.Link | None
		email_to: DF.Data | None
		expiry_date: DF.Date
		package_balance: DF.Link
		reminder_days: DF.Int
	# end: auto-generated types

	pass


def on_doctype_update():
	# one reminder per balance, expiry date and threshold, even when two runs race
	frappe.db.add_unique(
		"Package Reminder Log",
		["package_balance", "expiry_date", "reminder_days"],
		constraint_name="unique_balance_expiry_reminder",
	)
