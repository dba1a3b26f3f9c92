"""The logged-in desk page the browser tests share, and the scene's names (scripts/run-tests).

Playwright drives Debian's Chromium against ``bench serve``; scripts/run-tests starts the server
after ``package_bundles.tests.browser_fixtures.make_pos_scene`` made the till and the patient.
"""

import os
import re

import pytest
from playwright.sync_api import sync_playwright

URL = os.environ.get("PACKAGE_BUNDLES_URL", "http://127.0.0.1:8123")
# a bench serve of a site with Frappe Health; the Health browser tests skip without it
HEALTH_URL = os.environ.get("PACKAGE_BUNDLES_HEALTH_URL")
PATIENT = os.environ.get("PACKAGE_BUNDLES_PATIENT", "PKT Browser Patient")
SHOTS = os.environ.get("PACKAGE_BUNDLES_SCREENSHOTS", "/tmp/screenshots")


def logged_in_page(url: str):
	"""A desk page of ``url`` logged in as Administrator, in Debian's Chromium; closed after use."""
	with sync_playwright() as playwright:
		browser = playwright.chromium.launch(
			executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
			args=[
				"--no-sandbox",
				"--disable-gpu",
				"--disable-background-networking",
				"--disable-component-update",
				"--no-first-run",
				"--disable-sync",
			],
		)
		context = browser.new_context(viewport={"width": 1440, "height": 900})
		page = context.new_page()
		page.goto(f"{url}/login")
		page.fill("#login_email", "Administrator")
		page.fill("#login_password", os.environ.get("PACKAGE_BUNDLES_ADMIN_PASSWORD", "admin"))
		page.click(".btn-login")
		page.wait_for_url(re.compile(r".*/app.*"), timeout=60_000)
		yield page
		browser.close()


@pytest.fixture(scope="module")
def page():
	yield from logged_in_page(URL)


@pytest.fixture(scope="module")
def health_page():
	"""The same, on the bench serve of a site with Frappe Health (PACKAGE_BUNDLES_HEALTH_URL)."""
	yield from logged_in_page(HEALTH_URL)
