// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// A customer's package balances for the Customer, Sales Invoice and (Frappe Health) Patient forms.
// Input: the list package_bundles.api.get_customer_balances (or get_patient_balances) returns.

frappe.provide("package_bundles");

package_bundles.BALANCE_COLORS = {
	Active: "green",
	"Awaiting Payment": "orange",
	Exhausted: "gray",
	Expired: "red",
	Refunded: "gray",
	Cancelled: "red",
};

// Units as people count them: 3, not 3.000
package_bundles.format_qty = function (qty) {
	qty = flt(qty);
	return format_number(qty, null, Number.isInteger(qty) ? 0 : 3);
};

// "3 x Office Visit, 1 x Lab Panel": what is left in a balance
package_bundles.remaining_units = function (balance) {
	const remaining = (balance.items || [])
		.filter((item) => flt(item.qty_remaining) > 0)
		.map((item) =>
			__("{0} x {1}", [
				package_bundles.format_qty(item.qty_remaining),
				frappe.utils.escape_html(item.item_name || item.item_code),
			])
		)
		.join(", ");
	return remaining || __("Nothing left");
};

package_bundles.expiry_text = function (balance) {
	return balance.expiry_date
		? __("expires on {0}", [frappe.datetime.str_to_user(balance.expiry_date)])
		: __("no expiry");
};

package_bundles.balances_table = function (balances) {
	const rows = balances
		.map((balance) => {
			const color = package_bundles.BALANCE_COLORS[balance.status] || "gray";
			const expiry = balance.expiry_date
				? frappe.datetime.str_to_user(balance.expiry_date)
				: __("No expiry");
			return `<tr>
				<td>${frappe.utils.get_form_link("Package Balance", balance.name, true)}</td>
				<td>${frappe.utils.escape_html(balance.prepaid_package)}</td>
				<td><span class="indicator-pill ${color}">${__(balance.status)}</span></td>
				<td>${expiry}</td>
				<td>${package_bundles.remaining_units(balance)}</td>
			</tr>`;
		})
		.join("");
	return `<table class="table table-sm small mb-0">
		<thead><tr>
			<th>${__("Balance")}</th>
			<th>${__("Package")}</th>
			<th>${__("Status")}</th>
			<th>${__("Expires")}</th>
			<th>${__("Remaining")}</th>
		</tr></thead>
		<tbody>${rows}</tbody>
	</table>`;
};

// Fetch a customer's live balances; resolves to [] when the user may not read them or the call fails.
package_bundles.get_customer_balances = function (customer) {
	if (!customer || !frappe.model.can_read("Package Balance")) {
		return Promise.resolve([]);
	}
	return new Promise((resolve) => {
		frappe.call({
			method: "package_bundles.api.get_customer_balances",
			args: { customer },
			type: "GET",
			silent: true,
			callback: (r) => resolve(r.message || []),
			error: () => resolve([]),
		});
	});
};

// Frappe Health (issue 17): a Patient's live balances, its Customer's; [] as above.
package_bundles.get_patient_balances = function (patient) {
	if (!patient || !frappe.model.can_read("Package Balance")) {
		return Promise.resolve([]);
	}
	return new Promise((resolve) => {
		frappe.call({
			method: "package_bundles.api.get_patient_balances",
			args: { patient },
			type: "GET",
			silent: true,
			callback: (r) => resolve(r.message || []),
			error: () => resolve([]),
		});
	});
};

package_bundles.show_balances_section = function (frm, balances, customer, link_text) {
	// the Customer and Patient forms: the live balances in the dashboard, and a link to all of them
	frm.dashboard.parent.find(".package-bundles-balances").remove();
	if (!balances.length) return;
	const section = frm.dashboard.add_section(
		package_bundles.balances_table(balances),
		__("Prepaid Packages"),
		"custom package-bundles-balances"
	);
	const all_balances = `/app/package-balance?customer=${encodeURIComponent(customer)}`;
	section.append(`<div class="mt-2 small"><a href="${all_balances}">${link_text}</a></div>`);
	frm.dashboard.show();
};
