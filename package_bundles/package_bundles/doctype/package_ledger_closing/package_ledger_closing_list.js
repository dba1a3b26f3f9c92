// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Package Ledger Closing"] = {
	onload(listview) {
		if (!frappe.user.has_role(["Accounts Manager", "System Manager"])) return;
		listview.page.add_inner_button(__("Build Snapshots"), () => {
			frappe.prompt(
				[
					{
						fieldname: "company",
						label: __("Company"),
						fieldtype: "Link",
						options: "Company",
						reqd: 1,
						default: frappe.defaults.get_user_default("Company"),
					},
					{
						fieldname: "period_end",
						label: __("Month End (empty: every month end not built yet)"),
						fieldtype: "Date",
					},
				],
				(values) =>
					frappe.xcall("package_bundles.api.closing.build_snapshots", values).then(() =>
						frappe.show_alert({
							message: __("The snapshots are being built in the background"),
							indicator: "green",
						})
					),
				__("Build Package Ledger Snapshots"),
				__("Build")
			);
		});
	},
};
