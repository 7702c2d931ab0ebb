//! Runs schemathesis (from PyPI, installed by the script) against the sandbox binary with the
//! spec: status codes, response schemas, content types, server errors, refusal of bad input.

#[test]
fn the_sandbox_conforms_to_the_spec() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = std::process::Command::new("bash")
        .arg(root.join("scripts/schemathesis.sh"))
        .env("CLERK_SANDBOX_BIN", env!("CARGO_BIN_EXE_clerk-sandbox"))
        .output()
        .expect("bash runs the schemathesis script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "schemathesis found problems:\n{stdout}\n{stderr}");
    assert!(stdout.contains("passed"), "schemathesis ran no test cases:\n{stdout}");
}
