// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// A row the patient's package covers shows at rate 0 as soon as it is added: on the Sales
// Invoice form and on the POS page (its POS Invoice form). ERPNext asks its own
// get_item_details for the new row's details first, as ERPNext or any app overriding that
// method answers; the app overrides nothing. When ERPNext then prices the row (its
// price_list_rate event), the app is asked about the row first and, when a balance covers it
// whole, the row becomes what saving will make of it: free, at rate 0, naming its balance. The
// save plans again on the server; this is only what the user sees meanwhile.

// This file shares one scope with ERPNext's own form scripts: everything lives in a namespace.
frappe.provide("package_bundles.row_preview");

package_bundles.row_preview.pending = package_bundles.row_preview.pending || new Set();
// the answer each covered row was given: a price list applied to every row afterwards (the
// customer's, landing late) prices the row again, and the answer is put back on it
package_bundles.row_preview.answers = package_bundles.row_preview.answers || {};

package_bundles.row_preview.apply = function (frm, cdt, cdn) {
	const row = locals[cdt] && locals[cdt][cdn];
	const doc = frm.doc;
	if (!row || !row.item_code || row.package_balance) return;
	if (doc.docstatus !== 0 || doc.is_return || doc.is_debit_note || !doc.customer) return;
	const item_code = row.item_code;
	// asked once the page's calls in flight are answered (a price list applied to every row
	// would otherwise land after the preview); resolves whatever the server says: a failed
	// preview never stops ERPNext pricing the row
	// (asked on the next tick: a call made while Frappe runs its after-ajax callbacks would drop
	// the callbacks queued meanwhile)
	return frappe
		.after_ajax(() => new Promise((resolve) => setTimeout(resolve, 0)))
		.then(() => package_bundles.row_preview.ask(frm, cdt, cdn, item_code));
};

package_bundles.row_preview.ask = function (frm, cdt, cdn, item_code) {
	return new Promise((resolve) => {
		frappe.call({
			method: "package_bundles.api.preview_row",
			args: { doc: frm.doc, child_docname: cdn },
			callback: (r) => {
				const covered = r && r.message;
				const current = locals[cdt] && locals[cdt][cdn];
				if (
					covered &&
					covered.package_balance &&
					current &&
					current.item_code === item_code
				) {
					// put on the row the way ERPNext puts its own answer there, before it prices the row
					package_bundles.row_preview.answers[cdn] = { item_code, covered };
					Object.assign(current, covered);
					const grid = frm.fields_dict[current.parentfield];
					grid && grid.refresh();
					package_bundles.row_preview.refresh_pos_cart(frm, cdt, cdn);
				}
			},
			always: () => resolve(),
		});
	});
};

package_bundles.row_preview.reapply = function (frm, cdt, cdn) {
	// a row priced again after its preview (a price list applied to every row) keeps its answer
	const row = locals[cdt] && locals[cdt][cdn];
	const answer = package_bundles.row_preview.answers[cdn];
	if (!row || !answer || row.item_code !== answer.item_code || frm.doc.docstatus !== 0) return;
	if (
		row.package_balance !== answer.covered.package_balance ||
		row.rate ||
		row.price_list_rate
	) {
		Object.assign(row, answer.covered);
		const grid = frm.fields_dict[row.parentfield];
		grid && grid.refresh();
		package_bundles.row_preview.refresh_pos_cart(frm, cdt, cdn);
	}
};

package_bundles.row_preview.refresh_pos_cart = function (frm, cdt, cdn) {
	// the POS page may draw its cart totals before ERPNext has priced the row again: once
	// ERPNext's own calls for the row are answered, draw the row and the totals anew
	const pos = window.cur_pos;
	if (!pos || pos.frm !== frm || !pos.update_cart_html) return;
	setTimeout(() => {
		frappe.after_ajax(() => {
			const row = locals[cdt] && locals[cdt][cdn];
			if (!row) return;
			// totals computed while the row still had its list price would stay behind the
			// row drawn at rate 0: compute them again from the rows as they are now
			if (row.package_balance && frm.cscript.calculate_taxes_and_totals) {
				frm.cscript.calculate_taxes_and_totals();
			}
			pos.update_cart_html(row);
		});
	}, 0);
};

// doctype_js runs each time a form of these doctypes is set up: register the handlers once
if (!package_bundles.row_preview.registered) {
	package_bundles.row_preview.registered = true;
	["Sales Invoice Item", "POS Invoice Item"].forEach((child_doctype) => {
		frappe.ui.form.on(child_doctype, {
			item_code(frm, cdt, cdn) {
				// runs before ERPNext's own item_code handler asks for the row's details
				package_bundles.row_preview.pending.add(cdn);
			},
			price_list_rate(frm, cdt, cdn) {
				// ERPNext's answer is on the row; its own price_list_rate handler runs after this one
				if (!package_bundles.row_preview.pending.delete(cdn)) {
					return package_bundles.row_preview.reapply(frm, cdt, cdn);
				}
				return package_bundles.row_preview.apply(frm, cdt, cdn);
			},
		});
	});
}
