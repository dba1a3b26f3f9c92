// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

frappe.listview_settings["Package Balance"] = {
	add_fields: ["status", "expiry_date"],
	get_indicator(doc) {
		const colors = {
			Active: "green",
			"Awaiting Payment": "orange",
			Exhausted: "gray",
			Expired: "red",
			Refunded: "gray",
			Cancelled: "red",
			Upgraded: "blue",
			Transferred: "blue",
		};
		if (doc.status in colors) {
			return [__(doc.status), colors[doc.status], "status,=," + doc.status];
		}
	},
};
