"""Indexes for every filter the reports offer (customer, package, item group, status, dates).

Sites installed earlier get them here: on_doctype_update runs only when a doctype's JSON
is imported again. add_index skips an index that exists.
"""

from package_bundles.patches.v0_1.add_indexes import execute as add_indexes


def execute():
	add_indexes()
