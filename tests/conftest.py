"""Shared ground for the engine tests.

The engine is plain Python on Decimal and never imports frappe, so the tests run
without a bench: putting the repository root on ``sys.path`` is enough to import
``package_bundles.engine``.
"""

import sys
from decimal import Decimal
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
	sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture
def postpartum_care():
	"""SPEC §6: 4 x Office Visit @150, 1 x Lactation Kit @80, 2 x Lab Panel @60."""
	from package_bundles.engine import PackageLine

	return [
		PackageLine("Office Visit", Decimal("4"), Decimal("150.00")),
		PackageLine("Lactation Kit", Decimal("1"), Decimal("80.00")),
		PackageLine("Lab Panel", Decimal("2"), Decimal("60.00")),
	]


@pytest.fixture
def refused():
	"""Call ``fn`` and return the refusal, which must be exactly ``error_class`` with a message."""

	def check(error_class, fn, *args, **kwargs):
		with pytest.raises(error_class) as excinfo:
			fn(*args, **kwargs)
		assert type(excinfo.value) is error_class, (
			f"expected {error_class.__name__}, got {excinfo.type.__name__}"
		)
		assert str(excinfo.value).strip(), f"{error_class.__name__} was raised without a message"
		return excinfo.value

	return check
