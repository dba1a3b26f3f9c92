"""Month-end closing snapshots of the Package Ledger (issue 22).

The reports summed every ledger row since the beginning, so their time grew with the practice's
history. ERPNext answered the same problem in its General Ledger with Account Closing Balance;
this is the packages' counterpart. Per company and month end, Package Ledger Closing Balance
holds every figure the summaries show (deferred revenue's quantities and amounts, the
roll-forward's movements, billed revenue by source), summed from the beginning of the ledger to
that month end, in two grains: per item group and package, and per customer. A summary as of a
date reads the last snapshot on or before it plus the ledger rows after it; a period is the
difference of two such reads.

A build is ``snapshot(previous month end) + movements of the month``, one INSERT ... SELECT per
grain in the database (the whole ledger for the first one), under READ COMMITTED so that it
locks no ledger row while invoices go on being submitted.

Decision on back-dated movements: they are *carried* into the snapshots, not rebuilt. Every
ledger write (package_ledger.make_entries, cancel) asks, with one locking read on the closing
index, whether the company has a snapshot on or after the entry's date; if it has, the entry's
figures are added (a cancel: subtracted) to that snapshot and every later one, in the same
transaction as the entry: a few upserts, whatever the size of the ledger. So a snapshot plus the
movements after it always equals the whole ledger. The locking read also orders a write against
a build running at the same time: a build claims its month end first, and a back-dated write
waits for the build to commit, then carries its figures into it.
"""

import hashlib
import time

import frappe
from frappe import _
from frappe.query_builder import Case, Criterion, DocType, Order
from frappe.query_builder.functions import Count, Max, Min, Sum
from frappe.utils import add_days, add_months, flt, get_last_day, getdate, now, now_datetime, nowdate
from pypika.terms import Field

from package_bundles.engine.figures import FIGURE_NAMES, FIGURES, GIVEN_BACK, TAKEN, Figure, carried
from package_bundles.exceptions import PackageValidityError
from package_bundles.package_bundles.doctype.package_ledger_entry.package_ledger_entry import SUMMARY_INDEX

GROUP_GRAIN = "Item Group and Package"
CUSTOMER_GRAIN = "Customer"
# the ledger columns each grain keeps a row for
GRAIN_KEYS = {GROUP_GRAIN: ("item_group", "prepaid_package"), CUSTOMER_GRAIN: ("customer",)}


def expression(figure: Figure, Entry):
	"""The figure of one ledger row in SQL (summed by the build and by the reports' movements)."""
	value = Entry[figure.field] if figure.sign == 1 else -Entry[figure.field]
	conditions = []
	if figure.events is not None:
		conditions.append(Entry.event.isin(figure.events))
	if figure.direction == TAKEN:
		conditions.append(Entry.deferred_change < 0)
	elif figure.direction == GIVEN_BACK:
		conditions.append(Entry.deferred_change > 0)
	if not conditions:
		return value
	return Case().when(Criterion.all(conditions), value).else_(0)


def figures() -> tuple[Figure, ...]:
	"""Every figure a snapshot keeps (package_bundles.engine.figures: one definition)."""
	return FIGURES


def figure_names() -> tuple[str, ...]:
	return FIGURE_NAMES


# --- reading: the last snapshot plus the movements after it ------------------------------------


def last_closing(company: str, on_or_before) -> str | None:
	"""The last month end of the company with a built snapshot on or before the date."""
	Closing = DocType("Package Ledger Closing")
	result = (
		frappe.qb.from_(Closing)
		.select(Max(Closing.period_end))
		.where(Closing.company == company)
		.where(Closing.period_end <= getdate(on_or_before))
		.run()
	)
	return result[0][0] if result and result[0][0] else None


def grain_for(group_fields: tuple[str, ...], customers_filtered: bool) -> str | None:
	"""The grain that keeps these group columns (None: no grain does; the caller reads the ledger)."""
	if customers_filtered:
		return CUSTOMER_GRAIN if set(group_fields) <= {"customer"} else None
	if set(group_fields) <= set(GRAIN_KEYS[GROUP_GRAIN]):
		return GROUP_GRAIN
	if set(group_fields) <= {"customer"}:
		return CUSTOMER_GRAIN
	return None


def summed(
	company: str,
	as_of,
	group_fields: tuple[str, ...],
	names: tuple[str, ...] | None = None,
	item_groups=None,
	prepaid_package: str | None = None,
	customers: list[str] | None = None,
	order_by: tuple[str, str] | None = None,
	limit: int | None = None,
	offset: int = 0,
) -> list[dict]:
	"""The figures as of a date per group: the snapshot of the last month end plus the movements after it.

	``item_groups`` (a subquery of item group names) and ``prepaid_package`` narrow the item group
	and package grain, ``customers`` the customer grain (see grain_for). Without a snapshot on or
	before the date the whole ledger is read. ``order_by`` is (figure or group column, "asc"/"desc"),
	with ``limit`` and ``offset`` a page sorted in the database.
	"""
	names = names or figure_names()
	by_name = {figure.name: figure for figure in figures()}
	grain = grain_for(group_fields, customers is not None)
	if grain is None or (grain == CUSTOMER_GRAIN and (item_groups is not None or prepaid_package)):
		frappe.throw(_("The package ledger's snapshots do not keep these groups"), PackageValidityError)
	as_of = getdate(as_of)
	period_end = last_closing(company, as_of)
	if period_end and group_fields == ("customer",) and order_by and limit and customers is None:
		return customer_page(company, as_of, period_end, names, order_by, limit, offset)

	Entry = DocType("Package Ledger Entry")
	movements = frappe.qb.from_(Entry)
	if not (customers is not None or item_groups is not None or prepaid_package):
		movements = movements.force_index(SUMMARY_INDEX)
	movements = (
		movements.select(*(Entry[field] for field in group_fields))
		.select(*(expression(by_name[name], Entry).as_(name) for name in names))
		.where(Entry.company == company)
		.where(Entry.is_cancelled == 0)
		.where(Entry.posting_date <= as_of)
	)
	if period_end:
		movements = movements.where(Entry.posting_date > period_end)
	movements = narrowed(movements, Entry, item_groups, prepaid_package, customers)
	if period_end:
		Balance = DocType("Package Ledger Closing Balance")
		snapshot = narrowed(
			frappe.qb.from_(Balance)
			.select(*(Balance[field] for field in group_fields))
			.select(*(Balance[name] for name in names))
			.where(Balance.company == company)
			.where(Balance.period_end == period_end)
			.where(Balance.grain == grain),
			Balance,
			item_groups,
			prepaid_package,
			customers,
		)
		rows = snapshot.union_all(movements)
	else:
		rows = movements
	rows = rows.as_("figures_to_date")
	query = (
		frappe.qb.from_(rows)
		.select(*(Field(field, table=rows) for field in group_fields))
		.select(*(Sum(Field(name, table=rows)).as_(name) for name in names))
	)
	if group_fields:
		# a group whose every figure nets to nothing is not shown (as no ledger row of it would be)
		query = query.groupby(*(Field(field, table=rows) for field in group_fields)).having(
			Criterion.any([Sum(Field(name, table=rows)) != 0 for name in names])
		)
	if order_by:
		column, direction = order_by
		sort = Sum(Field(column, table=rows)) if column in by_name else Field(column, table=rows)
		query = query.orderby(sort, order=Order.desc if direction == "desc" else Order.asc)
		for field in group_fields:
			query = query.orderby(Field(field, table=rows))
	elif group_fields:
		query = query.orderby(*(Field(field, table=rows) for field in group_fields))
	if limit:
		query = query.limit(limit).offset(offset or 0)
	result = query.run(as_dict=True)
	for row in result:
		for name in names:
			row[name] = flt(row[name])
	return result


def in_period(
	company: str, from_date, to_date, group_field: str, names: tuple[str, ...], **narrowing
) -> list[dict]:
	"""Each group's figures moved in a period: as of its end less as of the day before it starts.

	Each side is the last snapshot on or before it plus the movements after it. Returns a row per
	group the period's end knows, with the figures at the end (``names``) and before the start
	(``before_`` + name).
	"""
	at_end = summed(company, to_date, (group_field,), names, **narrowing)
	before = {
		row[group_field]: row
		for row in summed(company, add_days(getdate(from_date), -1), (group_field,), names, **narrowing)
	}
	for row in at_end:
		start = before.get(row[group_field]) or {}
		for name in names:
			row[f"before_{name}"] = flt(start.get(name))
	return at_end


def customer_page(company: str, as_of, period_end, names, order_by, limit: int, offset: int) -> list[dict]:
	"""One page of customers ranked by deferred revenue (or by name): the cost of the page and the
	movements since the month end, not of every customer.

	The ranking reads, from the snapshot's indexes alone, the first ``offset + limit + T`` customers
	in the page's order (T: the customers the movements after the month end touched), the touched
	customers' snapshot figure, and the movements. A customer the movements did not touch keeps its
	snapshot figure, so one beyond those first rows ranks after at least ``offset + limit`` untouched
	ones: it cannot be on the page. The page's figures are then summed for its customers alone.
	"""
	column, direction = order_by
	Entry = DocType("Package Ledger Entry")
	Balance = DocType("Package Ledger Closing Balance")
	movements = (
		frappe.qb.from_(Entry)
		.force_index(SUMMARY_INDEX)
		.where(Entry.company == company)
		.where(Entry.is_cancelled == 0)
		.where(Entry.posting_date > period_end)
		.where(Entry.posting_date <= as_of)
	)
	touched = movements.select(Entry.customer).distinct()
	touched_count = frappe.qb.from_(touched.as_("touched")).select(Count("*")).run()[0][0]

	def of_month_end(query):
		return (
			query.where(Balance.company == company)
			.where(Balance.period_end == period_end)
			.where(Balance.grain == CUSTOMER_GRAIN)
		)

	descending = direction == "desc"
	first = of_month_end(frappe.qb.from_(Balance).select(Balance.customer, Balance.deferred))
	if column == "deferred":
		first = first.orderby(Balance.deferred, order=Order.desc if descending else Order.asc)
	first = first.orderby(Balance.customer).limit(offset + limit + touched_count)
	first = first.as_("ranked_first")
	first = frappe.qb.from_(first).select(Field("customer", table=first), Field("deferred", table=first))
	# the touched customers drive the look-up of their snapshot rows (a join: an IN would scan them all)
	touched_list = touched.as_("touched")
	touched_at_month_end = of_month_end(
		frappe.qb.from_(touched_list)
		.join(Balance)
		.on(Balance.customer == Field("customer", table=touched_list))
		.select(Balance.customer, Balance.deferred)
	)
	moved = movements.select(Entry.customer, Entry.deferred_change.as_("deferred"))
	# a customer both among the first and touched is read once (UNION), its movements added (ALL)
	candidates = (first.union(touched_at_month_end)).union_all(moved).as_("candidates")
	deferred = Sum(Field("deferred", table=candidates))
	customer = Field("customer", table=candidates)
	ranking = frappe.qb.from_(candidates).select(customer).groupby(customer)
	if column == "deferred":
		ranking = ranking.orderby(deferred, order=Order.desc if descending else Order.asc)
	page = ranking.orderby(customer).limit(limit).offset(offset).run(pluck=True)
	if not page:
		return []
	rows = {row["customer"]: row for row in summed(company, as_of, ("customer",), names, customers=page)}
	return [rows[name] for name in page if name in rows]


def narrowed(query, Table, item_groups, prepaid_package, customers):
	if item_groups is not None:
		query = query.where(Table.item_group.isin(item_groups))
	if prepaid_package:
		query = query.where(Table.prepaid_package == prepaid_package)
	if customers is not None:
		query = query.where(Table.customer.isin(customers or [""]))
	return query


# --- building ----------------------------------------------------------------------------------


def enqueue_monthly_closings() -> int:
	"""Scheduler (monthly): each company with package ledger entries gets its missing month ends built."""
	Entry = DocType("Package Ledger Entry")
	companies = frappe.qb.from_(Entry).select(Entry.company).distinct().orderby(Entry.company).run(pluck=True)
	for company in companies:
		frappe.enqueue(
			"package_bundles.ledger.closing.build_closings",
			queue="long",
			timeout=4 * 3600,
			company=company,
			job_id=f"package_closing::{frappe.local.site}::{company}",
			deduplicate=True,
		)
	return len(companies)


def build_closings(company: str, up_to=None, commit: bool = True) -> list[dict]:
	"""Every month end of the company not yet built, oldest first, up to the last one before ``up_to``.

	The first is built from the whole ledger, each next one from the one before. Returns each
	build's outcome (see build_closing).
	"""
	last_month_end = get_last_day(add_months(getdate(up_to or nowdate()), -1))
	Entry = DocType("Package Ledger Entry")
	first_date = (
		frappe.qb.from_(Entry).select(Min(Entry.posting_date)).where(Entry.company == company).run()[0][0]
	)
	if not first_date:
		return []
	Closing = DocType("Package Ledger Closing")
	built = set(
		frappe.qb.from_(Closing).select(Closing.period_end).where(Closing.company == company).run(pluck=True)
	)
	outcomes = []
	month_end = get_last_day(first_date)
	while month_end <= last_month_end:
		if month_end not in built:
			outcomes.append(build_closing(company, month_end, commit=commit))
		month_end = get_last_day(add_days(month_end, 1))
	return outcomes


def build_closing(company: str, period_end, commit: bool = True) -> dict:
	"""Build (or build again) the company's snapshot of one month end; a month end not yet past is refused.

	With ``commit`` (the job) the build is its own transaction, READ COMMITTED: it reads the
	ledger without locking it. Without (tests), it joins the caller's transaction.
	"""
	period_end = getdate(period_end)
	validate_period_end(period_end)
	if commit:
		# the build's own transaction, READ COMMITTED (Frappe's commit begins the next transaction
		# at once, so the level is set for the session and set back after)
		isolation = frappe.db.sql("select @@session.tx_isolation")[0][0]
		frappe.db.sql("set session transaction isolation level read committed")
		frappe.db.commit()  # nosemgrep: a build is a transaction of its own
	started = time.perf_counter()
	try:
		rows, previous = build_month_end(company, period_end)
		seconds = time.perf_counter() - started
		if commit:
			frappe.db.commit()  # nosemgrep: the build's own transaction
	except Exception:
		if commit:
			frappe.db.rollback()
		raise
	finally:
		if commit:
			frappe.db.sql("set session tx_isolation = %s", isolation)
			frappe.db.commit()  # nosemgrep: what follows runs at Frappe's usual level again
	return {
		"company": company,
		"period_end": str(period_end),
		"previous_period_end": str(previous) if previous else None,
		"rows": rows,
		"seconds": round(seconds, 2),
	}


def build_month_end(company: str, period_end) -> tuple[int, object]:
	"""Claim the month end, replace its rows from the previous snapshot and the ledger, stamp it."""
	started = time.perf_counter()
	closing = claim_period(company, period_end)
	previous = last_closing(company, add_days(period_end, -1))
	Balance = DocType("Package Ledger Closing Balance")
	frappe.qb.from_(Balance).delete().where(Balance.company == company).where(
		Balance.period_end == period_end
	).run()
	for grain in GRAIN_KEYS:
		insert_snapshot(company, period_end, previous, grain)
	rows = frappe.db.count("Package Ledger Closing Balance", {"company": company, "period_end": period_end})
	seconds = time.perf_counter() - started
	Closing = DocType("Package Ledger Closing")
	frappe.qb.update(Closing).set(Closing.built_on, now_datetime()).set(
		Closing.build_seconds, round(seconds, 1)
	).set(Closing.closing_rows, rows).set(Closing.previous_period_end, previous).set(
		Closing.carried_movements, 0
	).set(Closing.modified, now()).where(Closing.name == closing).run()
	return rows, previous


def validate_period_end(period_end) -> None:
	if period_end != get_last_day(period_end):
		frappe.throw(
			_("A package ledger snapshot is taken at a month end, not on {0}").format(
				frappe.format(period_end, "Date")
			),
			PackageValidityError,
		)
	if period_end >= getdate(nowdate()):
		frappe.throw(
			_("The month ending {0} is not over yet").format(frappe.format(period_end, "Date")),
			PackageValidityError,
		)


def claim_period(company: str, period_end) -> str:
	"""The month end's Package Ledger Closing, locked for this build (inserted when new).

	Back-dated ledger writes lock it too (carry_into_snapshots), so they wait for the build and
	then carry their figures into it, or the build waits for them and reads them.
	"""
	Closing = DocType("Package Ledger Closing")
	name = (
		frappe.qb.from_(Closing)
		.select(Closing.name)
		.where(Closing.company == company)
		.where(Closing.period_end == period_end)
		.for_update()
		.run(pluck=True)
	)
	if name:
		return name[0]  # built again: the lock is the row's, its figures are replaced below
	# other transactions see the month end only once its build commits, with its rows
	closing = frappe.get_doc(
		{"doctype": "Package Ledger Closing", "company": company, "period_end": period_end}
	)
	closing.flags.ignore_permissions = True
	closing.db_insert()
	return closing.name


def snapshot_name_sql(grain: str) -> str:
	keys = ", ".join(f"coalesce(`{key}`, '')" for key in GRAIN_KEYS[grain])
	return f"md5(concat_ws('|', %(company)s, %(period_end)s, %(grain)s, {keys}))"


def snapshot_name(company: str, period_end, grain: str, key: tuple) -> str:
	"""The row's name: its company, month end, grain and key (so a carried movement upserts it)."""
	parts = [company, str(getdate(period_end)), grain, *((value or "") for value in key)]
	return hashlib.md5("|".join(parts).encode()).hexdigest()


def snapshot_columns(grain: str) -> tuple[str, ...]:
	"""A snapshot row's columns, in the order the build and the carrying write them."""
	return (
		"name",
		"creation",
		"modified",
		"owner",
		"modified_by",
		"docstatus",
		"company",
		"period_end",
		"grain",
		"currency",
		*GRAIN_KEYS[grain],
		*figure_names(),
	)


def insert_snapshot(company: str, period_end, previous, grain: str) -> None:
	"""One grain's rows of the month end: the previous snapshot plus the ledger after it, summed in SQL."""
	keys = GRAIN_KEYS[grain]
	names = figure_names()
	Entry = DocType("Package Ledger Entry")
	movements = (
		frappe.qb.from_(Entry)
		.force_index(SUMMARY_INDEX)
		.select(*(Entry[key] for key in keys))
		.select(*(expression(figure, Entry).as_(figure.name) for figure in figures()))
		.where(Entry.company == company)
		.where(Entry.is_cancelled == 0)
		.where(Entry.posting_date <= period_end)
	)
	if previous:
		movements = movements.where(Entry.posting_date > previous)
		Balance = DocType("Package Ledger Closing Balance")
		rows = (
			frappe.qb.from_(Balance)
			.select(*(Balance[key] for key in keys))
			.select(*(Balance[name] for name in names))
			.where(Balance.company == company)
			.where(Balance.period_end == previous)
			.where(Balance.grain == grain)
		).union_all(movements)
	else:
		rows = movements
	rows = rows.as_("figures_to_date")
	select = (
		frappe.qb.from_(rows)
		.select(*(Field(key, table=rows) for key in keys))
		.select(*(Sum(Field(name, table=rows)) for name in names))
		.groupby(*(Field(key, table=rows) for key in keys))
	)
	# names and keys are fixed identifiers above; the values are parameters
	sql = select.get_sql().replace("%", "%%")
	fixed = "%(now)s, %(now)s, %(user)s, %(user)s, 0, %(company)s, %(period_end)s, %(grain)s, %(currency)s"
	sql = sql.replace("SELECT ", f"SELECT {snapshot_name_sql(grain)}, {fixed}, ", 1)
	columns = ", ".join(f"`{column}`" for column in snapshot_columns(grain))
	timestamp = now()
	frappe.db.sql(
		f"insert into `tabPackage Ledger Closing Balance` ({columns}) {sql}",
		{
			"company": company,
			"period_end": str(getdate(period_end)),
			"grain": grain,
			"currency": frappe.get_cached_value("Company", company, "default_currency"),
			"now": timestamp,
			"user": frappe.session.user,
		},
	)


# --- carrying back-dated movements -------------------------------------------------------------


def carry_into_snapshots(entries: list[dict], sign: int = 1) -> int:
	"""Add (``sign`` 1) or take out (-1, a cancel) ledger rows' figures in every snapshot on or after their dates.

	One locking read per company on the closing index: a movement dated after the last month end
	built (nearly all of them) does nothing more. Returns the number of snapshots changed.
	"""
	changed = 0
	earliest: dict[str, object] = {}
	for row in entries:
		date = getdate(row["posting_date"])
		if row["company"] not in earliest or date < earliest[row["company"]]:
			earliest[row["company"]] = date
	for company, date in earliest.items():
		periods = locked_periods(company, date)
		if periods:
			carry(company, [row for row in entries if row["company"] == company], periods, sign)
			changed += len(periods)
	return changed


def locked_periods(company: str, on_or_after) -> list:
	Closing = DocType("Package Ledger Closing")
	return (
		frappe.qb.from_(Closing)
		.select(Closing.period_end)
		.where(Closing.company == company)
		.where(Closing.period_end >= on_or_after)
		.orderby(Closing.period_end)
		.for_update()
		.run(pluck=True)
	)


def carry(company: str, entries: list[dict], periods: list, sign: int) -> None:
	"""Upsert each snapshot row the entries touch, per month end and grain: figures added in place."""
	names = figure_names()
	currency = frappe.get_cached_value("Company", company, "default_currency")
	timestamp, user = now(), frappe.session.user
	rows = [{**row, "posting_date": getdate(row["posting_date"])} for row in entries]
	period_ends = [getdate(period_end) for period_end in periods]
	for grain, keys in GRAIN_KEYS.items():
		changes = carried(
			rows, lambda row, keys=keys: tuple(row.get(field) for field in keys), period_ends, sign
		)
		values = [
			(
				snapshot_name(company, period_end, grain, key),
				timestamp,
				timestamp,
				user,
				user,
				0,
				company,
				str(period_end),
				grain,
				currency,
				*key,
				*(figures[name] for name in names),
			)
			for period_end, change in changes.items()
			for key, figures in change.items()
		]
		if not values:
			continue
		columns = snapshot_columns(grain)
		placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
		updates = ", ".join(f"`{name}` = `{name}` + values(`{name}`)" for name in names)
		frappe.db.sql(
			f"insert into `tabPackage Ledger Closing Balance` ({', '.join(f'`{c}`' for c in columns)}) values "
			+ ", ".join([placeholders] * len(values))
			+ f" on duplicate key update {updates}, `modified` = values(`modified`)",
			[value for row in values for value in row],
		)
	Closing = DocType("Package Ledger Closing")
	frappe.qb.update(Closing).set(Closing.carried_movements, Closing.carried_movements + len(entries)).where(
		Closing.company == company
	).where(Closing.period_end.isin(periods)).run()
