//! The layers settings come from, in order of precedence: command-line flags, environment
//! variables, the TOML file (`--config`), defaults. clap reads the first two and knows the
//! defaults; the file is read with serde into the same [`Options`], its missing keys taking
//! the defaults. Then, setting by setting, what clap got from a flag or the environment wins
//! over the file.

use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::ConfigError;
use super::options::{Cli, Options};

/// The settings of this invocation, every layer applied.
pub(super) fn options(matches: &ArgMatches) -> Result<Options, ConfigError> {
    let given = Options::from_arg_matches(matches).map_err(ConfigError::Arguments)?;
    let Some(path) = given.config.clone() else { return Ok(given) };
    let from_file = read_file(&path)?;
    let given_values = serde_json::to_value(&given).expect("settings serialize");
    let mut merged = serde_json::to_value(&from_file).expect("settings serialize");
    for id in setting_ids() {
        let from_flag_or_environment = matches!(matches.value_source(&id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
        let pointer = json_pointer(&id);
        if from_flag_or_environment && let (Some(value), Some(slot)) = (given_values.pointer(&pointer), merged.pointer_mut(&pointer)) {
            *slot = value.clone();
        }
    }
    let mut options: Options = serde_json::from_value(merged).expect("a merge of two valid settings is valid");
    options.config = Some(path);
    Ok(options)
}

/// The clap ids of every setting: a top-level TOML key, or a dotted path into a table.
pub(super) fn setting_ids() -> Vec<String> {
    Cli::command()
        .get_arguments()
        .map(|argument| argument.get_id().as_str().to_owned())
        .filter(|id| !matches!(id.as_str(), "help" | "version"))
        .collect()
}

/// `providers.enabled` -> `/providers/enabled`.
pub(super) fn json_pointer(id: &str) -> String {
    format!("/{}", id.replace('.', "/"))
}

fn read_file(path: &Path) -> Result<Options, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    toml::from_str(&text).map_err(|error| {
        let line = error.span().map(|span| text[..span.start].matches('\n').count() + 1);
        let place = line.map(|line| format!("line {line}: ")).unwrap_or_default();
        ConfigError::Parse { path: path.to_owned(), message: format!("{place}{}", error.message()) }
    })
}
