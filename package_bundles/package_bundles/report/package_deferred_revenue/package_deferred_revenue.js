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
	],
	onload: package_bundles.reports.onload,
};
