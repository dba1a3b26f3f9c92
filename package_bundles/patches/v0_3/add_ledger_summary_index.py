"""The ledger's summary index, which the report summaries read their figures from alone.

Sites that ran add_report_indexes before this index was added get it here.
"""

from package_bundles.patches.v0_1.add_indexes import execute as add_indexes


def execute():
	add_indexes()
