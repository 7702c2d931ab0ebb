//! Which SMS provider carries a send: the explicit argument (if enabled), else the route for the
//! sender number, else the configured default.

use clerk_chat::mcp::{HostError, ProviderSelection, Role};
use serde_json::Value;

use crate::config::ProviderSettings;

/// The operator's provider settings, checked against the providers the API knows.
#[derive(Debug, Clone)]
pub struct ProviderPolicy {
    enabled: Vec<String>,
    default: Option<String>,
    routes: Vec<(String, String)>,
}

/// Provider settings that cannot be used. Shown to the operator, at start-up.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A provider the API does not have.
    #[error("unknown SMS provider `{name}` in {place}; {}the API knows: {}", did_you_mean(name, known), known.join(", "))]
    Unknown {
        /// The name as given.
        name: String,
        /// The setting it was given in.
        place: &'static str,
        /// The providers the API has.
        known: Vec<String>,
    },
    /// A default or route names a provider that is not enabled.
    #[error("the {place} provider `{name}` is not enabled; enabled: {}", enabled.join(", "))]
    NotEnabled {
        /// The name as given.
        name: String,
        /// The setting it was given in.
        place: &'static str,
        /// The enabled providers.
        enabled: Vec<String>,
    },
    /// A route's sender is not an E.164 number or prefix.
    #[error("invalid provider route sender `{0}`: write an E.164 number or prefix, such as +12025550100 or +44")]
    Sender(String),
    /// `--provider` enabled none.
    #[error("no SMS provider is enabled; enable at least one, e.g. --provider twilio")]
    NoneEnabled,
}

/// "did you mean `twilio`? " for a misspelt provider, or nothing.
fn did_you_mean(name: &str, known: &[String]) -> String {
    clerk_support::did_you_mean::did_you_mean(name, known.iter().map(String::as_str)).map(|hint| format!("{hint} ")).unwrap_or_default()
}

/// The providers the API knows: the enum of the tools' provider argument, from the spec.
pub fn known_providers() -> Vec<String> {
    let mut known: Vec<String> = Vec::new();
    for spec in clerk_chat::tools::TOOLS {
        if let Some(argument) = spec.argument_with_role(Role::Provider)
            && let Some(values) = spec
                .input_schema()
                .get("properties")
                .and_then(|properties| properties.get(argument.name))
                .and_then(|property| property.get("enum"))
                .and_then(Value::as_array)
        {
            for value in values.iter().filter_map(Value::as_str) {
                if !known.iter().any(|name| name == value) {
                    known.push(value.to_owned());
                }
            }
        }
    }
    known
}

impl ProviderPolicy {
    /// Checks the settings: every name known, the default and routes enabled, senders E.164.
    pub fn new(settings: &ProviderSettings) -> Result<ProviderPolicy, PolicyError> {
        let known = known_providers();
        let check_known = |name: &str, place: &'static str| {
            if known.iter().any(|known| known == name) {
                Ok(())
            } else {
                Err(PolicyError::Unknown { name: name.to_owned(), place, known: known.clone() })
            }
        };
        let enabled = match &settings.enabled {
            Some(enabled) => {
                let mut list = Vec::new();
                for name in enabled.iter().map(|name| name.trim()).filter(|name| !name.is_empty()) {
                    check_known(name, "--provider")?;
                    if !list.iter().any(|existing: &String| existing == name) {
                        list.push(name.to_owned());
                    }
                }
                list
            }
            None => known.clone(),
        };
        if enabled.is_empty() {
            return Err(PolicyError::NoneEnabled);
        }
        let must_be_enabled = |name: &str, place: &'static str| -> Result<(), PolicyError> {
            check_known(name, place)?;
            if enabled.iter().any(|enabled| enabled == name) {
                Ok(())
            } else {
                Err(PolicyError::NotEnabled { name: name.to_owned(), place, enabled: enabled.clone() })
            }
        };
        if let Some(default) = &settings.default {
            must_be_enabled(default, "default")?;
        }
        for (sender, provider) in &settings.routes {
            if !clerk_chat::phone::is_e164_prefix(sender) {
                return Err(PolicyError::Sender(sender.clone()));
            }
            must_be_enabled(provider, "route's")?;
        }
        Ok(ProviderPolicy { enabled, default: settings.default.clone(), routes: settings.routes.clone() })
    }

    /// The providers callers may choose, in the order given.
    pub fn enabled(&self) -> &[String] {
        &self.enabled
    }

    /// The provider for a send: the explicit one (which must be enabled), else the route for
    /// the sender (an exact number beats the longest prefix), else the default; `None` leaves
    /// the choice to Clerk Chat.
    pub fn select(&self, explicit: Option<&str>, sender: Option<&str>) -> Result<Option<ProviderSelection>, HostError> {
        if let Some(provider) = explicit {
            if self.enabled.iter().any(|enabled| enabled == provider) {
                return Ok(Some(ProviderSelection {
                    provider: provider.to_owned(),
                    reason: "given as the `provider` argument".to_owned(),
                }));
            }
            return Err(HostError::ProviderNotEnabled { provider: provider.to_owned(), enabled: self.enabled.clone() });
        }
        if let Some(sender) = sender {
            let exact = self.routes.iter().find(|(route, _)| route == sender);
            let longest_prefix =
                self.routes.iter().filter(|(route, _)| sender.starts_with(route.as_str())).max_by_key(|(route, _)| route.len());
            if let Some((route, provider)) = exact.or(longest_prefix) {
                let how = if route == sender {
                    format!("the route for sender {route}")
                } else {
                    format!("the route for senders starting with {route}")
                };
                return Ok(Some(ProviderSelection { provider: provider.clone(), reason: how }));
            }
        }
        Ok(self
            .default
            .as_ref()
            .map(|provider| ProviderSelection { provider: provider.clone(), reason: "the server's default provider".to_owned() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(enabled: Option<&[&str]>, default: Option<&str>, routes: &[(&str, &str)]) -> Result<ProviderPolicy, PolicyError> {
        ProviderPolicy::new(&ProviderSettings {
            enabled: enabled.map(|names| names.iter().map(|name| (*name).to_owned()).collect()),
            default: default.map(str::to_owned),
            routes: routes.iter().map(|(sender, provider)| ((*sender).to_owned(), (*provider).to_owned())).collect(),
        })
    }

    #[test]
    fn explicit_then_exact_route_then_longest_prefix_then_default() {
        let policy = policy(
            Some(&["twilio", "telnyx", "bandwidth"]),
            Some("twilio"),
            &[("+1", "bandwidth"), ("+1202", "telnyx"), ("+12025550100", "twilio")],
        )
        .unwrap();
        let chosen = |explicit, sender| policy.select(explicit, sender).unwrap().map(|selection| (selection.provider, selection.reason));
        assert_eq!(chosen(Some("bandwidth"), Some("+12025550100")).unwrap().0, "bandwidth");
        assert_eq!(chosen(None, Some("+12025550100")).unwrap(), ("twilio".into(), "the route for sender +12025550100".into()));
        assert_eq!(chosen(None, Some("+12025550199")).unwrap(), ("telnyx".into(), "the route for senders starting with +1202".into()));
        assert_eq!(chosen(None, Some("+13105550100")).unwrap().0, "bandwidth");
        assert_eq!(chosen(None, Some("+447700900000")).unwrap(), ("twilio".into(), "the server's default provider".into()));
    }

    #[test]
    fn a_disabled_or_unknown_provider_lists_the_enabled_ones() {
        let policy = policy(Some(&["twilio", "telnyx"]), None, &[]).unwrap();
        for wrong in ["bandwidth", "pigeon"] {
            let message = policy.select(Some(wrong), None).unwrap_err().to_string();
            assert!(message.contains(&format!("`{wrong}` is not enabled")) && message.contains("twilio, telnyx"), "{message}");
        }
        assert_eq!(policy.select(None, Some("+12025550100")).unwrap(), None, "no route and no default: the upstream decides");
    }

    #[test]
    fn bad_settings_are_refused_with_the_fix() {
        assert!(policy(Some(&["pigeon"]), None, &[]).unwrap_err().to_string().contains("unknown SMS provider `pigeon`"));
        assert!(policy(Some(&["twillio"]), None, &[]).unwrap_err().to_string().contains("did you mean `twilio`?"));
        assert!(
            policy(Some(&["twilio"]), Some("telnyx"), &[]).unwrap_err().to_string().contains("default provider `telnyx` is not enabled")
        );
        assert!(policy(None, None, &[("1202", "twilio")]).unwrap_err().to_string().contains("invalid provider route sender `1202`"));
        assert!(policy(Some(&[]), None, &[]).unwrap_err().to_string().contains("no SMS provider is enabled"));
        assert_eq!(policy(None, None, &[]).unwrap().enabled().len(), 9, "every provider of the API by default");
    }
}
