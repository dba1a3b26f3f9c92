// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Balances are written by the app from invoices; the form only reads them, links to their
// history and lets a Package Manager extend the expiry date.

const EXTENDABLE_STATUSES = ["Active", "Awaiting Payment", "Expired"];

frappe.ui.form.on("Package Balance", {
	refresh(frm) {
		if (frm.is_new()) return;
		show_units_remaining(frm);
		add_history_buttons(frm);
		add_sharing_buttons(frm);
		if (
			EXTENDABLE_STATUSES.includes(frm.doc.status) &&
			frappe.user.has_role(["Package Manager", "System Manager"])
		) {
			frm.add_custom_button(__("Extend Expiry"), () => extend_expiry(frm));
		}
		show_freeze(frm);
		show_upgrade(frm);
		show_transfer(frm);
	},
});

// issue 20, Transfer: a new transfer of this balance's unused units (everything left by default);
// a received balance shows where it came from
function show_transfer(frm) {
	if (frm.doc.transferred_from) {
		frm.dashboard.add_indicator(
			__("Received by transfer {0} from balance {1}", [
				frm.doc.package_balance_transfer,
				frm.doc.transferred_from,
			]),
			"blue"
		);
	}
	if (frappe.model.can_read("Package Balance Transfer")) {
		frm.add_custom_button(
			__("Transfers"),
			() =>
				frappe.set_route("List", "Package Balance Transfer", { from_balance: frm.doc.name }),
			__("View")
		);
	}
	if (
		["Active", "Awaiting Payment"].includes(frm.doc.status) &&
		frappe.model.can_create("Package Balance Transfer")
	) {
		frm.add_custom_button(__("Transfer"), () =>
			frappe.new_doc("Package Balance Transfer", { from_balance: frm.doc.name })
		);
	}
}

// issue 20, Upgrade: a new Sales Invoice for the customer with the credit row naming this balance;
// the user adds the new package's row, and the app sets the credit when the invoice is saved
function show_upgrade(frm) {
	if (frm.doc.status !== "Active" || !frappe.model.can_create("Sales Invoice")) return;
	frm.add_custom_button(__("Upgrade"), () =>
		frappe.call({
			method: "package_bundles.api.prepare_upgrade",
			args: { balance: frm.doc.name },
			callback: ({ message }) => {
				frappe.model.with_doctype("Sales Invoice", () => {
					const invoice = frappe.model.get_new_doc("Sales Invoice");
					invoice.customer = message.customer;
					invoice.company = message.company;
					const row = frappe.model.add_child(invoice, "items");
					row.item_code = message.item_code;
					row.qty = 1;
					row.package_upgrade_from = message.balance;
					frappe.set_route("Form", "Sales Invoice", invoice.name);
				});
			},
		})
	);
}

// issue 20, Freeze: the live or next freeze and the expiry it moved; a Package Manager freezes from here
function show_freeze(frm) {
	const today = frappe.datetime.get_today();
	const live = ["Active", "Awaiting Payment"].includes(frm.doc.status);
	if (live && frm.doc.frozen_from && frm.doc.frozen_until >= today) {
		const message = __("Frozen from {0} to {1}; the expiry moved to {2}", [
			frappe.datetime.str_to_user(frm.doc.frozen_from),
			frappe.datetime.str_to_user(frm.doc.frozen_until),
			frm.doc.expiry_date ? frappe.datetime.str_to_user(frm.doc.expiry_date) : __("no date"),
		]);
		frm.dashboard.add_indicator(message, frm.doc.frozen_from <= today ? "blue" : "cyan");
		frm.set_intro(message, "blue");
	}
	if (frappe.model.can_read("Package Balance Freeze")) {
		frm.add_custom_button(
			__("Freezes"),
			() => frappe.set_route("List", "Package Balance Freeze", { package_balance: frm.doc.name }),
			__("View")
		);
	}
	if (live && frappe.model.can_create("Package Balance Freeze")) {
		frm.add_custom_button(__("Freeze"), () =>
			frappe.new_doc("Package Balance Freeze", { package_balance: frm.doc.name })
		);
	}
}

function show_units_remaining(frm) {
	const items = frm.doc.items || [];
	const purchased = items.reduce((total, item) => total + flt(item.qty_purchased), 0);
	const remaining = items.reduce((total, item) => total + flt(item.qty_remaining), 0);
	frm.dashboard.add_indicator(
		__("Units Remaining: {0} of {1}", [format_qty(remaining), format_qty(purchased)]),
		remaining ? "green" : "gray"
	);
	frm.dashboard.add_indicator(
		__("Deferred Revenue: {0}", [format_currency(frm.doc.total_deferred, frm.doc.currency)]),
		"blue"
	);
	if (frm.doc.expiry_date) {
		const days_left = frappe.datetime.get_day_diff(
			frm.doc.expiry_date,
			frappe.datetime.get_today()
		);
		frm.dashboard.add_indicator(
			__("Expires on {0}", [frappe.datetime.str_to_user(frm.doc.expiry_date)]),
			days_left < 0 ? "red" : days_left <= 30 ? "orange" : "green"
		);
	}
}

function format_qty(qty) {
	return format_number(qty, null, Number.isInteger(flt(qty)) ? 0 : 3);
}

function add_history_buttons(frm) {
	const filters = { package_balance: frm.doc.name };
	if (frappe.model.can_read("Package Redemption")) {
		frm.add_custom_button(
			__("Package Redemptions"),
			() => frappe.set_route("List", "Package Redemption", filters),
			__("View")
		);
	}
	if (frappe.model.can_read("Package Ledger Entry")) {
		frm.add_custom_button(
			__("Package Ledger"),
			() => frappe.set_route("List", "Package Ledger Entry", filters),
			__("View")
		);
	}
}

function extend_expiry(frm) {
	const dialog = new frappe.ui.Dialog({
		title: __("Extend Expiry of {0}", [frm.doc.name]),
		fields: [
			{
				fieldname: "current_expiry_date",
				fieldtype: "Date",
				label: __("Current Expiry Date"),
				default: frm.doc.expiry_date,
				read_only: 1,
			},
			{
				fieldname: "new_expiry_date",
				fieldtype: "Date",
				label: __("New Expiry Date"),
				reqd: 1,
				description: frm.doc.breakage_journal_entry
					? __("The breakage of {0} recognized at expiry will be reversed.", [
							format_currency(frm.doc.breakage_amount, frm.doc.currency),
					  ])
					: "",
			},
			{
				fieldname: "reason",
				fieldtype: "Small Text",
				label: __("Reason"),
				reqd: 1,
			},
		],
		primary_action_label: __("Extend"),
		primary_action(values) {
			frappe.call({
				method: "package_bundles.api.extend_expiry",
				type: "POST",
				args: {
					balance: frm.doc.name,
					new_expiry_date: values.new_expiry_date,
					reason: values.reason,
				},
				freeze: true,
				freeze_message: __("Extending expiry..."),
				callback(r) {
					if (r.exc) return;
					dialog.hide();
					frappe.show_alert({
						message: __("Expiry of {0} extended to {1}", [
							frm.doc.name,
							frappe.datetime.str_to_user(r.message.expiry_date),
						]),
						indicator: "green",
					});
					frm.reload_doc();
				},
			});
		},
	});
	dialog.show();
}

// issue 20, household sharing: other customers whose invoices may redeem from this balance
const SHAREABLE_STATUSES = ["Active", "Awaiting Payment"];

function add_sharing_buttons(frm) {
	if (!frappe.user.has_role(["Package Manager", "System Manager"])) return;
	if (SHAREABLE_STATUSES.includes(frm.doc.status)) {
		frm.add_custom_button(__("Share with..."), () => change_sharer(frm, "add"), __("Share"));
	}
	if ((frm.doc.sharers || []).length) {
		frm.add_custom_button(__("Stop sharing..."), () => change_sharer(frm, "remove"), __("Share"));
	}
}

function change_sharer(frm, action) {
	const adding = action === "add";
	const sharers = (frm.doc.sharers || []).map((row) => row.customer);
	const dialog = new frappe.ui.Dialog({
		title: adding
			? __("Share {0} with another customer", [frm.doc.name])
			: __("Stop sharing {0}", [frm.doc.name]),
		fields: [
			adding
				? {
						fieldname: "customer",
						fieldtype: "Link",
						options: "Customer",
						label: __("Customer"),
						reqd: 1,
						get_query: () => ({
							filters: { name: ["not in", [frm.doc.customer, ...sharers]], disabled: 0 },
						}),
				  }
				: {
						fieldname: "customer",
						fieldtype: "Select",
						options: sharers,
						label: __("Customer"),
						reqd: 1,
				  },
			{ fieldname: "reason", fieldtype: "Small Text", label: __("Reason") },
		],
		primary_action_label: adding ? __("Share") : __("Stop Sharing"),
		primary_action(values) {
			frappe.call({
				method: adding ? "package_bundles.api.add_sharer" : "package_bundles.api.remove_sharer",
				type: "POST",
				args: { balance: frm.doc.name, customer: values.customer, reason: values.reason || "" },
				freeze: true,
				callback(r) {
					if (r.exc) return;
					dialog.hide();
					frappe.show_alert({
						message: adding
							? __("{0} is shared with {1}", [frm.doc.name, values.customer])
							: __("{0} is no longer shared with {1}", [frm.doc.name, values.customer]),
						indicator: "green",
					});
					frm.reload_doc();
				},
			});
		},
	});
	dialog.show();
}
