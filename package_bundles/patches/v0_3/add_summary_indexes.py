"""The summary indexes of the ledger and of the redemption log: report summaries read their
figures from them alone. Sites that ran add_report_indexes before they were added get them here.
"""

from package_bundles.patches.v0_1.add_indexes import execute as add_indexes


def execute():
	add_indexes()
