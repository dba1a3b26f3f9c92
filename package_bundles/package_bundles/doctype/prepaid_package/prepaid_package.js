// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Live preview of the default price, allocation and tax while the package is edited.
// The server computes everything (package_bundles.api.preview_package); this form only shows it.
// "Propose Breakage Rate" asks the server for an expected breakage rate from the package's ended
// balances (package_bundles.api.propose_breakage_rate), shows its figures and, on confirm, takes it.

const PREVIEW_DELAY = 500;
const PREVIEW_ROW_FIELDS = ["rate", "amount", "allocated_amount", "allocated_rate", "taxable"];

frappe.ui.form.on("Prepaid Package", {
	setup(frm) {
		frm.set_query("item_code", "items", () => ({
			filters: {
				is_sales_item: 1,
				disabled: 0,
				has_variants: 0,
				item_group: ["!=", "Packages"],
			},
		}));
	},

	refresh(frm) {
		show_price_summary(frm);
		if (frm.is_new() || frm.is_dirty()) {
			schedule_preview(frm);
		}
		if (!frm.is_new() && frappe.model.can_read("Package Balance")) {
			frm.add_custom_button(__("View Balances"), () => {
				frappe.set_route("List", "Package Balance", { prepaid_package: frm.doc.name });
			});
		}
		if (!frm.is_new() && frm.perm[0] && frm.perm[0].write) {
			frm.add_custom_button(__("Propose Breakage Rate"), () => ask_breakage_window(frm));
		}
	},

	company: schedule_preview,
	selling_price_list: schedule_preview,
	package_price: schedule_preview,
	items_remove: schedule_preview,
});

frappe.ui.form.on("Package Item", {
	item_code: (frm) => schedule_preview(frm),
	qty: (frm) => schedule_preview(frm),
	rate: (frm) => schedule_preview(frm),
});

function schedule_preview(frm) {
	clearTimeout(frm._package_preview_timer);
	frm._package_preview_timer = setTimeout(() => run_preview(frm), PREVIEW_DELAY);
}

function run_preview(frm) {
	// the server refuses incomplete rows: preview the rows that name an item and a quantity
	const rows = (frm.doc.items || []).filter((row) => row.item_code && flt(row.qty) > 0);
	if (!frm.doc.company || !rows.length) {
		show_price_summary(frm);
		return;
	}

	const request = (frm._package_preview_request || 0) + 1;
	frm._package_preview_request = request;
	frappe.call({
		method: "package_bundles.api.preview_package",
		args: { doc: { ...frm.doc, items: rows } },
		silent: true,
		callback(r) {
			// a later edit has already asked again: this answer is stale
			if (request !== frm._package_preview_request || !r.message) return;
			apply_preview(frm, r.message);
		},
	});
}

function apply_preview(frm, preview) {
	// an item appears once in a package, so it identifies its row
	const rows_by_item = {};
	(frm.doc.items || []).forEach((row) => (rows_by_item[row.item_code] = row));
	preview.items.forEach((line) => {
		const row = rows_by_item[line.item_code];
		if (!row) return;
		PREVIEW_ROW_FIELDS.forEach((fieldname) => (row[fieldname] = line[fieldname]));
	});
	// plain assignment: these fields are read-only results, and setting them must not ask again
	frm.doc.default_price = preview.default_price;
	frm.doc.taxable_amount = preview.taxable_amount;
	frm.refresh_fields(["items", "default_price", "taxable_amount"]);
	show_price_summary(frm, preview.package_price);
}

function show_price_summary(frm, effective_price) {
	frm.set_intro("");
	const default_price = flt(frm.doc.default_price);
	if (!default_price) return;

	// a new package without a price of its own is sold at the default price
	const package_price = effective_price ?? (flt(frm.doc.package_price) || default_price);
	const discount = default_price ? ((default_price - package_price) / default_price) * 100 : 0;
	const currency = frm.doc.currency || erpnext.get_currency(frm.doc.company);
	const money = (value) => format_currency(value, currency);

	frm.set_intro(
		__("Default price {0}, package price {1}, discount {2}%, taxable part {3}", [
			money(default_price),
			money(package_price),
			format_number(discount, null, 2),
			money(frm.doc.taxable_amount),
		]),
		"blue"
	);
}

function ask_breakage_window(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Propose an Expected Breakage Rate"),
		fields: [
			{
				fieldtype: "HTML",
				options: `<p class="text-muted">${__(
					"Value broken over value sold, over the balances of this package that were used up or expired in the window."
				)}</p>`,
			},
			{
				fieldname: "from_date",
				fieldtype: "Date",
				label: __("Ended From"),
				reqd: 1,
				default: frappe.datetime.add_months(frappe.datetime.get_today(), -12),
			},
			{
				fieldname: "to_date",
				fieldtype: "Date",
				label: __("Ended To"),
				reqd: 1,
				default: frappe.datetime.get_today(),
			},
			{
				fieldname: "minimum_count",
				fieldtype: "Int",
				label: __("Minimum Ended Balances"),
				reqd: 1,
				default: 10,
			},
		],
		primary_action_label: __("Propose"),
		primary_action(values) {
			frappe.call({
				method: "package_bundles.api.propose_breakage_rate",
				args: { package: frm.doc.name, ...values },
				freeze: true,
				callback(r) {
					if (!r.message) return;
					dialog.hide();
					show_breakage_proposal(frm, r.message);
				},
			});
		},
	});
	dialog.show();
}

function show_breakage_proposal(frm, proposal) {
	const money = (value) => format_currency(value, proposal.currency);
	const figures = __("{0} balances ended {1} to {2}: {3} broken of {4} sold.", [
		proposal.count,
		frappe.datetime.str_to_user(proposal.from_date),
		frappe.datetime.str_to_user(proposal.to_date),
		money(proposal.broken),
		money(proposal.sold),
	]);
	if (proposal.rate === null || proposal.rate === undefined) {
		frappe.msgprint({
			title: __("No Rate Proposed"),
			indicator: "orange",
			message: `${figures} ${__("At least {0} ended balances are needed for a proposal.", [
				proposal.minimum_count,
			])}`,
		});
		return;
	}
	frappe.confirm(
		`${figures}<br>${__("Proposed expected breakage rate: {0}%. Use it for balances sold from now on?", [
			format_number(proposal.rate, null, 2),
		])}`,
		() => {
			// saved with the form; the server keeps the source as long as the rate is not retyped
			frm.set_value({
				breakage_method: "Proportional",
				expected_breakage_rate: proposal.rate,
				breakage_rate_source: proposal.source,
			});
		}
	);
}
