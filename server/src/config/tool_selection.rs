//! Which of the generated tools this server serves: the operator's `[tools]` settings applied
//! to `clerk_chat::tools::TOOLS` in their documented order, checked at start.

use clerk_chat::mcp::{ClientProfile, ToolSpec};

use super::ConfigError;
use super::tool_options::{ClientKind, ListTools, ToolOptions};

/// The tools served, in manifest order, and how they were chosen (for the banner).
#[derive(Debug, Clone)]
pub struct ToolSelection {
    served: Vec<&'static ToolSpec>,
    /// The settings it was made from: the listing and the profile, and the flags for a server
    /// `connect` has a client start.
    options: ToolOptions,
}

impl ToolSelection {
    /// Applies `--tools`, then `--tool-scopes`, then `--read-only`, then `--exclude-tools`.
    /// An unknown tool or scope is refused with the closest known one; so is a selection that
    /// leaves no tool.
    pub fn resolve(options: &ToolOptions) -> Result<ToolSelection, ConfigError> {
        let all = &clerk_chat::tools::TOOLS;
        let names: Vec<&str> = all.iter().map(|spec| spec.name).collect();
        let mut scopes: Vec<&str> = Vec::new();
        for spec in all.iter() {
            if !scopes.contains(&spec.scope) {
                scopes.push(spec.scope);
            }
        }
        let check = |flag: &'static str, given: &[String], known: &[&str]| -> Result<(), ConfigError> {
            for name in given.iter().map(|name| name.trim()) {
                if !known.contains(&name) {
                    let hint = clerk_support::did_you_mean::did_you_mean(name, known.iter().copied());
                    return Err(ConfigError::UnknownTool { flag, name: name.to_owned(), hint, known: known.join(", ") });
                }
            }
            Ok(())
        };
        check("--tools", options.only.as_deref().unwrap_or_default(), &names)?;
        check("--tool-scopes", options.scopes.as_deref().unwrap_or_default(), &scopes)?;
        check("--exclude-tools", &options.exclude, &names)?;
        let listed = |list: &[String], value: &str| list.iter().any(|entry| entry.trim() == value);
        let served: Vec<&'static ToolSpec> = all
            .iter()
            .copied()
            .filter(|spec| options.only.as_deref().is_none_or(|only| listed(only, spec.name)))
            .filter(|spec| options.scopes.as_deref().is_none_or(|scopes| listed(scopes, spec.scope)))
            .filter(|spec| !options.read_only || spec.hints.read_only)
            .filter(|spec| !listed(&options.exclude, spec.name))
            .collect();
        if served.is_empty() {
            return Err(ConfigError::NoToolLeft);
        }
        Ok(ToolSelection { served, options: options.clone() })
    }

    /// The tools served, in manifest order.
    pub fn served(&self) -> &[&'static ToolSpec] {
        &self.served
    }

    /// Whether tools/list shows a caller only the tools its token can use (`--list-tools allowed`).
    pub fn lists_only_allowed(&self) -> bool {
        self.options.list == ListTools::Allowed
    }

    /// The flags that make the same selection (without `--client`, which `connect` sets).
    pub fn selection_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let joined = |list: &[String]| list.iter().map(|entry| entry.trim()).collect::<Vec<_>>().join(",");
        if let Some(only) = &self.options.only {
            args.extend(["--tools".to_owned(), joined(only)]);
        }
        if let Some(scopes) = &self.options.scopes {
            args.extend(["--tool-scopes".to_owned(), joined(scopes)]);
        }
        if self.options.read_only {
            args.push("--read-only".to_owned());
        }
        if !self.options.exclude.is_empty() {
            args.extend(["--exclude-tools".to_owned(), joined(&self.options.exclude)]);
        }
        args
    }

    /// Whose rules shape the listed schemas (`--client`).
    pub fn profile(&self) -> ClientProfile {
        match self.options.client {
            ClientKind::Generic => ClientProfile::Generic,
            ClientKind::Claude => ClientProfile::Claude,
            ClientKind::Cursor => ClientProfile::Cursor,
            ClientKind::OpenAi => ClientProfile::OpenAi,
            ClientKind::Gemini => ClientProfile::Gemini,
        }
    }

    /// For the banner: `10 tools`, or `4 of 10 tools, read-only`.
    pub fn summary(&self) -> String {
        let all = clerk_chat::tools::TOOLS.len();
        let mode = if self.options.read_only { ", read-only" } else { "" };
        if self.served.len() == all { format!("{all} tools{mode}") } else { format!("{} of {all} tools{mode}", self.served.len()) }
    }
}
