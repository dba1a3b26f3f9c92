"""Issue 19: the app's layout, as a Frappe developer expects it (read without importing frappe).

The package root holds only hooks, exceptions and the read-permission rule; the Frappe side lives
in overrides/ (hooked doctypes), api/ (whitelisted methods), ledger/ and flows/; test support in
package_bundles/tests/, which no product module imports.
"""

import ast
from pathlib import Path

import package_bundles

APP = Path(package_bundles.__file__).parent
ROOT_MODULES = {"__init__.py", "hooks.py", "exceptions.py", "permissions.py"}
PACKAGES = {"api", "engine", "flows", "ledger", "overrides", "setup", "tests"}
TEST_SUPPORT = "package_bundles.tests"


def imported_modules(path: Path) -> set[str]:
	found = set()
	for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
		if isinstance(node, ast.Import):
			found.update(alias.name for alias in node.names)
		elif isinstance(node, ast.ImportFrom) and node.module:
			found.add(node.module)
			found.update(f"{node.module}.{alias.name}" for alias in node.names)
	return found


def product_modules():
	for path in sorted(APP.rglob("*.py")):
		relative = path.relative_to(APP)
		if relative.parts[0] == "tests" or path.name.startswith("test_"):
			continue
		yield path


def test_the_package_root_holds_no_flat_modules():
	root_modules = {path.name for path in APP.glob("*.py")}
	assert root_modules == ROOT_MODULES


def test_the_frappe_side_sits_in_its_packages():
	for package in PACKAGES:
		assert (APP / package / "__init__.py").is_file(), package


def test_no_product_module_imports_test_support():
	offenders = [
		str(path.relative_to(APP))
		for path in product_modules()
		if any(name == TEST_SUPPORT or name.startswith(f"{TEST_SUPPORT}.") for name in imported_modules(path))
	]
	assert offenders == []


def test_overrides_are_thin_dispatchers():
	"""An override module only calls into the flows and the ledger: no query, no document of its own."""
	for path in sorted((APP / "overrides").glob("*.py")):
		if path.name in ("__init__.py", "customer.py", "linked_with.py"):
			continue  # a dashboard's connections and the desk's Cancel All are not doc_events
		source = path.read_text()
		assert "frappe." not in source, path.name
		imported = imported_modules(path)
		assert all(
			name.startswith(("package_bundles.flows", "package_bundles.ledger")) for name in imported
		), (
			path.name,
			imported,
		)
