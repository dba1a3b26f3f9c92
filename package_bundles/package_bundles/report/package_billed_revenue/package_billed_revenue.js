// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

{% include "package_bundles/public/js/package_report_views.js" %}

frappe.query_reports["Package Billed Revenue"] = {
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
			fieldname: "customer",
			label: __("Customer"),
			fieldtype: "Link",
			options: "Customer",
		},
		{
			fieldname: "item_group",
			label: __("Item Group"),
			fieldtype: "Link",
			options: "Item Group",
		},
		{
			fieldname: "source",
			label: __("Source"),
			fieldtype: "Select",
			options: [
				{ value: "", label: "" },
				{ value: "Redemption", label: __("Redemption") },
				{ value: "Purchase", label: __("Purchase") },
				{ value: "Breakage", label: __("Breakage") },
			],
		},
		...package_bundles.reports.view_filters(["Item Group", "Prepaid Package", "Customer"]),
		{
			fieldname: "group_by_item_group",
			label: __("Details by Item Group"),
			fieldtype: "Check",
			default: 0,
			depends_on: "eval:doc.show_details || doc.customer",
		},
	],
	onload: package_bundles.reports.onload,
	formatter: function (value, row, column, data, default_formatter) {
		if (data && data.is_total && column.fieldname === "item_group") {
			// the total row's label is text, not a link to an Item Group
			return `<b>${frappe.utils.escape_html(value)}</b>`;
		}
		value = default_formatter(value, row, column, data);
		if (data && (data.is_group || data.is_total)) {
			value = `<b>${value}</b>`;
		}
		return value;
	},
};
