// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Frappe Health's Patient (issue 17): the live package balances of the patient's Customer, as the
// Customer form shows them, and "Sell a Package": a new Sales Invoice for that customer and patient.
// Loaded only where Health is installed (hooks doctype_js "Patient"); package_balances.js comes first.

frappe.ui.form.on("Patient", {
	refresh(frm) {
		frm.dashboard.parent.find(".package-bundles-balances").remove();
		if (frm.is_new() || !frm.doc.customer) return;

		const patient = frm.doc.name;
		const customer = frm.doc.customer;
		if (frappe.model.can_create("Sales Invoice")) {
			frm.add_custom_button(
				__("Sell a Package"),
				() => frappe.new_doc("Sales Invoice", { customer, patient }),
				__("Create")
			);
		}
		if (!frappe.model.can_read("Package Balance")) return;

		frm.add_custom_button(
			__("Package Balances"),
			() => frappe.set_route("query-report", "Package Balances", { customer }),
			__("View")
		);
		package_bundles.get_patient_balances(patient).then((balances) => {
			if (frm.doc.name !== patient) return;
			package_bundles.show_balances_section(
				frm,
				balances,
				customer,
				__("All balances of this patient's customer, {0}", [
					frappe.utils.escape_html(customer),
				])
			);
		});
	},
});
