// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

{% include "package_bundles/public/js/package_report_views.js" %}

frappe.query_reports["Package Usage"] = {
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
			fieldname: "customer",
			label: __("Customer"),
			fieldtype: "Link",
			options: "Customer",
		},
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_months(frappe.datetime.get_today(), -1),
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
		},
		{
			fieldname: "item_code",
			label: __("Item"),
			fieldtype: "Link",
			options: "Item",
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
		...package_bundles.reports.view_filters(["Item Group", "Prepaid Package", "Customer"]),
	],
	onload: package_bundles.reports.onload,
	formatter: function (value, row, column, data, default_formatter) {
		if (column.fieldname === "status" && data && data.status) {
			const color = data.status === "Reversed" ? "red" : "green";
			const label = frappe.utils.escape_html(__(data.status));
			return `<span class="indicator-pill ${color}">${label}</span>`;
		}
		value = default_formatter(value, row, column, data);
		if (data && data.status === "Reversed" && ["qty", "amount"].includes(column.fieldname)) {
			// a reversed redemption no longer counts: its figures are struck through
			value = `<span class="text-muted" style="text-decoration: line-through">${value}</span>`;
		}
		return value;
	},
};
