//! The settings' layering, their single definition, and the README's table of them.

use std::path::PathBuf;
use std::time::Duration;

use clap::CommandFactory;
use serde_json::Value;

use super::layers::{json_pointer, setting_ids};
use super::*;

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("clerk-mcp.toml");
    std::fs::write(&path, text).unwrap();
    (directory, path)
}

fn settings(args: &[&str]) -> Result<Settings, ConfigError> {
    Settings::from_args(["clerk-mcp"].iter().chain(args)).map(|(_, settings)| settings)
}

#[test]
fn flags_override_the_file_which_overrides_defaults() {
    let (_directory, path) = file(
        "listen = \"127.0.0.1:9000\"\nmax_body_bytes = 1000\n[providers]\nenabled = [\"twilio\", \"telnyx\"]\ndefault = \"twilio\"\nroutes = [{ sender = \"+44\", provider = \"telnyx\" }]\n[sandbox]\nrate_limit = 7\n",
    );
    let settings = settings(&["--config", path.to_str().unwrap(), "--data-dir", "/tmp/x", "--listen", "127.0.0.1:9001"]).unwrap();
    assert_eq!(settings.listen.port(), 9001, "the flag wins");
    assert_eq!(settings.max_body_bytes, 1000, "the file wins over the default");
    assert_eq!(settings.upstream_timeout, Duration::from_secs(30), "the default");
    assert_eq!(settings.providers.enabled, Some(vec!["twilio".to_owned(), "telnyx".to_owned()]));
    assert_eq!(settings.providers.routes, vec![("+44".to_owned(), "telnyx".to_owned())]);
    assert_eq!(settings.sandbox_rate_limit, 7);
    assert_eq!(settings.allowed_origins, vec!["http://localhost:9001".to_owned(), "http://127.0.0.1:9001".to_owned()]);
}

#[test]
fn a_flag_after_the_subcommand_wins_over_the_file_too() {
    let (_directory, path) = file("upstream_timeout = 5\n[sandbox]\ndelivery_delay_ms = 10\n");
    let (command, settings) =
        Settings::from_args(["clerk-mcp", "--config", path.to_str().unwrap(), "stdio", "--sandbox-delivery-delay-ms", "20"]).unwrap();
    assert_eq!(command, Command::Stdio);
    assert_eq!(settings.sandbox_delivery_delay, Duration::from_millis(20), "the flag, given after `stdio`");
    assert_eq!(settings.upstream_timeout, Duration::from_secs(5), "the file");
}

#[test]
fn routes_in_the_file_may_be_written_as_on_the_command_line() {
    let (_directory, path) = file("[providers]\nroutes = [\"+1202=telnyx\", { sender = \"+44\", provider = \"bandwidth\" }]\n");
    let resolved = settings(&["--config", path.to_str().unwrap(), "--data-dir", "/tmp/x"]).unwrap();
    assert_eq!(resolved.providers.routes, vec![("+1202".to_owned(), "telnyx".to_owned()), ("+44".to_owned(), "bandwidth".to_owned())]);
    let (_directory, path) = file("[providers]\nroutes = [42]\n");
    let error = settings(&["--config", path.to_str().unwrap()]).unwrap_err().to_string();
    assert!(error.contains("line 2") && error.contains("SENDER=PROVIDER"), "{error}");
}

#[test]
fn a_bad_file_names_the_line_and_the_key() {
    let (_directory, path) = file("listen = \"127.0.0.1:9000\"\nprovders = {}\n");
    let error = settings(&["--config", path.to_str().unwrap()]).unwrap_err().to_string();
    assert!(error.contains("line 2: unknown field `provders`"), "{error}");
    let (_directory, path) = file("max_body_bytes = \"lots\"\n");
    let error = settings(&["--config", path.to_str().unwrap()]).unwrap_err().to_string();
    assert!(error.contains("line 1") && error.contains("invalid type"), "{error}");
}

#[test]
fn the_safety_of_sends_reads_its_settings_and_refuses_nonsense() {
    let read =
        settings(&["--data-dir", "/tmp/x", "--repeat-window", "0", "--idempotency-key-hours", "48", "--confirm-campaigns-over", "never"])
            .unwrap();
    assert_eq!(read.safety.repeat_window, std::time::Duration::ZERO);
    assert_eq!(read.safety.key_lifetime, std::time::Duration::from_secs(48 * 3600));
    assert_eq!(read.safety.confirm_broadcasts_over, None);
    assert_eq!(settings(&["--data-dir", "/tmp/x"]).unwrap().safety.confirm_broadcasts_over, Some(0), "asking is the default");
    let error = settings(&["--data-dir", "/tmp/x", "--confirm-campaigns-over", "lots"]).unwrap_err().to_string();
    assert!(
        error.contains("--confirm-campaigns-over `lots`: write a number of contacts (0 asks for every campaign) or `never`"),
        "{error}"
    );
    let error = settings(&["--data-dir", "/tmp/x", "--idempotency-key-hours", "0"]).unwrap_err().to_string();
    assert!(error.contains("--idempotency-key-hours") && error.contains("1..=720"), "{error}");
}

#[test]
fn routes_must_be_sender_equals_provider() {
    let error = settings(&["--data-dir", "/tmp/x", "--provider-route", "+44"]).unwrap_err().to_string();
    assert!(error.contains("invalid provider route `+44`: write it as SENDER=PROVIDER"), "{error}");
}

#[test]
fn every_flag_is_an_environment_variable_and_a_toml_key_and_back() {
    let defaults = serde_json::to_value(Options::default()).unwrap();
    let command = Cli::command();
    let mut variables = Vec::new();
    for id in setting_ids() {
        let argument = command.get_arguments().find(|argument| argument.get_id() == id.as_str()).unwrap();
        let variable = argument.get_env().unwrap_or_else(|| panic!("--{} has no environment variable", argument.get_long().unwrap()));
        let variable = variable.to_str().unwrap().to_owned();
        assert!(variable.starts_with("CLERK_MCP_"), "{variable}");
        variables.push(variable);
        assert!(argument.get_long().is_some(), "{id} has a flag");
        if id != "config" {
            assert!(defaults.pointer(&json_pointer(&id)).is_some(), "--{} is no key of the TOML file", argument.get_long().unwrap());
        }
    }
    let count = variables.len();
    variables.sort();
    variables.dedup();
    assert_eq!(variables.len(), count, "two settings share an environment variable");
    let mut keys = Vec::new();
    toml_keys(&defaults, "", &mut keys);
    for key in keys {
        assert!(setting_ids().contains(&key), "the TOML key {key} has no flag");
    }
}

/// Every leaf of the settings as TOML keys: `listen`, `providers.enabled`, ...
fn toml_keys(value: &Value, prefix: &str, keys: &mut Vec<String>) {
    for (key, value) in value.as_object().unwrap() {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(_) => toml_keys(value, &path, keys),
            _ => keys.push(path),
        }
    }
}

#[test]
fn each_default_is_defined_once_for_help_environment_and_file() {
    let help = Cli::command().render_long_help().to_string();
    let (_directory, empty_file) = file("");
    let (_, from_nothing) = layers_of(&[]);
    let (_, from_empty_file) = layers_of(&["--config", empty_file.to_str().unwrap()]);
    let command = Cli::command();
    let mut checked = 0;
    for id in setting_ids() {
        let argument = command.get_arguments().find(|argument| argument.get_id() == id.as_str()).unwrap();
        let defaults: Vec<&str> = argument.get_default_values().iter().map(|value| value.to_str().unwrap()).collect();
        if defaults.is_empty() {
            continue;
        }
        // --help shows the default...
        assert!(help.contains(&format!("[default: {}]", defaults.join(" "))), "--help lacks the default of {id}");
        // ...and the same default is in force with no flag, no variable and no file, and with
        // a file that leaves the key out.
        let pointer = json_pointer(&id);
        let shown: Vec<String> = defaults.iter().map(|value| value.to_string()).collect();
        for (layers, resolved) in [("nothing", &from_nothing), ("an empty file", &from_empty_file)] {
            let value = resolved.pointer(&pointer).unwrap();
            let value: Vec<String> = match value {
                Value::Array(values) => values.iter().map(plain).collect(),
                other => vec![plain(other)],
            };
            assert_eq!(value, shown, "the default of {id} with {layers}");
        }
        checked += 1;
    }
    assert!(checked >= 7, "the settings with defaults were checked ({checked})");
}

/// The options in force, as JSON, for a command line.
fn layers_of(args: &[&str]) -> (Command, Value) {
    let matches = Cli::command().try_get_matches_from(["clerk-mcp"].iter().chain(args)).unwrap();
    (Command::Serve, serde_json::to_value(layers::options(&matches).unwrap()).unwrap())
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[test]
fn the_readme_lists_every_setting() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap().replace("\r\n", "\n");
    let table = super::settings_table();
    assert!(
        readme.contains(&table),
        "README.md's table of settings differs from the settings; put this between its settings-table markers:\n\n{table}"
    );
}
