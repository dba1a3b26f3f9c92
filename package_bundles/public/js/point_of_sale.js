// A ticket whose rows a prepaid package covers in full has nothing to pay. ERPNext's POS page
// refuses to complete an order with no payment unless it is a 100% discount; a package
// redemption is not a discount, so such a ticket is completed here through the page's own
// submit (the server re-checks every redeemed row on submit). Listening in the capture phase
// runs before the page's own handler, which would refuse it.
document.addEventListener(
	"click",
	(event) => {
		if (!event.target.closest || !event.target.closest(".point-of-sale-app .submit-order-btn")) return;
		const pos = window.cur_pos;
		const doc = pos && pos.frm && pos.frm.doc;
		if (!doc || !doc.items || !doc.items.length) return;
		const covered = doc.items.every((row) => row.package_balance);
		if (covered && !flt(doc.grand_total) && !flt(doc.paid_amount)) {
			event.stopImmediatePropagation();
			event.preventDefault();
			pos.payment.events.submit_invoice();
		}
	},
	true
);
