// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Patient Appointment (Frappe Health, issue 17): as soon as the patient and the appointment type or
// practitioner are chosen, a headline says whether a prepaid package pays for the visit (which
// balance, units left after it, expiry) or that it is a free follow-up under Fee Validity.
// Read-only: a failed lookup never blocks the booking.

// This file shares one scope with Health's own Patient Appointment script: everything lives in a namespace.
frappe.provide("package_bundles.patient_appointment");

frappe.ui.form.on("Patient Appointment", {
	refresh(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
	patient(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
	appointment_type(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
	practitioner(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
	department(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
	service_unit(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
	appointment_date(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
	company(frm) {
		package_bundles.patient_appointment.show_coverage(frm);
	},
});

package_bundles.patient_appointment.clear = function (frm) {
	frm.layout.message.find(".package-bundles-coverage").closest(".form-message").remove();
};

package_bundles.patient_appointment.args = function (doc) {
	return {
		patient: doc.patient,
		company: doc.company,
		appointment_type: doc.appointment_type || null,
		practitioner: doc.practitioner || null,
		appointment_date: doc.appointment_date || null,
		department: doc.department || null,
		service_unit: doc.service_unit || null,
		inpatient_record: doc.inpatient_record || null,
		appointment: doc.__islocal ? null : doc.name,
	};
};

package_bundles.patient_appointment.show_coverage = function (frm) {
	const doc = frm.doc;
	const ns = package_bundles.patient_appointment;
	// an invoiced visit's invoice shows what it redeemed; a cancelled one bills nothing
	if (
		!doc.patient ||
		!doc.company ||
		!(doc.appointment_type || doc.practitioner) ||
		doc.invoiced ||
		doc.status === "Cancelled"
	) {
		ns.clear(frm);
		return;
	}
	const args = ns.args(doc);
	const key = JSON.stringify(args);
	frm.package_bundles_coverage_key = key;
	frappe
		.xcall("package_bundles.api.health.appointment_coverage", args)
		.then((coverage) => {
			// the patient, type or practitioner may have changed while we waited
			if (frm.package_bundles_coverage_key !== key) return;
			ns.clear(frm);
			const message = ns.message(coverage);
			if (message) {
				frm.set_intro(
					`<span class="package-bundles-coverage">${message.text}</span>`,
					message.color
				);
			}
			ns.offer_billing(frm, coverage);
		})
		.catch(() => {
			if (frm.package_bundles_coverage_key === key) ns.clear(frm);
		});
};

// Automate Appointment Invoicing bills a covered visit on booking; one booked before its package
// is billed to it from here, with nothing to pay (Health's Make Payment would take money)
package_bundles.patient_appointment.offer_billing = function (frm, coverage) {
	const label = __("Bill to Package");
	frm.remove_custom_button(label);
	if (!coverage || !coverage.covered || !coverage.billed_on_booking) return;
	if (frm.is_new() || frm.doc.invoiced || frm.doc.status === "Cancelled") return;
	frm.add_custom_button(label, () =>
		frappe
			.xcall("package_bundles.api.health.bill_appointment_to_package", {
				appointment: frm.doc.name,
			})
			.then((invoice) => {
				frappe.show_alert({
					message: __("Billed to the package on {0}", [invoice]),
					indicator: "green",
				});
				frm.reload_doc();
			})
	);
};

package_bundles.patient_appointment.message = function (coverage) {
	if (!coverage) return null;
	if (coverage.free_follow_up) {
		const till = coverage.valid_till ? frappe.datetime.str_to_user(coverage.valid_till) : "";
		return {
			color: "blue",
			text: __("Free follow-up under Fee Validity {0} (valid till {1}): no package unit is used.", [
				frappe.utils.get_form_link("Fee Validity", coverage.fee_validity, true),
				till,
			]),
		};
	}
	if (coverage.covered) {
		const units = flt(coverage.units_left_after);
		const expiry = coverage.expiry_date
			? __("expires on {0}", [frappe.datetime.str_to_user(coverage.expiry_date)])
			: __("no expiry");
		return {
			color: "green",
			text: __(
				"Covered by prepaid package {0} (balance {1}): {2} left after this visit, {3}. Nothing to pay for {4}.",
				[
					frappe.utils.escape_html(coverage.prepaid_package),
					frappe.utils.get_form_link("Package Balance", coverage.package_balance, true),
					format_number(units, null, Number.isInteger(units) ? 0 : 3),
					expiry,
					frappe.utils.escape_html(coverage.item_code),
				]
			),
		};
	}
	if (coverage.holds_packages && coverage.item_code) {
		return {
			color: "orange",
			text: __("No prepaid package of this patient covers {0}: the visit is charged.", [
				frappe.utils.escape_html(coverage.item_code),
			]),
		};
	}
	return null;
};
