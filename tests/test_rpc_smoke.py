"""Smoke test of the external server plumbing: XML-RPC login on a multi-worker
Odoo server and a read of the addon's installation state."""

ADDON = "loyalty_crm_addon"


def test_rpc_login_and_addon_installed(rpc):
    assert rpc.uid, "admin could not log in over XML-RPC"
    modules = rpc.execute(
        "ir.module.module",
        "search_read",
        [("name", "=", ADDON)],
        fields=["state"],
    )
    assert modules, f"{ADDON} is unknown to the server (addons path?)"
    assert modules[0]["state"] == "installed"


def test_server_version(rpc):
    version = rpc.common.version()
    assert version["server_version_info"][0] == 18
