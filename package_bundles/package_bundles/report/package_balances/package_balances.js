// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

const PACKAGE_BALANCE_STATUS_COLORS = {
	"Awaiting Payment": "orange",
	Active: "green",
	Exhausted: "gray",
	Expired: "red",
	Refunded: "gray",
	Cancelled: "red",
};

{% include "package_bundles/public/js/package_report_views.js" %}

frappe.query_reports["Package Balances"] = {
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
			fieldname: "prepaid_package",
			label: __("Prepaid Package"),
			fieldtype: "Link",
			options: "Prepaid Package",
			get_query: () => ({
				filters: { company: frappe.query_report.get_filter_value("company") },
			}),
		},
		{
			fieldname: "status",
			label: __("Status"),
			fieldtype: "Select",
			options: [
				{ value: "", label: "" },
				...Object.keys(PACKAGE_BALANCE_STATUS_COLORS).map((status) => ({
					value: status,
					label: __(status),
				})),
			],
		},
		...package_bundles.reports.view_filters(["Prepaid Package", "Customer", "Status"]),
	],
	onload: package_bundles.reports.onload,
	formatter: function (value, row, column, data, default_formatter) {
		if (column.fieldname === "status" && data && data.status) {
			const color = PACKAGE_BALANCE_STATUS_COLORS[data.status] || "gray";
			const label = frappe.utils.escape_html(__(data.status));
			return `<span class="indicator-pill ${color}">${label}</span>`;
		}
		if (column.fieldname === "breakage_method" && value) {
			// At expiry or Proportional, as the balance locked it at sale
			return frappe.utils.escape_html(__(value));
		}
		return default_formatter(value, row, column, data);
	},
};
