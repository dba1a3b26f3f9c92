"""A real browser books a Patient Appointment (Frappe Health, issue 17) and sees the package's coverage.

Runs only against a site with Frappe Health: set PACKAGE_BUNDLES_HEALTH_URL to its `bench serve`
(e.g. http://127.0.0.1:8125); skipped otherwise (the browser tier's usual site has no Health).
The scene (package_bundles.tests.health_browser.make_booking_scene, asked over HTTP as
Administrator) gives the patient a paid package of visits; the form's script
(public/js/patient_appointment.js) shows the headline once the patient and the appointment type
or practitioner are chosen, and again on the booked appointment.
"""

import os

import pytest
from conftest import HEALTH_URL, SHOTS
from playwright.sync_api import expect

pytestmark = pytest.mark.skipif(
	not HEALTH_URL,
	reason="PACKAGE_BUNDLES_HEALTH_URL is not set (a bench serve of a site with Frappe Health)",
)


def make_scene(page) -> dict:
	return page.evaluate("""() => frappe.xcall("package_bundles.tests.health_browser.make_booking_scene")""")


def coverage_headline(page):
	return page.locator(".form-message .package-bundles-coverage")


def test_booking_an_appointment_shows_the_package_that_covers_it(health_page):
	page = health_page
	os.makedirs(SHOTS, exist_ok=True)
	page.goto(f"{HEALTH_URL}/app/patient-appointment/new")
	page.wait_for_function(
		"() => window.cur_frm && cur_frm.doctype === 'Patient Appointment'", timeout=60_000
	)
	scene = make_scene(page)
	left = int(scene["visits_left"])
	assert left >= 1

	# the patient alone: no headline yet (neither type nor practitioner chosen)
	page.evaluate(
		"""async ([company, patient]) => {
			await cur_frm.set_value("company", company);
			await cur_frm.set_value("appointment_for", "Practitioner");
			await cur_frm.set_value("patient", patient);
		}""",
		[scene["company"], scene["patient"]],
	)
	page.wait_for_function("(p) => cur_frm.doc.patient === p", arg=scene["patient"], timeout=30_000)
	page.wait_for_timeout(1000)
	expect(coverage_headline(page)).to_have_count(0)

	# the appointment type chosen, then the practitioner (Health fetches the department from
	# them, as its Check Availability dialog does): the package's coverage shows
	page.evaluate(
		"""async ([appointment_type, practitioner]) => {
			await cur_frm.set_value("appointment_type", appointment_type);
			await cur_frm.set_value("practitioner", practitioner);
		}""",
		[scene["appointment_type"], scene["practitioner"]],
	)
	headline = coverage_headline(page)
	expect(headline).to_be_visible(timeout=30_000)
	expect(headline).to_contain_text(f"Covered by prepaid package {scene['package']}")
	expect(headline).to_contain_text(scene["package_balance"])
	expect(headline).to_contain_text(f"{left - 1} left after this visit")
	page.screenshot(path=f"{SHOTS}/appointment_coverage_new.png", full_page=True)

	# a date and a time, and the appointment booked (saved): the booked visit shows it too
	page.evaluate(
		"""async () => {
			await cur_frm.set_value("appointment_date", frappe.datetime.get_today());
			await cur_frm.set_value("appointment_time", "07:05:00");
			await cur_frm.set_value("duration", 20);
			cur_frm.enable_save();
			await cur_frm.save();
		}"""
	)
	page.wait_for_function(
		"() => !cur_frm.is_new() && cur_frm.doc.name && !cur_frm.is_dirty()", timeout=60_000
	)
	booked = page.evaluate("() => cur_frm.doc.name")
	assert booked
	headline = coverage_headline(page)
	expect(headline).to_be_visible(timeout=30_000)
	expect(headline).to_contain_text(scene["package_balance"])
	expect(headline).to_contain_text(f"{left - 1} left after this visit")
	page.screenshot(path=f"{SHOTS}/appointment_coverage_booked.png", full_page=True)
