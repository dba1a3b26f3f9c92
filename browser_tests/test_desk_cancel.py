"""A real browser cancels what the app reverses from its form (issue 16, item 5).

The scene (package_bundles.tests.browser_fixtures.make_cancel_scene, through make_pos_scene) left a
submitted POS Invoice whose visit a package covered and a submitted Package Opening Import. Each
is cancelled with the form's Cancel button: the desk asks which linked documents to cancel first
and must not offer the app's Journal Entry (cancelling it alone is refused); the document cancels,
and its Journal Entry with it.
"""

import json
import os
from urllib.parse import quote, urlencode

from conftest import SHOTS, URL
from playwright.sync_api import expect

CANCEL_PATIENT = "PKT Browser Cancel Patient"


def api_list(page, doctype: str, filters: list, fields=("name",)) -> list[dict]:
	query = urlencode(
		{
			"filters": json.dumps(filters),
			"fields": json.dumps(list(fields)),
			"order_by": f"`tab{doctype}`.creation desc",
		}
	)
	response = page.request.get(f"{URL}/api/resource/{quote(doctype)}?{query}")
	assert response.ok, response.text()
	return response.json()["data"]


def docstatus(page, doctype: str, name: str) -> int:
	response = page.request.get(f"{URL}/api/resource/{quote(doctype)}/{quote(name)}")
	assert response.ok, response.text()
	return response.json()["data"]["docstatus"]


def app_journal_entries(page, voucher_no: str) -> list[str]:
	return [row["name"] for row in api_list(page, "Journal Entry", [["package_voucher_no", "=", voucher_no]])]


def cancel_from_form(page, route: str, name: str, shot: str) -> None:
	page.goto(f"{URL}/app/{route}/{quote(name)}")
	page.wait_for_function(
		"name => window.cur_frm && cur_frm.doc && cur_frm.doc.name === name && cur_frm.doc.docstatus === 1",
		arg=name,
		timeout=60_000,
	)
	page.locator(".page-actions .standard-actions button:visible", has_text="Cancel").first.click()
	dialog = page.locator(".modal.show").last
	dialog.wait_for(timeout=30_000)
	# the desk's question: no Journal Entry of the app listed to cancel first
	expect(dialog).not_to_contain_text("Journal Entry")
	page.screenshot(path=f"{SHOTS}/{shot}_dialog.png", full_page=True)
	dialog.locator(".btn-primary:visible").first.click()
	page.wait_for_function("() => cur_frm.doc.docstatus === 2", timeout=60_000)
	expect(page.locator(".page-head .indicator-pill").first).to_contain_text("Cancelled", timeout=30_000)
	page.screenshot(path=f"{SHOTS}/{shot}_cancelled.png", full_page=True)


def test_a_pos_invoice_that_redeemed_a_visit_cancels_from_its_form(page):
	os.makedirs(SHOTS, exist_ok=True)
	[invoice] = api_list(
		page,
		"POS Invoice",
		[["customer", "=", CANCEL_PATIENT], ["docstatus", "=", 1], ["consolidated_invoice", "is", "not set"]],
	)[:1]
	journal_entries = app_journal_entries(page, invoice["name"])
	assert journal_entries and all(docstatus(page, "Journal Entry", je) == 1 for je in journal_entries)

	cancel_from_form(page, "pos-invoice", invoice["name"], "pos_invoice_cancel")

	assert docstatus(page, "POS Invoice", invoice["name"]) == 2
	assert all(docstatus(page, "Journal Entry", je) == 2 for je in journal_entries)
	redemptions = api_list(
		page, "Package Redemption", [["sales_invoice", "=", invoice["name"]]], fields=("name", "status")
	)
	assert redemptions and {row["status"] for row in redemptions} == {"Reversed"}


def test_an_opening_import_cancels_from_its_form(page):
	os.makedirs(SHOTS, exist_ok=True)
	[opening] = api_list(
		page,
		"Package Opening Import",
		[["Package Opening Import Line", "customer", "=", CANCEL_PATIENT], ["docstatus", "=", 1]],
		fields=("name", "journal_entry"),
	)[:1]
	assert docstatus(page, "Journal Entry", opening["journal_entry"]) == 1

	cancel_from_form(page, "package-opening-import", opening["name"], "opening_import_cancel")

	assert docstatus(page, "Package Opening Import", opening["name"]) == 2
	assert docstatus(page, "Journal Entry", opening["journal_entry"]) == 2
	balances = api_list(
		page, "Package Balance", [["opening_import", "=", opening["name"]]], fields=("name", "status")
	)
	assert balances and {row["status"] for row in balances} == {"Cancelled"}
