# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

import frappe
from frappe.utils import add_days, nowdate

from package_bundles.exceptions import PackageItemError, PackageValidityError
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import (
	COMPANY,
	DEFERRED,
	KIT,
	LAB,
	PRICE_LIST,
	VISIT,
	make_package,
	set_price,
)

test_ignore = IGNORED_TEST_RECORDS


class TestPrepaidPackage(PackageTestCase):
	def test_worked_example_allocation(self):
		package = make_package()
		self.assertEqual(package.default_price, 800)
		self.assertEqual(package.package_price, 720)
		by_item = {row.item_code: row for row in package.items}
		self.assertEqual([by_item[VISIT].rate, by_item[KIT].rate, by_item[LAB].rate], [150, 80, 60])
		self.assertEqual(by_item[VISIT].allocated_amount, 540)
		self.assertEqual(by_item[VISIT].allocated_rate, 135)
		self.assertEqual(by_item[KIT].allocated_amount, 72)
		self.assertEqual(by_item[LAB].allocated_amount, 108)
		self.assertEqual(by_item[LAB].allocated_rate, 54)
		self.assertEqual(sum(row.allocated_amount for row in package.items), 720)
		self.assertEqual([by_item[VISIT].taxable, by_item[KIT].taxable, by_item[LAB].taxable], [0, 1, 0])
		self.assertEqual(package.taxable_amount, 72)
		self.assertIn("4 x Office Visit", package.description)

	def test_price_defaults_to_default_price(self):
		package = make_package(name="Two Visits", items=[(VISIT, 2)], price=None)
		self.assertEqual(package.package_price, 300)
		self.assertEqual(package.items[0].allocated_amount, 300)

	def test_sales_item_is_kept_in_sync(self):
		package = make_package()
		item = frappe.get_doc("Item", package.item)
		self.assertEqual(item.item_group, "Packages")
		self.assertEqual(item.is_stock_item, 0)
		self.assertEqual(item.item_defaults[0].income_account, DEFERRED)
		price = frappe.db.get_value(
			"Item Price", {"item_code": package.item, "price_list": PRICE_LIST}, "price_list_rate"
		)
		self.assertEqual(price, 720)

		package.package_price = 700
		package.save()
		price = frappe.db.get_value(
			"Item Price", {"item_code": package.item, "price_list": PRICE_LIST}, "price_list_rate"
		)
		self.assertEqual(price, 700)
		self.assertEqual(sum(row.allocated_amount for row in package.items), 700)

	def test_rates_follow_the_price_list(self):
		set_price(LAB, 70)
		package = make_package(name="Labs", items=[(LAB, 2)], price=None)
		self.assertEqual(package.items[0].rate, 70)
		self.assertEqual(package.default_price, 140)

	def test_zero_rates_split_by_quantity(self):
		set_price(LAB, 0)
		set_price(VISIT, 0)
		package = make_package(name="Free Standard", items=[(VISIT, 3), (LAB, 1)], price=100)
		self.assertEqual([row.allocated_amount for row in package.items], [75, 25])

	def test_bad_input_is_refused_and_nothing_is_written(self):
		make_package()
		before = self.count_documents("Prepaid Package", "Item", "Item Price")
		cases = [
			("no items", {"items": []}, PackageItemError),
			("zero qty", {"items": [{"item_code": VISIT, "qty": 0}]}, PackageItemError),
			("negative qty", {"items": [{"item_code": VISIT, "qty": -1}]}, PackageItemError),
			("fractional Nos", {"items": [{"item_code": VISIT, "qty": 1.5}]}, PackageItemError),
			(
				"duplicate",
				{"items": [{"item_code": VISIT, "qty": 1}, {"item_code": VISIT, "qty": 2}]},
				PackageItemError,
			),
			(
				"package inside package",
				{"items": [{"item_code": "Postpartum Care", "qty": 1}]},
				PackageItemError,
			),
			(
				"negative price",
				{"items": [{"item_code": VISIT, "qty": 1}], "package_price": -5},
				frappe.ValidationError,
			),
			(
				"two validities",
				{"items": [{"item_code": VISIT, "qty": 1}], "valid_for_days": 30, "valid_for_months": 1},
				PackageValidityError,
			),
			(
				"past expiry",
				{"items": [{"item_code": VISIT, "qty": 1}], "expiry_date": add_days(nowdate(), -1)},
				PackageValidityError,
			),
		]
		for label, values, exception in cases:
			with self.subTest(label):
				doc = frappe.get_doc(
					{
						"doctype": "Prepaid Package",
						"package_name": f"Bad {label}",
						"company": COMPANY,
						"selling_price_list": PRICE_LIST,
						**values,
					}
				)
				with self.assertRaises(exception) as caught:
					doc.insert()
				self.assertTrue(str(caught.exception))
				self.assertEqual(self.count_documents("Prepaid Package", "Item", "Item Price"), before)

	def test_package_manager_can_create_and_sales_user_can_only_read(self):
		from frappe.permissions import has_permission

		user = make_user("pkt-manager@example.com", ["Package Manager", "Stock User"])
		self.assertTrue(has_permission("Prepaid Package", "create", user=user))
		clerk = make_user("pkt-clerk@example.com", ["Sales User"])
		self.assertTrue(has_permission("Prepaid Package", "read", user=clerk))
		self.assertFalse(has_permission("Prepaid Package", "create", user=clerk))
		self.assertFalse(has_permission("Package Balance", "write", user=clerk))
		self.assertFalse(has_permission("Package Balance", "create", user=user))


def make_user(email: str, roles: list[str]) -> str:
	if not frappe.db.exists("User", email):
		frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": email.split("@")[0], "send_welcome_email": 0}
		).insert(ignore_permissions=True)
	user = frappe.get_doc("User", email)
	user.add_roles(*roles)
	return email
