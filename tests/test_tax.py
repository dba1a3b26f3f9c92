"""Tax on a package row (SPEC §3 Tax, §6).

The package row carries, per tax account, the allocation-weighted rate of its
components, so ERPNext's own engine taxes it as the components would be taxed.
"""

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from package_bundles.engine import PackageLine, allocate, component_tax, weighted_tax_rates
from package_bundles.engine.tax import RATE_QUANTUM

PROPERTY = settings(max_examples=300, deadline=None)
VAT = "VAT 8% - PC"


def erpnext_row_tax(price: Decimal, rate: Decimal, precision: int) -> Decimal:
	"""What ERPNext charges on a row of ``price`` at ``rate`` percent."""
	return (price * rate / 100).quantize(Decimal(1).scaleb(-precision), rounding=ROUND_HALF_UP)


# -- SPEC §6 ------------------------------------------------------------------------------


def test_worked_example_kit_at_8_percent_gives_the_package_row_a_rate_of_0_8():
	components = [(Decimal("540.00"), {VAT: 0}), (Decimal("72.00"), {VAT: 8}), (Decimal("108.00"), {VAT: 0})]

	rates = weighted_tax_rates(components, Decimal("720.00"), 2)

	assert rates == {VAT: Decimal("0.8")}
	assert weighted_tax_rates(components, Decimal("720.00")) == rates
	assert erpnext_row_tax(Decimal("720.00"), rates[VAT], 2) == Decimal("5.76")
	assert component_tax(components, 2) == {VAT: Decimal("5.76")}


def test_worked_example_from_allocation_to_tax(postpartum_care):
	visits, kit, labs = allocate(postpartum_care, "720.00", 2)
	components = [(visits, {}), (kit, {VAT: Decimal("8")}), (labs, {})]

	assert weighted_tax_rates(components, "720.00") == {VAT: Decimal("0.8")}
	assert component_tax(components, 2) == {VAT: Decimal("5.76")}
	assert Decimal("720.00") + component_tax(components, 2)[VAT] == Decimal("725.76")


def test_every_tax_account_of_any_component_gets_a_rate_exempt_lines_count_as_zero():
	components = [
		(Decimal("60.00"), {"VAT - PC": Decimal("10")}),
		(Decimal("40.00"), {"Levy - PC": Decimal("2.5")}),
		(Decimal("0.00"), {"VAT - PC": Decimal("20")}),
	]

	assert weighted_tax_rates(components, "100.00") == {"Levy - PC": Decimal("1"), "VAT - PC": Decimal("6")}
	assert component_tax(components, 2) == {"Levy - PC": Decimal("1.00"), "VAT - PC": Decimal("6.00")}


def test_a_half_cent_of_component_tax_is_charged_on_the_package_row_too():
	# 2.00 taxed at 7.25% bears 0.145 -> 0.15. The plain weighted rate 14.5 / 7 = 2.071428571(4)%
	# would charge 7.00 x 2.071428571% = 0.14499999997 -> 0.14, a cent short.
	components = [(Decimal("2.00"), {VAT: Decimal("7.25")}), (Decimal("5.00"), {})]

	rate = weighted_tax_rates(components, "7.00", 2)[VAT]

	assert component_tax(components, 2) == {VAT: Decimal("0.15")}
	assert rate == Decimal("2.071428572")
	assert erpnext_row_tax(Decimal("7.00"), rate, 2) == Decimal("0.15")
	assert weighted_tax_rates(components, "7.00")[VAT] == Decimal("2.071428571")


def test_a_rate_nudged_down_when_rounding_half_up_would_overcharge():
	# 0.04 at 12.5% bears 0.005 -> 0.01 (ok); 1.01 at 12.5% in a 6.00 package bears 0.12625 -> 0.13;
	# whichever way the ninth place falls, the row is charged what the components bear.
	for allocated, price in [("0.04", "0.07"), ("1.01", "6.00"), ("100.04", "700.04"), ("0.148", "0.920")]:
		components = [(Decimal(allocated), {VAT: Decimal("12.5")}), (Decimal(price) - Decimal(allocated), {})]
		precision = len(allocated.split(".")[1])
		rate = weighted_tax_rates(components, price, precision)[VAT]
		assert erpnext_row_tax(Decimal(price), rate, precision) == component_tax(components, precision)[VAT]


def test_weighted_rates_are_stored_to_nine_places():
	components = [(Decimal("1.00"), {VAT: 8}), (Decimal("2.00"), {VAT: 0})]
	rate = weighted_tax_rates(components, "3.00")[VAT]

	assert rate == Decimal("2.666666667")
	assert rate.as_tuple().exponent == RATE_QUANTUM.as_tuple().exponent


def test_a_free_package_gets_zero_rates_for_its_accounts():
	components = [(Decimal("0.00"), {VAT: 8}), (Decimal("0.00"), {})]
	assert weighted_tax_rates(components, 0) == {VAT: Decimal(0)}
	assert component_tax(components, 2) == {VAT: Decimal("0.00")}


def test_an_untaxed_package_has_no_tax_accounts():
	components = [(Decimal("540.00"), {}), (Decimal("180.00"), {})]
	assert weighted_tax_rates(components, "720.00") == {}
	assert component_tax(components, 2) == {}


# -- properties over generated packages ----------------------------------------------------

TAX_RATES = st.sampled_from([Decimal(r) for r in ("0", "5", "8", "12.5", "19", "20", "7.25")])


@st.composite
def taxed_packages(draw):
	count = draw(st.integers(1, 12))
	lines = [
		PackageLine(
			f"ITEM-{i:02d}", draw(st.integers(1, 50)), Decimal(draw(st.integers(0, 1_000_000))).scaleb(-2)
		)
		for i in range(count)
	]
	price = Decimal(draw(st.integers(0, 100_000_000))).scaleb(-2)
	precision = draw(st.sampled_from([0, 2, 3]))
	allocations = allocate(lines, price, precision)
	accounts = ["VAT - PC", "Levy - PC"]
	components = []
	for allocation in allocations:
		rates = {account: draw(TAX_RATES) for account in accounts if draw(st.booleans())}
		components.append((allocation, rates))
	return components, sum(allocations), precision


@PROPERTY
@given(taxed_packages())
def test_weighted_rate_taxes_the_row_as_its_components_would_be_taxed(package):
	components, price, precision = package
	rates = weighted_tax_rates(components, price, precision)
	taxes = component_tax(components, precision)
	step = Fraction(1, 10**precision)

	assert set(rates) == set(taxes) == {account for _, r in components for account in r}
	for account, rate in rates.items():
		component_rates = [Fraction(r.get(account, 0)) for _, r in components]
		exact_tax = sum(Fraction(a) * Fraction(r.get(account, 0)) for a, r in components) / 100
		assert abs(Fraction(taxes[account]) - exact_tax) <= step / 2
		if not price:
			assert rate == 0
			continue
		assert min(component_rates) <= Fraction(rate) <= max(component_rates)
		row_tax = Fraction(price) * Fraction(rate) / 100
		assert abs(row_tax - exact_tax) < Fraction(price) * Fraction(RATE_QUANTUM) / 100
		assert erpnext_row_tax(price, rate, precision) == taxes[account]


@PROPERTY
@given(taxed_packages(), TAX_RATES)
def test_one_rate_on_every_component_is_the_row_rate_and_the_tax_is_exact(package, rate):
	components, price, precision = package
	components = [(allocation, {VAT: rate}) for allocation, _ in components]

	if price:
		assert weighted_tax_rates(components, price, precision) == {VAT: rate}
		assert weighted_tax_rates(components, price) == {VAT: rate}
	assert erpnext_row_tax(price, rate, precision) == component_tax(components, precision)[VAT]


# -- tax from the invoice's own tax rows (issue 9) --------------------------------------------------

from decimal import ROUND_HALF_EVEN

from package_bundles.engine import Component, TaxRow, invoice_tax
from package_bundles.engine.tax import (
	ACTUAL,
	ON_ITEM_QUANTITY,
	ON_NET_TOTAL,
	ON_PREVIOUS_ROW_AMOUNT,
	ON_PREVIOUS_ROW_TOTAL,
)

STATE = "State Tax 6% - PC"
SURCHARGE = "Surcharge - PC"


def erpnext_taxes(items, rows, rate_precision=9, precision=2, rounding=ROUND_HALF_UP) -> list[Decimal]:
	"""ERPNext's calculate_taxes for rows of (net amount, qty, item tax map): each tax row's total, rounded."""
	quantum = Decimal(1).scaleb(-rate_precision)
	totals = [Decimal(0)] * len(rows)
	for net, qty, tax_map in items:
		item_tax, item_total = [], []
		for index, row in enumerate(rows):
			rate = (
				Decimal(tax_map[row.account]).quantize(quantum, ROUND_HALF_UP)
				if row.account in tax_map
				else row.rate
			)
			if row.charge_type == ON_NET_TOTAL:
				tax = rate / 100 * net
			elif row.charge_type == ON_PREVIOUS_ROW_AMOUNT:
				tax = rate / 100 * item_tax[row.row_id - 1]
			elif row.charge_type == ON_PREVIOUS_ROW_TOTAL:
				tax = rate / 100 * item_total[row.row_id - 1]
			elif row.charge_type == ON_ITEM_QUANTITY:
				tax = rate * qty
			else:
				tax = Decimal(0)
			item_tax.append(tax)
			item_total.append((item_total[-1] if item_total else net) + tax)
			totals[index] += tax
	return [total.quantize(Decimal(1).scaleb(-precision), rounding=rounding) for total in totals]


def worked_example_components():
	return [
		Component(Decimal("540.00"), {VAT: Decimal(0)}, Decimal(4)),
		Component(Decimal("72.00"), {VAT: Decimal(8)}, Decimal(1)),
		Component(Decimal("108.00"), {VAT: Decimal(0)}, Decimal(2)),
	]


def test_worked_example_on_an_invoice_whose_8_percent_comes_from_a_template_picked_on_it():
	rows = [TaxRow(VAT, ON_NET_TOTAL, Decimal(8))]
	result = invoice_tax(worked_example_components(), rows, Decimal("720.00"), 2, rate_precision=3)

	assert result.rates == {VAT: Decimal("0.800")}
	assert erpnext_taxes([(Decimal("720.00"), 1, result.rates)], rows, 3) == [Decimal("5.76")]
	assert result.inclusive_fraction == 0


def test_an_invoice_without_taxes_charges_none():
	assert invoice_tax(worked_example_components(), [], Decimal("720.00"), 2).rates == {}


def test_another_tax_account_taxes_each_component_as_erpnext_would_on_its_own():
	# the items' templates know nothing of the state tax: alone, each would bear its 6%
	rows = [TaxRow(STATE, ON_NET_TOTAL, Decimal(6))]
	result = invoice_tax(worked_example_components(), rows, Decimal("720.00"), 2)

	assert result.rates == {STATE: Decimal("6.000000000")}
	alone = [(c.amount, c.qty, dict(c.rates)) for c in worked_example_components()]
	assert erpnext_taxes([(Decimal("720.00"), 1, result.rates)], rows) == erpnext_taxes(alone, rows)


def test_an_item_exempt_from_every_account_stays_exempt_on_any_invoice():
	components = [
		Component(Decimal("540.00"), {VAT: Decimal(0), STATE: Decimal(0)}),
		Component(Decimal("72.00"), {VAT: Decimal(8)}),
		Component(Decimal("108.00"), {VAT: Decimal(0), STATE: Decimal(0)}),
	]
	rows = [TaxRow(STATE, ON_NET_TOTAL, Decimal(6))]
	result = invoice_tax(components, rows, Decimal("720.00"), 2)

	assert result.rates == {STATE: Decimal("0.600000000")}
	assert erpnext_taxes([(Decimal("720.00"), 1, result.rates)], rows) == [Decimal("4.32")]


def test_inclusive_tax_makes_the_print_rate_the_gross_of_the_net_price():
	rows = [TaxRow(VAT, ON_NET_TOTAL, Decimal(8), inclusive=True)]
	result = invoice_tax(worked_example_components(), rows, Decimal("720.00"), 2, rate_precision=3)

	assert result.inclusive_fraction == Decimal("0.008")
	gross = result.gross(Decimal("720.00"), 2)
	assert gross == Decimal("725.76")
	assert (gross / (1 + result.inclusive_fraction)).quantize(Decimal("0.01")) == Decimal("720.00")


def test_a_surcharge_on_the_previous_row_and_a_tax_on_the_previous_total():
	rows = [
		TaxRow(VAT, ON_NET_TOTAL, Decimal(8)),
		TaxRow(SURCHARGE, ON_PREVIOUS_ROW_AMOUNT, Decimal(10), row_id=1),
		TaxRow(STATE, ON_PREVIOUS_ROW_TOTAL, Decimal(2), row_id=2),
	]
	result = invoice_tax(worked_example_components(), rows, Decimal("720.00"), 2)
	alone = [(c.amount, c.qty, dict(c.rates)) for c in worked_example_components()]

	assert erpnext_taxes([(Decimal("720.00"), 1, result.rates)], rows) == erpnext_taxes(alone, rows)
	assert erpnext_taxes(alone, rows) == [Decimal("5.76"), Decimal("0.58"), Decimal("14.53")]


ACCOUNTS = [VAT, STATE, SURCHARGE]


@st.composite
def invoices(draw):
	components = []
	for _ in range(draw(st.integers(1, 4))):
		rates = {
			account: Decimal(draw(st.integers(0, 2500))).scaleb(-2)
			for account in ACCOUNTS
			if draw(st.booleans())
		}
		components.append(
			Component(
				Decimal(draw(st.integers(0, 500_000))).scaleb(-2), rates, Decimal(draw(st.integers(1, 5)))
			)
		)
	rows = []
	for index in range(draw(st.integers(1, 3))):
		charge = draw(
			st.sampled_from(
				[ON_NET_TOTAL, ON_NET_TOTAL, ON_PREVIOUS_ROW_AMOUNT, ON_PREVIOUS_ROW_TOTAL, ACTUAL]
			)
		)
		if index == 0 and charge in (ON_PREVIOUS_ROW_AMOUNT, ON_PREVIOUS_ROW_TOTAL):
			charge = ON_NET_TOTAL
		rows.append(
			TaxRow(
				ACCOUNTS[index],
				charge,
				Decimal(draw(st.integers(0, 2000))).scaleb(-2),
				row_id=index if charge in (ON_PREVIOUS_ROW_AMOUNT, ON_PREVIOUS_ROW_TOTAL) else None,
			)
		)
	return components, rows


@PROPERTY
@given(invoices(), st.sampled_from([ROUND_HALF_UP, ROUND_HALF_EVEN]))
def test_the_package_row_bears_on_each_tax_row_what_its_components_would(invoice, rounding):
	components, rows = invoice
	price = sum((c.amount for c in components), Decimal(0))
	result = invoice_tax(components, rows, price, 2, rate_precision=9, rounding=rounding)

	package = erpnext_taxes([(price, 1, result.rates)], rows, 9, rounding=rounding)
	alone = erpnext_taxes([(c.amount, c.qty, dict(c.rates)) for c in components], rows, 9, rounding=rounding)
	for index, row in enumerate(rows):
		if row.charge_type == ON_NET_TOTAL or not price:
			assert package[index] == alone[index], (index, row)
		else:
			# a previous row's rate was chosen to round like its components; what builds on it may
			# carry that sub-cent choice one cent
			assert abs(package[index] - alone[index]) <= Decimal("0.01"), (index, row)


@PROPERTY
@given(invoices())
def test_at_three_decimal_rates_a_package_under_a_thousand_is_taxed_to_the_cent(invoice):
	components, rows = invoice
	rows = [TaxRow(row.account, ON_NET_TOTAL, row.rate) for row in rows]
	price = sum((c.amount for c in components), Decimal(0))
	result = invoice_tax(components, rows, price, 2, rate_precision=3)
	package = erpnext_taxes([(price, 1, result.rates)], rows, 3)
	alone = erpnext_taxes([(c.amount, c.qty, dict(c.rates)) for c in components], rows, 3)
	for index in range(len(rows)):
		# three decimals of a percent move a price under 1,000 by less than a cent
		if price < 1000:
			assert package[index] == alone[index]
		else:
			assert abs(package[index] - alone[index]) <= price * Decimal("0.00001")
