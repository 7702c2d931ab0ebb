//! The SMS provider argument: offering only the providers the server enabled, choosing the
//! provider of a call, and telling the caller which one carried it and why.

use rmcp::model::JsonObject;
use serde_json::Value;

use crate::mcp::arguments::ToolCall;
use crate::mcp::error::ToolError;
use crate::mcp::host::{Host, ProviderSelection};
use crate::mcp::spec::{Role, ToolSpec};

/// Narrows the `enum` of `argument` in an input schema to the `enabled` providers, keeping the
/// spec's order, so that a model is never offered a provider the server would refuse. An
/// argument without an `enum` gets one of exactly the enabled providers.
pub(crate) fn narrow_enum(schema: &mut JsonObject, argument: &str, enabled: &[String]) {
    let Some(Value::Object(property)) = schema.get_mut("properties").and_then(|properties| properties.get_mut(argument)) else { return };
    let allowed: Vec<Value> = match property.get("enum").and_then(Value::as_array) {
        Some(values) => values
            .iter()
            .filter(|value| value.as_str().is_some_and(|name| enabled.iter().any(|enabled| enabled == name)))
            .cloned()
            .collect(),
        None => enabled.iter().cloned().map(Value::String).collect(),
    };
    property.insert("enum".to_owned(), Value::Array(allowed));
}

/// Asks the host for the provider of this call, from the explicit argument and the sender,
/// and writes its choice into the call so that the request carries it. `None` for a tool
/// without a provider argument, or when the host leaves the argument as the caller gave it.
pub(crate) fn select_provider<H: Host>(host: &H, spec: &ToolSpec, call: &mut ToolCall) -> Result<Option<ProviderSelection>, ToolError> {
    let Some(provider_argument) = spec.argument_with_role(Role::Provider) else { return Ok(None) };
    let explicit = call.get(provider_argument.name).and_then(Value::as_str).map(str::to_owned);
    let sender = spec.argument_with_role(Role::Sender).and_then(|sender| call.get(sender.name)).and_then(Value::as_str).map(str::to_owned);
    let selection = host.select_provider(explicit.as_deref(), sender.as_deref())?;
    if let Some(selection) = &selection {
        call.set(provider_argument.name, Value::String(selection.provider.clone()));
    }
    Ok(selection)
}

/// Adds the selection to an object result as `provider_selection`, so that the caller sees
/// which provider carried the call and why. When neither the caller nor the server chose one
/// (`selection` is `None` for a tool that has a provider argument), Clerk Chat used the sender
/// inbox's own provider, which its answer names (`provider`, at the top or in its `data`).
pub(crate) fn record_selection(value: &mut Value, selection: Option<ProviderSelection>, has_provider_argument: bool) {
    let Value::Object(object) = value else { return };
    let selection = selection.or_else(|| {
        let answered = object.get("provider").or_else(|| object.get("data").and_then(|data| data.get("provider")));
        let provider = answered.and_then(Value::as_str).filter(|_| has_provider_argument)?;
        Some(ProviderSelection {
            provider: provider.to_owned(),
            reason: "the sender inbox's own provider: no provider was given and no server route or default applies".to_owned(),
        })
    });
    if let Some(selection) = selection {
        object.insert("provider_selection".to_owned(), serde_json::to_value(selection).expect("a selection serializes"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn without_a_choice_the_answer_names_the_inbox_default_as_the_reason() {
        let mut answer = json!({"data": {"id": 7, "provider": "bandwidth"}});
        record_selection(&mut answer, None, true);
        assert_eq!(answer["provider_selection"]["provider"], "bandwidth");
        assert!(answer["provider_selection"]["reason"].as_str().unwrap().starts_with("the sender inbox's own provider"));
        let mut other_tool = json!({"data": {"provider": "bandwidth"}});
        record_selection(&mut other_tool, None, false);
        assert!(other_tool.get("provider_selection").is_none(), "only tools with a provider argument say it");
    }

    #[test]
    fn narrowing_keeps_only_enabled_providers_in_spec_order() {
        let mut schema =
            json!({"properties": {"provider": {"type": "string", "enum": ["twilio", "bandwidth", "telnyx"]}}}).as_object().unwrap().clone();
        narrow_enum(&mut schema, "provider", &["telnyx".to_owned(), "twilio".to_owned(), "unknown".to_owned()]);
        assert_eq!(schema["properties"]["provider"]["enum"], json!(["twilio", "telnyx"]));
    }
}
