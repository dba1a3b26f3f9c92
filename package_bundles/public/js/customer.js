// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Customer: the patient's live package balances, with links to all of them and the report.

frappe.ui.form.on("Customer", {
	refresh(frm) {
		frm.dashboard.parent.find(".package-bundles-balances").remove();
		if (frm.is_new() || !frappe.model.can_read("Package Balance")) return;

		frm.add_custom_button(
			__("Package Balances"),
			() => frappe.set_route("query-report", "Package Balances", { customer: frm.doc.name }),
			__("View")
		);

		const customer = frm.doc.name;
		package_bundles.get_customer_balances(customer).then((balances) => {
			if (frm.doc.name !== customer) return;
			package_bundles.show_balances_section(
				frm,
				balances,
				customer,
				__("All balances of this customer")
			);
		});
	},
});
