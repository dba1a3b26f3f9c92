# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Issue 16, item 13: ERPNext's Company → Delete Transactions (Transaction Deletion Record).

A company's Package Balances, Redemptions and Ledger Entries go with its invoices and Journal
Entries; so do its Package Opening Imports (with their lines) and its Package Reminder Logs,
which only describe balances that no longer exist. Its Prepaid Packages and Package Settings
accounts stay (hooks ``company_data_to_be_ignored``). Another company keeps everything.

Run on the fixtures' second company with ``process_in_single_transaction``: ERPNext then runs
every task at once, in this test's transaction (no commit, no background job), rolled back after.
"""

import frappe
from frappe.utils import add_days, nowdate

from package_bundles.package_bundles.doctype.package_balance.test_invoices_as_written import pay_other
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase, balances_of, invariant_problems
from package_bundles.tests.fixtures import (
	COMPANY,
	OTHER_ABBR,
	OTHER_COMPANY,
	PRICE_LIST,
	VISIT,
	account,
	make_invoice,
	make_package,
	make_patient,
	pay,
)

test_ignore = IGNORED_TEST_RECORDS

PACKAGE_DOCTYPES = (
	"Package Balance",
	"Package Redemption",
	"Package Ledger Entry",
	"Package Opening Import",
	"Package Reminder Log",
)


def give_other_company_visit_defaults():
	item = frappe.get_doc("Item", VISIT)
	if not any(row.company == OTHER_COMPANY for row in item.item_defaults):
		item.append(
			"item_defaults",
			{
				"company": OTHER_COMPANY,
				"income_account": account("Visit Income", OTHER_ABBR),
				"selling_cost_center": account("Main", OTHER_ABBR),
				"default_warehouse": account("Stores", OTHER_ABBR),
			},
		)
		item.save(ignore_permissions=True)


def import_opening(company: str, package: str, customer: str):
	opening = frappe.get_doc(
		{
			"doctype": "Package Opening Import",
			"company": company,
			"posting_date": add_days(nowdate(), -10),
			"lines": [
				{
					"customer": customer,
					"prepaid_package": package,
					"original_reference": f"OLD-{frappe.generate_hash(length=6)}",
					"purchase_date": add_days(nowdate(), -100),
					"expiry_date": add_days(nowdate(), 20),
					"item_code": VISIT,
					"units_left": 2,
					"value_left": 200,
				}
			],
		}
	).insert()
	opening.submit()
	return opening


def log_reminder(balance: str) -> str:
	"""The log the reminder job writes for a balance it emailed (reminders.remind)."""
	values = frappe.db.get_value(
		"Package Balance", balance, ["customer", "company", "expiry_date"], as_dict=True
	)
	return (
		frappe.get_doc(
			{
				"doctype": "Package Reminder Log",
				"package_balance": balance,
				"customer": values.customer,
				"company": values.company,
				"expiry_date": values.expiry_date or add_days(nowdate(), 20),
				"reminder_days": 30,
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


def count_of(company: str) -> dict[str, int]:
	return {doctype: frappe.db.count(doctype, {"company": company}) for doctype in PACKAGE_DOCTYPES}


class TestDeleteTransactionsTakesThePackageRecords(PackageTestCase):
	def test_opening_imports_and_reminder_logs_go_with_the_balances_they_describe(self):
		give_other_company_visit_defaults()
		customer = make_patient(f"PKT West Patient {frappe.generate_hash(length=6)}")
		package = frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": f"West Visits {frappe.generate_hash(length=6)}",
				"company": OTHER_COMPANY,
				"selling_price_list": PRICE_LIST,
				"package_price": 200,
				"items": [{"item_code": VISIT, "qty": 2}],
			}
		).insert(ignore_permissions=True)
		debtors = account("Debtors", OTHER_ABBR)
		sale = make_invoice(
			[(package.item, 1)], customer=customer, taxes=False, company=OTHER_COMPANY, debit_to=debtors
		)
		pay_other(sale, OTHER_ABBR)
		[sold] = balances_of(sale)
		visit = make_invoice(
			[(VISIT, 1)], customer=customer, taxes=False, company=OTHER_COMPANY, debit_to=debtors
		)
		self.assertEqual(visit.items[0].package_balance, sold.name)
		opening = import_opening(OTHER_COMPANY, package.name, customer)
		opened = frappe.db.get_value("Package Balance", {"opening_import": opening.name}, "name")
		log_reminder(sold.name)
		log_reminder(opened)

		# the main practice keeps all of its own
		home_package = make_package()
		home_customer = make_patient(f"PKT Home Patient {frappe.generate_hash(length=6)}")
		home_sale = make_invoice([(home_package.item, 1)], customer=home_customer)
		pay(home_sale)
		home_opening = import_opening(COMPANY, home_package.name, home_customer)
		log_reminder(balances_of(home_sale)[0].name)
		home_before = count_of(COMPANY)
		self.assertTrue(all(count_of(OTHER_COMPANY).values()), count_of(OTHER_COMPANY))

		record = frappe.get_doc(
			{
				"doctype": "Transaction Deletion Record",
				"company": OTHER_COMPANY,
				"process_in_single_transaction": 1,
			}
		)
		record.insert(ignore_permissions=True)
		record.submit()
		record.start_deletion_tasks()

		self.assertEqual(
			frappe.db.get_value("Transaction Deletion Record", record.name, "status"), "Completed"
		)
		self.assertEqual(count_of(OTHER_COMPANY), dict.fromkeys(PACKAGE_DOCTYPES, 0))
		# nothing left that names a deleted record: the lines of the import, the balances' items
		self.assertEqual(frappe.db.count("Package Opening Import Line", {"parent": opening.name}), 0)
		self.assertEqual(frappe.db.count("Package Balance Item", {"parent": ["in", [sold.name, opened]]}), 0)
		self.assertEqual(
			frappe.db.count("Package Reminder Log", {"package_balance": ["in", [sold.name, opened]]}), 0
		)
		self.assertTrue(frappe.db.exists("Prepaid Package", package.name))

		self.assertEqual(count_of(COMPANY), home_before)
		self.assertEqual(frappe.db.get_value("Package Opening Import", home_opening.name, "docstatus"), 1)
		self.assertEqual(invariant_problems(OTHER_COMPANY), [])
		self.assertEqual(invariant_problems(), [])
