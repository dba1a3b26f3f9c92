// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Sales Invoice: show which rows were redeemed from prepaid packages and, on a draft,
// what the customer still holds. Read-only hints: a failed lookup never blocks the form.

// This file shares one scope with ERPNext's own Sales Invoice script: everything lives in a namespace.
frappe.provide("package_bundles.sales_invoice");

frappe.ui.form.on("Sales Invoice", {
	setup() {
		package_bundles.sales_invoice.mark_redeemed_rows();
	},

	refresh(frm) {
		package_bundles.sales_invoice.show_redeemed_rows(frm);
		package_bundles.sales_invoice.show_customer_balances(frm);
	},

	customer(frm) {
		package_bundles.sales_invoice.show_customer_balances(frm);
	},

	company(frm) {
		package_bundles.sales_invoice.show_customer_balances(frm);
	},
});

package_bundles.sales_invoice.mark_redeemed_rows = function () {
	// a green dot before the item of a row that a package balance paid for
	const df = frappe.meta.get_docfield("Sales Invoice Item", "item_code");
	if (!df || df.package_bundles_formatter) return;
	const base_formatter = df.formatter || frappe.form.get_formatter(df.fieldtype);
	df.package_bundles_formatter = true;
	df.formatter = (value, docfield, options, doc) => {
		const html = base_formatter(value, docfield, options, doc);
		if (!value || !doc || !doc.package_balance) return html;
		const title = frappe.utils.escape_html(__("Redeemed from {0}", [doc.package_balance]));
		return `<span class="indicator green" title="${title}">${html}</span>`;
	};
};

package_bundles.sales_invoice.show_redeemed_rows = function (frm) {
	frm.layout.message.find(".package-bundles-redeemed").closest(".form-message").remove();
	const rows = (frm.doc.items || []).filter((row) => row.package_balance);
	if (!rows.length) return;

	const balances = [...new Set(rows.map((row) => row.package_balance))];
	const links = balances.map((name) =>
		frappe.utils.get_form_link("Package Balance", name, true)
	);
	const message =
		rows.length === 1
			? __("1 row redeemed from a prepaid package: {0}", [links.join(", ")])
			: __("{0} rows redeemed from prepaid packages: {1}", [rows.length, links.join(", ")]);
	frm.set_intro(`<span class="package-bundles-redeemed">${message}</span>`, "green");
};

package_bundles.sales_invoice.show_customer_balances = function (frm) {
	// ERPNext keeps this form's dashboard on the Connections tab: use a headline, seen while billing
	const clear = () =>
		frm.layout.message.find(".package-bundles-balances").closest(".form-message").remove();
	clear();
	const doc = frm.doc;
	if (doc.docstatus !== 0 || doc.is_return || !doc.customer || !doc.company) return;

	const customer = doc.customer;
	package_bundles.get_customer_balances(customer).then((balances) => {
		// the customer or company may have changed while we waited
		if (frm.doc.customer !== customer) return;
		balances = balances.filter((balance) => balance.company === frm.doc.company);
		clear();
		if (!balances.length) return;
		const lines = balances.map((balance) => {
			const status =
				balance.status === "Active"
					? ""
					: ` <span class="indicator-pill orange">${__(balance.status)}</span>`;
			return `<div>${frappe.utils.get_form_link("Package Balance", balance.name, true)}
				${frappe.utils.escape_html(balance.prepaid_package)}:
				${package_bundles.remaining_units(balance)}
				(${package_bundles.expiry_text(balance)})${status}</div>`;
		});
		frm.set_intro(
			`<div class="package-bundles-balances">
				<div>${__("Prepaid packages of {0} still hold:", [
					frappe.utils.escape_html(frm.doc.customer_name || customer),
				])}</div>
				${lines.join("")}
			</div>`,
			"blue"
		);
	});
};
