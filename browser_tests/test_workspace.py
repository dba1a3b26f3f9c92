"""A real browser on the Packages workspace (issue 11): the number cards and charts at a glance,
and the links to every report and to the opening import (the till company's scene)."""

import os

from conftest import SHOTS, URL
from playwright.sync_api import expect

# the workspace's own (short) labels of its number cards and charts
WIDGETS = (
	"Deferred Revenue",
	"Active Balances",
	"Expiring in 30 Days",
	"Redemptions This Month",
	"Deferred Revenue at Month-End",
	"Redemptions by Item Group",
)


def test_packages_workspace_shows_cards_charts_and_links(page):
	os.makedirs(SHOTS, exist_ok=True)
	page.goto(f"{URL}/app/packages")
	workspace = page.locator(".layout-main-section")
	for widget in WIDGETS:
		expect(workspace).to_contain_text(widget, timeout=60_000)
	expect(workspace).to_contain_text("Package Liability Roll-forward")
	expect(workspace).to_contain_text("Package Opening Import")
	page.locator(".widget.number-widget-box .number").first.wait_for(timeout=60_000)
	page.wait_for_timeout(1500)  # the charts draw after their data arrives
	page.screenshot(path=f"{SHOTS}/packages_workspace.png", full_page=True)
