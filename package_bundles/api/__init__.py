"""Every whitelisted method of the app, grouped by subject; each checks permission first.

The dotted paths REST integrators call (SPEC §7) answer here: ``package_bundles.api.<method>``.
``package_bundles.expiry.extend_expiry``, the path from before issue 19, is redirected in hooks.
"""

from package_bundles.api.balances import add_sharer, extend_expiry, get_customer_balances, remove_sharer
from package_bundles.api.freeze import unfreeze
from package_bundles.api.invoices import preview_redemption, preview_row
from package_bundles.api.packages import preview_package, propose_breakage_rate
from package_bundles.api.patients import get_patient_balances
from package_bundles.api.upgrades import prepare_upgrade

__all__ = [
	"add_sharer",
	"extend_expiry",
	"get_customer_balances",
	"get_patient_balances",
	"prepare_upgrade",
	"preview_package",
	"preview_redemption",
	"preview_row",
	"propose_breakage_rate",
	"remove_sharer",
	"unfreeze",
]
