"""A real browser on the POS page (issue 10): a row the patient's package covers shows at rate 0.

Driven by Playwright against Debian's Chromium and ``bench serve``; scripts/run-tests starts the
server after ``package_bundles.tests.browser_fixtures.make_pos_scene`` made the till and the patient.
"""

import os
import re

from conftest import PATIENT, SHOTS, URL
from playwright.sync_api import expect

VISIT = "PKT Office Visit"


def test_a_visit_the_package_covers_shows_at_rate_0_and_completes_with_nothing_to_pay(page):
	os.makedirs(SHOTS, exist_ok=True)
	page.goto(f"{URL}/app/point-of-sale")
	page.wait_for_selector(".customer-field input", timeout=60_000)

	customer = page.locator(".customer-field input")
	customer.click()
	customer.fill(PATIENT)
	page.locator("[role=option]", has_text=PATIENT).first.click()
	page.wait_for_timeout(1000)

	page.get_by_placeholder("Search by item code, serial number or barcode").fill(VISIT)
	item = page.locator(f'.item-wrapper[data-item-code="{VISIT.replace(" ", "%20")}"]')
	item.first.wait_for(timeout=30_000)
	item.first.click()

	# the row comes back from the server as the package will redeem it: rate 0 before any payment
	cart_item = page.locator(".cart-item-wrapper").first
	cart_item.wait_for(timeout=30_000)
	expect(cart_item).to_contain_text("Office Visit")
	expect(cart_item.locator(".item-rate")).to_have_text(re.compile(r"\$\s?0\.00"), timeout=30_000)
	expect(page.locator(".grand-total-container")).to_contain_text(re.compile(r"\$\s?0\.00"))
	page.screenshot(path=f"{SHOTS}/pos_redeemed_visit.png", full_page=True)

	# nothing to pay: the ticket completes all the same, and the summary shows it paid
	page.locator(".checkout-btn").first.click()
	page.locator(".submit-order-btn").first.wait_for(timeout=30_000)
	page.locator(".submit-order-btn").first.click()
	page.locator(".modal.show .btn-primary", has_text="Yes").click()
	summary = page.locator(".past-order-summary")
	expect(summary).to_contain_text("Sold by", timeout=30_000)
	expect(summary).to_contain_text("Paid")
	expect(summary).to_contain_text("Office Visit")
	expect(summary).to_contain_text(re.compile(r"ACC-PSINV-"))
	page.screenshot(path=f"{SHOTS}/pos_completed_ticket.png", full_page=True)
