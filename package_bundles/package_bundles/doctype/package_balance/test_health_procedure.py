"""Frappe Health Clinical Procedure consumables a prepaid package holds (issue 17): billed and redeemed
once, their stock moved once, by Health's Stock Entry (bench site with healthcare; skipped elsewhere)."""

import frappe
from frappe.utils import flt, nowdate

from package_bundles.exceptions import ConsumableStockError
from package_bundles.package_bundles.doctype.package_balance.test_health_therapy import invoice_services
from package_bundles.tests.case import IGNORED_TEST_RECORDS, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	COMPANY,
	DEFERRED,
	KIT,
	PRODUCT_INCOME,
	STORES,
	VISIT,
	call_as_request,
	gl_balance,
	make_invoice,
	make_item,
	make_package,
	pay,
	set_price,
	stock_up,
)
from package_bundles.tests.health import HealthTestCase, make_health_patient, set_health_settings

test_ignore = IGNORED_TEST_RECORDS

GAUZE = "PKT Gauze Pad"  # a second consumable, no package holds it
CONSUMABLES_ITEM = "PKT Procedure Consumables"  # Healthcare Settings' consumable (service) item
PROCEDURE_TEMPLATE = "PKT Kit Fitting"
PRICES = {KIT: 80, GAUZE: 5}
USES = {KIT: 1, GAUZE: 2}  # the procedure uses 1 kit and 2 pads: 80 + 10 = 90 of consumables
PATIENT = "PKT Procedure Patient"
PLAIN_PATIENT = "PKT Procedure Patient Plain"
GET_ITEMS = "healthcare.healthcare.utils.get_healthcare_services_to_invoice"


def make_procedure_practice():
	make_item(GAUZE, "PKT Products", PRICES[GAUZE], PRODUCT_INCOME, None, is_stock_item=1)
	stock_up(GAUZE, 100)
	stock_up(KIT, 100)
	if not frappe.db.exists("Item", CONSUMABLES_ITEM):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": CONSUMABLES_ITEM,
				"item_group": "PKT Products",
				"stock_uom": "Nos",
				"is_stock_item": 0,
				"is_sales_item": 1,
			}
		).insert(ignore_permissions=True)
	set_health_settings(clinical_procedure_consumable_item=CONSUMABLES_ITEM)
	# Health prices consumables from the first selling price list it finds: the same prices in each
	for price_list in frappe.get_all("Price List", filters={"selling": 1}, pluck="name"):
		for item_code, rate in PRICES.items():
			set_price(item_code, rate, price_list)
	if not frappe.db.exists("Clinical Procedure Template", PROCEDURE_TEMPLATE):
		frappe.get_doc(
			{
				"doctype": "Clinical Procedure Template",
				"template": PROCEDURE_TEMPLATE,
				"item_code": PROCEDURE_TEMPLATE,
				"item_group": "PKT Visits",
				"description": PROCEDURE_TEMPLATE,
				"is_billable": 1,
				"rate": 100,
				"allow_stock_consumption": 1,
				"items": [consumable_row(item_code) for item_code in (KIT, GAUZE)],
			}
		).insert(ignore_permissions=True)
	set_price(frappe.db.get_value("Clinical Procedure Template", PROCEDURE_TEMPLATE, "item"), 100)


def consumable_row(item_code: str) -> dict:
	return {
		"item_code": item_code,
		"item_name": frappe.db.get_value("Item", item_code, "item_name"),
		"qty": USES[item_code],
		"uom": "Nos",
		"stock_uom": "Nos",
		"conversion_factor": 1,
		"transfer_qty": USES[item_code],
		"invoice_separately_as_consumables": 1,
	}


def complete_procedure(patient: str) -> tuple[str, str]:
	"""A submitted procedure that consumed its stock and completed: (procedure, its Stock Entry)."""
	procedure = frappe.get_doc(
		{
			"doctype": "Clinical Procedure",
			"patient": patient,
			"procedure_template": PROCEDURE_TEMPLATE,
			"company": COMPANY,
			"warehouse": STORES,
			"start_date": nowdate(),
			"consume_stock": 1,
			"items": [consumable_row(item_code) for item_code in (KIT, GAUZE)],
		}
	)
	procedure.insert(ignore_permissions=True)
	procedure.submit()
	stock_entry = procedure.complete_procedure()
	return procedure.name, stock_entry


def stock_moves(item_code: str, before: set[str]) -> list[tuple[str, float]]:
	"""(voucher type, qty) of the item's stock ledger entries other than those in ``before``."""
	rows = frappe.get_all(
		"Stock Ledger Entry",
		filters={"item_code": item_code, "is_cancelled": 0, "warehouse": STORES},
		fields=["name", "voucher_type", "actual_qty"],
		order_by="creation asc",
	)
	return [(row.voucher_type, flt(row.actual_qty)) for row in rows if row.name not in before]


def stock_entries_now() -> set[str]:
	return set(
		frappe.get_all("Stock Ledger Entry", filters={"item_code": ("in", [KIT, GAUZE])}, pluck="name")
	)


def units_left(balance: str, item_code: str) -> float:
	return flt(
		frappe.db.get_value(
			"Package Balance Item", {"parent": balance, "item_code": item_code}, "qty_remaining"
		)
	)


class TestHealthProcedure(HealthTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_procedure_practice()
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		self.patient, self.customer = make_health_patient(PATIENT)
		self.since = stock_entries_now()

	def sell(self, items, customer=None):
		package = make_package(
			"PKT Procedure Supplies", items=items, price=sum(PRICES.get(i, 150) * q for i, q in items)
		)
		invoice = make_invoice([(package.item, 1)], customer=customer or self.customer, taxes=False)
		pay(invoice)
		return balances_of(invoice)[0]

	def consumables_invoice(self, patient: str, submit: bool = True, **values):
		"""The procedure's consumables billed through Get Items from Healthcare Services."""
		listed = call_as_request(GET_ITEMS, patient=patient, company=COMPANY)
		consumables = [s for s in listed if s["service"] == CONSUMABLES_ITEM]
		self.assertEqual(len(consumables), 1)
		self.assertEqual(flt(consumables[0]["rate"]), 90)  # Health priced them at completion
		return invoice_services(patient, consumables, submit=submit, **values)

	def test_a_consumable_the_package_holds_is_redeemed_once_and_its_stock_moves_once(self):
		balance = self.sell([(KIT, 1), (VISIT, 1)])
		procedure, stock_entry = complete_procedure(self.patient)
		self.assertEqual(stock_moves(KIT, self.since), [("Stock Entry", -1)])
		deferred = -gl_balance(DEFERRED)

		invoice = self.consumables_invoice(self.patient)
		self.assertEqual(
			[
				(
					row.item_code,
					flt(row.qty),
					flt(row.rate),
					row.package_balance,
					row.get("package_procedure"),
				)
				for row in invoice.items
			],
			[
				(CONSUMABLES_ITEM, 1, 10, None, None),  # the pads, as Health bills them
				(KIT, 1, 0, balance.name, procedure),  # the kit, from the package
			],
		)
		self.assertEqual(invoice.items[0].reference_dn, procedure)
		self.assertEqual(invoice.items[1].warehouse, STORES)
		self.assertEqual(flt(invoice.grand_total), 10)
		self.assertEqual(frappe.db.get_value("Clinical Procedure", procedure, "consumption_invoiced"), 1)
		self.assertEqual(frappe.db.get_value("Clinical Procedure", procedure, "invoiced"), 0)

		# one unit redeemed; its value leaves the deferred account; stock moved once, by Health
		self.assertEqual(units_left(balance.name, KIT), 0)
		self.assertEqual(
			frappe.get_all("Package Redemption", filters={"sales_invoice": invoice.name}, pluck="qty"), [1]
		)
		self.assertEqual(-gl_balance(DEFERRED), deferred - 80)
		self.assertEqual(stock_moves(KIT, self.since), [("Stock Entry", -1)])
		self.assertEqual(stock_moves(GAUZE, self.since), [("Stock Entry", -2)])
		self.assertFalse(frappe.db.exists("Stock Ledger Entry", {"voucher_no": invoice.name}))
		self.assertEqual(invariant_problems(), [])

		# Get Items lists the consumables no more; cancelling gives the unit back and lists them again
		listed = call_as_request(GET_ITEMS, patient=self.patient, company=COMPANY)
		self.assertNotIn(CONSUMABLES_ITEM, [s["service"] for s in listed])
		invoice.cancel()
		self.assertEqual(units_left(balance.name, KIT), 1)
		self.assertEqual(frappe.db.get_value("Clinical Procedure", procedure, "consumption_invoiced"), 0)
		self.assertEqual(-gl_balance(DEFERRED), deferred)
		self.assertEqual(stock_moves(KIT, self.since), [("Stock Entry", -1)])
		self.assertEqual(invariant_problems(), [])
		again = self.consumables_invoice(self.patient)
		self.assertEqual([row.package_balance for row in again.items], [None, balance.name])
		self.assertEqual(units_left(balance.name, KIT), 0)
		self.assertEqual(invariant_problems(), [])
		self.assertTrue(stock_entry)

	def test_without_a_package_the_consumables_are_billed_as_health_bills_them(self):
		patient, _customer = make_health_patient(PLAIN_PATIENT)
		procedure, _entry = complete_procedure(patient)
		invoice = self.consumables_invoice(patient)
		self.assertEqual(
			[(row.item_code, flt(row.rate), row.reference_dn) for row in invoice.items],
			[(CONSUMABLES_ITEM, 90, procedure)],
		)
		self.assertEqual(stock_moves(KIT, self.since), [("Stock Entry", -1)])
		self.assertFalse(frappe.db.exists("Stock Ledger Entry", {"voucher_no": invoice.name}))

	def test_every_consumable_the_package_holds_leaves_the_consumables_row_at_nothing(self):
		balance = self.sell([(KIT, 1), (GAUZE, 2)])
		procedure, _entry = complete_procedure(self.patient)
		invoice = self.consumables_invoice(self.patient, submit=False)
		invoice.save()  # a draft saved again keeps its rows: nothing is taken out twice
		invoice.submit()
		self.assertEqual(
			[(row.item_code, flt(row.qty), flt(row.rate), row.package_balance) for row in invoice.items],
			[(CONSUMABLES_ITEM, 1, 0, None), (KIT, 1, 0, balance.name), (GAUZE, 2, 0, balance.name)],
		)
		self.assertEqual(flt(invoice.grand_total), 0)
		self.assertEqual(frappe.db.get_value("Clinical Procedure", procedure, "consumption_invoiced"), 1)
		self.assertEqual((units_left(balance.name, KIT), units_left(balance.name, GAUZE)), (0, 0))
		self.assertEqual(stock_moves(GAUZE, self.since), [("Stock Entry", -2)])
		self.assertEqual(invariant_problems(), [])

	def test_an_invoice_that_updates_stock_does_not_issue_a_consumable_again(self):
		balance = self.sell([(KIT, 1), (VISIT, 1)])
		procedure, _entry = complete_procedure(self.patient)
		with self.assertRaises(ConsumableStockError):
			self.consumables_invoice(self.patient, update_stock=1, set_warehouse=STORES)
		self.assertEqual(stock_moves(KIT, self.since), [("Stock Entry", -1)])
		self.assertEqual(units_left(balance.name, KIT), 1)
		self.assertEqual(frappe.db.get_value("Clinical Procedure", procedure, "consumption_invoiced"), 0)
