// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// A transfer gives a balance's unused units, and the deferred value they carry, to another customer
// of the same company. Choosing the balance lists every line's unused units (Transfer everything
// left); lower a row's units, or remove the row, to transfer part of it.

frappe.ui.form.on("Package Balance Transfer", {
	setup(frm) {
		frm.set_query("from_balance", () => ({
			filters: { status: ["in", ["Active", "Awaiting Payment"]] },
		}));
		frm.set_query("to_customer", () => ({
			filters: { disabled: 0, name: ["!=", frm.doc.from_customer || ""] },
		}));
		frm.set_query("cost_center", () => ({
			filters: { company: frm.doc.company, is_group: 0 },
		}));
	},
	onload(frm) {
		if (frm.is_new() && frm.doc.from_balance && !(frm.doc.items || []).length) {
			fill_everything_left(frm);
		}
	},
	refresh(frm) {
		// rows come from the balance's lines (Transfer everything left): edit the units or remove rows
		frm.set_df_property("items", "cannot_add_rows", true);
		if (frm.doc.docstatus === 0 && frm.doc.from_balance) {
			frm.add_custom_button(__("Transfer everything left"), () => fill_everything_left(frm));
		}
		if (frm.doc.to_balance) {
			frm.add_custom_button(
				__("Receiving Balance"),
				() => frappe.set_route("Form", "Package Balance", frm.doc.to_balance),
				__("View")
			);
		}
		if (frm.doc.from_balance && !frm.is_new()) {
			frm.add_custom_button(
				__("Giving Balance"),
				() => frappe.set_route("Form", "Package Balance", frm.doc.from_balance),
				__("View")
			);
		}
	},
	from_balance(frm) {
		if (!frm.doc.from_balance) {
			frm.clear_table("items");
			frm.refresh_field("items");
			return;
		}
		fill_everything_left(frm);
	},
});

function fill_everything_left(frm) {
	frappe.db.get_doc("Package Balance", frm.doc.from_balance).then((balance) => {
		frm.clear_table("items");
		(balance.items || [])
			.filter((line) => flt(line.qty_remaining) > 0)
			.forEach((line) => {
				const row = frm.add_child("items");
				row.balance_item = line.name;
				row.item_code = line.item_code;
				row.item_name = line.item_name;
				row.qty_available = line.qty_remaining;
				row.qty = line.qty_remaining;
			});
		if (!frm.doc.cost_center) frm.set_value("cost_center", balance.cost_center);
		frm.refresh_field("items");
	});
}
