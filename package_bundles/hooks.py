app_name = "package_bundles"
app_title = "Package Bundles"
app_publisher = "package_bundles developers"
app_description = "Prepaid packages for medical practices on ERPNext"
app_email = "developers@package-bundles.invalid"
app_license = "mit"

# The bare name makes install-app look the app up on the network.
required_apps = ["frappe/erpnext"]

export_python_type_annotations = True

# Installation
# ------------
after_install = "package_bundles.setup.install.after_install"
after_migrate = "package_bundles.setup.install.after_migrate"
before_uninstall = "package_bundles.setup.install.before_uninstall"
# Frappe Health (issue 17) is optional: its doctypes get the app's custom fields when it is installed
# (before or after this app) and lose them when it is uninstalled
after_app_install = "package_bundles.setup.install.after_app_install"
before_app_uninstall = "package_bundles.setup.install.before_app_uninstall"

fixtures = [{"dt": "Role", "filters": [["name", "in", ["Package Manager"]]]}]

# Desk
# ----
doctype_js = {
	"Sales Invoice": [
		"public/js/package_balances.js",
		"public/js/sales_invoice.js",
		"public/js/redeemed_row_preview.js",
	],
	# the POS page's invoice form: a row the package covers shows at rate 0 once ERPNext answered
	"POS Invoice": ["public/js/redeemed_row_preview.js"],
	"Customer": ["public/js/package_balances.js", "public/js/customer.js"],
	# Frappe Health (issue 17): a Patient shows its Customer's balances and sells a package; a form
	# script of a doctype the site lacks is never loaded
	"Patient": ["public/js/package_balances.js", "public/js/patient.js"],
	# Frappe Health (issue 17): hooks on its doctypes are inert where it is not installed
	"Patient Appointment": ["public/js/patient_appointment.js"],
	# Frappe Health (issue 17): a package made from a therapy plan template; a session of a template
	# plan the package pays for is billed on its own
	"Therapy Plan Template": ["public/js/therapy_plan_template.js"],
	"Therapy Session": ["public/js/therapy_session.js"],
}

# a ticket a package covers in full completes on the POS page with nothing to pay
page_js = {"point-of-sale": "public/js/point_of_sale.js"}

# the Customer form's Connections list its package balances and redemptions
override_doctype_dashboards = {"Customer": ["package_bundles.overrides.customer.customer_connections"]}

# Printing
# --------
# the Package Receipt print format reads what it prints about packages from here
jinja = {
	"methods": [
		"package_bundles.package_bundles.print_format.package_receipt.package_receipt.package_receipt"
	]
}

# Document Events
# ---------------
# One module per hooked doctype (package_bundles/overrides/), each a thin dispatcher into the flows
doc_events = {
	"Sales Invoice": {
		"before_validate": "package_bundles.overrides.sales_invoice.before_validate",
		"validate": "package_bundles.overrides.sales_invoice.validate",
		"before_submit": "package_bundles.overrides.sales_invoice.before_submit",
		"on_submit": "package_bundles.overrides.sales_invoice.on_submit",
		"before_cancel": "package_bundles.overrides.sales_invoice.before_cancel",
		"on_cancel": "package_bundles.overrides.sales_invoice.on_cancel",
		"on_change": "package_bundles.overrides.sales_invoice.on_change",
	},
	# the POS page's invoices sell and redeem exactly like Sales Invoices
	"POS Invoice": {
		"before_validate": "package_bundles.overrides.pos_invoice.before_validate",
		"validate": "package_bundles.overrides.pos_invoice.validate",
		"on_submit": "package_bundles.overrides.pos_invoice.on_submit",
		"before_cancel": "package_bundles.overrides.pos_invoice.before_cancel",
		"on_cancel": "package_bundles.overrides.pos_invoice.on_cancel",
		"on_change": "package_bundles.overrides.pos_invoice.on_change",
	},
	"Journal Entry": {
		"before_cancel": "package_bundles.overrides.journal_entry.before_cancel",
	},
	"Transaction Deletion Record": {
		# a company's transactions go (balances, logs and ledger with them); its packages stay
		"on_submit": "package_bundles.overrides.transaction_deletion_record.on_submit",
	},
	"Item": {
		# a renamed package item keeps its package; saving an item changes nothing cached
		"after_rename": "package_bundles.overrides.item.after_rename",
	},
	# Frappe Health (issue 17): a visit a package covers is billed on booking with nothing to pay
	"Patient Appointment": {
		"after_insert": "package_bundles.overrides.patient_appointment.after_insert",
	},
}

# ERPNext adds a Link field per accounting dimension to these: what a balance captured at sale,
# and a redemption log from its row, follows a renamed dimension value (issue 16)
accounting_dimension_doctypes = ["Package Balance", "Package Redemption"]

# ERPNext's "Delete Transactions" of a company keeps these masters
company_data_to_be_ignored = ["Prepaid Package", "Package Settings Account"]

override_whitelisted_methods = {
	# the desk's Cancel All dialog leaves the app's Journal Entries to the voucher they follow
	"frappe.desk.form.linked_with.get_submitted_linked_docs": (
		"package_bundles.overrides.linked_with.get_submitted_linked_docs"
	),
	"frappe.desk.form.linked_with.cancel_all_linked_docs": (
		"package_bundles.overrides.linked_with.cancel_all_linked_docs"
	),
	# a REST path integrators call (SPEC §7) from before the layout of issue 19
	"package_bundles.expiry.extend_expiry": "package_bundles.api.balances.extend_expiry",
	# Frappe Health's Get Items from Healthcare Services (issue 17): a template therapy plan the
	# patient's package pays for lists its sessions (flows.therapy); never called without Health
	"healthcare.healthcare.utils.get_healthcare_services_to_invoice": (
		"package_bundles.api.therapy.get_healthcare_services_to_invoice"
	),
}

# Scheduled Tasks
# ---------------
scheduler_events = {
	"daily": [
		"package_bundles.flows.expire.enqueue_expiry",
		"package_bundles.flows.remind.send_expiry_reminders",
	],
	# the month just ended gets its package ledger snapshot (issue 22)
	"monthly": ["package_bundles.ledger.closing.enqueue_monthly_closings"],
}

# Testing
# -------
before_tests = "package_bundles.tests.fixtures.before_tests"

# Portal
# ------
standard_portal_menu_items = [
	{
		"title": "My Packages",
		"route": "/my-packages",
		"reference_doctype": "Package Balance",
		"role": "Customer",
	},
]
