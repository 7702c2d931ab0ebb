//! Asking the user to confirm a broadcast before it goes out, by MCP elicitation (form mode),
//! when the client declared that it can ask.

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::{ElicitationMode, RequestContext};
use serde_json::{Value, json};

use super::SafetySettings;
use crate::mcp::arguments::ToolCall;
use crate::mcp::error::ToolError;
use crate::mcp::spec::{Role, ToolSpec};
use crate::sms::{Encoding, measure, segments};

/// How long the user has to answer; a user who walked away has not confirmed.
const ANSWER_WITHIN: Duration = Duration::from_secs(600);

/// Asks the user to confirm the call when the tool's manifest entry says `confirm` and the
/// client can ask; `Ok` means send. A client without the elicitation capability is not asked:
/// the tool's annotations already tell it the call is open-world and not idempotent.
pub(crate) async fn confirm_with_user(
    request: &RequestContext<RoleServer>,
    spec: &ToolSpec,
    call: &ToolCall,
    settings: &SafetySettings,
) -> Result<(), ToolError> {
    // Clerk Chat's API cannot count a list's contacts, so every threshold is passed.
    if !spec.safety.confirm || settings.confirm_broadcasts_over.is_none() {
        return Ok(());
    }
    if !request.peer.supported_elicitation_modes().contains(&ElicitationMode::Form) {
        return Ok(());
    }
    let schema = json!({
        "type": "object",
        "properties": {"send": {"type": "boolean", "title": "Send it", "description": "Leave ticked to send; untick or decline to send nothing.", "default": true}}
    });
    let Value::Object(schema) = schema else { unreachable!("built as an object") };
    let requested_schema = ElicitationSchema::from_json_schema(schema).expect("the confirmation schema is a valid elicitation schema");
    let params = ElicitRequestParams::FormElicitationParams { meta: None, message: describe(spec, call), requested_schema };
    let asked = request.peer.create_elicitation_with_timeout(params, Some(ANSWER_WITHIN));
    // A call the client cancels while its user is asked is not sent, whatever the user says later.
    let answer = tokio::select! {
        biased;
        () = request.ct.cancelled() => return Err(ToolError::NotConfirmed { answer: "cancelled the call" }),
        answer = asked => answer,
    };
    let answer = answer.map_err(|error| match error {
        rmcp::ServiceError::Timeout { .. } => ToolError::NotConfirmed { answer: "did not answer in time" },
        other => ToolError::ConfirmationFailed { cause: other.to_string() },
    })?;
    match answer.action {
        ElicitationAction::Accept
            if answer.content.as_ref().and_then(|content| content.get("send")).and_then(Value::as_bool) != Some(false) =>
        {
            Ok(())
        }
        ElicitationAction::Accept | ElicitationAction::Decline => Err(ToolError::NotConfirmed { answer: "declined" }),
        // Cancel, and any answer a later protocol adds: not a yes.
        _ => Err(ToolError::NotConfirmed { answer: "cancelled" }),
    }
}

/// What the user is asked: whom the call reaches, from which number, the text and its cost,
/// and when, found by the arguments' roles.
fn describe(spec: &ToolSpec, call: &ToolCall) -> String {
    let text = |role| spec.argument_with_role(role).and_then(|argument| call.get(argument.name)).and_then(Value::as_str).map(str::to_owned);
    let mut lines = vec![format!("{}?", spec.title)];
    if let Some(audience) = text(Role::Audience) {
        lines.push(format!(
            "To: every contact of \"{audience}\" (opted-out contacts are skipped; Clerk Chat does not tell in advance how many contacts that is)"
        ));
    }
    if let Some(sender) = text(Role::Sender) {
        lines.push(format!("From: {sender}"));
    }
    if let Some(body) = text(Role::MessageBody) {
        let (encoding, _) = measure(&body);
        let cost = match encoding {
            Encoding::Gsm7 => format!("{} segment(s) per contact, GSM-7", segments(&body)),
            Encoding::Ucs2 => format!(
                "{} segment(s) per contact, UCS-2: the text has characters outside GSM-7 (such as emoji), so a segment holds 70 characters instead of 160",
                segments(&body)
            ),
        };
        lines.push(format!("Text: \"{body}\""));
        lines.push(format!("Cost: {cost}"));
    }
    if spec.argument_with_role(Role::SendAt).is_some() {
        lines.push(match text(Role::SendAt) {
            Some(when) => format!("When: scheduled for {when}"),
            None => "When: now".to_owned(),
        });
    }
    lines.join("\n")
}
