//! What a send costs in SMS segments, worked out from the message text by the same rules the
//! carriers bill by ([`crate::sms`]), so that a model can tell the user before it sends more.

use serde_json::{Value, json};

use crate::mcp::arguments::ToolCall;
use crate::mcp::spec::{Role, ToolSpec};
use crate::sms::{measure, segments};

/// The `cost` of a call of a tool with a message body: segments and encoding of each message,
/// and how many recipients get it when the call names them. `None` without a body.
pub(crate) fn cost_of(spec: &ToolSpec, call: &ToolCall) -> Option<Value> {
    let body = spec.argument_with_role(Role::MessageBody).and_then(|argument| call.get(argument.name)).and_then(Value::as_str)?;
    let (encoding, characters) = measure(body);
    let mut cost = json!({"segments": segments(body), "encoding": encoding, "characters": characters});
    if let Some(recipients) =
        spec.argument_with_role(Role::Recipients).and_then(|argument| call.get(argument.name)).and_then(Value::as_array)
    {
        cost["recipients"] = json!(recipients.len());
    }
    Some(cost)
}

/// Adds the cost to an object result.
pub(crate) fn record_cost(value: &mut Value, cost: Option<Value>) {
    if let (Some(cost), Value::Object(object)) = (cost, value) {
        object.insert("cost".to_owned(), cost);
    }
}
