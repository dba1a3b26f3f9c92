// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Package Redemption"] = {
	add_fields: ["status"],
	get_indicator(doc) {
		if (doc.status === "Redeemed") {
			return [__("Redeemed"), "green", "status,=,Redeemed"];
		} else if (doc.status === "Reversed") {
			return [__("Reversed"), "red", "status,=,Reversed"];
		}
	},
};
