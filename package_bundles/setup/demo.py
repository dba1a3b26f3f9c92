"""A demo clinic in one command, so every screen of the app shows data.

    bench --site <site> execute package_bundles.setup.demo.make_demo
    bench --site <site> execute package_bundles.setup.demo.make_demo --kwargs "{'force': True}"

It builds a company of its own ("Demo Clinic"): chart of accounts (on a site whose setup
wizard never ran, through the wizard), a fiscal year for every date it uses, a deferred
revenue account, item tax templates and a sales tax template, five charge items with
prices, three packages, ten patients and about seven months of history in date order:
sales paid and unpaid, redemptions (a good from stock among them), a redemption returned by
credit note, a refund, an opening-balance import of patients who came from another system
(one of whom is refunded, one redeems), the expiry job booking breakage, and a portal user.

It refuses to run where other companies have invoices (the demo would sit among real
books) unless ``force``, and refuses to build the clinic twice.
"""

import frappe
from frappe import _
from frappe.utils import add_days, add_months, flt, getdate, nowdate, sbool

from package_bundles.exceptions import DemoExistsError, DemoSiteInUseError
from package_bundles.flows import expire

COMPANY = "Demo Clinic"
ABBR = "DMC"
CURRENCY = "USD"
PRICE_LIST = "Demo Clinic Selling"
PORTAL_USER = "ava.thompson@demo-clinic.example"
PORTAL_PASSWORD = "Demo-Patient-2026"

VISIT, LAB, KIT, PHYSIO, PHYSICAL = "DEMO-VISIT", "DEMO-LAB", "DEMO-KIT", "DEMO-PHYSIO", "DEMO-PHYSICAL"
NEW_PARENT, PHYSIO_PACK, WELLNESS = "New Parent Care", "Physio Ten-Pack", "Annual Wellness"
PATIENTS = (
	"Ava Thompson",
	"Liam Carter",
	"Mia Patel",
	"Noah Kim",
	"Emma Rossi",
	"Lucas Nguyen",
	"Olivia Brooks",
	"Ethan Walsh",
	"Sofia Garcia",
	"Mason Lee",
)
HISTORY_DAYS = 400  # the oldest date the demo posts on (the stock receipt)


def account(name: str) -> str:
	return f"{name} - {ABBR}"


DEFERRED = account("Package Deferred Revenue")
SALES_TAX = account("Sales Tax")
TAXABLE = account("Clinic Taxable 8%")
EXEMPT = account("Clinic Exempt")
SALES_TAX_TEMPLATE = account("Clinic Sales Tax")


def day(days_ago: int):
	return add_days(getdate(nowdate()), -days_ago)


def make_demo(force: bool = False) -> dict:
	"""Build the demo clinic; returns what it made and how to log in as its portal patient."""
	frappe.only_for("System Manager")
	validate_site(sbool(force))
	make_company()
	make_fiscal_years()
	make_accounts()
	make_tax_templates()
	make_price_list()
	make_items()
	stock_up(KIT, 20, day(HISTORY_DAYS))
	make_packages()
	make_patients()
	make_history()
	make_portal_user()
	return summary()


# --- the site ---------------------------------------------------------------------------------


def validate_site(force: bool) -> None:
	if frappe.db.exists("Company", COMPANY) and (
		frappe.db.exists("Sales Invoice", {"company": COMPANY})
		or frappe.db.exists("Package Balance", {"company": COMPANY})
	):
		frappe.throw(
			_(
				"The demo clinic {0} is already built on this site. To build it again, delete its transactions first (Company {0} > Delete Transactions)."
			).format(frappe.bold(COMPANY)),
			DemoExistsError,
		)
	others = frappe.get_all(
		"Sales Invoice",
		filters={"company": ("!=", COMPANY)},
		pluck="company",
		distinct=True,
		order_by="company asc",
	)
	if others and not force:
		frappe.throw(
			_(
				"This site has invoices of {0}; the demo would put a company of its own beside real books. Run it with force=True to build it anyway."
			).format(", ".join(frappe.bold(company) for company in others)),
			DemoSiteInUseError,
		)


def make_company() -> None:
	if frappe.db.exists("Company", COMPANY):
		return
	if not frappe.db.a_row_exists("Company"):
		complete_setup_wizard()
		return
	frappe.get_doc(
		{
			"doctype": "Company",
			"company_name": COMPANY,
			"abbr": ABBR,
			"default_currency": CURRENCY,
			"country": "United States",
			"create_chart_of_accounts_based_on": "Standard Template",
			"chart_of_accounts": "Standard",
		}
	).insert(ignore_permissions=True)


def complete_setup_wizard() -> None:
	"""A fresh site: ERPNext's setup wizard makes the clinic the site's first company."""
	from frappe.desk.page.setup_wizard.setup_wizard import setup_complete

	year = getdate(nowdate()).year
	setup_complete(
		{
			"currency": CURRENCY,
			"full_name": "Administrator",
			"company_name": COMPANY,
			"company_abbr": ABBR,
			"timezone": "America/New_York",
			"country": "United States",
			"fy_start_date": f"{year}-01-01",
			"fy_end_date": f"{year}-12-31",
			"language": "english",
			"chart_of_accounts": "Standard",
		}
	)
	frappe.clear_cache()


def make_fiscal_years() -> None:
	"""A calendar fiscal year for every year the history posts in that no fiscal year covers."""
	from erpnext.accounts.utils import get_fiscal_year

	for year in range(day(HISTORY_DAYS).year, getdate(nowdate()).year + 1):
		for date in (getdate(f"{year}-01-01"), getdate(f"{year}-12-31")):
			if not get_fiscal_year(date, company=COMPANY, boolean=True) and not frappe.db.exists(
				"Fiscal Year", str(year)
			):
				frappe.get_doc(
					{
						"doctype": "Fiscal Year",
						"year": str(year),
						"year_start_date": f"{year}-01-01",
						"year_end_date": f"{year}-12-31",
					}
				).insert(ignore_permissions=True)


def make_account(name: str, parent: str, **values) -> str:
	if not frappe.db.exists("Account", account(name)):
		frappe.get_doc(
			{
				"doctype": "Account",
				"account_name": name,
				"parent_account": account(parent),
				"company": COMPANY,
				**values,
			}
		).insert(ignore_permissions=True)
	return account(name)


def make_accounts() -> None:
	make_account("Package Deferred Revenue", "Current Liabilities")
	for income in ("Visit Income", "Lab Income", "Product Income", "Therapy Income"):
		make_account(income, "Direct Income")
	breakage = make_account("Package Breakage Income", "Indirect Income")
	make_account("Sales Tax", "Duties and Taxes", account_type="Tax", tax_rate=8)
	frappe.db.set_value(
		"Company",
		COMPANY,
		{
			"default_deferred_revenue_account": DEFERRED,
			"default_income_account": account("Sales"),
			"enable_perpetual_inventory": 1,
		},
	)
	settings = frappe.get_single("Package Settings")
	if not any(row.company == COMPANY for row in settings.accounts):
		settings.append("accounts", {"company": COMPANY, "breakage_income_account": breakage})
		settings.flags.ignore_permissions = True
		settings.save()


def make_tax_templates() -> None:
	for title, rate in (("Clinic Taxable 8%", 8), ("Clinic Exempt", 0)):
		if not frappe.db.exists("Item Tax Template", account(title)):
			frappe.get_doc(
				{
					"doctype": "Item Tax Template",
					"title": title,
					"company": COMPANY,
					"taxes": [{"tax_type": SALES_TAX, "tax_rate": rate}],
				}
			).insert(ignore_permissions=True)
	if not frappe.db.exists("Sales Taxes and Charges Template", SALES_TAX_TEMPLATE):
		frappe.get_doc(
			{
				"doctype": "Sales Taxes and Charges Template",
				"title": "Clinic Sales Tax",
				"company": COMPANY,
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": SALES_TAX,
						"description": _("Sales Tax 8%"),
						"rate": 8,
						"cost_center": account("Main"),
					}
				],
			}
		).insert(ignore_permissions=True)


def make_price_list() -> None:
	if not frappe.db.exists("Price List", PRICE_LIST):
		frappe.get_doc(
			{
				"doctype": "Price List",
				"price_list_name": PRICE_LIST,
				"currency": CURRENCY,
				"selling": 1,
				"enabled": 1,
			}
		).insert(ignore_permissions=True)


# --- items, packages, patients ----------------------------------------------------------------

# code: (name, group, rate, income account, taxable, stock item)
ITEMS = {
	VISIT: ("Office Visit", "Clinic Visits", 150, "Visit Income", False, False),
	LAB: ("Lab Panel", "Clinic Labs", 60, "Lab Income", False, False),
	KIT: ("Lactation Kit", "Clinic Products", 80, "Product Income", True, True),
	PHYSIO: ("Physiotherapy Session", "Clinic Therapy", 90, "Therapy Income", False, False),
	PHYSICAL: ("Annual Physical", "Clinic Visits", 200, "Visit Income", False, False),
}


def make_items() -> None:
	root = frappe.db.get_value("Item Group", {"is_group": 1, "parent_item_group": ("is", "not set")})
	for group in sorted({values[1] for values in ITEMS.values()}):
		if not frappe.db.exists("Item Group", group):
			frappe.get_doc(
				{"doctype": "Item Group", "item_group_name": group, "parent_item_group": root}
			).insert(ignore_permissions=True)
	for item_code, (item_name, group, rate, income, taxable, is_stock) in ITEMS.items():
		make_item(item_code, item_name, group, account(income), TAXABLE if taxable else EXEMPT, is_stock)
		set_price(item_code, rate)


def make_item(item_code, item_name, group, income_account, tax_template, is_stock) -> None:
	defaults = {
		"company": COMPANY,
		"income_account": income_account,
		"default_warehouse": account("Stores"),
		"selling_cost_center": account("Main"),
	}
	if frappe.db.exists("Item", item_code):
		item = frappe.get_doc("Item", item_code)
		if not any(row.company == COMPANY for row in item.item_defaults):
			item.append("item_defaults", defaults)
			item.append("taxes", {"item_tax_template": tax_template})
			item.save(ignore_permissions=True)
		return
	frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": item_code,
			"item_name": item_name,
			"item_group": group,
			"stock_uom": "Nos",
			"is_stock_item": int(is_stock),
			"is_sales_item": 1,
			"valuation_rate": 30 if is_stock else 0,
			"item_defaults": [defaults],
			"taxes": [{"item_tax_template": tax_template}],
		}
	).insert(ignore_permissions=True)


def set_price(item_code: str, rate: float) -> None:
	name = frappe.db.get_value("Item Price", {"item_code": item_code, "price_list": PRICE_LIST})
	if name:
		frappe.db.set_value("Item Price", name, "price_list_rate", rate)
		return
	frappe.get_doc(
		{"doctype": "Item Price", "item_code": item_code, "price_list": PRICE_LIST, "price_list_rate": rate}
	).insert(ignore_permissions=True)


def stock_up(item_code: str, qty: float, posting_date) -> None:
	entry = frappe.get_doc(
		{
			"doctype": "Stock Entry",
			"stock_entry_type": "Material Receipt",
			"company": COMPANY,
			"posting_date": posting_date,
			"set_posting_time": 1,
			"items": [
				{
					"item_code": item_code,
					"qty": qty,
					"t_warehouse": account("Stores"),
					"basic_rate": 30,
					"cost_center": account("Main"),
				}
			],
		}
	)
	entry.insert(ignore_permissions=True)
	entry.submit()


# name: (items, price, terms)
PACKAGES = {
	NEW_PARENT: ([(VISIT, 4), (KIT, 1), (LAB, 2)], 720, {"valid_for_months": 12}),
	PHYSIO_PACK: ([(PHYSIO, 10)], 750, {"valid_for_days": 90}),
	WELLNESS: (
		[(PHYSICAL, 1), (LAB, 2)],
		280,
		{"valid_for_months": 12, "revenue_recognition": "Upon Purchase"},
	),
}


def make_packages() -> None:
	for name, (items, price, terms) in PACKAGES.items():
		if frappe.db.exists("Prepaid Package", name):
			continue
		frappe.get_doc(
			{
				"doctype": "Prepaid Package",
				"package_name": name,
				"company": COMPANY,
				"selling_price_list": PRICE_LIST,
				"package_price": price,
				"items": [{"item_code": item_code, "qty": qty} for item_code, qty in items],
				**terms,
			}
		).insert(ignore_permissions=True)


def package_item(name: str) -> str:
	return frappe.db.get_value("Prepaid Package", name, "item")


def make_patients() -> None:
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, order_by="name asc")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, order_by="name asc")
	for patient in PATIENTS:
		if not frappe.db.exists("Customer", patient):
			frappe.get_doc(
				{
					"doctype": "Customer",
					"customer_name": patient,
					"customer_type": "Individual",
					"customer_group": group or "All Customer Groups",
					"territory": territory or "All Territories",
					"default_price_list": PRICE_LIST,
				}
			).insert(ignore_permissions=True)


# --- the history, in date order ---------------------------------------------------------------


def make_history() -> None:
	"""Seven months of a small clinic, oldest first, so stock and the ledger run forward."""
	import_opening_balances(day(200))
	redeem("Ethan Walsh", [(PHYSIO, 1)], day(180))
	sell("Liam Carter", PHYSIO_PACK, day(170))  # expires 80 days ago: breakage
	redeem("Liam Carter", [(PHYSIO, 1)], day(160))
	refund_opening("Mason Lee", PHYSIO_PACK, day(150))
	sell("Ava Thompson", NEW_PARENT, day(150))
	redeem("Liam Carter", [(PHYSIO, 1)], day(150))
	redeem("Ava Thompson", [(VISIT, 1)], day(140))
	redeem("Liam Carter", [(PHYSIO, 1)], day(130))
	redeem("Ava Thompson", [(KIT, 1)], day(120), update_stock=1, set_warehouse=account("Stores"))
	redeem("Olivia Brooks", [(VISIT, 1)], day(100))
	sell("Mia Patel", WELLNESS, day(100))  # recognized upon purchase
	redeem("Mia Patel", [(PHYSICAL, 1)], day(95))
	redeem("Sofia Garcia", [(PHYSICAL, 1)], day(90))
	sell("Noah Kim", NEW_PARENT, day(90))
	redeem("Noah Kim", [(VISIT, 1)], day(80))
	redeem("Ava Thompson", [(LAB, 1)], day(60))
	sell("Emma Rossi", PHYSIO_PACK, day(60))
	redeem("Emma Rossi", [(PHYSIO, 1)], day(50))
	lucas = sell("Lucas Nguyen", NEW_PARENT, day(45))
	redeem("Noah Kim", [(VISIT, 1)], day(40))
	refund(lucas, day(40))
	returned = redeem("Emma Rossi", [(PHYSIO, 1)], day(30))
	return_redemption(returned, day(25))
	sell("Liam Carter", NEW_PARENT, day(10), paid=False)  # awaiting payment
	expire.expire_balances()


def import_opening_balances(opening_date) -> str:
	"""Patients who bought packages in the practice's old system, brought in on the go-live day."""
	lines = [
		("Olivia Brooks", NEW_PARENT, "OLD-1041", 260, 365, VISIT, 2, 270),
		("Olivia Brooks", NEW_PARENT, "OLD-1041", 260, 365, LAB, 1, 54),
		("Ethan Walsh", PHYSIO_PACK, "OLD-1057", 230, 90, PHYSIO, 4, 300),
		("Sofia Garcia", WELLNESS, "OLD-1063", 220, 365, PHYSICAL, 1, 0),
		("Mason Lee", PHYSIO_PACK, "OLD-1072", 205, 90, PHYSIO, 5, 375),
	]
	doc = frappe.get_doc(
		{
			"doctype": "Package Opening Import",
			"company": COMPANY,
			"posting_date": opening_date,
			"remarks": _("Balances left in the practice's previous system on the go-live day"),
			"lines": [
				{
					"customer": customer,
					"prepaid_package": package,
					"original_reference": reference,
					"purchase_date": day(bought),
					"expiry_date": add_days(day(bought), valid_days),
					"item_code": item_code,
					"units_left": qty,
					"value_left": value,
				}
				for customer, package, reference, bought, valid_days, item_code, qty, value in lines
			],
		}
	)
	doc.insert(ignore_permissions=True)
	doc.submit()
	return doc.name


def invoice(customer: str, rows: list, posting_date, submit: bool = True, **values):
	from erpnext.controllers.accounts_controller import get_taxes_and_charges

	doc = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"company": COMPANY,
			"customer": customer,
			"currency": CURRENCY,
			"selling_price_list": PRICE_LIST,
			"debit_to": account("Debtors"),
			"set_posting_time": 1,
			"posting_date": posting_date,
			"due_date": posting_date,
			"taxes_and_charges": SALES_TAX_TEMPLATE,
			"items": [{"item_code": item_code, "qty": qty} for item_code, qty in rows],
			**values,
		}
	)
	doc.set("taxes", get_taxes_and_charges("Sales Taxes and Charges Template", SALES_TAX_TEMPLATE))
	doc.insert(ignore_permissions=True)
	if submit:
		doc.submit()
	return doc


def sell(customer: str, package: str, posting_date, paid: bool = True):
	doc = invoice(customer, [(package_item(package), 1)], posting_date)
	if paid:
		pay(doc)
	return doc


def redeem(customer: str, rows: list, posting_date, **values):
	return invoice(customer, rows, posting_date, **values)


def pay(doc) -> None:
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	payment = get_payment_entry("Sales Invoice", doc.name, bank_account=account("Cash"))
	payment.reference_no = doc.name
	payment.reference_date = doc.posting_date
	payment.posting_date = doc.posting_date
	payment.insert(ignore_permissions=True)
	payment.submit()


def refund(purchase, posting_date) -> None:
	"""A credit note against the purchase: the unused package comes back in full."""
	from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

	credit_note = make_sales_return(purchase.name)
	credit_note.posting_date = posting_date
	credit_note.due_date = posting_date
	credit_note.set_posting_time = 1
	credit_note.insert(ignore_permissions=True)
	credit_note.submit()


def refund_opening(customer: str, package: str, posting_date) -> None:
	"""An opening balance has no purchase invoice: a credit note with none to return against refunds it."""
	invoice(customer, [(package_item(package), -1)], posting_date, is_return=1)


def return_redemption(redemption, posting_date) -> None:
	"""A credit note against a redemption invoice gives the unit back to the balance."""
	from erpnext.accounts.doctype.sales_invoice.sales_invoice import make_sales_return

	credit_note = make_sales_return(redemption.name)
	credit_note.posting_date = posting_date
	credit_note.due_date = posting_date
	credit_note.set_posting_time = 1
	credit_note.insert(ignore_permissions=True)
	credit_note.submit()


# --- the portal -------------------------------------------------------------------------------


def make_portal_user() -> None:
	"""Ava Thompson logs in at /my-packages with the password the README gives."""
	from frappe.utils.password import update_password

	patient = PATIENTS[0]
	if not frappe.db.exists("User", PORTAL_USER):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": PORTAL_USER,
				"first_name": "Ava",
				"last_name": "Thompson",
				"user_type": "Website User",
				"send_welcome_email": 0,
				"roles": [{"role": "Customer"}],
			}
		)
		user.flags.no_welcome_mail = True
		user.insert(ignore_permissions=True)
	update_password(PORTAL_USER, PORTAL_PASSWORD)
	customer = frappe.get_doc("Customer", patient)
	if not any(row.user == PORTAL_USER for row in customer.get("portal_users") or []):
		customer.append("portal_users", {"user": PORTAL_USER})
		customer.save(ignore_permissions=True)
	if not frappe.db.exists("Contact", {"email_id": PORTAL_USER}):
		contact = frappe.get_doc(
			{
				"doctype": "Contact",
				"first_name": "Ava",
				"last_name": "Thompson",
				"user": PORTAL_USER,
				"email_ids": [{"email_id": PORTAL_USER, "is_primary": 1}],
				"links": [{"link_doctype": "Customer", "link_name": patient}],
			}
		)
		contact.insert(ignore_permissions=True)


def summary() -> dict:
	statuses = frappe.get_all(
		"Package Balance",
		filters={"company": COMPANY},
		fields=["status", "count(name) as balances"],
		group_by="status",
		order_by="status asc",
	)
	return {
		"company": COMPANY,
		"balances": {row.status: row.balances for row in statuses},
		"deferred_revenue": flt(
			frappe.db.get_value("Package Balance", {"company": COMPANY}, "sum(total_deferred)")
		),
		"portal": {"url": "/my-packages", "user": PORTAL_USER, "password": PORTAL_PASSWORD},
		"reports": [
			"Package Deferred Revenue",
			"Package Liability Roll-forward",
			"Package Billed Revenue",
			"Package Balances",
			"Package Usage",
		],
	}
