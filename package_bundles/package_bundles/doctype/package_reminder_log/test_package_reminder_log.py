# Copyright (c) 2026, package_bundles developers and contributors
# For license information, please see license.txt

"""Expiry reminders: one email per balance and threshold through the Email Queue, never twice,
none for a patient without an email address, none while the setting is off."""

from email import message_from_string
from email.header import decode_header, make_header

import frappe
from frappe.utils import add_days, format_date, getdate, nowdate

from package_bundles.api import extend_expiry
from package_bundles.flows import remind
from package_bundles.tests.case import IGNORED_TEST_RECORDS, PackageTestCase
from package_bundles.tests.fixtures import LAB, VISIT, get_or_make, make_invoice, make_package, pay

test_ignore = [*IGNORED_TEST_RECORDS, "Email Template", "Email Queue", "Package Balance"]


def make_patient(email: str | None = None) -> str:
	name = f"PKT Reminder Patient {frappe.generate_hash(length=6)}"
	values = {
		"customer_name": name,
		"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}),
		"territory": frappe.db.get_value("Territory", {"is_group": 0}),
	}
	if email:
		values["email_id"] = email  # ERPNext makes it the primary contact's email
	return get_or_make("Customer", name, values).name


def queued_for(balance: str) -> list[frappe._dict]:
	return frappe.get_all(
		"Email Queue",
		filters={"reference_doctype": "Package Balance", "reference_name": balance},
		fields=["name", "message", "status"],
		order_by="creation asc",
	)


def make_outgoing_email_account():
	"""The practice's outgoing mail (no connection is tried under tests)."""
	frappe.local.outgoing_email_account = {}
	if not frappe.db.exists("Email Account", "PKT Front Desk"):
		frappe.get_doc(
			{
				"doctype": "Email Account",
				"email_account_name": "PKT Front Desk",
				"email_id": "frontdesk@example.com",
				"enable_outgoing": 1,
				"default_outgoing": 1,
				"smtp_server": "smtp.example.com",
				"no_smtp_authentication": 1,
			}
		).insert(ignore_permissions=True)


def read_email(queue: frappe._dict) -> tuple[str, str]:
	"""The subject and the HTML body of a queued email."""
	mail = message_from_string(queue.message)
	html = "".join(
		part.get_payload(decode=True).decode()
		for part in mail.walk()
		if part.get_content_type() == "text/html"
	)
	return str(make_header(decode_header(mail["Subject"]))), html


class TestExpiryReminders(PackageTestCase):
	def setUp(self):
		super().setUp()
		make_outgoing_email_account()
		remind.make_expiry_reminder_template()
		self.set_reminders(send_expiry_reminders=1, reminder_days=30)
		self.package = make_package(
			"Reminder Care", items=[(VISIT, 3), (LAB, 2)], price=400, valid_for_days=20
		)

	def tearDown(self):
		super().tearDown()
		frappe.local.outgoing_email_account = {}  # the account was rolled back

	def set_reminders(self, **values):
		settings = frappe.get_single("Package Settings")
		settings.update(values)
		settings.flags.ignore_permissions = True
		settings.save()
		frappe.clear_document_cache("Package Settings")

	def sell(self, customer: str, posting_date=None) -> str:
		invoice = make_invoice([(self.package.item, 1)], customer=customer, posting_date=posting_date)
		pay(invoice)
		return frappe.db.get_value("Package Balance", {"sales_invoice": invoice.name})

	def test_one_email_per_balance_with_what_is_left_and_the_date(self):
		customer = make_patient("ana@example.com")
		balance = self.sell(customer)
		make_invoice([(VISIT, 1)], customer=customer)

		outcome = remind.send_expiry_reminders()
		self.assertIn(balance, outcome["sent"])
		queued = queued_for(balance)
		self.assertEqual(len(queued), 1)
		recipients = frappe.get_all(
			"Email Queue Recipient", filters={"parent": queued[0].name}, pluck="recipient"
		)
		self.assertEqual(recipients, ["ana@example.com"])
		subject, html = read_email(queued[0])
		expiry_date = frappe.db.get_value("Package Balance", balance, "expiry_date")
		self.assertEqual(subject, f"Your Reminder Care package expires on {format_date(expiry_date)}")
		self.assertIn("<li>2 Nos × Office Visit</li>", html)
		self.assertIn("<li>2 Nos × Lab Panel</li>", html)
		log = frappe.get_doc("Package Reminder Log", {"package_balance": balance})
		self.assertEqual(
			(log.customer, log.email_to, getdate(log.expiry_date), log.reminder_days, log.email_queue),
			(customer, "ana@example.com", getdate(expiry_date), 30, queued[0].name),
		)

		# the next run, the same day or later, sends nothing again
		self.assertNotIn(balance, remind.send_expiry_reminders()["sent"])
		self.assertNotIn(balance, remind.send_expiry_reminders(add_days(nowdate(), 1))["sent"])
		self.assertEqual(len(queued_for(balance)), 1)

	def test_no_email_no_reminder(self):
		balance = self.sell(make_patient())
		outcome = remind.send_expiry_reminders()
		self.assertIn(balance, outcome["no_email"])
		self.assertEqual(queued_for(balance), [])
		self.assertFalse(frappe.db.exists("Package Reminder Log", {"package_balance": balance}))

	def test_email_of_the_primary_contact(self):
		customer = make_patient("ben@example.com")
		frappe.db.set_value("Customer", customer, "email_id", None)  # only the contact has it
		balance = self.sell(customer)
		remind.send_expiry_reminders()
		self.assertEqual(
			frappe.db.get_value("Package Reminder Log", {"package_balance": balance}, "email_to"),
			"ben@example.com",
		)

	def test_nothing_when_off(self):
		self.set_reminders(send_expiry_reminders=0)
		balance = self.sell(make_patient("cat@example.com"))
		self.assertEqual(remind.send_expiry_reminders(), {"sent": [], "no_email": [], "failed": []})
		self.assertEqual(queued_for(balance), [])

	def test_only_balances_within_the_days_set(self):
		self.set_reminders(reminder_days=10)
		balance = self.sell(make_patient("dan@example.com"))  # expires in 20 days
		remind.send_expiry_reminders()
		self.assertEqual(queued_for(balance), [])
		# ten days later it is within the window
		self.assertIn(balance, remind.send_expiry_reminders(add_days(nowdate(), 10))["sent"])
		self.assertEqual(len(queued_for(balance)), 1)

	def test_used_up_or_expired_balances_are_not_reminded(self):
		customer = make_patient("eve@example.com")
		used_up = self.sell(customer)
		make_invoice([(VISIT, 3), (LAB, 2)], customer=customer)
		self.assertEqual(frappe.db.get_value("Package Balance", used_up, "status"), "Exhausted")
		remind.send_expiry_reminders()
		self.assertEqual(queued_for(used_up), [])

	def test_an_extended_balance_is_reminded_before_its_new_date(self):
		balance = self.sell(make_patient("fay@example.com"))
		remind.send_expiry_reminders()
		extend_expiry(balance, add_days(nowdate(), 25), "Patient was ill")
		remind.send_expiry_reminders()
		self.assertEqual(len(queued_for(balance)), 2)
		self.assertEqual(frappe.db.count("Package Reminder Log", {"package_balance": balance}), 2)

	def test_a_reminder_claimed_by_another_run_is_not_sent(self):
		balance = self.sell(make_patient("gus@example.com"))
		candidates = remind.balances_to_remind(getdate(nowdate()), 30)
		row = next(candidate for candidate in candidates if candidate.name == balance)
		row.email = row.customer_email
		template = frappe.get_doc("Email Template", remind.DEFAULT_TEMPLATE)
		items = remind.remaining_items([balance])[balance]
		self.assertTrue(remind.remind(row, items, template, 30, getdate(nowdate())))
		# a second run that read the same candidates before the first committed
		self.assertFalse(remind.remind(row, items, template, 30, getdate(nowdate())))
		self.assertEqual(len(queued_for(balance)), 1)

	def test_the_template_is_shipped_once_and_never_overwritten(self):
		template = frappe.get_doc("Email Template", remind.DEFAULT_TEMPLATE)
		template.subject = "Use your {{ prepaid_package }} visits"
		template.save(ignore_permissions=True)
		remind.make_expiry_reminder_template()  # what every migrate runs
		self.assertEqual(
			frappe.db.get_value("Email Template", remind.DEFAULT_TEMPLATE, "subject"),
			"Use your {{ prepaid_package }} visits",
		)
		balance = self.sell(make_patient("hal@example.com"))
		remind.send_expiry_reminders()
		subject, _html = read_email(queued_for(balance)[0])
		self.assertEqual(subject, "Use your Reminder Care visits")

	def test_days_before_expiry_must_be_positive(self):
		from package_bundles.exceptions import PackageError

		with self.assertRaises(PackageError):
			self.set_reminders(send_expiry_reminders=1, reminder_days=0)
