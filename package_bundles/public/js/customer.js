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
			frm.dashboard.parent.find(".package-bundles-balances").remove();
			if (!balances.length) return;
			const section = frm.dashboard.add_section(
				package_bundles.balances_table(balances),
				__("Prepaid Packages"),
				"custom package-bundles-balances"
			);
			const all_balances = `/app/package-balance?customer=${encodeURIComponent(customer)}`;
			section.append(
				`<div class="mt-2 small"><a href="${all_balances}">${__(
					"All balances of this customer"
				)}</a></div>`
			);
			frm.dashboard.show();
		});
	},
});
