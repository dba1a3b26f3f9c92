# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 16, items 4, 8 and 10: tax inherited through the Item Group tree, orders under
"Maintain Same Rate: Stop", and captured dimensions that follow renames."""

import frappe
from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return
from frappe.utils import add_days, nowdate

from package_bundles.flows import expire
from package_bundles.ledger.journal_entries import add_dimension_fields
from package_bundles.package_bundles.doctype.package_balance.test_point_of_sale import pos_invoice
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	ABBR,
	COMPANY,
	CUSTOMER,
	DEBTORS,
	DEFERRED,
	KIT,
	LAB,
	MAIN_COST_CENTER,
	OTHER_CUSTOMER,
	POS_ABBR,
	POS_COMPANY,
	PRICE_LIST,
	PRODUCT_INCOME,
	SALES_TAX,
	STORES,
	TAXABLE_TEMPLATE,
	VISIT,
	VISIT_INCOME,
	account,
	get_or_make,
	gl_entries,
	make_invoice,
	make_item,
	make_package,
	make_patient,
	make_till,
	open_till,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

ALL_GROUPS = "All Item Groups"
SUPPLEMENTS = "PKT Supplements"
VITAMINS = "PKT Vitamin Pack"
REDUCED_TEMPLATE = f"PKT Reduced 4% - {ABBR}"


def make_supplements():
	"""An item with no template of its own, in a group that will carry one in the tests."""
	get_or_make(
		"Item Tax Template",
		REDUCED_TEMPLATE,
		{"title": "PKT Reduced 4%", "company": COMPANY, "taxes": [{"tax_type": SALES_TAX, "tax_rate": 4}]},
	)
	get_or_make("Item Group", SUPPLEMENTS, {"item_group_name": SUPPLEMENTS, "parent_item_group": ALL_GROUPS})
	make_item(VITAMINS, SUPPLEMENTS, 20, PRODUCT_INCOME, None, is_stock_item=0)


def set_group_template(group: str, template: str, valid_from=None):
	item_group = frappe.get_doc("Item Group", group)
	item_group.append("taxes", {"item_tax_template": template, "valid_from": valid_from})
	item_group.save(ignore_permissions=True)


class TestTaxThroughItemGroups(PackageTestCase):
	"""The package row bears what its components would, whatever ERPNext inherits through the groups."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_supplements()
		frappe.db.commit()

	def tearDown(self):
		super().tearDown()
		# the group templates set here were rolled back; so must be what the caches hold of them
		for group in (ALL_GROUPS, SUPPLEMENTS, "Packages"):
			frappe.clear_document_cache("Item Group", group)
		frappe.clear_document_cache("Item")

	def test_worked_example_keeps_its_tax_under_a_template_on_all_item_groups(self):
		set_group_template(ALL_GROUPS, TAXABLE_TEMPLATE)
		package = make_package()
		invoice = make_invoice([(package.item, 1)])

		self.assertEqual((invoice.net_total, invoice.total_taxes_and_charges), (720, 5.76))
		self.assertEqual(frappe.parse_json(invoice.items[0].item_tax_rate), {SALES_TAX: 0.8})
		self.assertEqual(gl_entries(invoice.name), {DEBTORS: 725.76, DEFERRED: -720.0, SALES_TAX: -5.76})

		# saving the package keeps its template listed on the sales item: the next sale is taxed alike
		package.reload()
		package.save(ignore_permissions=True)
		again = make_invoice([(package.item, 1)])
		self.assertEqual(again.total_taxes_and_charges, 5.76)
		self.assertEqual(invariant_problems(), [])

	def test_a_dated_template_on_the_packages_group_does_not_win_either(self):
		package = make_package()  # makes the Packages group
		set_group_template("Packages", TAXABLE_TEMPLATE, valid_from=add_days(nowdate(), -30))
		invoice = make_invoice([(package.item, 1)])

		self.assertEqual(invoice.total_taxes_and_charges, 5.76)
		self.assertEqual(gl_entries(invoice.name), {DEBTORS: 725.76, DEFERRED: -720.0, SALES_TAX: -5.76})

	def test_components_bear_what_erpnext_keeps_on_their_own_rows(self):
		"""A dated group template pushes out an item's undated own one in ERPNext's validation: the
		exempt visits and labs are then taxed 8% on their own rows, and so in the package."""
		set_group_template(ALL_GROUPS, TAXABLE_TEMPLATE, valid_from=add_days(nowdate(), -30))
		alone = make_invoice(
			[
				{"item_code": VISIT, "qty": 4, "rate": 135, "price_list_rate": 135},
				{"item_code": KIT, "qty": 1, "rate": 72, "price_list_rate": 72},
				{"item_code": LAB, "qty": 2, "rate": 54, "price_list_rate": 54},
			],
			customer=OTHER_CUSTOMER,
			submit=False,
		)
		self.assertEqual(alone.total_taxes_and_charges, 57.6)

		package = make_package()
		invoice = make_invoice([(package.item, 1)])
		self.assertEqual(invoice.total_taxes_and_charges, 57.6)
		self.assertEqual(gl_entries(invoice.name), {DEBTORS: 777.6, DEFERRED: -720.0, SALES_TAX: -57.6})

	def test_a_component_bears_the_rate_of_its_own_item_group(self):
		"""4 vitamin packs at 20 (no template; their group 4%) and 2 visits (exempt), sold for 306."""
		set_group_template(ALL_GROUPS, TAXABLE_TEMPLATE)
		set_group_template(SUPPLEMENTS, REDUCED_TEMPLATE)
		package = make_package(name="Vitamin Care", items=[(VISIT, 2), (VITAMINS, 2)], price=306)
		self.assertEqual([row.allocated_amount for row in package.items], [270, 36])

		alone = make_invoice(
			[{"item_code": VITAMINS, "qty": 2, "rate": 18, "price_list_rate": 18}], submit=False
		)
		self.assertEqual(alone.total_taxes_and_charges, 1.44)

		invoice = make_invoice([(package.item, 1)])
		self.assertEqual(invoice.total_taxes_and_charges, 1.44)
		self.assertEqual(gl_entries(invoice.name), {DEBTORS: 307.44, DEFERRED: -306.0, SALES_TAX: -1.44})

	def test_a_refund_of_such_a_sale_gives_back_the_same_tax(self):
		set_group_template(ALL_GROUPS, TAXABLE_TEMPLATE)
		package = make_package()
		sale = make_invoice([(package.item, 2)])
		self.assertEqual(sale.total_taxes_and_charges, 11.52)

		refund = make_sales_return(sale.name)
		refund.items[0].qty = -1
		refund.insert()
		refund.submit()
		self.assertEqual((refund.total_taxes_and_charges, refund.grand_total), (-5.76, -725.76))
		self.assertEqual(gl_entries(refund.name), {DEBTORS: -725.76, DEFERRED: 720.0, SALES_TAX: 5.76})
		self.assertEqual(invariant_problems(), [])


class TestSameRateStop(PackageTestCase):
	"""Selling Settings "Maintain Same Rate Throughout Sales Cycle" with the action Stop."""

	def setUp(self):
		super().setUp()
		settings = frappe.get_single("Selling Settings")
		settings.update(
			{
				"maintain_same_sales_rate": 1,
				"maintain_same_rate_action": "Stop",
				"role_to_override_stop_action": None,
			}
		)
		settings.flags.ignore_permissions = True
		settings.save()

	def tearDown(self):
		super().tearDown()
		frappe.clear_document_cache("Selling Settings")

	def make_order(self, rows):
		"""rows: (item code, qty, rate): prices set on the order, away from the price list."""
		order = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"company": COMPANY,
				"customer": CUSTOMER,
				"selling_price_list": PRICE_LIST,
				"delivery_date": add_days(nowdate(), 7),
				"transaction_date": nowdate(),
				"items": [
					{"item_code": code, "qty": qty, "rate": rate, "delivery_date": add_days(nowdate(), 7)}
					for code, qty, rate in rows
				],
			}
		).insert(ignore_permissions=True)
		order.submit()
		return order

	def test_an_invoice_from_an_order_redeems_and_submits(self):
		from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=300)
		pay(make_invoice([(package.item, 1)]))
		order = self.make_order([(VISIT, 2, 60)])

		invoice = make_sales_invoice(order.name)
		invoice.insert()
		invoice.submit()
		self.assertEqual([(r.qty, r.rate, bool(r.package_balance)) for r in invoice.items], [(2, 0, True)])
		order.reload()
		self.assertEqual((order.per_billed, order.billing_status), (100, "Fully Billed"))
		self.assertEqual(invariant_problems(), [])

	def test_a_split_row_redeems_its_covered_part_and_charges_the_rest_at_the_order_rate(self):
		from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=300)
		pay(make_invoice([(package.item, 1)]))
		order = self.make_order([(VISIT, 5, 60)])

		invoice = make_sales_invoice(order.name)
		invoice.insert()
		invoice.save()  # saved again as a draft: the charged part keeps the order's rate
		invoice.submit()
		self.assertEqual(
			[(r.qty, r.rate, bool(r.package_balance)) for r in invoice.items], [(3, 0, True), (2, 60, False)]
		)
		self.assertEqual(invoice.grand_total, 120)
		order.reload()
		self.assertEqual((order.per_billed, order.billing_status), (100, "Fully Billed"))
		self.assertEqual(invariant_problems(), [])

	def test_an_invoice_from_a_delivery_note_with_a_split_row_submits(self):
		from erpnext.stock.doctype.delivery_note.delivery_note import make_sales_invoice

		package = make_package(name="One Kit", items=[(KIT, 1)], price=80)
		pay(make_invoice([(package.item, 1)]))
		note = frappe.get_doc(
			{
				"doctype": "Delivery Note",
				"company": COMPANY,
				"customer": CUSTOMER,
				"selling_price_list": PRICE_LIST,
				"set_warehouse": STORES,
				"items": [{"item_code": KIT, "qty": 2, "rate": 70, "warehouse": STORES}],
			}
		).insert(ignore_permissions=True)
		note.submit()

		invoice = make_sales_invoice(note.name)
		invoice.insert()
		invoice.save()
		invoice.submit()
		self.assertEqual(
			[(r.qty, r.rate, bool(r.package_balance)) for r in invoice.items], [(1, 0, True), (1, 70, False)]
		)
		self.assertEqual(gl_entries(invoice.name)[PRODUCT_INCOME], -70.0)
		note.reload()
		self.assertEqual((note.per_billed, note.status), (100, "Completed"))
		self.assertEqual(invariant_problems(), [])

	def test_a_charged_row_at_another_rate_is_still_stopped(self):
		from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=300)
		pay(make_invoice([(package.item, 1)]))
		order = self.make_order([(VISIT, 2, 60), (LAB, 1, 50)])

		invoice = make_sales_invoice(order.name)
		lab = next(row for row in invoice.items if row.item_code == LAB)
		lab.rate = 55
		invoices = frappe.db.count("Sales Invoice")
		with self.assertRaises(frappe.ValidationError) as refusal:
			invoice.insert()
		self.assertIn("Rate must be same as Sales Order", str(refusal.exception))
		self.assertIn("55.0 / 50.0", str(refusal.exception))
		self.assertNotIn("0.0 / 60.0", str(refusal.exception))
		self.assertEqual(frappe.db.count("Sales Invoice"), invoices)


class TestDimensionsFollowRenames(PackageTestCase):
	"""A balance's captured cost center and dimension values are links: a rename follows them."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		if not frappe.db.exists("Accounting Dimension", {"document_type": "Branch"}):
			frappe.get_doc(
				{"doctype": "Accounting Dimension", "document_type": "Branch", "label": "Branch"}
			).insert(ignore_permissions=True)
		add_dimension_fields()
		frappe.db.commit()

	def tearDown(self):
		super().tearDown()
		frappe.flags.accounting_dimensions_details = None
		frappe.flags.link_fields = None

	def dimensions_of(self, journal_entry) -> set:
		return {
			(row.account, row.cost_center, row.branch)
			for row in frappe.get_all(
				"GL Entry",
				filters={"voucher_no": journal_entry, "is_cancelled": 0},
				fields=["account", "cost_center", "branch"],
				order_by="account asc",
			)
		}

	def test_renamed_cost_center_and_branch_post_redemption_return_and_breakage(self):
		from erpnext.accounts.utils import update_cost_center

		for branch in ("PKT East", "PKT West"):
			frappe.get_doc({"doctype": "Branch", "branch": branch}).insert(ignore_permissions=True)
		clinic = frappe.get_doc(
			{
				"doctype": "Cost Center",
				"cost_center_name": "PKT Clinic",
				"parent_cost_center": frappe.db.get_value(
					"Cost Center",
					{"company": COMPANY, "is_group": 1, "parent_cost_center": ("is", "not set")},
				),
				"company": COMPANY,
			}
		).insert(ignore_permissions=True)
		package = make_package(name="Five Day Care", valid_for_days=5)
		purchase = make_invoice(
			[{"item_code": package.item, "qty": 1, "branch": "PKT East", "cost_center": clinic.name}],
			posting_date=add_days(nowdate(), -10),
		)
		pay(purchase)
		[balance] = balances_of(purchase)
		self.assertEqual((balance.cost_center, balance.branch), (clinic.name, "PKT East"))

		renamed_clinic = update_cost_center(clinic.name, "PKT Clinic Renamed", "", COMPANY, False)
		frappe.rename_doc("Branch", "PKT East", "PKT East Wing")
		balance.reload()
		self.assertEqual((balance.cost_center, balance.branch), (renamed_clinic, "PKT East Wing"))

		redemption = make_invoice(
			[{"item_code": VISIT, "qty": 1, "branch": "PKT West"}], posting_date=add_days(nowdate(), -8)
		)
		log = frappe.get_doc("Package Redemption", {"sales_invoice": redemption.name})
		self.assertEqual(
			self.dimensions_of(log.journal_entry),
			{(DEFERRED, renamed_clinic, "PKT East Wing"), (VISIT_INCOME, MAIN_COST_CENTER, "PKT West")},
		)
		self.assertEqual(log.branch, "PKT West")

		frappe.rename_doc("Branch", "PKT West", "PKT West Wing")
		returned = make_sales_return(redemption.name)
		returned.set_posting_time = 1
		returned.posting_date = add_days(nowdate(), -7)
		returned.insert()
		returned.submit()
		return_entry = frappe.db.get_value(
			"Journal Entry", {"package_voucher_no": returned.name, "docstatus": 1}, "name"
		)
		self.assertEqual(
			self.dimensions_of(return_entry),
			{(DEFERRED, renamed_clinic, "PKT East Wing"), (VISIT_INCOME, MAIN_COST_CENTER, "PKT West Wing")},
		)

		expire.expire_balances()
		balance.reload()
		self.assertEqual(balance.status, "Expired")
		self.assertEqual(
			{(row[1], row[2]) for row in self.dimensions_of(balance.breakage_journal_entry)},
			{(renamed_clinic, "PKT East Wing"), (MAIN_COST_CENTER, "PKT East Wing")},
		)
		self.assertEqual(invariant_problems(), [])


class TestTaxAtTheTill(PackageTestCase):
	"""A POS Invoice's package row keeps its tax too (the till's company has templates of its own)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_till()
		get_or_make(
			"Item Tax Template",
			f"PKT Reduced 5% - {POS_ABBR}",
			{
				"title": "PKT Reduced 5%",
				"company": POS_COMPANY,
				"taxes": [{"tax_type": account("PKT Sales Tax", POS_ABBR), "tax_rate": 5}],
			},
		)
		frappe.db.commit()

	def tearDown(self):
		super().tearDown()
		frappe.clear_document_cache("Item Group", "Packages")
		frappe.clear_document_cache("Item")

	def test_a_template_on_the_packages_group_does_not_reach_a_package_sold_at_the_till(self):
		"""The till's company has no template for the components: they bear the tax row's 8%."""
		suffix = frappe.generate_hash(length=6)
		patient = make_patient(f"PKT Till Patient {suffix}")
		open_till()
		package = frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": f"Till Care {suffix}",
				"company": POS_COMPANY,
				"selling_price_list": PRICE_LIST,
				"package_price": 720,
				"items": [
					{"item_code": VISIT, "qty": 4},
					{"item_code": KIT, "qty": 1},
					{"item_code": LAB, "qty": 2},
				],
			}
		).insert(ignore_permissions=True)
		set_group_template("Packages", f"PKT Reduced 5% - {POS_ABBR}")
		sales_tax = account("PKT Sales Tax", POS_ABBR)

		sale = pos_invoice(
			patient,
			[(package.item, 1)],
			taxes=[
				{
					"charge_type": "On Net Total",
					"account_head": sales_tax,
					"description": "Sales Tax 8%",
					"rate": 8,
					"cost_center": account("Main", POS_ABBR),
				}
			],
		)
		self.assertEqual((sale.net_total, sale.total_taxes_and_charges), (720, 57.6))
		self.assertEqual(frappe.parse_json(sale.items[0].item_tax_rate), {sales_tax: 8.0})
