//! `clerk-mcp connect CLIENT`: each client's snippet parses as that client's format and names
//! this binary (absolute) with the current settings, or this server's URL.

use std::process::Command;

use serde_json::Value;

fn connect(args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("CLERK_MCP_") || name == "CLERK_API_KEY") {
        command.env_remove(name);
    }
    let output = command.arg("connect").args(args).output().expect("the binary runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

#[test]
fn each_clients_snippet_is_in_its_format_with_this_binary_or_this_url() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().to_str().unwrap();
    let binary = std::path::absolute(env!("CARGO_BIN_EXE_clerk-mcp")).unwrap().display().to_string();

    let desktop = json(&connect(&["claude-desktop", "--data-dir", data_dir, "--read-only"]));
    let server = &desktop["mcpServers"]["clerk-chat"];
    assert_eq!(server["command"], binary.as_str());
    let args: Vec<&str> = server["args"].as_array().unwrap().iter().map(|arg| arg.as_str().unwrap()).collect();
    assert_eq!(args, ["stdio", "--data-dir", data_dir, "--read-only", "--client", "claude"]);
    assert!(server.get("env").is_none(), "the sandbox needs no key");

    let cursor = json(&connect(&["cursor", "--listen", "127.0.0.1:9911"]));
    assert_eq!(cursor["mcpServers"]["clerk-chat"]["url"], "http://127.0.0.1:9911/mcp");
    let vscode = json(&connect(&["vscode", "--http", "https://mcp.example.com/mcp"]));
    assert_eq!(vscode["servers"]["clerk-chat"], serde_json::json!({"type": "http", "url": "https://mcp.example.com/mcp"}));

    // Against Clerk Chat the key is named, never printed.
    let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    let output = command
        .args(["connect", "vscode", "--stdio", "--upstream", "https://web-api.clerk.chat", "--data-dir", data_dir])
        .env("CLERK_API_KEY", "ck_secret_value")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(!text.contains("ck_secret_value"), "{text}");
    let vscode_stdio = json(&text);
    assert_eq!(vscode_stdio["servers"]["clerk-chat"]["type"], "stdio");
    assert_eq!(vscode_stdio["servers"]["clerk-chat"]["env"]["CLERK_API_KEY"], "<your Clerk Chat API key>");

    let claude_code = connect(&["claude-code", "--listen", "127.0.0.1:9912"]);
    assert_eq!(claude_code, "claude mcp add --transport http clerk-chat http://127.0.0.1:9912/mcp\n");
    let claude_code_stdio = connect(&["claude-code", "--stdio", "--data-dir", data_dir]);
    assert_eq!(claude_code_stdio, format!("claude mcp add clerk-chat -- {binary} stdio --data-dir {data_dir} --client claude\n"));
}
