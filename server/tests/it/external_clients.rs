//! Drives the server binary with the official TypeScript and Python SDK clients, the Inspector
//! CLI (HTTP and stdio) and the conformance suite; `scripts/client-tests.sh` installs them.

#[test]
fn real_mcp_clients_work_with_the_server() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = std::process::Command::new("bash")
        .arg(root.join("scripts/client-tests.sh"))
        .env("CLERK_MCP_BIN", env!("CARGO_BIN_EXE_clerk-mcp"))
        .output()
        .expect("bash runs the client test script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "a client test failed:\n{stdout}\n{stderr}");
    for expected in [
        "typescript sdk session",
        "python sdk session",
        "python sdk tool selection: 2 tools",
        "inspector http tools/list",
        "inspector stdio tools/call",
        "conformance 2026-07-28: as expected",
        "all client tests passed",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }
}
