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
after_install = "package_bundles.install.after_install"
after_migrate = "package_bundles.install.after_migrate"
before_uninstall = "package_bundles.install.before_uninstall"

fixtures = [{"dt": "Role", "filters": [["name", "in", ["Package Manager"]]]}]

# Desk
# ----
doctype_js = {
	"Sales Invoice": ["public/js/package_balances.js", "public/js/sales_invoice.js"],
	"Customer": ["public/js/package_balances.js", "public/js/customer.js"],
}

# a ticket a package covers in full completes on the POS page with nothing to pay
page_js = {"point-of-sale": "public/js/point_of_sale.js"}

# the Customer form's Connections list its package balances and redemptions
override_doctype_dashboards = {"Customer": ["package_bundles.connections.customer_connections"]}

# Printing
# --------
# the Package Receipt print format reads what it prints about packages from here
jinja = {"methods": ["package_bundles.receipt.package_receipt"]}

# Document Events
# ---------------
doc_events = {
	"Sales Invoice": {
		"before_validate": [
			"package_bundles.invoice.before_validate",
			# "Maintain Same Rate" compares charged rows with their order, not redeemed ones
			"package_bundles.orders.compare_charged_rates_only",
		],
		"validate": "package_bundles.invoice.validate",
		"before_submit": "package_bundles.orders.count_redeemed_rows_as_billed",
		"on_submit": [
			"package_bundles.invoice.on_submit",
			"package_bundles.orders.update_delivery_notes_billed",
		],
		"before_cancel": [
			"package_bundles.invoice.before_cancel",
			"package_bundles.orders.count_redeemed_rows_as_billed",
		],
		"on_cancel": [
			"package_bundles.invoice.on_cancel",
			"package_bundles.orders.update_delivery_notes_billed",
		],
		# ERPNext sets the status (db_set runs on_change) wherever it recomputes the outstanding
		"on_change": "package_bundles.payment.refresh_sold_balances",
	},
	# the POS page's invoices sell and redeem exactly like Sales Invoices
	"POS Invoice": {
		"before_validate": "package_bundles.invoice.before_validate",
		"validate": "package_bundles.invoice.validate",
		"on_submit": "package_bundles.invoice.on_submit",
		"before_cancel": "package_bundles.invoice.before_cancel",
		"on_cancel": "package_bundles.invoice.on_cancel",
		"on_change": "package_bundles.payment.refresh_sold_balances",
	},
	"Journal Entry": {
		"before_cancel": "package_bundles.accounting.prevent_manual_cancel",
	},
	"Transaction Deletion Record": {
		# a company's transactions go (balances, logs and ledger with them); its packages stay
		"on_submit": "package_bundles.catalog.clear_catalog_cache",
	},
	"Item": {
		# a renamed package item keeps its package; saving an item changes nothing cached
		"after_rename": "package_bundles.catalog.clear_catalog_cache",
	},
}

# ERPNext adds a Link field per accounting dimension to these: what a balance captured at sale,
# and a redemption log from its row, follows a renamed dimension value (issue 16)
accounting_dimension_doctypes = ["Package Balance", "Package Redemption"]

# ERPNext's "Delete Transactions" of a company keeps these masters
company_data_to_be_ignored = ["Prepaid Package", "Package Settings Account"]

# A row the patient's package covers shows at rate 0 as soon as it is added (POS page, invoice form)
override_whitelisted_methods = {
	"erpnext.stock.get_item_details.get_item_details": "package_bundles.pos.get_item_details",
	# the desk's Cancel All dialog leaves the app's Journal Entries to the voucher they follow
	"frappe.desk.form.linked_with.get_submitted_linked_docs": "package_bundles.cancel_all.get_submitted_linked_docs",
	"frappe.desk.form.linked_with.cancel_all_linked_docs": "package_bundles.cancel_all.cancel_all_linked_docs",
}

# Scheduled Tasks
# ---------------
scheduler_events = {
	"daily": ["package_bundles.expiry.enqueue_expiry", "package_bundles.reminders.send_expiry_reminders"],
}

# Testing
# -------
before_tests = "package_bundles.test_fixtures.before_tests"

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
