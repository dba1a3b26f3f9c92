"""A real browser on the Sales Invoice form (issue 19): a covered row shows at rate 0 once ERPNext answered.

ERPNext's own get_item_details fills the new row (the app overrides nothing); the app's form
script (public/js/redeemed_row_preview.js) then asks package_bundles.api.preview_row and the row
shows free, naming the balance, before ERPNext prices it. The scene's patient holds a paid
package of the till's company (package_bundles.tests.browser_fixtures.make_pos_scene).
"""

import os
import re

from conftest import PATIENT, SHOTS, URL
from playwright.sync_api import expect

VISIT = "PKT Office Visit"
COMPANY = "Package Practice Till"
PRICE_LIST = "PKT Selling"


def test_a_visit_the_package_covers_shows_at_rate_0_on_the_invoice_form(page):
	os.makedirs(SHOTS, exist_ok=True)
	page.goto(f"{URL}/app/sales-invoice/new")
	page.wait_for_function("() => window.cur_frm && cur_frm.doctype === 'Sales Invoice'", timeout=60_000)
	page.evaluate(
		"""async ([company, customer]) => {
			await cur_frm.set_value("company", company);
			await cur_frm.set_value("customer", customer);
		}""",
		[COMPANY, PATIENT],
	)
	page.wait_for_function(
		"(customer) => cur_frm.doc.customer === customer && cur_frm.doc.debit_to", arg=PATIENT, timeout=30_000
	)
	page.wait_for_timeout(1500)  # the customer's own defaults land (its price list among them)
	page.evaluate("(price_list) => cur_frm.set_value('selling_price_list', price_list)", PRICE_LIST)
	page.wait_for_function(
		"(price_list) => cur_frm.doc.selling_price_list === price_list", arg=PRICE_LIST, timeout=30_000
	)
	page.wait_for_timeout(1000)
	# as the grid does when the user picks an item in a new row
	page.evaluate(
		"""async (item_code) => {
			// the new form's empty row, as the user would fill it
			const row = (cur_frm.doc.items || []).find((r) => !r.item_code) || cur_frm.add_child("items");
			await frappe.model.set_value(row.doctype, row.name, "item_code", item_code);
		}""",
		VISIT,
	)
	page.wait_for_function(
		"() => cur_frm.doc.items.some((row) => row.package_balance && row.rate === 0)",
		timeout=30_000,
	)
	row = page.evaluate(
		"() => { const r = cur_frm.doc.items.find((row) => row.item_code); return {item_code: r.item_code, rate: r.rate,"
		" price_list_rate: r.price_list_rate, is_free_item: r.is_free_item, balance: r.package_balance,"
		" list_rate: r.package_list_rate} }"
	)
	assert row["item_code"] == VISIT
	assert (row["rate"], row["price_list_rate"], row["is_free_item"]) == (0, 0, 1)
	assert row["balance"].startswith("PKB-")
	assert row["list_rate"] == 150
	# what the user sees: the row's amount in the grid, and a total of nothing to pay
	grid_row = page.locator('[data-fieldname="items"] .grid-body .grid-row').first
	expect(grid_row).to_contain_text("Office Visit")
	expect(grid_row.locator('[data-fieldname="rate"]')).to_contain_text(re.compile(r"0\.00"))
	page.wait_for_function("() => cur_frm.doc.grand_total === 0", timeout=30_000)
	page.screenshot(path=f"{SHOTS}/invoice_form_redeemed_visit.png", full_page=True)
