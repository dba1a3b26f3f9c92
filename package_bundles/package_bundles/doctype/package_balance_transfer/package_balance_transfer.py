# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""A transfer of a package balance's unused units to another customer (issue 20, Transfer).

Behaviour in package_bundles/flows/transfer.py; the values come from the engine's TransferOut and
TransferIn (engine/state.py), written through ledger/posting.py.
"""

from frappe.model.document import Document

from package_bundles.flows import transfer


class PackageBalanceTransfer(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from package_bundles.package_bundles.doctype.package_balance_transfer_item.package_balance_transfer_item import (
			PackageBalanceTransferItem,
		)

		amended_from: DF.Link | None
		company: DF.Link | None
		cost_center: DF.Link | None
		currency: DF.Link | None
		from_balance: DF.Link
		from_customer: DF.Link | None
		from_customer_name: DF.Data | None
		items: DF.Table[PackageBalanceTransferItem]
		journal_entry: DF.Link | None
		prepaid_package: DF.Link | None
		reason: DF.SmallText
		to_balance: DF.Link | None
		to_customer: DF.Link
		to_customer_name: DF.Data | None
		total_value: DF.Currency
		transfer_date: DF.Date | None
	# end: auto-generated types

	def validate(self):
		transfer.validate_transfer(self)

	def on_submit(self):
		transfer.submit_transfer(self)

	def before_cancel(self):
		transfer.check_cancel(self)

	def on_cancel(self):
		transfer.cancel_transfer(self)
