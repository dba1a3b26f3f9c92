"""A small practice for the integration tests: company, accounts, items, taxes, prices, patients.

Built once per site (idempotent) by ``before_tests`` or by the first test that needs it;
the worked example of SPEC §6 uses these names.
"""

import copy
import json

import frappe
from frappe.utils import flt, getdate, nowdate

COMPANY = "Package Practice"
ABBR = "PKP"
PRICE_LIST = "PKT Selling"
VISIT = "PKT Office Visit"
KIT = "PKT Lactation Kit"
LAB = "PKT Lab Panel"
BOTOX = "PKT Botox Unit"
CUSTOMER = "PKT Patient A"
OTHER_CUSTOMER = "PKT Patient B"
EURO_CUSTOMER = "PKT Euro Patient"
TAX_TEMPLATE = f"PKT Sales Tax - {ABBR}"
TAXABLE_TEMPLATE = f"PKT Taxable 8% - {ABBR}"
EXEMPT_TEMPLATE = f"PKT Exempt - {ABBR}"
OTHER_COMPANY = "Package Practice West"
POS_PROFILE = "PKT Front Desk"
OTHER_ABBR = "PKW"


def account(name: str, abbr: str = ABBR) -> str:
	return f"{name} - {abbr}"


DEFERRED = account("Package Deferred Revenue")
VISIT_INCOME = account("Visit Income")
PRODUCT_INCOME = account("Product Income")
LAB_INCOME = account("Lab Income")
SALES_TAX = account("PKT Sales Tax")
DEBTORS = account("Debtors")
CASH = account("Cash")
STORES = account("Stores")
MAIN_COST_CENTER = account("Main")


def before_tests():
	"""bench run-tests hook: complete ERPNext's setup on a fresh site, then build the practice."""
	if not frappe.db.a_row_exists("Company"):
		from erpnext.setup.utils import before_tests as erpnext_before_tests

		erpnext_before_tests()
	make_practice()
	frappe.db.commit()


def make_practice():
	if frappe.flags.package_practice_ready:
		return
	make_fiscal_year()
	make_company(COMPANY, ABBR)
	make_company(OTHER_COMPANY, OTHER_ABBR)
	make_accounts(ABBR)
	make_accounts(OTHER_ABBR)
	set_company_defaults(COMPANY, ABBR)
	set_company_defaults(OTHER_COMPANY, OTHER_ABBR)
	make_tax_templates()
	make_item_groups()
	make_price_list()
	make_items()
	make_customers()
	stock_up(KIT, 100)
	make_pos_profile()
	reset_settings()
	frappe.flags.package_practice_ready = True


def get_or_make(doctype: str, name: str, values: dict):
	if frappe.db.exists(doctype, name):
		return frappe.get_doc(doctype, name)
	doc = frappe.get_doc({"doctype": doctype, **values})
	doc.insert(ignore_permissions=True)
	return doc


def make_fiscal_year():
	year = getdate(nowdate()).year
	for y in (year - 1, year, year + 1):
		if not frappe.db.exists("Fiscal Year", str(y)):
			frappe.get_doc(
				{
					"doctype": "Fiscal Year",
					"year": str(y),
					"year_start_date": f"{y}-01-01",
					"year_end_date": f"{y}-12-31",
				}
			).insert(ignore_permissions=True)


def make_company(name: str, abbr: str):
	get_or_make(
		"Company",
		name,
		{
			"company_name": name,
			"abbr": abbr,
			"default_currency": "USD",
			"country": "United States",
			"create_chart_of_accounts_based_on": "Standard Template",
			"chart_of_accounts": "Standard",
		},
	)


def make_account(name: str, abbr: str, parent: str, **values):
	full_name = account(name, abbr)
	if not frappe.db.exists("Account", full_name):
		company = frappe.db.get_value("Company", {"abbr": abbr})
		frappe.get_doc(
			{
				"doctype": "Account",
				"account_name": name,
				"parent_account": account(parent, abbr),
				"company": company,
				**values,
			}
		).insert(ignore_permissions=True)
	return full_name


def make_accounts(abbr: str):
	make_account("Package Deferred Revenue", abbr, "Current Liabilities")
	make_account("Visit Income", abbr, "Direct Income")
	make_account("Product Income", abbr, "Direct Income")
	make_account("Lab Income", abbr, "Direct Income")
	make_account("Breakage Income", abbr, "Indirect Income")
	make_account("PKT Sales Tax", abbr, "Duties and Taxes", account_type="Tax", tax_rate=8)
	make_account(
		"Debtors EUR", abbr, "Accounts Receivable", account_type="Receivable", account_currency="EUR"
	)


def set_company_defaults(company: str, abbr: str):
	frappe.db.set_value(
		"Company",
		company,
		{
			"default_deferred_revenue_account": account("Package Deferred Revenue", abbr),
			"default_income_account": account("Sales", abbr),
			"enable_perpetual_inventory": 1,
		},
	)


def make_tax_templates():
	get_or_make(
		"Item Tax Template",
		TAXABLE_TEMPLATE,
		{"title": "PKT Taxable 8%", "company": COMPANY, "taxes": [{"tax_type": SALES_TAX, "tax_rate": 8}]},
	)
	get_or_make(
		"Item Tax Template",
		EXEMPT_TEMPLATE,
		{"title": "PKT Exempt", "company": COMPANY, "taxes": [{"tax_type": SALES_TAX, "tax_rate": 0}]},
	)
	get_or_make(
		"Sales Taxes and Charges Template",
		TAX_TEMPLATE,
		{
			"title": "PKT Sales Tax",
			"company": COMPANY,
			"taxes": [
				{
					"charge_type": "On Net Total",
					"account_head": SALES_TAX,
					"description": "Sales Tax 8%",
					"rate": 8,
					"cost_center": MAIN_COST_CENTER,
				}
			],
		},
	)


def make_item_groups():
	for group in ("PKT Visits", "PKT Products", "PKT Labs"):
		get_or_make("Item Group", group, {"item_group_name": group, "parent_item_group": "All Item Groups"})


def make_price_list():
	get_or_make(
		"Price List",
		PRICE_LIST,
		{"price_list_name": PRICE_LIST, "currency": "USD", "selling": 1, "enabled": 1},
	)


def make_items():
	make_item(VISIT, "PKT Visits", 150, VISIT_INCOME, EXEMPT_TEMPLATE, is_stock_item=0)
	make_item(KIT, "PKT Products", 80, PRODUCT_INCOME, TAXABLE_TEMPLATE, is_stock_item=1)
	make_item(LAB, "PKT Labs", 60, LAB_INCOME, EXEMPT_TEMPLATE, is_stock_item=0)
	make_item(BOTOX, "PKT Products", 12, PRODUCT_INCOME, TAXABLE_TEMPLATE, is_stock_item=0)


def make_item(item_code, item_group, rate, income_account, tax_template, is_stock_item):
	if not frappe.db.exists("Item", item_code):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": item_code,
				"item_name": item_code.replace("PKT ", ""),
				"item_group": item_group,
				"stock_uom": "Nos",
				"is_stock_item": is_stock_item,
				"is_sales_item": 1,
				"valuation_rate": 30 if is_stock_item else 0,
				"item_defaults": [
					{
						"company": COMPANY,
						"income_account": income_account,
						"default_warehouse": account("Stores"),
						"selling_cost_center": MAIN_COST_CENTER,
					}
				],
				"taxes": [{"item_tax_template": tax_template}] if tax_template else [],
			}
		).insert(ignore_permissions=True)
	set_price(item_code, rate)


def set_price(item_code, rate, price_list=PRICE_LIST):
	name = frappe.db.get_value("Item Price", {"item_code": item_code, "price_list": price_list})
	if name:
		frappe.db.set_value("Item Price", name, "price_list_rate", rate)
	else:
		frappe.get_doc(
			{
				"doctype": "Item Price",
				"item_code": item_code,
				"price_list": price_list,
				"price_list_rate": rate,
			}
		).insert(ignore_permissions=True)


def make_customers():
	for customer in (CUSTOMER, OTHER_CUSTOMER, EURO_CUSTOMER):
		get_or_make(
			"Customer",
			customer,
			{
				"customer_name": customer,
				"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0})
				or "All Customer Groups",
				"territory": frappe.db.get_value("Territory", {"is_group": 0}) or "All Territories",
				"default_price_list": PRICE_LIST,
			},
		)


def stock_up(item_code, qty):
	from erpnext.stock.utils import get_stock_balance

	warehouse = account("Stores")
	have = flt(get_stock_balance(item_code, warehouse))
	if have >= qty:
		return
	entry = frappe.get_doc(
		{
			"doctype": "Stock Entry",
			"stock_entry_type": "Material Receipt",
			"company": COMPANY,
			"posting_date": f"{getdate(nowdate()).year}-01-01",
			"set_posting_time": 1,
			"items": [
				{
					"item_code": item_code,
					"qty": qty - have,
					"t_warehouse": warehouse,
					"basic_rate": 30,
					"cost_center": MAIN_COST_CENTER,
				}
			],
		}
	)
	entry.insert(ignore_permissions=True)
	entry.submit()


def make_pos_profile():
	cash = frappe.get_doc("Mode of Payment", "Cash")
	if not any(row.company == COMPANY for row in cash.accounts):
		cash.append("accounts", {"company": COMPANY, "default_account": CASH})
		cash.save(ignore_permissions=True)
	get_or_make(
		"POS Profile",
		POS_PROFILE,
		{
			"name": POS_PROFILE,
			"company": COMPANY,
			"warehouse": STORES,
			"selling_price_list": PRICE_LIST,
			"currency": "USD",
			"write_off_account": account("Write Off"),
			"write_off_cost_center": MAIN_COST_CENTER,
			"cost_center": MAIN_COST_CENTER,
			"payments": [{"mode_of_payment": "Cash", "default": 1}],
		},
	)


def reset_settings(**values):
	settings = frappe.get_single("Package Settings")
	settings.update(
		{
			"require_full_payment": 1,
			"package_before_membership": 1,
			"recognize_breakage": 1,
			"allow_unused_refund": 0,
			**values,
		}
	)
	settings.flags.ignore_permissions = True
	settings.save()


# --- documents the tests build ------------------------------------------------


def make_package(name="Postpartum Care", items=None, price=720, **values):
	"""SPEC §6: 4 visits, 1 kit, 2 labs; default price 800, sold for 720."""
	if frappe.db.exists("Prepaid Package", name):
		frappe.delete_doc("Prepaid Package", name, force=True, ignore_permissions=True)
	items = items or [(VISIT, 4), (KIT, 1), (LAB, 2)]
	package = frappe.get_doc(
		{
			"doctype": "Prepaid Package",
			"package_name": name,
			"company": COMPANY,
			"selling_price_list": PRICE_LIST,
			"package_price": price,
			"items": [{"item_code": item_code, "qty": qty} for item_code, qty in items],
			**values,
		}
	)
	package.insert(ignore_permissions=True)
	return package


def make_invoice(rows, customer=CUSTOMER, submit=True, posting_date=None, taxes=True, **values):
	"""rows: (item_code, qty) or dicts of Sales Invoice Item fields."""
	invoice = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"company": values.pop("company", COMPANY),
			"customer": customer,
			"currency": values.pop("currency", "USD"),
			"selling_price_list": PRICE_LIST,
			"debit_to": values.pop("debit_to", DEBTORS),
			"set_posting_time": 1,
			"posting_date": posting_date or nowdate(),
			"due_date": posting_date or nowdate(),
			"taxes_and_charges": TAX_TEMPLATE if taxes else None,
			"items": [row if isinstance(row, dict) else {"item_code": row[0], "qty": row[1]} for row in rows],
			**values,
		}
	)
	if taxes:
		from erpnext.controllers.accounts_controller import get_taxes_and_charges

		invoice.set("taxes", get_taxes_and_charges("Sales Taxes and Charges Template", TAX_TEMPLATE))
	invoice.insert(ignore_permissions=True)
	if submit:
		invoice.submit()
	return invoice


def pay(invoice, amount=None):
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry

	payment = get_payment_entry("Sales Invoice", invoice.name, bank_account=CASH)
	payment.reference_no = f"PKT-{invoice.name}"
	payment.reference_date = invoice.posting_date
	payment.posting_date = invoice.posting_date
	if amount is not None:
		payment.paid_amount = amount
		payment.received_amount = amount
		payment.references[0].allocated_amount = amount
	payment.insert(ignore_permissions=True)
	payment.submit()
	return payment


def gl_balance(account_name: str, company: str = COMPANY, voucher_no: str | None = None, upto=None) -> float:
	"""Debit minus credit of an account (non-cancelled GL entries)."""
	filters = {"account": account_name, "company": company, "is_cancelled": 0}
	if voucher_no:
		filters["voucher_no"] = voucher_no
	if upto:
		filters["posting_date"] = ("<=", upto)
	rows = frappe.get_all(
		"GL Entry", filters=filters, fields=["sum(debit) as debit", "sum(credit) as credit"]
	)
	return flt(rows[0].debit) - flt(rows[0].credit) if rows else 0.0


def gl_entries(voucher_no: str) -> dict[str, float]:
	"""account -> debit minus credit for one voucher."""
	rows = frappe.get_all(
		"GL Entry",
		filters={"voucher_no": voucher_no, "is_cancelled": 0},
		fields=["account", "sum(debit) as debit", "sum(credit) as credit"],
		group_by="account",
		order_by="account asc",
	)
	return {row.account: flt(flt(row.debit) - flt(row.credit), 2) for row in rows}


# --- a till of its own: POS closing commits, so POS work has a company of its own -------------------

POS_COMPANY = "Package Practice Till"
POS_ABBR = "PKPT"
TILL_PROFILE = "PKT Till"
INCOME = {VISIT: "Visit Income", KIT: "Product Income", LAB: "Lab Income"}


def make_till():
	make_company(POS_COMPANY, POS_ABBR)
	make_accounts(POS_ABBR)
	set_company_defaults(POS_COMPANY, POS_ABBR)
	for item_code, income in INCOME.items():
		item = frappe.get_doc("Item", item_code)
		if not any(row.company == POS_COMPANY for row in item.item_defaults):
			item.append(
				"item_defaults",
				{
					"company": POS_COMPANY,
					"income_account": account(income, POS_ABBR),
					"selling_cost_center": account("Main", POS_ABBR),
					"default_warehouse": account("Stores", POS_ABBR),
				},
			)
			item.save(ignore_permissions=True)
	cash = frappe.get_doc("Mode of Payment", "Cash")
	if not any(row.company == POS_COMPANY for row in cash.accounts):
		cash.append("accounts", {"company": POS_COMPANY, "default_account": account("Cash", POS_ABBR)})
		cash.save(ignore_permissions=True)
	get_or_make(
		"POS Profile",
		TILL_PROFILE,
		{
			"name": TILL_PROFILE,
			"company": POS_COMPANY,
			"warehouse": account("Stores", POS_ABBR),
			"selling_price_list": PRICE_LIST,
			"currency": "USD",
			"write_off_account": account("Write Off", POS_ABBR),
			"write_off_cost_center": account("Main", POS_ABBR),
			"cost_center": account("Main", POS_ABBR),
			"payments": [{"mode_of_payment": "Cash", "default": 1}],
		},
	)
	if not frappe.db.exists(
		"Bin", {"item_code": KIT, "warehouse": account("Stores", POS_ABBR), "actual_qty": (">", 10)}
	):
		entry = frappe.get_doc(
			{
				"doctype": "Stock Entry",
				"stock_entry_type": "Material Receipt",
				"company": POS_COMPANY,
				"items": [
					{
						"item_code": KIT,
						"qty": 50,
						"t_warehouse": account("Stores", POS_ABBR),
						"basic_rate": 30,
						"cost_center": account("Main", POS_ABBR),
					}
				],
			}
		)
		entry.insert(ignore_permissions=True)
		entry.submit()


def make_patient(name):
	return get_or_make(
		"Customer",
		name,
		{
			"customer_name": name,
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}),
			"territory": frappe.db.get_value("Territory", {"is_group": 0}),
		},
	).name


def open_till():
	from erpnext.accounts.doctype.pos_opening_entry.test_pos_opening_entry import create_opening_entry

	for name in frappe.get_all(
		"POS Opening Entry",
		filters={"pos_profile": TILL_PROFILE, "status": "Open", "docstatus": 1},
		pluck="name",
	):
		frappe.db.set_value("POS Opening Entry", name, "status", "Closed")
	return create_opening_entry(frappe.get_doc("POS Profile", TILL_PROFILE), frappe.session.user)


def close_year(year: int, company: str = COMPANY):
	"""A Period Closing Voucher closing the company's fiscal year ``year`` (as erpnext's own tests make one)."""
	from erpnext.accounts.utils import get_fiscal_year

	fiscal_year, start, end = get_fiscal_year(f"{year}-12-31", company=company)[:3]
	closing_account = frappe.db.get_value(
		"Account", {"company": company, "root_type": "Equity", "is_group": 0}, "name", order_by="name asc"
	)
	voucher = frappe.get_doc(
		{
			"doctype": "Period Closing Voucher",
			"transaction_date": end,
			"period_start_date": start,
			"period_end_date": end,
			"company": company,
			"fiscal_year": fiscal_year,
			"closing_account_head": closing_account,
			"remarks": f"Books of {year} closed",
		}
	)
	voucher.insert(ignore_permissions=True)
	voucher.submit()
	return voucher


ITEM_DETAILS_METHOD = "erpnext.stock.get_item_details.get_item_details"


def invoice_dict(
	customer: str, company: str = COMPANY, item_code: str = VISIT, debit_to: str | None = None, qty: float = 1
) -> dict:
	"""A draft invoice as the desk sends it to a whitelisted call, its one row just added."""
	return {
		"doctype": "Sales Invoice",
		"company": company,
		"customer": customer,
		"currency": "USD",
		"selling_price_list": PRICE_LIST,
		"debit_to": debit_to or account("Debtors"),
		"posting_date": nowdate(),
		"items": [
			{
				"doctype": "Sales Invoice Item",
				"name": "new-sales-invoice-item-1",
				"item_code": item_code,
				"qty": qty,
			}
		],
	}


def item_details_args(invoice: dict) -> dict:
	"""The arguments the invoice form sends ERPNext's get_item_details for its row."""
	row = invoice["items"][0]
	return {
		"item_code": row["item_code"],
		"customer": invoice["customer"],
		"company": invoice["company"],
		"currency": "USD",
		"conversion_rate": 1,
		"price_list": PRICE_LIST,
		"price_list_currency": "USD",
		"plc_conversion_rate": 1,
		"doctype": "Sales Invoice",
		"child_docname": row["name"],
		"qty": row["qty"],
		"transaction_date": nowdate(),
	}


def call_as_request(cmd: str, **kwargs):
	"""Call a whitelisted method the way a request does: through the hooks' overrides of its path."""
	method = frappe.get_attr(frappe.override_whitelisted_method(cmd))
	frappe.is_whitelisted(method)
	return frappe.call(method, **kwargs)


def row_as_the_form_shows(args: str | dict, doc: str | dict) -> dict:
	"""A new invoice row as the invoice form or POS page shows it (public/js/redeemed_row_preview.js).

	ERPNext's get_item_details answers first, through whatever app overrides it, and its answer is
	put on the row; then the app's preview of that row is put on top.
	"""
	details = call_as_request(ITEM_DETAILS_METHOD, args=args, doc=doc)
	invoice = json.loads(doc) if isinstance(doc, str) else copy.deepcopy(doc)
	child_docname = (json.loads(args) if isinstance(args, str) else args)["child_docname"]
	row = next(row for row in invoice["items"] if row.get("name") == child_docname)
	row.update({key: value for key, value in details.items() if key not in ("doctype", "name")})
	shown = dict(details)
	shown.update(call_as_request("package_bundles.api.preview_row", doc=invoice, child_docname=child_docname))
	return shown
