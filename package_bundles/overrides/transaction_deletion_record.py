"""Transaction Deletion Record doc_events: a company's transactions go, balances and logs with them.

Its packages stay (hooks ``company_data_to_be_ignored``); the cached catalog is read again.
"""

from package_bundles.flows import catalog


def on_submit(doc, method=None):
	catalog.clear_catalog_cache(doc, method)
