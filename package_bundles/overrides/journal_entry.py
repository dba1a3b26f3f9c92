"""Journal Entry doc_events: the app's own entries are cancelled with their voucher, never alone."""

from package_bundles.ledger import journal_entries


def before_cancel(doc, method=None):
	journal_entries.prevent_manual_cancel(doc, method)
