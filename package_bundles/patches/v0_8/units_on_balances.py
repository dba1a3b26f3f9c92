"""Issue 22: balances carry their units (purchased, remaining), so the Package Balances summaries read
the balances alone; filled here from their lines for sites installed before, then indexed."""

import frappe

from package_bundles.patches.v0_1.add_indexes import execute as add_indexes


def execute():
	frappe.db.sql(
		"""update `tabPackage Balance` balance
		join (
			select parent, sum(qty_purchased) as purchased, sum(qty_remaining) as remaining
			from `tabPackage Balance Item`
			where parenttype = 'Package Balance'
			group by parent
		) units on units.parent = balance.name
		set balance.units_purchased = units.purchased, balance.units_remaining = units.remaining"""
	)
	add_indexes()
