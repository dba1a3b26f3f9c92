// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// A freeze pauses a balance for a date range; a submitted one can be unfrozen early, which gives
// back the days from the unfreeze date to the period's end.

frappe.ui.form.on("Package Balance Freeze", {
	setup(frm) {
		frm.set_query("package_balance", () => ({
			filters: { status: ["in", ["Active", "Awaiting Payment"]] },
		}));
	},
	refresh(frm) {
		show_frozen_days(frm);
		if (frm.doc.docstatus === 1 && can_unfreeze(frm)) {
			frm.add_custom_button(__("Unfreeze"), () => unfreeze(frm));
		}
	},
	from_date: show_frozen_days,
	to_date: show_frozen_days,
});

function can_unfreeze(frm) {
	return (
		!frm.doc.unfrozen_on &&
		frm.doc.to_date >= frappe.datetime.get_today() &&
		frappe.model.can_submit("Package Balance Freeze")
	);
}

function show_frozen_days(frm) {
	if (!frm.doc.from_date || !frm.doc.to_date || frm.doc.docstatus !== 0) return;
	const days = frappe.datetime.get_day_diff(frm.doc.to_date, frm.doc.from_date) + 1;
	frm.set_value("frozen_days", days > 0 ? days : 0);
}

function unfreeze(frm) {
	const today = frappe.datetime.get_today();
	const dialog = new frappe.ui.Dialog({
		title: __("Unfreeze {0}", [frm.doc.name]),
		fields: [
			{
				fieldname: "on_date",
				fieldtype: "Date",
				label: __("Usable Again On"),
				default: today > frm.doc.from_date ? today : frm.doc.from_date,
				reqd: 1,
				description: __(
					"The days from this date to {0} are given back: the expiry moves earlier by them.",
					[frappe.datetime.str_to_user(frm.doc.to_date)]
				),
			},
		],
		primary_action_label: __("Unfreeze"),
		primary_action(values) {
			frappe.call({
				method: "package_bundles.api.unfreeze",
				type: "POST",
				args: { freeze: frm.doc.name, on_date: values.on_date },
				freeze: true,
				freeze_message: __("Unfreezing..."),
				callback(r) {
					if (r.exc) return;
					dialog.hide();
					frappe.show_alert({
						message: __("{0} days given back; the balance now expires on {1}", [
							r.message.days_given_back,
							r.message.expiry_date
								? frappe.datetime.str_to_user(r.message.expiry_date)
								: __("no date"),
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
