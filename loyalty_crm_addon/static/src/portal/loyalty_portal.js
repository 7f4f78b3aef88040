/* License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import publicWidget from "@web/legacy/js/public/public_widget";

/**
 * The member's referral link: "Copy link" puts it on the clipboard (with a
 * fallback for browsers without the clipboard API) and says so.
 */
publicWidget.registry.LoyaltyCopyLink = publicWidget.Widget.extend({
    selector: ".o_loyalty_copy_link",
    events: { click: "_onClick" },

    async _onClick(ev) {
        ev.preventDefault();
        const input = document.querySelector(this.el.dataset.target);
        if (!input) {
            return;
        }
        input.select();
        let copied = false;
        try {
            await navigator.clipboard.writeText(input.value);
            copied = true;
        } catch {
            try {
                copied = document.execCommand("copy");
            } catch {
                copied = false;
            }
        }
        // Without clipboard access the link stays selected for the member
        // to copy it themselves.
        const label = this.el.querySelector("span");
        if (!label) {
            return;
        }
        const original = this.original || label.textContent;
        this.original = original;
        label.textContent = copied
            ? this.el.dataset.copiedLabel
            : this.el.dataset.selectedLabel;
        clearTimeout(this.timeout);
        this.timeout = setTimeout(() => {
            label.textContent = original;
        }, 3000);
    },
});
