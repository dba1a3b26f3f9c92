"""The engine is pure (SPEC §8): plain Python on Decimal, no frappe, no database, no float."""

import ast
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import package_bundles.engine as engine
from package_bundles.engine import errors, floor_money, quantum, round_money, to_decimal

ENGINE_DIR = Path(engine.__file__).parent


def imported_modules(path: Path) -> set[str]:
	names = set()
	for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
		if isinstance(node, ast.Import):
			names |= {alias.name.split(".")[0] for alias in node.names}
		elif isinstance(node, ast.ImportFrom) and node.module:
			names.add(node.module.split(".")[0])
	return names


def test_engine_modules_import_only_the_standard_library_and_themselves():
	allowed = {"collections", "dataclasses", "datetime", "decimal", "package_bundles"}
	sources = sorted(ENGINE_DIR.glob("*.py"))

	assert len(sources) >= 8
	for source in sources:
		assert imported_modules(source) <= allowed, source.name


def test_engine_imports_with_frappe_unavailable():
	blocked = "import sys; sys.modules['frappe'] = None; import package_bundles.engine; print('ok')"
	root = str(ENGINE_DIR.parent.parent)
	result = subprocess.run(
		[sys.executable, "-c", blocked], cwd=root, capture_output=True, text=True, check=False
	)

	assert result.returncode == 0, result.stderr
	assert result.stdout.strip() == "ok"


def test_every_refusal_is_an_engine_error_and_a_value_error():
	refusals = [
		errors.NoItemsError,
		errors.InvalidQuantityError,
		errors.FractionalQuantityError,
		errors.NegativePriceError,
		errors.DuplicateItemError,
		errors.InvalidPrecisionError,
		errors.OverRedemptionError,
		errors.RefundNotAllowedError,
	]
	for refusal in refusals:
		assert issubclass(refusal, errors.EngineError) and issubclass(refusal, ValueError)
		assert getattr(engine, refusal.__name__) is refusal
	assert errors.FractionalQuantityError.__mro__[1] is errors.InvalidQuantityError


def test_money_helpers_read_exactly_and_round_at_an_explicit_quantum():
	assert to_decimal(0.1) == Decimal("0.1")
	assert to_decimal(None) == Decimal(0)
	assert to_decimal("720.00") == Decimal("720.00") and to_decimal(3) == Decimal(3)
	assert quantum(2) == Decimal("0.01") and quantum(0) == Decimal(1)
	assert round_money(Decimal("0.125"), 2) == Decimal("0.13")
	assert round_money(Decimal("2.5"), 0) == Decimal(3)
	assert floor_money(Decimal("66.6666"), 2) == Decimal("66.66")
	assert str(round_money(720, 2)) == "720.00"
