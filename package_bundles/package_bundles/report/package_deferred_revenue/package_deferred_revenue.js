// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

{% include "package_bundles/public/js/package_report_views.js" %}

frappe.query_reports["Package Deferred Revenue"] = {
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
			default: frappe.defaults.get_user_default("Company"),
			reqd: 1,
		},
		{
			fieldname: "as_of_date",
			label: __("As of Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "customer",
			label: __("Customer"),
			fieldtype: "Link",
			options: "Customer",
		},
		{
			fieldname: "prepaid_package",
			label: __("Prepaid Package"),
			fieldtype: "Link",
			options: "Prepaid Package",
			get_query: () => ({
				filters: { company: frappe.query_report.get_filter_value("company") },
			}),
		},
		{
			fieldname: "item_group",
			label: __("Item Group"),
			fieldtype: "Link",
			options: "Item Group",
		},
		...package_bundles.reports.view_filters(["Item Group", "Prepaid Package", "Customer"]),
		// by customer the summary is one page, sorted in the database (a practice may have
		// hundreds of thousands of patients)
		{
			fieldname: "sort_by",
			label: __("Sort By"),
			fieldtype: "Select",
			options: [
				{ value: "Deferred", label: __("Deferred (highest first)") },
				{ value: "Customer", label: __("Customer") },
			],
			default: "Deferred",
			depends_on: "eval:doc.group_by == 'Customer' && !doc.show_details && !doc.customer",
		},
		{
			fieldname: "page",
			label: __("Page"),
			fieldtype: "Int",
			default: 1,
			depends_on: "eval:doc.group_by == 'Customer' && !doc.show_details && !doc.customer",
		},
		{
			fieldname: "page_length",
			label: __("Customers per Page"),
			fieldtype: "Int",
			default: 500,
			depends_on: "eval:doc.group_by == 'Customer' && !doc.show_details && !doc.customer",
		},
	],
	onload(report) {
		package_bundles.reports.onload(report);
		// the reconciliation with the GL reads every GL row of the deferred accounts: it is
		// asked for once the rows are shown, so that they show at once
		const refresh = report.refresh.bind(report);
		report.refresh = (...args) =>
			Promise.resolve(refresh(...args)).then(() => show_reconciliation(report));
	},
};

function show_reconciliation(report) {
	const company = report.get_filter_value("company");
	if (!company || report.get_filter_value("customer")) return;
	return frappe
		.xcall(
			"package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue.get_reconciliation",
			{ company: company, as_of_date: report.get_filter_value("as_of_date") }
		)
		.then((cards) => {
			if (!cards || !cards.length) return;
			report.$summary.empty();
			report.render_summary(cards);
			list_open_pos_invoices(report, cards);
		});
}

// the reconciling item of an open POS session names its invoices: their GL posts at POS Closing
function list_open_pos_invoices(report, cards) {
	const invoices = cards.flatMap((card) => card.invoices || []);
	if (!invoices.length) return;
	const currency = cards[0].currency;
	const links = invoices
		.map(
			(invoice) =>
				`${frappe.utils.get_form_link("POS Invoice", invoice.name, true)} (${format_currency(
					invoice.amount,
					currency
				)})`
		)
		.join(", ");
	$(`<div class="pos-not-consolidated text-muted small" style="flex-basis: 100%; padding: 0 var(--padding-md)">
		${__("Not yet consolidated at POS Closing (their GL posts then): {0}", [links])}
	</div>`).appendTo(report.$summary);
}
