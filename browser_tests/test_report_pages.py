"""A real browser on Package Deferred Revenue (issue 12): a summary first, the GL reconciliation
once the rows show, one patient's lines at once, and detail of everyone as a background report.

Same scene and server as test_pos_page.py (scripts/run-tests): the till company, whose patient
bought a package of visits.
"""

import os
import re
from urllib.parse import quote

from conftest import PATIENT, SHOTS, URL
from playwright.sync_api import expect

COMPANY = "Package Practice Till"
REPORT = "Package Deferred Revenue"


def open_report(page, report=REPORT, **filters):
	query = "&".join(f"{key}={quote(str(value))}" for key, value in {"company": COMPANY, **filters}.items())
	page.goto(f"{URL}/app/query-report/{quote(report)}?{query}")
	# the company filter shows whatever the view (Group By hides for one customer)
	page.wait_for_selector(".page-form [data-fieldname='company'] input", timeout=60_000)


def column_titles(page) -> list[str]:
	return [title.strip() for title in page.locator(".dt-header .dt-cell__content").all_inner_texts()]


def test_deferred_revenue_opens_on_a_summary_then_shows_the_reconciliation(page):
	os.makedirs(SHOTS, exist_ok=True)
	open_report(page)
	page.locator(".dt-scrollable .dt-row").first.wait_for(timeout=60_000)
	assert "Item Group" in column_titles(page)
	assert "Package Balance" not in column_titles(page)
	expect(page.locator(".dt-scrollable")).to_contain_text("PKT Visits")
	# the page asks for the reconciliation with the GL after the rows: three cards
	summary = page.locator(".report-summary")
	expect(summary).to_contain_text("Deferred Revenue in Packages", timeout=30_000)
	expect(summary).to_contain_text("Deferred Revenue in the General Ledger", timeout=30_000)
	expect(summary).to_contain_text("Difference")
	page.screenshot(path=f"{SHOTS}/deferred_revenue_summary.png", full_page=True)


def test_roll_forward_shows_its_rows_then_the_gl_cards(page):
	"""Issue 22: the roll-forward's rows come from the month-end snapshots; the GL cards, which read
	every GL row of the deferred accounts, are asked for once the rows show, beside its own cards."""
	open_report(page, report="Package Liability Roll-forward")
	page.locator(".dt-scrollable .dt-row").first.wait_for(timeout=60_000)
	expect(page.locator(".dt-scrollable")).to_contain_text("PKT Visits")
	summary = page.locator(".report-summary")
	expect(summary).to_contain_text("Opening Deferred", timeout=30_000)
	expect(summary).to_contain_text("Closing Deferred")
	expect(summary).to_contain_text("Deferred Revenue in the General Ledger", timeout=30_000)
	expect(summary).to_contain_text("Difference")
	page.screenshot(path=f"{SHOTS}/roll_forward_summary.png", full_page=True)


def test_one_patient_shows_lines_at_once(page):
	open_report(page, customer=PATIENT)
	# the lines, not a summary: a Package Balance column (waited for, as the table may redraw)
	expect(page.locator(".dt-header")).to_contain_text("Package Balance", timeout=60_000)
	assert "Package Balance" in column_titles(page)
	expect(page.locator(".dt-scrollable")).to_contain_text(PATIENT)
	expect(page.locator(".dt-scrollable")).to_contain_text("Office Visit")
	page.screenshot(path=f"{SHOTS}/deferred_revenue_one_patient.png", full_page=True)


def test_details_of_everyone_run_in_the_background(page):
	open_report(page)
	page.locator(".dt-scrollable .dt-row").first.wait_for(timeout=60_000)
	page.get_by_role("checkbox", name="Show Details").check()
	# the report is a Prepared Report: the page offers to generate it rather than running it
	expect(page.locator(".page-actions, .report-wrapper, .layout-main-section").first).to_contain_text(
		re.compile("Generate New Report|background report", re.I), timeout=30_000
	)
	page.screenshot(path=f"{SHOTS}/deferred_revenue_background.png", full_page=True)
