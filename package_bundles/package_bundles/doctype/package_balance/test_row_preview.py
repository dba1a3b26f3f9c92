# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 19: the redeemed-row preview composes with ERPNext's get_item_details instead of replacing it.

The invoice form and the POS page ask ERPNext (or whichever app overrides it) for a new row's
details, then ask the app (api.preview_row) about the row; the app hooks no override of that
ERPNext method, so another app's override still takes effect, and the row still shows as the
package will redeem it.
"""

import json
from unittest.mock import patch

import frappe

from package_bundles import api
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	ITEM_DETAILS_METHOD,
	LAB,
	VISIT,
	invoice_dict,
	item_details_args,
	make_invoice,
	make_package,
	make_patient,
	pay,
	row_as_the_form_shows,
)

test_ignore = IGNORED_TEST_RECORDS

OTHER_APP_METHOD = (
	"package_bundles.package_bundles.doctype.package_balance.test_row_preview.another_apps_item_details"
)


@frappe.whitelist()
def another_apps_item_details(args, doc=None, for_validate=False, overwrite_warehouse=True):
	"""What a second app (regional, healthcare) hooks in place of ERPNext's get_item_details."""
	from erpnext.stock.get_item_details import get_item_details

	details = get_item_details(args, doc, for_validate, overwrite_warehouse)
	details["description"] = "Answered by another app"
	return details


def with_other_app_override(original_get_hooks):
	def get_hooks(hook=None, default=None, app_name=None):
		hooks = original_get_hooks(hook, default, app_name)
		if hook == "override_whitelisted_methods":
			hooks = frappe._dict(hooks or {})
			hooks[ITEM_DETAILS_METHOD] = [*hooks.get(ITEM_DETAILS_METHOD, []), OTHER_APP_METHOD]
		return hooks

	return get_hooks


class TestRowPreview(PackageTestCase):
	def setUp(self):
		super().setUp()
		self.patient = make_patient(f"PKT Preview Patient {frappe.generate_hash(length=6)}")
		package = make_package("PKT Preview Care")
		purchase = make_invoice([(package.item, 1)], customer=self.patient)
		pay(purchase)
		self.balance = frappe.get_value("Package Balance", {"sales_invoice": purchase.name}, "name")

	def shown(self, invoice: dict) -> dict:
		return row_as_the_form_shows(json.dumps(item_details_args(invoice)), json.dumps(invoice))

	def test_the_app_overrides_no_erpnext_item_details(self):
		overrides = frappe.get_hooks("override_whitelisted_methods") or {}
		self.assertNotIn(ITEM_DETAILS_METHOD, overrides)
		self.assertEqual(frappe.override_whitelisted_method(ITEM_DETAILS_METHOD), ITEM_DETAILS_METHOD)

	def test_a_covered_row_shows_at_rate_0_naming_its_balance(self):
		row = self.shown(invoice_dict(self.patient))
		self.assertEqual(row["package_balance"], self.balance)
		self.assertEqual((row["rate"], row["price_list_rate"], row["is_free_item"]), (0, 0, 1))
		self.assertEqual(row["package_list_rate"], 150)
		self.assertEqual(row["item_code"], VISIT)  # ERPNext's answer underneath

	def test_a_row_covered_only_in_part_stays_as_erpnext_priced_it(self):
		row = self.shown(invoice_dict(self.patient, item_code=LAB, qty=3))  # the package holds 2 labs
		self.assertNotIn("package_balance", row)
		self.assertEqual(row["price_list_rate"], 60)
		self.assertFalse(row.get("is_free_item"))

	def test_a_patient_without_balances_gets_erpnext_answer_alone(self):
		stranger = make_patient(f"PKT Preview Stranger {frappe.generate_hash(length=6)}")
		invoice = invoice_dict(stranger)
		self.assertEqual(api.preview_row(invoice, invoice["items"][0]["name"]), {})
		self.assertEqual(self.shown(invoice)["price_list_rate"], 150)

	def test_another_apps_override_of_item_details_still_takes_effect(self):
		with patch("frappe.get_hooks", with_other_app_override(frappe.get_hooks)):
			self.assertEqual(frappe.override_whitelisted_method(ITEM_DETAILS_METHOD), OTHER_APP_METHOD)
			row = self.shown(invoice_dict(self.patient))
		# the other app's answer, and the package's redemption on top of it
		self.assertEqual(row["description"], "Answered by another app")
		self.assertEqual((row["package_balance"], row["rate"]), (self.balance, 0))

	def test_a_return_or_a_submitted_invoice_previews_nothing(self):
		invoice = invoice_dict(self.patient)
		invoice["is_return"] = 1
		self.assertEqual(api.preview_row(invoice, invoice["items"][0]["name"]), {})
		invoice = invoice_dict(self.patient)
		invoice["docstatus"] = 1
		self.assertEqual(api.preview_row(invoice, invoice["items"][0]["name"]), {})

	def test_a_preview_needs_an_invoice(self):
		with self.assertRaises(frappe.ValidationError):
			api.preview_row({"doctype": "Quotation", "items": []}, "x")
