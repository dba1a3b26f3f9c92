"""A real browser opens a Frappe Health Patient (issue 17): its Customer's package balances and "Sell a Package".

Runs only against a site with Frappe Health: PACKAGE_BUNDLES_HEALTH_URL is its `bench serve`
(scripts/run-tests serves the health tier's site there); skipped otherwise. The scene is the booking
test's (package_bundles.tests.health_browser.make_booking_scene): a patient linked to a customer with
a paid package of visits. The form's script is public/js/patient.js.
"""

import os

import pytest
from conftest import HEALTH_URL, SHOTS
from playwright.sync_api import expect

pytestmark = pytest.mark.skipif(
	not HEALTH_URL,
	reason="PACKAGE_BUNDLES_HEALTH_URL is not set (a bench serve of a site with Frappe Health)",
)


def dismiss_healths_timeline_error(page):
	"""Close the one error dialog Frappe Health's own Patient form raises, with or without this app.

	Health 15.0.0's Patient dashboard (patient.get_timeline_data) imports get_timeline_data from
	erpnext.accounts.party, which ERPNext 15.71 no longer has: a Server Error dialog once the
	form's connection counts load. Any other dialog fails the test.
	"""
	page.wait_for_load_state("networkidle")
	page.wait_for_timeout(500)
	dialogs = page.locator(".modal.show")
	for i in range(dialogs.count()):
		text = dialogs.nth(i).inner_text()
		assert "get_timeline_data" in text, text
	if dialogs.count():
		page.keyboard.press("Escape")
		expect(page.locator(".modal.show")).to_have_count(0)


def test_the_patient_shows_its_packages_and_sells_one(health_page):
	page = health_page
	os.makedirs(SHOTS, exist_ok=True)
	scene = page.evaluate("""() => frappe.xcall("package_bundles.tests.health_browser.make_booking_scene")""")

	page.goto(f"{HEALTH_URL}/app/patient/{scene['patient']}")
	page.wait_for_function(
		"(p) => window.cur_frm && cur_frm.doctype === 'Patient' && cur_frm.doc.name === p",
		arg=scene["patient"],
		timeout=60_000,
	)
	# as on the Customer form, the balances sit in the form's Dashboard tab
	page.locator(".form-tabs .nav-link", has_text="Dashboard").first.click()
	section = page.locator(".package-bundles-balances")
	expect(section).to_be_visible(timeout=30_000)
	expect(section).to_contain_text(scene["package_balance"])
	expect(section).to_contain_text(scene["package"])
	expect(section).to_contain_text(f"{int(scene['visits_left'])} x Office Visit")
	expect(section).to_contain_text(scene["customer"])
	page.screenshot(path=f"{SHOTS}/patient_package_balances.png", full_page=True)
	dismiss_healths_timeline_error(page)

	page.locator(".inner-group-button[data-label='Create'] button").click()
	page.locator(".dropdown-menu.show .dropdown-item", has_text="Sell a Package").click()
	page.wait_for_function(
		"() => window.cur_frm && cur_frm.doctype === 'Sales Invoice' && cur_frm.is_new()", timeout=60_000
	)
	page.wait_for_function("(c) => cur_frm.doc.customer === c", arg=scene["customer"], timeout=30_000)
	assert page.evaluate("() => cur_frm.doc.patient") == scene["patient"]
	page.screenshot(path=f"{SHOTS}/patient_sell_a_package.png", full_page=True)
