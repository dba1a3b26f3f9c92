// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Opening balances brought in from another system; usually filled by Data Import.

frappe.ui.form.on("Package Opening Import", {
	setup(frm) {
		frm.set_query("prepaid_package", "lines", () => ({
			filters: { company: frm.doc.company },
		}));
		// the account the deferred value comes from: a ledger account of the balance sheet
		frm.set_query("opening_account", () => ({
			filters: { company: frm.doc.company, is_group: 0, report_type: "Balance Sheet" },
		}));
	},
	company(frm) {
		frm.set_value("opening_account", null);
	},
	refresh(frm) {
		if (frm.is_new()) {
			frm.add_custom_button(__("Import a File"), () =>
				frappe.new_doc("Data Import", {
					reference_doctype: "Package Opening Import",
					import_type: "Insert New Records",
				})
			);
			return;
		}
		if (frm.doc.docstatus === 1) {
			frm.add_custom_button(
				__("Package Balances"),
				() =>
					frappe.set_route("List", "Package Balance", {
						opening_import: frm.doc.name,
					}),
				__("View")
			);
			if (frm.doc.journal_entry) {
				frm.add_custom_button(
					__("Journal Entry"),
					() => frappe.set_route("Form", "Journal Entry", frm.doc.journal_entry),
					__("View")
				);
			}
		}
	},
});
