"""Issue 8: the stored state of balances is written in one place (package_bundles/ledger/balance_state.py).

Every write the app makes to a stored state field (Package Balance, Package Balance Item,
Package Redemption) must be in ledger/balance_state.py: no attribute assignment, qb ``.set``,
``set_value``/``db_set`` or document dict names one of them anywhere else in the app.
Reports (which only read), the engine (in memory), patches
(which call the writer) and the tests and their support (package_bundles/tests/) are left out.
"""

import ast
from pathlib import Path

import package_bundles

APP = Path(package_bundles.__file__).parent
WRITER = APP / "ledger" / "balance_state.py"
STATE_FIELDS = {
	# Package Balance Item
	"qty_redeemed",
	"qty_remaining",
	"recognized_amount",
	"deferred_amount",
	"breakage_amount",
	"breakage_with_use_amount",
	"refunded_amount",
	# Package Balance
	"total_allocated",
	"total_recognized",
	"total_deferred",
	"total_broken",
	"total_refunded",
	"units_purchased",
	"units_remaining",
	"breakage_date",
	"breakage_journal_entry",
	"recognition_journal_entry",
	"refund_invoice",
	"refund_journal_entry",
	# Package Redemption
	"qty_returned",
}
# "status" is written through documents too, but a dict naming it is most often a filter
WRITTEN_NOT_FILTERED = {"status"}
WRITE_CALLS = {"set_value", "db_set", "set", "update"}


def app_sources():
	for path in sorted(APP.rglob("*.py")):
		relative = path.relative_to(APP)
		# the engine computes in memory and never touches the database
		if (
			path == WRITER
			or path.name.startswith("test_")
			or relative.parts[0] in ("patches", "engine", "tests")
		):
			continue
		if relative.parts[:2] == ("package_bundles", "report"):
			continue
		yield path


def writes_in(path: Path) -> list[str]:
	found = []
	tree = ast.parse(path.read_text(), filename=str(path))
	for node in ast.walk(tree):
		targets = []
		if isinstance(node, ast.Assign):
			targets = node.targets
		elif isinstance(node, ast.AugAssign | ast.AnnAssign):
			targets = [node.target]
		for target in targets:
			if isinstance(target, ast.Attribute) and target.attr in STATE_FIELDS | WRITTEN_NOT_FILTERED:
				found.append(f"{path.name}:{node.lineno} assigns .{target.attr}")
			if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
				if target.slice.value in STATE_FIELDS:
					found.append(f"{path.name}:{node.lineno} assigns [{target.slice.value!r}]")
		if (
			isinstance(node, ast.Call)
			and isinstance(node.func, ast.Attribute)
			and node.func.attr in WRITE_CALLS
		):
			for argument in node.args:
				if (
					isinstance(argument, ast.Attribute)
					and argument.attr in STATE_FIELDS | WRITTEN_NOT_FILTERED
				):
					found.append(f"{path.name}:{node.lineno} .{node.func.attr}(…{argument.attr})")
				if (
					isinstance(argument, ast.Constant)
					and argument.value in STATE_FIELDS | WRITTEN_NOT_FILTERED
				):
					found.append(f"{path.name}:{node.lineno} .{node.func.attr}({argument.value!r})")
		if isinstance(node, ast.Dict):
			for key in node.keys:
				if isinstance(key, ast.Constant) and key.value in STATE_FIELDS:
					found.append(f"{path.name}:{node.lineno} dict names {key.value!r}")
	return found


def test_only_balance_state_writes_the_stored_state():
	sources = list(app_sources())
	assert len(sources) > 20
	assert [write for path in sources for write in writes_in(path)] == []


def test_the_writer_names_every_state_field():
	text = WRITER.read_text()
	assert [field for field in sorted(STATE_FIELDS) if f'"{field}"' not in text] == []
