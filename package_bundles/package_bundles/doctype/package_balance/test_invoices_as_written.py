# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 9: invoices as practices really write them. Each of these once went wrong on a real bench:
tax picked on the invoice, inclusive tax, Box units, ERPNext's own checks, orders and delivery notes,
sale-time guards, deleting a company's transactions, who may change the accounts."""

import frappe
from erpnext.controllers.accounts_controller import get_taxes_and_charges
from frappe.utils import add_days, nowdate

from package_bundles.exceptions import (
	PackageDisabledError,
	PackageError,
	PackageTaxConflictError,
	PackageValidityError,
)
from package_bundles.tests.case import (
	IGNORED_TEST_RECORDS,
	PackageTestCase,
	balances_of,
	deferred_liability,
	invariant_problems,
)
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
	PRICE_LIST,
	PRODUCT_INCOME,
	SALES_TAX,
	STORES,
	TAX_TEMPLATE,
	VISIT,
	VISIT_INCOME,
	account,
	get_or_make,
	gl_entries,
	make_account,
	make_invoice,
	make_package,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

STATE_TEMPLATE = f"PKT State Tax 6% - {ABBR}"
INCLUSIVE_TEMPLATE = f"PKT Sales Tax Included - {ABBR}"
SURCHARGE_TEMPLATE = f"PKT Sales Tax With Surcharge - {ABBR}"
BOX = "PKT Box"


def make_tax_templates():
	state_tax = make_account("PKT State Tax", ABBR, "Duties and Taxes", account_type="Tax")
	surcharge = make_account("PKT Surcharge", ABBR, "Duties and Taxes", account_type="Tax")

	def template(name, rows):
		get_or_make(
			"Sales Taxes and Charges Template",
			name,
			{"title": name.rsplit(" - ", 1)[0], "company": COMPANY, "taxes": rows},
		)

	def row(account_head, rate, **values):
		return {
			"charge_type": "On Net Total",
			"account_head": account_head,
			"description": account_head,
			"rate": rate,
			"cost_center": MAIN_COST_CENTER,
			**values,
		}

	template(STATE_TEMPLATE, [row(state_tax, 6)])
	template(INCLUSIVE_TEMPLATE, [row(SALES_TAX, 8, included_in_print_rate=1)])
	template(
		SURCHARGE_TEMPLATE,
		[row(SALES_TAX, 8), row(surcharge, 10, charge_type="On Previous Row Amount", row_id=1)],
	)


def make_box_unit():
	get_or_make("UOM", BOX, {"uom_name": BOX, "must_be_whole_number": 1})
	kit = frappe.get_doc("Item", KIT)
	if not any(row.uom == BOX for row in kit.uoms):
		kit.append("uoms", {"uom": BOX, "conversion_factor": 5})
		kit.save(ignore_permissions=True)


def invoice_with(rows, template, customer=CUSTOMER, submit=True, **values):
	"""An invoice whose taxes come only from the template picked on it."""
	invoice = make_invoice(rows, customer=customer, submit=False, taxes=False, **values)
	invoice.taxes_and_charges = template
	invoice.set("taxes", get_taxes_and_charges("Sales Taxes and Charges Template", template))
	invoice.save()
	if submit:
		invoice.submit()
	return invoice


def components_alone(template) -> float:
	"""What ERPNext charges the worked example's items at their allocated prices, on their own rows."""
	invoice = invoice_with(
		[
			{"item_code": VISIT, "qty": 4, "rate": 135, "price_list_rate": 135},
			{"item_code": KIT, "qty": 1, "rate": 72, "price_list_rate": 72},
			{"item_code": LAB, "qty": 2, "rate": 54, "price_list_rate": 54},
		],
		template,
		customer=OTHER_CUSTOMER,
		submit=False,
	)
	return invoice.total_taxes_and_charges


class TestInvoicesAsWritten(PackageTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_tax_templates()
		make_box_unit()
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		# no company default template and no rate on the tax account to fall back on
		frappe.db.set_value("Sales Taxes and Charges Template", {"company": COMPANY}, "is_default", 0)
		frappe.db.set_value("Account", SALES_TAX, "tax_rate", 0)

	def assert_exact(self):
		self.assertEqual(invariant_problems(), [])

	# --- tax from the invoice ---------------------------------------------------------------

	def test_worked_example_taxed_by_a_template_picked_on_the_invoice(self):
		package = make_package()
		invoice = invoice_with([(package.item, 1)], TAX_TEMPLATE)

		self.assertEqual((invoice.net_total, invoice.total_taxes_and_charges), (720, 5.76))
		self.assertEqual(invoice.total_taxes_and_charges, components_alone(TAX_TEMPLATE))
		self.assertEqual(gl_entries(invoice.name), {DEBTORS: 725.76, DEFERRED: -720.0, SALES_TAX: -5.76})
		self.assertEqual(frappe.parse_json(invoice.items[0].item_tax_rate), {SALES_TAX: 0.8})

	def test_another_tax_account_taxes_the_components_as_erpnext_would_alone(self):
		package = make_package()
		invoice = invoice_with([(package.item, 1)], STATE_TEMPLATE)

		self.assertEqual(invoice.total_taxes_and_charges, components_alone(STATE_TEMPLATE))
		self.assertEqual(invoice.total_taxes_and_charges, 43.2)

	def test_a_surcharge_on_the_previous_row(self):
		package = make_package()
		invoice = invoice_with([(package.item, 1)], SURCHARGE_TEMPLATE)

		self.assertEqual(invoice.total_taxes_and_charges, components_alone(SURCHARGE_TEMPLATE))
		self.assertEqual([tax.tax_amount for tax in invoice.taxes], [5.76, 0.58])

	def test_one_tax_account_on_two_rows_at_different_rates_is_refused_clearly(self):
		"""A package row carries one item-wise rate per account: two rows of it cannot both hold."""
		package = make_package()
		invoice = make_invoice([(package.item, 1)], submit=False, taxes=False)
		for rate in (6, 2):
			invoice.append(
				"taxes",
				{
					"charge_type": "On Net Total",
					"account_head": account("PKT State Tax"),
					"description": f"State tax {rate}%",
					"rate": rate,
					"cost_center": MAIN_COST_CENTER,
				},
			)
		balances = frappe.db.count("Package Balance")
		with self.assertRaises(PackageTaxConflictError) as refusal:
			invoice.insert()
		self.assertIn(account("PKT State Tax"), str(refusal.exception))
		self.assertIn("one row per tax account", str(refusal.exception))
		self.assertEqual(frappe.db.count("Package Balance"), balances)

	def test_an_invoice_without_taxes_charges_none_and_a_refund_charges_back_what_the_sale_did(self):
		from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

		package = make_package()
		untaxed = make_invoice([(package.item, 1)], taxes=False)
		self.assertEqual((untaxed.grand_total, untaxed.total_taxes_and_charges), (720, 0))

		taxed = invoice_with([(package.item, 2)], TAX_TEMPLATE)
		refund = make_sales_return(taxed.name)
		refund.items[0].qty = -1
		refund.insert()
		refund.submit()
		self.assertEqual(refund.total_taxes_and_charges, -5.76)
		self.assertEqual(refund.grand_total, -725.76)
		self.assert_exact()

	def test_inclusive_tax_keeps_balances_ledger_and_gl_on_the_net_price(self):
		package = make_package()
		invoice = invoice_with([(package.item, 1)], INCLUSIVE_TEMPLATE)
		row = invoice.items[0]

		self.assertEqual((row.rate, row.net_amount, invoice.grand_total), (725.76, 720, 725.76))
		self.assertEqual(invoice.total_taxes_and_charges, 5.76)
		[balance] = balances_of(invoice)
		self.assertEqual([item.allocated_amount for item in balance.items], [540, 72, 108])
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 720)
		pay(invoice)
		visit = invoice_with([(VISIT, 1)], INCLUSIVE_TEMPLATE)
		self.assertEqual(visit.grand_total, 0)
		self.assertEqual(deferred_liability(COMPANY, DEFERRED), 585)
		self.assert_exact()

	# --- units --------------------------------------------------------------------------------

	def test_a_box_of_five_draws_five_units(self):
		package = make_package(name="Five Kits", items=[(KIT, 5)], price=300)
		[balance] = balances_of(make_invoice([(package.item, 1)]))
		pay(frappe.get_doc("Sales Invoice", balance.sales_invoice))

		invoice = make_invoice(
			[{"item_code": KIT, "qty": 1, "uom": BOX}], update_stock=1, set_warehouse=STORES
		)
		self.assertEqual(
			[(r.qty, r.uom, r.stock_qty, r.package_balance) for r in invoice.items],
			[(1, BOX, 5, balance.name)],
		)
		self.assertEqual(
			frappe.db.get_value("Package Balance Item", {"parent": balance.name}, "qty_remaining"), 0
		)
		stock = frappe.get_all(
			"Stock Ledger Entry", filters={"voucher_no": invoice.name, "is_cancelled": 0}, pluck="actual_qty"
		)
		self.assertEqual(stock, [-5])
		log = frappe.get_all(
			"Package Redemption", filters={"sales_invoice": invoice.name}, fields=["qty", "amount"]
		)
		self.assertEqual([(entry.qty, entry.amount) for entry in log], [(5, 300)])
		self.assert_exact()

	def test_a_box_that_a_balance_covers_in_part_falls_back_to_stock_units(self):
		package = make_package(name="Three Kits", items=[(KIT, 3)], price=180)
		[balance] = balances_of(make_invoice([(package.item, 1)]))
		pay(frappe.get_doc("Sales Invoice", balance.sales_invoice))

		invoice = make_invoice([{"item_code": KIT, "qty": 1, "uom": BOX}], submit=False)
		self.assertEqual(
			[(r.qty, r.uom, r.stock_qty, bool(r.package_balance), r.rate) for r in invoice.items],
			[(3, "Nos", 3, True, 0), (2, "Nos", 2, False, 80)],
		)
		invoice.submit()
		self.assertEqual(frappe.db.get_value("Package Balance", balance.name, "status"), "Exhausted")
		self.assert_exact()

	# --- ERPNext's own checks see the final rows -------------------------------------------------

	def test_an_item_with_a_maximum_discount_is_redeemed(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=300)
		pay(make_invoice([(package.item, 1)]))
		frappe.db.set_value("Item", VISIT, "max_discount", 10)
		frappe.clear_document_cache("Item", VISIT)

		invoice = make_invoice([(VISIT, 1)])
		self.assertEqual((invoice.items[0].rate, bool(invoice.items[0].package_balance)), (0, True))

	def test_selling_price_validation_lets_a_redeemed_row_pass_and_stops_a_typed_one(self):
		package = make_package(name="One Kit", items=[(KIT, 1)], price=80)
		pay(make_invoice([(package.item, 1)]))
		frappe.db.set_single_value("Selling Settings", "validate_selling_price", 1)
		try:
			invoice = make_invoice([(KIT, 1)], update_stock=1, set_warehouse=STORES)
			self.assertEqual((invoice.items[0].rate, bool(invoice.items[0].package_balance)), (0, True))
			with self.assertRaises(frappe.ValidationError):
				make_invoice([{"item_code": KIT, "qty": 1, "rate": 1}], update_stock=1, set_warehouse=STORES)
		finally:
			frappe.db.set_single_value("Selling Settings", "validate_selling_price", 0)

	def test_a_transaction_pricing_rule_that_stops_applying_leaves_redeemed_rows_alone(self):
		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=300)
		pay(make_invoice([(package.item, 1)]))
		frappe.get_doc(
			{
				"doctype": "Pricing Rule",
				"title": "PKT Big Orders",
				"apply_on": "Transaction",
				"price_or_product_discount": "Price",
				"selling": 1,
				"company": COMPANY,
				"min_amt": 100000,
				"rate_or_discount": "Discount Percentage",
				"discount_percentage": 5,
			}
		).insert(ignore_permissions=True)

		invoice = make_invoice([(VISIT, 1), (LAB, 1)])
		self.assertEqual(
			[(r.item_code, bool(r.package_balance)) for r in invoice.items], [(VISIT, True), (LAB, False)]
		)
		self.assert_exact()

	# --- orders and delivery notes --------------------------------------------------------------

	def test_an_order_billed_by_redeemed_rows_is_billed(self):
		from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

		package = make_package(name="Three Visits", items=[(VISIT, 3)], price=300)
		pay(make_invoice([(package.item, 1)]))
		order = self.make_order([(VISIT, 2)])

		invoice = make_sales_invoice(order.name)
		invoice.insert()
		self.assertEqual([(r.qty, bool(r.package_balance)) for r in invoice.items], [(2, True)])
		invoice.submit()
		order.reload()
		self.assertEqual((order.per_billed, order.billing_status), (100, "Fully Billed"))

		invoice.cancel()
		order.reload()
		self.assertEqual((order.per_billed, order.billing_status), (0, "Not Billed"))
		self.assert_exact()

	def test_a_delivery_note_billed_by_a_redeemed_row_is_completed(self):
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
				"items": [{"item_code": KIT, "qty": 1, "warehouse": STORES}],
			}
		).insert(ignore_permissions=True)
		note.submit()

		invoice = make_sales_invoice(note.name)
		invoice.insert()
		self.assertTrue(invoice.items[0].package_balance)
		invoice.submit()
		note.reload()
		self.assertEqual((note.per_billed, note.status), (100, "Completed"))
		self.assertEqual(
			gl_entries(
				frappe.db.get_value("Package Redemption", {"sales_invoice": invoice.name}, "journal_entry")
			),
			{DEFERRED: 80.0, PRODUCT_INCOME: -80.0},
		)

		invoice.cancel()
		note.reload()
		self.assertEqual(note.per_billed, 0)
		self.assert_exact()

	def make_order(self, rows):
		order = frappe.get_doc(
			{
				"doctype": "Sales Order",
				"company": COMPANY,
				"customer": CUSTOMER,
				"selling_price_list": PRICE_LIST,
				"delivery_date": add_days(nowdate(), 7),
				"transaction_date": nowdate(),
				"items": [
					{"item_code": code, "qty": qty, "delivery_date": add_days(nowdate(), 7)}
					for code, qty in rows
				],
			}
		).insert(ignore_permissions=True)
		order.submit()
		return order

	# --- sale-time guards ------------------------------------------------------------------------

	def test_a_package_past_its_fixed_expiry_or_disabled_cannot_be_sold_and_nothing_is_written(self):
		package = make_package(name="Summer Care", expiry_date=add_days(nowdate(), 10))
		before = self.count_documents("Sales Invoice", "Package Balance", "GL Entry")
		with self.assertRaises(PackageValidityError):
			make_invoice([(package.item, 1)], posting_date=add_days(nowdate(), 11))
		package.reload()
		package.disabled = 1
		package.save()
		with self.assertRaises(PackageDisabledError):
			make_invoice([(package.item, 1)])
		self.assertEqual(self.count_documents("Sales Invoice", "Package Balance", "GL Entry"), before)

	def test_a_debit_note_never_creates_balances(self):
		package = make_package()
		sale = make_invoice([(package.item, 1)])
		before = self.count_documents("Package Balance")
		with self.assertRaises(PackageError):
			make_invoice([(package.item, 1)], is_debit_note=1, return_against=sale.name)
		self.assertEqual(self.count_documents("Package Balance"), before)

	# --- who may change the accounts -------------------------------------------------------------

	def test_only_accounts_managers_change_the_package_accounts(self):
		from package_bundles.package_bundles.doctype.prepaid_package.test_prepaid_package import make_user

		manager = make_user("pkt-manager@example.com", ["Package Manager"])
		accountant = make_user("pkt-accounts-manager@example.com", ["Accounts Manager"])
		other_deferred = make_account("Package Deferred Revenue New", ABBR, "Current Liabilities")

		frappe.set_user(manager)
		settings = frappe.get_doc("Package Settings")
		settings.recognize_breakage = 0
		settings.set("accounts", [{"company": COMPANY, "deferred_revenue_account": other_deferred}])
		settings.save()
		frappe.set_user("Administrator")
		settings = frappe.get_doc("Package Settings")
		self.assertEqual((settings.recognize_breakage, len(settings.accounts)), (0, 0))

		frappe.set_user(accountant)
		settings = frappe.get_doc("Package Settings")
		settings.set("accounts", [{"company": COMPANY, "deferred_revenue_account": other_deferred}])
		settings.save()
		frappe.set_user("Administrator")
		self.assertEqual(
			[row.deferred_revenue_account for row in frappe.get_doc("Package Settings").accounts],
			[other_deferred],
		)


class TestDeleteCompanyTransactions(PackageTestCase):
	"""ERPNext's Delete Transactions keeps a company's packages and takes its balances with the invoices."""

	def test_packages_stay_balances_logs_and_ledger_go_with_the_invoices(self):
		from package_bundles.flows import catalog
		from package_bundles.tests.fixtures import (
			OTHER_ABBR,
			OTHER_COMPANY,
			make_item,
		)

		company, abbr = OTHER_COMPANY, OTHER_ABBR
		for item_code in (VISIT,):
			item = frappe.get_doc("Item", item_code)
			if not any(row.company == company for row in item.item_defaults):
				item.append(
					"item_defaults",
					{
						"company": company,
						"income_account": account("Visit Income", abbr),
						"selling_cost_center": account("Main", abbr),
						"default_warehouse": account("Stores", abbr),
					},
				)
				item.save(ignore_permissions=True)
		package = frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": "West Visits",
				"company": company,
				"selling_price_list": PRICE_LIST,
				"items": [{"item_code": VISIT, "qty": 2}],
			}
		).insert(ignore_permissions=True)
		sale = make_invoice(
			[(package.item, 1)], taxes=False, company=company, debit_to=account("Debtors", abbr)
		)
		pay_other(sale, abbr)
		redemption = make_invoice(
			[(VISIT, 1)], taxes=False, company=company, debit_to=account("Debtors", abbr)
		)
		self.assertTrue(redemption.items[0].package_balance)
		catalog.get_redeemable_items()  # cached

		record = frappe.get_doc(
			{"doctype": "Transaction Deletion Record", "company": company, "process_in_single_transaction": 1}
		)
		record.insert(ignore_permissions=True)
		record.submit()
		record.start_deletion_tasks()

		self.assertTrue(frappe.db.exists("Prepaid Package", package.name))
		for doctype in (
			"Package Balance",
			"Package Redemption",
			"Package Ledger Entry",
			"Sales Invoice",
			"Journal Entry",
		):
			self.assertEqual(frappe.db.count(doctype, {"company": company}), 0, doctype)
		self.assertIsNone(frappe.cache.get_value(catalog.REDEEMABLE_ITEMS_KEY))
		self.assertEqual(invariant_problems(company), [])
		self.assertEqual(invariant_problems(), [])


def pay_other(invoice, abbr):
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	payment = get_payment_entry("Sales Invoice", invoice.name, bank_account=account("Cash", abbr))
	payment.reference_no = f"PKT-{invoice.name}"
	payment.reference_date = invoice.posting_date
	payment.insert(ignore_permissions=True)
	payment.submit()
