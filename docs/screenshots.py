"""Take the screenshots of README.md and docs/ from a running demo server.

Run with a Python that has `playwright` (its browsers are not needed: it
drives the system Chromium), against `./dev run`'s server:

    python docs/screenshots.py [http://localhost:8069] [loyalty_demo]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

URL = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8069"
DB = sys.argv[2] if len(sys.argv) > 2 else "loyalty_demo"
OUT = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"


def shot(page, path, name, prepare=None):
    page.goto(f"{URL}{path}")
    page.wait_for_selector(".o_action_manager .o_view_controller", timeout=30000)
    page.wait_for_timeout(1500)
    if prepare:
        prepare(page)
        page.wait_for_timeout(1000)
    page.screenshot(path=OUT / f"{name}.png")
    print("wrote", OUT / f"{name}.png")


def main():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{URL}/web/login?db={DB}")
        page.fill("input[name=login]", "admin")
        page.fill("input[name=password]", "admin")
        page.click("button[type=submit]")
        page.wait_for_url("**/odoo**", timeout=30000)
        member = page.evaluate(
            """async () => {
                const res = await fetch('/web/dataset/call_kw', {
                    method: 'POST', headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify({jsonrpc: '2.0', method: 'call', params: {
                        model: 'res.partner', method: 'search', args: [[
                            ['loyalty_tier_id', '!=', false],
                            ['is_company', '=', false]]],
                        kwargs: {limit: 1, order: 'id'}}})});
                return (await res.json()).result[0];
            }"""
        )

        def loyalty_tab(page):
            page.click("a.nav-link:has-text('Loyalty')")

        shot(page, f"/odoo/contacts/{member}", "contact_loyalty_tab", loyalty_tab)
        shot(
            page, "/odoo/action-loyalty_crm_addon.action_loyalty_ledger_line", "ledger"
        )
        shot(
            page,
            "/odoo/action-loyalty_crm_addon.action_loyalty_tier_distribution",
            "tier_distribution",
        )
        shot(
            page,
            "/odoo/action-loyalty_crm_addon.action_loyalty_reward_catalog",
            "reward_catalog",
        )
        shot(
            page,
            "/odoo/action-loyalty_crm_addon.action_loyalty_points_analysis",
            "points_analysis",
        )

        def top_holders(page):
            page.click(".o_control_panel .o_searchview_dropdown_toggler")
            page.click(".o_favorite_menu .o_menu_item:has-text('Top Holders')")
            page.keyboard.press("Escape")

        shot(
            page,
            "/odoo/action-loyalty_crm_addon.action_loyalty_members?view_type=list",
            "members_top_holders",
            top_holders,
        )
        browser.close()


if __name__ == "__main__":
    main()
