"""Cached look-ups that keep the Sales Invoice validate path free of queries.

Which items are package sales items, and which items any balance was ever sold
with, change rarely; they live in Redis and are rebuilt on the next read after
a package is saved or a balance is created.
"""

import frappe

PACKAGE_ITEMS_KEY = "package_bundles:package_items"
REDEEMABLE_ITEMS_KEY = "package_bundles:redeemable_items"


def get_package_item_map() -> dict[str, str]:
	"""Sales item code -> Prepaid Package name."""
	return frappe.cache.get_value(PACKAGE_ITEMS_KEY, generator=_load_package_items)


def get_redeemable_items() -> set[str]:
	"""Item codes that some balance was sold with (a superset of what can redeem now)."""
	return set(frappe.cache.get_value(REDEEMABLE_ITEMS_KEY, generator=_load_redeemable_items))


def _load_package_items() -> dict[str, str]:
	rows = frappe.get_all(
		"Prepaid Package", fields=["name", "item"], filters={"item": ("is", "set")}, order_by="name asc"
	)
	return {row.item: row.name for row in rows}


def _load_redeemable_items() -> list[str]:
	return frappe.get_all("Package Balance Item", pluck="item_code", distinct=True, order_by="item_code asc")


def clear_catalog_cache(*args, **kwargs):
	"""Clear now and again after commit, so a reader that rebuilt the cache from
	not-yet-committed data cannot leave it stale."""
	_clear()
	frappe.db.after_commit.add(_clear)


def _clear():
	frappe.cache.delete_value([PACKAGE_ITEMS_KEY, REDEEMABLE_ITEMS_KEY])
