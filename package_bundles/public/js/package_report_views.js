// Shared by the package reports (included into each report's script): a report opens on a
// summary; its detail is shown on request or for one customer. A summary or one customer's
// rows answer at once; detail across every customer runs as a Prepared Report in the
// background (the reports are marked prepared, and the view opts out of it otherwise).
frappe.provide("package_bundles.reports");

package_bundles.reports.view_filters = (group_by_options) => [
	{
		fieldname: "group_by",
		label: __("Group By"),
		fieldtype: "Select",
		options: group_by_options.map((option) => ({ value: option, label: __(option) })),
		default: group_by_options[0],
		depends_on: "eval:!doc.show_details && !doc.customer",
	},
	{
		fieldname: "show_details",
		label: __("Show Details"),
		fieldtype: "Check",
		default: 0,
	},
];

package_bundles.reports.is_wide_detail = (report) =>
	Boolean(report.get_filter_value("show_details")) && !report.get_filter_value("customer");

package_bundles.reports.onload = (report) => {
	const refresh = report.refresh.bind(report);
	report.refresh = (...args) => {
		const wide_detail = package_bundles.reports.is_wide_detail(report);
		report.ignore_prepared_report = !wide_detail;
		if (!wide_detail) {
			// back from a background run: the summary is an ordinary report again
			report.prepared_report = false;
			report.prepared_report_document = null;
			report.primary_button && report.primary_button.hide();
		}
		return refresh(...args);
	};
};
