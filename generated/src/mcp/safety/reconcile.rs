//! Looking upstream for an earlier attempt of a call whose outcome is unknown, so that a retry
//! sends again only when the first attempt surely did not arrive.

use std::any::Any;
use std::collections::BTreeSet;
use std::num::NonZeroU32;

use serde_json::{Value, json};

use crate::mcp::arguments::ToolCall;
use crate::mcp::error::ToolError;
use crate::mcp::spec::{Reconcile, Role, ToolSpec};
use crate::mcp::upstream::respond;

/// How far before the first attempt's start the lookup reaches, for clocks that disagree
/// between this server and Clerk Chat.
const CLOCK_MARGIN_MS: i64 = 30_000;
/// Pages of 50 messages read at most; more messages than that since the first attempt means
/// the lookup cannot be sure, and the caller is told so rather than sent twice.
const MAX_PAGES: u32 = 20;

/// What the lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The earlier attempt arrived: the result to answer with, as the tool would have.
    Found(Value),
    /// Every message since the earlier attempt was read and it is not among them.
    NotFound,
    /// The tool has no lookup, or there were too many messages to read them all.
    Undecided,
}

/// Looks for the call's message among the account's messages since `since_ms`.
pub(crate) async fn find_earlier_attempt<C: 'static>(
    client: &C,
    spec: &ToolSpec,
    call: &ToolCall,
    since_ms: i64,
) -> Result<Lookup, ToolError> {
    let Some(Reconcile::SentMessages) = spec.safety.reconcile else { return Ok(Lookup::Undecided) };
    // The lookup needs the generated SDK; a host with another client type cannot look up.
    let Some(client) = (client as &dyn Any).downcast_ref::<crate::Client>() else { return Ok(Lookup::Undecided) };
    let Some(wanted) = WantedMessage::from_call(spec, call) else { return Ok(Lookup::Undecided) };
    let since = chrono::DateTime::from_timestamp_millis(since_ms - CLOCK_MARGIN_MS).unwrap_or_default();
    let limit = NonZeroU32::new(50).expect("50 is not zero");
    for page in 1..=MAX_PAGES {
        let page_number = NonZeroU32::new(page).expect("pages count from 1");
        let answer = respond(client.find_messages().start(since).limit(limit).page(page_number).send().await)
            .await
            .map_err(|error| ToolError::LookupFailed { cause: error.to_string() })?;
        let messages = answer.get("data").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        if let Some(found) = messages.iter().find(|message| wanted.matches(message)) {
            return Ok(Lookup::Found(json!({
                "data": found,
                "outcome": "An earlier attempt of this call, whose outcome was unknown, reached Clerk Chat: this is its message. Nothing was sent again."
            })));
        }
        if answer.pointer("/links/next").is_none_or(Value::is_null) {
            return Ok(Lookup::NotFound);
        }
    }
    Ok(Lookup::Undecided)
}

/// The sent message a call would have made.
struct WantedMessage {
    sender: String,
    recipients: BTreeSet<String>,
    body: String,
}

impl WantedMessage {
    fn from_call(spec: &ToolSpec, call: &ToolCall) -> Option<WantedMessage> {
        let text =
            |role| spec.argument_with_role(role).and_then(|argument| call.get(argument.name)).and_then(Value::as_str).map(str::to_owned);
        let recipients = spec.argument_with_role(Role::Recipients).and_then(|argument| call.get(argument.name))?.as_array()?;
        Some(WantedMessage {
            sender: text(Role::Sender)?,
            recipients: recipients.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            body: text(Role::MessageBody)?,
        })
    }

    /// An outbound message from the sender, with the body, to exactly the recipients: Clerk
    /// Chat lists a message's participants (sender included) as its `members`.
    fn matches(&self, message: &Value) -> bool {
        let outbound = message.get("inbound").and_then(Value::as_bool) == Some(false);
        let sender = message.get("sender").and_then(Value::as_str) == Some(self.sender.as_str());
        let body = message.get("body").and_then(Value::as_str) == Some(self.body.as_str());
        let members: BTreeSet<String> = message
            .get("members")
            .and_then(Value::as_array)
            .map(|members| members.iter().filter_map(Value::as_str).filter(|member| *member != self.sender).map(str::to_owned).collect())
            .unwrap_or_default();
        outbound && sender && body && members == self.recipients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_matches_by_sender_recipients_in_any_order_and_body() {
        let wanted = WantedMessage {
            sender: "+15550000001".to_owned(),
            recipients: ["+15550000002", "+15550000003"].map(str::to_owned).into(),
            body: "Hi".to_owned(),
        };
        let message =
            json!({"inbound": false, "sender": "+15550000001", "body": "Hi", "members": ["+15550000001", "+15550000003", "+15550000002"]});
        assert!(wanted.matches(&message));
        let mut inbound = message.clone();
        inbound["inbound"] = json!(true);
        assert!(!wanted.matches(&inbound));
        let mut fewer = message.clone();
        fewer["members"] = json!(["+15550000001", "+15550000002"]);
        assert!(!wanted.matches(&fewer));
        let mut other_body = message;
        other_body["body"] = json!("Hi!");
        assert!(!wanted.matches(&other_body));
    }
}
