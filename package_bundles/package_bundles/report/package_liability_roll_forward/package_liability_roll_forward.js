// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

frappe.query_reports["Package Liability Roll-forward"] = {
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
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.month_start(),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "group_by",
			label: __("Group By"),
			fieldtype: "Select",
			options: [
				{ value: "Item Group", label: __("Item Group") },
				{ value: "Prepaid Package", label: __("Prepaid Package") },
			],
			default: "Item Group",
			reqd: 1,
		},
		{
			fieldname: "item_group",
			label: __("Item Group"),
			fieldtype: "Link",
			options: "Item Group",
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
			// the GL cards read every GL row of the deferred accounts: asked for once the rows show
			fieldname: "reconcile_later",
			fieldtype: "Check",
			default: 1,
			hidden: 1,
		},
	],
	formatter(value, row, column, data, default_formatter) {
		const group_column = ["item_group", "prepaid_package"].includes(column.fieldname);
		let formatted =
			data && data.is_total && group_column
				? frappe.utils.escape_html(value)
				: default_formatter(value, row, column, data);
		const filters = data && data.drilldown && data.drilldown[column.fieldname];
		if (filters && flt(value)) {
			// each figure opens the ledger entries it sums; they name their vouchers
			const encoded = encodeURIComponent(JSON.stringify(filters));
			formatted = `<a class="package-drilldown" data-filters="${encoded}">${formatted}</a>`;
		}
		return data && data.is_total ? `<b>${formatted}</b>` : formatted;
	},
	onload(report) {
		const refresh = report.refresh.bind(report);
		report.refresh = (...args) =>
			Promise.resolve(refresh(...args)).then(() => add_gl_cards(report));
		// one delegated handler for every figure, bound once however often the report loads
		report.page.wrapper.off("click.package_drilldown");
		report.page.wrapper.on("click.package_drilldown", "a.package-drilldown", (event) => {
			event.preventDefault();
			event.stopPropagation();
			frappe.route_options = JSON.parse(
				decodeURIComponent($(event.currentTarget).attr("data-filters"))
			);
			frappe.set_route("List", "Package Ledger Entry", "Report");
		});
	},
};

// the GL balance of the deferred accounts at the period end and the difference, after the rows
function add_gl_cards(report) {
	const company = report.get_filter_value("company");
	const summary = (report.raw_data && report.raw_data.report_summary) || [];
	if (!company || !summary.length) return;
	return frappe
		.xcall(
			"package_bundles.package_bundles.report.package_deferred_revenue.package_deferred_revenue.get_reconciliation",
			{ company: company, as_of_date: report.get_filter_value("to_date") }
		)
		.then((cards) => {
			// the first card is the deferred revenue in packages: the closing card shows it
			if (!cards || cards.length < 2) return;
			report.$summary.empty();
			report.render_summary(summary.concat(cards.slice(1)));
		});
}
