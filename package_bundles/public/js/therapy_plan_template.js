// Copyright (c) 2026, package_bundles developers and contributors
// For license information, please see license.txt

// Therapy Plan Template (Frappe Health, issue 17): Create > Prepaid Package makes a package of the
// template's sessions (each therapy type's item, as many units as sessions) and opens it.
// This file shares one scope with Health's own form script: everything lives in a namespace.
frappe.provide("package_bundles.therapy_plan_template");

frappe.ui.form.on("Therapy Plan Template", {
	refresh(frm) {
		if (frm.is_new() || !frappe.model.can_create("Prepaid Package")) return;
		frm.add_custom_button(
			__("Prepaid Package"),
			() => package_bundles.therapy_plan_template.make_package(frm),
			__("Create")
		);
	},
});

package_bundles.therapy_plan_template.make_package = function (frm) {
	frappe.prompt(
		[
			{
				fieldname: "company",
				fieldtype: "Link",
				options: "Company",
				label: __("Company"),
				reqd: 1,
				default: frappe.defaults.get_user_default("Company"),
			},
			{
				fieldname: "package_price",
				fieldtype: "Currency",
				label: __("Package Price"),
				default: frm.doc.total_amount,
				description: __(
					"What the patient pays for the package; the template's total by default."
				),
			},
		],
		(values) => {
			frappe.call({
				method: "package_bundles.api.health.make_package_from_therapy_plan_template",
				args: {
					template: frm.doc.name,
					company: values.company,
					package_price: values.package_price,
				},
				freeze: true,
				callback: (r) => {
					if (r.message) frappe.set_route("Form", "Prepaid Package", r.message);
				},
			});
		},
		__("Prepaid Package from {0}", [frm.doc.plan_name || frm.doc.name]),
		__("Create")
	);
};
