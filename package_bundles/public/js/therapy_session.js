// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Therapy Session (Frappe Health, issue 17): a session of a plan made from a template is billed with
// its plan, so Health shows no Sales Invoice button for it. Where the patient's prepaid package pays
// for the plan's sessions, the plan is billed session by session (package_bundles.flows.therapy):
// the button Health shows for plans without a template is offered here too, and the invoice row
// it makes draws the session from the package.
// This file shares one scope with Health's own form script: everything lives in a namespace.
frappe.provide("package_bundles.therapy_session");

frappe.ui.form.on("Therapy Session", {
	refresh(frm) {
		if (frm.doc.docstatus !== 1 || frm.doc.invoiced || frm.doc.appointment) return;
		if (!frappe.model.can_create("Sales Invoice")) return;
		const session = frm.doc.name;
		frappe
			.xcall("package_bundles.api.therapy.therapy_session_billed_by_package", { session })
			.then((billed_by_package) => {
				if (!billed_by_package || frm.doc.name !== session) return;
				frm.add_custom_button(
					__("Sales Invoice"),
					() =>
						frappe.model.open_mapped_doc({
							method: "healthcare.healthcare.doctype.therapy_session.therapy_session.invoice_therapy_session",
							frm: frm,
						}),
					__("Create")
				);
			});
	},
});
