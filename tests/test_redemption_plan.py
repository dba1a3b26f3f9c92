"""Which balance serves which invoice row (SPEC §3 Redemption, §4 invariant 3).

Usable balances (paid, holding the item, purchased on or before the posting
date, not expired before it) are used earliest expiry first, no expiry last, then oldest
purchase, then by name; a row is split across balances; what no balance covers
stays a normal charged quantity; rows share the pool.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from package_bundles.engine import Holding, InvoiceRow, Portion, plan_redemption

PROPERTY = settings(max_examples=300, deadline=None)
TODAY = date(2025, 6, 15)


def days(n: int) -> date:
	return TODAY + timedelta(days=n)


def portions_of(plan) -> list[tuple[str, Decimal]]:
	return [(portion.balance, portion.qty) for portion in plan.portions]


# -- scenarios ------------------------------------------------------------------------------


def test_one_visit_is_taken_from_the_only_balance():
	holdings = [Holding("PB-0001", "Office Visit", 4, purchase_date=days(-10), expiry_date=days(355))]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Office Visit", 1)], holdings, TODAY)

	assert plan.key == "row-1" and plan.item_code == "Office Visit"
	assert plan.portions == [Portion("PB-0001", Decimal(1))]
	assert plan.covered == 1 and plan.uncovered == 0


def test_the_balance_expiring_first_is_used_first_and_one_without_expiry_last():
	holdings = [
		Holding("PB-0001", "Office Visit", 2, purchase_date=days(-300), expiry_date=None),
		Holding("PB-0002", "Office Visit", 2, purchase_date=days(-10), expiry_date=days(200)),
		Holding("PB-0003", "Office Visit", 2, purchase_date=days(-5), expiry_date=days(30)),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Office Visit", 5)], holdings, TODAY)

	assert portions_of(plan) == [("PB-0003", 2), ("PB-0002", 2), ("PB-0001", 1)]


def test_same_expiry_uses_the_oldest_purchase_then_the_name():
	holdings = [
		Holding("PB-0009", "Lab Panel", 1, purchase_date=days(-20), expiry_date=days(30)),
		Holding("PB-0002", "Lab Panel", 1, purchase_date=days(-40), expiry_date=days(30)),
		Holding("PB-0001", "Lab Panel", 1, purchase_date=days(-20), expiry_date=days(30)),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Lab Panel", 3)], holdings, TODAY)

	assert [balance for balance, _ in portions_of(plan)] == ["PB-0002", "PB-0001", "PB-0009"]


def test_own_balances_come_before_shared_ones_each_by_expiry_then_purchase():
	holdings = [
		Holding("PB-0001", "Office Visit", 1, purchase_date=days(-90), expiry_date=days(5), shared=True),
		Holding("PB-0002", "Office Visit", 1, purchase_date=days(-10), expiry_date=days(300)),
		Holding("PB-0003", "Office Visit", 1, purchase_date=days(-20), expiry_date=days(100), shared=True),
		Holding("PB-0004", "Office Visit", 1, purchase_date=days(-5), expiry_date=days(200)),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Office Visit", 5)], holdings, TODAY)

	assert portions_of(plan) == [("PB-0004", 1), ("PB-0002", 1), ("PB-0001", 1), ("PB-0003", 1)]
	assert plan.uncovered == 1


def test_a_row_larger_than_all_balances_is_split_and_the_rest_is_charged():
	holdings = [
		Holding("PB-0001", "Office Visit", 1, purchase_date=days(-30), expiry_date=days(10)),
		Holding("PB-0002", "Office Visit", 2, purchase_date=days(-20), expiry_date=days(20)),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Office Visit", 5)], holdings, TODAY)

	assert portions_of(plan) == [("PB-0001", 1), ("PB-0002", 2)]
	assert plan.covered == 3 and plan.uncovered == 2


def test_two_rows_of_one_item_never_take_the_same_unit_twice():
	holdings = [Holding("PB-0001", "Office Visit", 3, purchase_date=days(-30))]
	first, second = plan_redemption(
		[InvoiceRow("row-1", "Office Visit", 2), InvoiceRow("row-2", "Office Visit", 2)], holdings, TODAY
	)

	assert portions_of(first) == [("PB-0001", 2)]
	assert portions_of(second) == [("PB-0001", 1)] and second.uncovered == 1


def test_an_opted_out_row_is_charged_and_leaves_the_units_for_the_next_row():
	holdings = [Holding("PB-0001", "Office Visit", 1, purchase_date=days(-30))]
	skipped, redeemed = plan_redemption(
		[InvoiceRow("row-1", "Office Visit", 1, skip=True), InvoiceRow("row-2", "Office Visit", 1)],
		holdings,
		TODAY,
	)

	assert skipped.portions == [] and skipped.uncovered == 1
	assert portions_of(redeemed) == [("PB-0001", 1)]


def test_an_item_no_balance_holds_is_charged_normally():
	holdings = [Holding("PB-0001", "Office Visit", 4, purchase_date=days(-30))]
	(plan,) = plan_redemption([InvoiceRow("row-1", "X-Ray", 1)], holdings, TODAY)

	assert plan.portions == [] and plan.uncovered == 1


def test_a_balance_expiring_today_is_still_usable_but_not_one_expired_yesterday():
	holdings = [
		Holding("PB-0001", "Office Visit", 1, purchase_date=days(-30), expiry_date=days(-1)),
		Holding("PB-0002", "Office Visit", 1, purchase_date=days(-30), expiry_date=TODAY),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Office Visit", 2)], holdings, TODAY)

	assert portions_of(plan) == [("PB-0002", 1)] and plan.uncovered == 1


def test_a_balance_bought_after_the_posting_date_is_not_used_for_a_backdated_invoice():
	holdings = [
		Holding("PB-0001", "Office Visit", 1, purchase_date=days(1)),
		Holding("PB-0002", "Office Visit", 1, purchase_date=TODAY),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Office Visit", 2)], holdings, TODAY)

	assert portions_of(plan) == [("PB-0002", 1)] and plan.uncovered == 1


def test_a_balance_whose_purchase_invoice_is_unpaid_is_not_used():
	holdings = [
		Holding("PB-0001", "Office Visit", 4, purchase_date=days(-30), expiry_date=days(1), paid=False),
		Holding("PB-0002", "Office Visit", 4, purchase_date=days(-10), expiry_date=days(300)),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Office Visit", 5)], holdings, TODAY)

	assert portions_of(plan) == [("PB-0002", 4)] and plan.uncovered == 1


def test_used_up_balances_and_empty_rows_take_nothing():
	holdings = [
		Holding("PB-0001", "Office Visit", 0, purchase_date=days(-30)),
		Holding("PB-0002", "Office Visit", 1, purchase_date=days(-20)),
	]
	empty, row = plan_redemption(
		[InvoiceRow("row-1", "Office Visit", 0), InvoiceRow("row-2", "Office Visit", 3)], holdings, TODAY
	)

	assert empty.portions == [] and empty.covered == 0 and empty.uncovered == 0
	assert portions_of(row) == [("PB-0002", 1)] and row.uncovered == 2


def test_fractional_units_are_split_across_balances():
	holdings = [
		Holding("PB-0001", "Physiotherapy (hours)", "1.5", purchase_date=days(-30), expiry_date=days(5)),
		Holding("PB-0002", "Physiotherapy (hours)", "2", purchase_date=days(-30), expiry_date=days(50)),
	]
	(plan,) = plan_redemption([InvoiceRow("row-1", "Physiotherapy (hours)", "2.25")], holdings, TODAY)

	assert portions_of(plan) == [("PB-0001", Decimal("1.5")), ("PB-0002", Decimal("0.75"))]
	assert plan.uncovered == 0


def test_plans_come_back_one_per_row_in_row_order():
	rows = [InvoiceRow(f"row-{n}", item, 1) for n, item in enumerate(["Lab Panel", "X-Ray", "Office Visit"])]
	plans = plan_redemption(rows, [], TODAY)

	assert [(plan.key, plan.item_code) for plan in plans] == [(r.key, r.item_code) for r in rows]
	assert all(plan.portions == [] and plan.uncovered == 1 for plan in plans)
	assert plan_redemption([], [Holding("PB-0001", "Lab Panel", 1, purchase_date=days(-1))], TODAY) == []


# -- invariant 3 over generated holdings and invoices -----------------------------------------

ITEMS = ["Office Visit", "Lab Panel", "Lactation Kit", "Massage"]


def quantities(min_units: int, max_units: int):
	whole = st.integers(min_units, max_units).map(Decimal)
	fractional = st.integers(min_units * 100, max_units * 100).map(lambda n: Decimal(n).scaleb(-2))
	return st.one_of(whole, fractional)


@st.composite
def holdings_and_rows(draw):
	holdings = []
	for number in range(draw(st.integers(0, 7))):
		purchase_date = days(draw(st.integers(-90, 5)))
		valid_for = draw(st.one_of(st.none(), st.integers(-30, 120)), label="days valid")
		expiry_date = None if valid_for is None else purchase_date + timedelta(days=valid_for)
		paid = draw(st.integers(0, 4)) > 0
		shared = draw(st.integers(0, 3)) == 0  # another customer's balance shared with this one
		for item in draw(st.lists(st.sampled_from(ITEMS), min_size=1, max_size=3, unique=True)):
			remaining = draw(quantities(0, 6))
			holdings.append(
				Holding(
					f"PB-{number:04d}", item, remaining, purchase_date, expiry_date, paid=paid, shared=shared
				)
			)
	holdings = draw(st.permutations(holdings))

	rows = []
	for number in range(draw(st.integers(0, 8))):
		item = draw(st.sampled_from([*ITEMS, "X-Ray"]))
		rows.append(InvoiceRow(f"row-{number}", item, draw(quantities(1, 12)), skip=draw(st.booleans())))
	return holdings, rows


def usable(holding: Holding) -> bool:
	"""SPEC: paid, holding units, bought on or before the posting date and not expired before it."""
	expired = holding.expiry_date is not None and holding.expiry_date < TODAY
	return holding.paid and holding.qty_remaining > 0 and not expired and holding.purchase_date <= TODAY


def service_order(holding: Holding):
	return (
		holding.shared,  # the customer's own balances first, then those shared with them
		holding.expiry_date is None,
		holding.expiry_date or date.max,
		holding.purchase_date,
		holding.balance,
	)


@PROPERTY
@given(holdings_and_rows())
def test_plans_cover_rows_greedily_from_usable_balances_in_order(case):
	holdings, rows = case
	plans = plan_redemption(rows, holdings, TODAY)
	held = {(h.balance, h.item_code): h for h in holdings}
	queue = defaultdict(list)
	for holding in sorted((h for h in holdings if usable(h)), key=service_order):
		queue[holding.item_code].append((holding.balance, holding.item_code))
	taken = defaultdict(Decimal)

	assert [plan.key for plan in plans] == [row.key for row in rows]
	for row, plan in zip(rows, plans, strict=True):
		assert plan.item_code == row.item_code
		assert plan.covered + plan.uncovered == row.qty
		assert plan.uncovered >= 0
		if row.skip or not queue[row.item_code]:
			assert plan.portions == [], "skipped rows and rows no balance holds take nothing"
			continue

		used = [portion.balance for portion in plan.portions]
		assert len(used) == len(set(used)), "a row takes from each balance at most once"
		for portion in plan.portions:
			key = (portion.balance, row.item_code)
			assert portion.qty > 0
			assert key in queue[row.item_code], f"{key} is not usable on {TODAY}"
			for earlier in queue[row.item_code][: queue[row.item_code].index(key)]:
				assert taken[earlier] == held[earlier].qty_remaining, f"{key} used before {earlier} ran out"
			taken[key] += portion.qty
			assert taken[key] <= held[key].qty_remaining

		if plan.uncovered > 0:
			assert all(taken[key] == held[key].qty_remaining for key in queue[row.item_code]), (
				"units were charged while a usable balance still held some"
			)
	assert set(taken) <= {key for keys in queue.values() for key in keys}


@PROPERTY
@given(holdings_and_rows(), st.data())
def test_applying_plans_keeps_redeemed_plus_remaining_equal_to_purchased(case, data):
	holdings, rows = case
	lines = {}
	for holding in holdings:
		redeemed_before = data.draw(quantities(0, 5), label=f"redeemed before from {holding.balance}")
		lines[(holding.balance, holding.item_code)] = {
			"purchased": holding.qty_remaining + redeemed_before,
			"redeemed": redeemed_before,
			"remaining": holding.qty_remaining,
		}

	redeemed_now = Decimal(0)
	for plan in plan_redemption(rows, holdings, TODAY):
		for portion in plan.portions:
			line = lines[(portion.balance, plan.item_code)]
			line["redeemed"] += portion.qty
			line["remaining"] -= portion.qty
			redeemed_now += portion.qty

	for line in lines.values():
		assert line["remaining"] >= 0
		assert line["redeemed"] + line["remaining"] == line["purchased"]
	assert redeemed_now <= sum((row.qty for row in rows if not row.skip), Decimal(0))


@PROPERTY
@given(holdings_and_rows())
def test_planning_does_not_depend_on_the_order_holdings_are_listed_in(case):
	holdings, rows = case
	assert plan_redemption(rows, holdings, TODAY) == plan_redemption(rows, list(reversed(holdings)), TODAY)
