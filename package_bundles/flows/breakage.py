"""An expected breakage rate proposed from a package's history (issue 21, IFRS 15 B46).

The Proportional breakage method expects a share of the value sold never to be used. The
proposal is that share over the package's balances that ended in a look-back window: the
value they left unused over the value they were sold for (engine.propose_breakage_rate), and
only when at least a minimum number of them ended. A balance ended when it was used up (on its
last redemption) or expired (on its expiry date); refunded and cancelled balances never ended
this way, and Upon Purchase balances recognize everything at sale, so they tell nothing.
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.query_builder.functions import Max
from frappe.utils import flt, fmt_money, getdate

from package_bundles import engine
from package_bundles.engine.state import EXHAUSTED, EXPIRED, REDEMPTION
from package_bundles.exceptions import BreakageRateError
from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import currency_precision

UPON_CONSUMPTION = "Upon Consumption"
# the proposal's precision as a fraction: a rate in % with two decimals
RATE_PRECISION = 4


def propose_rate(package: str, from_date, to_date, minimum_count: int) -> dict:
	"""The proposal (``rate`` in %, or None) and the figures it comes from."""
	from_date, to_date = getdate(from_date), getdate(to_date)
	if from_date > to_date:
		frappe.throw(
			_("The look-back window must start on or before its end ({0} is after {1})").format(
				from_date, to_date
			),
			BreakageRateError,
		)
	if minimum_count < 1:
		frappe.throw(_("The minimum number of ended balances must be at least 1"), BreakageRateError)
	currency = frappe.db.get_value("Prepaid Package", package, "currency")
	precision = currency_precision(currency)
	ended = ended_balances(package, from_date, to_date)
	figures = [(Decimal(str(flt(row.sold))), Decimal(str(flt(row.broken)))) for row in ended]
	proposed = engine.propose_breakage_rate(figures, minimum_count, RATE_PRECISION)
	sold = flt(sum((sold for sold, _broken in figures), Decimal(0)), precision)
	broken = flt(sum((broken for _sold, broken in figures), Decimal(0)), precision)
	proposal = {
		"package": package,
		"rate": flt(proposed * 100, RATE_PRECISION - 2) if proposed is not None else None,
		"count": len(ended),
		"sold": sold,
		"broken": broken,
		"currency": currency,
		"from_date": str(from_date),
		"to_date": str(to_date),
		"minimum_count": minimum_count,
		"balances": [row.name for row in ended],
	}
	proposal["source"] = rate_source(proposal, precision) if proposed is not None else None
	return proposal


def rate_source(proposal: dict, precision: int) -> str:
	"""What a package keeps as the source of a proposed rate: the figures it came from."""
	return _("Proposed from {0} balances ended {1} to {2}: {3} broken of {4} sold").format(
		proposal["count"],
		proposal["from_date"],
		proposal["to_date"],
		fmt_money(proposal["broken"], precision),
		fmt_money(proposal["sold"], precision),
	)


def ended_balances(package: str, from_date, to_date) -> list[frappe._dict]:
	"""The package's Upon Consumption balances that ended in the window: name, sold, broken."""
	Balance = DocType("Package Balance")
	rows = (
		frappe.qb.from_(Balance)
		.select(
			Balance.name,
			Balance.status,
			Balance.expiry_date,
			Balance.total_allocated.as_("sold"),
			(Balance.total_allocated - Balance.total_recognized - Balance.total_refunded).as_("broken"),
		)
		.where(Balance.prepaid_package == package)
		.where(Balance.status.isin((EXHAUSTED, EXPIRED)))
		.where(Balance.revenue_recognition == UPON_CONSUMPTION)
		.orderby(Balance.name)
		.run(as_dict=True)
	)
	used_up_on = last_redemption_dates([row.name for row in rows if row.status == EXHAUSTED])
	ended = []
	for row in rows:
		ended_on = used_up_on.get(row.name) if row.status == EXHAUSTED else row.expiry_date
		if ended_on and from_date <= getdate(ended_on) <= to_date:
			ended.append(row)
	return ended


def last_redemption_dates(balances: list[str]) -> dict[str, object]:
	"""The date of each balance's last live redemption: the day a used-up balance ended."""
	if not balances:
		return {}
	Entry = DocType("Package Ledger Entry")
	return dict(
		frappe.qb.from_(Entry)
		.select(Entry.package_balance, Max(Entry.posting_date))
		.where(Entry.package_balance.isin(balances))
		.where(Entry.event == REDEMPTION)
		.where(Entry.is_cancelled == 0)
		.where(Entry.is_reversal == 0)
		.where(Entry.is_reversed == 0)
		.groupby(Entry.package_balance)
		.orderby(Entry.package_balance)
		.run()
	)
