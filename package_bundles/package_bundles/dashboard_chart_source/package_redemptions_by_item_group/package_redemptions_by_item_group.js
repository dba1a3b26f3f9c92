// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Package Redemptions by Item Group"] = {
	method: "package_bundles.api.dashboard.redemptions_by_item_group",
	filters: [
		{
			fieldname: "company",
			label: __("Company"),
			fieldtype: "Link",
			options: "Company",
			default: frappe.defaults.get_user_default("Company"),
			reqd: 1,
		},
	],
};
