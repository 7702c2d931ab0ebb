//! The settings' layers through the real binary: flags over environment variables over the
//! TOML file over defaults, as `clerk-mcp settings` prints them.

use std::process::Command;

fn settings_printed(config: &std::path::Path, args: &[&str], environment: &[(&str, &str)]) -> toml::Table {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    // Only the layers this test sets: none of the caller's own settings.
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("CLERK_MCP_")) {
        command.env_remove(name);
    }
    let output = command.arg("--config").arg(config).args(args).envs(environment.iter().copied()).output().expect("the binary runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    toml::from_str(&String::from_utf8(output.stdout).unwrap()).expect("the settings are printed as TOML")
}

#[test]
fn the_settings_command_prints_every_layer_merged_as_a_config_file() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("clerk-mcp.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:9000\"\nupstream_timeout = 5\n[sandbox]\nrate_limit = 7\n").unwrap();
    let printed = settings_printed(
        &config,
        &["settings", "--upstream-timeout", "9"],
        &[("CLERK_MCP_LISTEN", "127.0.0.1:9100"), ("CLERK_MCP_UPSTREAM_TIMEOUT", "8")],
    );
    assert_eq!(printed["listen"].as_str(), Some("127.0.0.1:9100"), "the environment beats the file");
    assert_eq!(printed["upstream_timeout"].as_integer(), Some(9), "a flag beats the environment and the file");
    assert_eq!(printed["sandbox"]["rate_limit"].as_integer(), Some(7), "the file beats the default");
    assert_eq!(printed["max_body_bytes"].as_integer(), Some(1024 * 1024), "the default");
    assert!(!printed.contains_key("config"), "the file names no other file");

    // What it prints is a config file that gives the same settings.
    let round_trip = directory.path().join("printed.toml");
    std::fs::write(&round_trip, toml::to_string(&printed).unwrap()).unwrap();
    assert_eq!(settings_printed(&round_trip, &["settings"], &[]), printed);
}

#[test]
fn the_settings_command_prints_a_database_url_without_its_password() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("clerk-mcp.toml");
    std::fs::write(&config, "").unwrap();
    let printed = settings_printed(&config, &["settings"], &[("CLERK_MCP_DATABASE_URL", "postgres://clerk:s3cret@db.internal:5432/clerk")]);
    assert_eq!(printed["database_url"].as_str(), Some("postgres://clerk@db.internal:5432/clerk"));
}

/// What `clerk-mcp serve` says on stderr when it refuses to start with these settings.
fn refusal_to_serve(args: &[&str], environment: &[(&str, &str)]) -> String {
    let directory = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-mcp"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("CLERK_MCP_")) {
        command.env_remove(name);
    }
    let output = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(directory.path())
        .args(args)
        .envs(environment.iter().copied())
        .output()
        .expect("the binary runs");
    assert!(!output.status.success(), "it started: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn replicas_sharing_postgres_must_share_an_upstream_and_their_keys() {
    // Nothing listens on port 9: each refusal comes before the database is reached.
    let database = ("CLERK_MCP_DATABASE_URL", "postgres://clerk:s3cret@127.0.0.1:9/clerk");
    let no_upstream = refusal_to_serve(&[], &[database]);
    assert!(no_upstream.contains("without --upstream each process runs its own embedded sandbox"), "{no_upstream}");
    let upstream = ["--upstream", "http://127.0.0.1:9"];
    let no_vault_key = refusal_to_serve(&upstream, &[database]);
    assert!(no_vault_key.contains("set CLERK_MCP_VAULT_KEY (the key sealing stored API keys) on every replica"), "{no_vault_key}");
    let vault_key = ("CLERK_MCP_VAULT_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    let no_signing_key = refusal_to_serve(&upstream, &[database, vault_key]);
    assert!(no_signing_key.contains("set --signing-key-file"), "{no_signing_key}");
    for refusal in [no_upstream, no_vault_key, no_signing_key] {
        assert!(!refusal.contains("s3cret"), "the password stays out of the message: {refusal}");
    }
}

#[test]
fn stdio_help_sets_the_http_only_settings_apart() {
    let output = Command::new(env!("CARGO_BIN_EXE_clerk-mcp")).args(["stdio", "--help"]).output().expect("the binary runs");
    let help = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = help.lines().collect();
    let heading = lines.iter().position(|line| *line == "HTTP options (serve only; stdio ignores them):").expect("an HTTP heading");
    // The line that introduces an option: `      --listen <ADDRESS>`.
    let option_line = |flag: &str| lines.iter().position(|line| line.trim_start().starts_with(&format!("{flag} ")) || line.trim() == flag);
    for http_only in ["--listen", "--auth", "--allowed-origin", "--public-url", "--max-body-bytes"] {
        assert!(option_line(http_only).is_some_and(|at| at > heading), "{http_only} is under the HTTP heading:\n{help}");
    }
    for general in ["--data-dir", "--upstream", "--read-only"] {
        assert!(option_line(general).is_some_and(|at| at < heading), "{general} is with the settings stdio reads:\n{help}");
    }
}
