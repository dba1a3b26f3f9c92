"""Item doc_events: a renamed package item keeps its package; nothing cached names the old one."""

from package_bundles.flows import catalog


def after_rename(doc, method=None, *args, **kwargs):
	catalog.clear_catalog_cache(doc, method, *args, **kwargs)
