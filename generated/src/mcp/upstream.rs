//! Turning the SDK's answer into a tool's outcome: the body as JSON, or a [`ToolError`] that
//! says what Clerk Chat answered and whether a retry can help.

use futures::TryStreamExt;
use progenitor_client::{ByteStream, Error as SdkError, ResponseValue};
use serde::Serialize;
use serde_json::Value;

use crate::mcp::error::ToolError;
use crate::retry::retryable_status;

/// Maps the SDK's answer to the tool's result: the body as JSON, or a [`ToolError`] that
/// carries the status, Clerk Chat's message and whether a retry can help.
pub async fn respond<T: Serialize, E: Serialize + std::fmt::Debug>(
    answer: Result<ResponseValue<T>, SdkError<E>>,
) -> Result<Value, ToolError> {
    match answer {
        Ok(response) => {
            serde_json::to_value(response.into_inner()).map_err(|error| ToolError::UnexpectedAnswer { message: error.to_string() })
        }
        Err(error) => Err(upstream_error(error).await),
    }
}

/// Like [`respond`], for an answer the SDK gives as the JSON that came (`send_json`): passed
/// on as it is; the route checks it against the tool's output schema.
pub async fn respond_json<E: Serialize + std::fmt::Debug>(answer: Result<ResponseValue<Value>, SdkError<E>>) -> Result<Value, ToolError> {
    match answer {
        Ok(response) => Ok(response.into_inner()),
        Err(error) => Err(upstream_error(error).await),
    }
}

/// Like [`respond`], for an answer without a body (such as 204): the result says the status,
/// so that the model knows the call was done.
pub async fn respond_empty<E: Serialize + std::fmt::Debug>(answer: Result<ResponseValue<()>, SdkError<E>>) -> Result<Value, ToolError> {
    match answer {
        Ok(response) => Ok(serde_json::json!({ "status": response.status().as_u16() })),
        Err(error) => Err(upstream_error(error).await),
    }
}

/// The most text a `text/plain` answer may hold; more is refused rather than read into memory.
const TEXT_ANSWER_LIMIT: usize = 1024 * 1024;

/// Like [`respond`], for a `text/plain` answer: the result holds the status and the text.
pub async fn respond_text<E: Serialize + std::fmt::Debug>(
    answer: Result<ResponseValue<ByteStream>, SdkError<E>>,
) -> Result<Value, ToolError> {
    let response = match answer {
        Ok(response) => response,
        Err(error) => return Err(upstream_error(error).await),
    };
    let status = response.status().as_u16();
    let mut chunks = response.into_inner().into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) =
        chunks.try_next().await.map_err(|error| ToolError::Unreachable { message: without_url(&error), may_have_happened: true })?
    {
        if bytes.len() + chunk.len() > TEXT_ANSWER_LIMIT {
            return Err(ToolError::UnexpectedAnswer { message: format!("the text answer is larger than {TEXT_ANSWER_LIMIT} bytes") });
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes).map_err(|_| ToolError::UnexpectedAnswer { message: "the text answer is not UTF-8".to_owned() })?;
    Ok(serde_json::json!({ "status": status, "text": text }))
}

/// Classifies a failed SDK call by how far the request got, because that decides both the
/// message and whether the request may already have taken effect.
async fn upstream_error<E: Serialize + std::fmt::Debug>(error: SdkError<E>) -> ToolError {
    match error {
        SdkError::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let body = serde_json::to_value(response.into_inner()).unwrap_or(Value::Null);
            ToolError::Upstream { status, message: upstream_message(&body), retryable: retryable_status(status), may_have_happened: false }
        }
        SdkError::UnexpectedResponse(response) => unlisted_status_error(response).await,
        SdkError::CommunicationError(error) => {
            // Only a failure to connect proves the request never left.
            let may_have_happened = !error.is_connect();
            let what = if error.is_timeout() {
                "the request timed out".to_owned()
            } else if error.is_connect() {
                "the connection was refused or failed".to_owned()
            } else {
                without_url(&error)
            };
            ToolError::Unreachable { message: what, may_have_happened }
        }
        SdkError::InvalidRequest(message) => ToolError::RequestNotBuilt { message },
        SdkError::InvalidResponsePayload(_, error) => ToolError::UnexpectedAnswer { message: error.to_string() },
        SdkError::ResponseBodyError(error) => {
            ToolError::Unreachable { message: format!("the answer was cut off ({})", without_url(&error)), may_have_happened: true }
        }
        other => ToolError::UnexpectedAnswer { message: other.to_string() },
    }
}

/// A status the spec does not list (a proxy's 502, say) still gets its body read, because the
/// body may explain what went wrong.
async fn unlisted_status_error(response: reqwest::Response) -> ToolError {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let message = match serde_json::from_str::<Value>(&text) {
        Ok(body) => upstream_message(&body),
        Err(_) if !text.trim().is_empty() => text.trim().chars().take(200).collect(),
        Err(_) => "no error details were given".to_owned(),
    };
    ToolError::Upstream { status, message, retryable: retryable_status(status), may_have_happened: false }
}

/// reqwest's messages include the URL; the path is harmless, but keep errors short.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" ({url})"), "").replace(url.as_str(), "Clerk Chat");
    }
    text
}

/// NestJS answers `{"message": "..." | ["...", ...], "error": "..."}`.
fn upstream_message(body: &Value) -> String {
    match body.get("message") {
        Some(Value::String(message)) if !message.is_empty() => message.clone(),
        Some(Value::Array(messages)) if !messages.is_empty() => messages
            .iter()
            .map(|message| message.as_str().map(str::to_owned).unwrap_or_else(|| message.to_string()))
            .collect::<Vec<_>>()
            .join("; "),
        _ => body.get("error").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| "no error details were given".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nest_messages_are_read_from_string_or_list() {
        assert_eq!(upstream_message(&json!({"message": "sender is not a number of this team"})), "sender is not a number of this team");
        assert_eq!(upstream_message(&json!({"message": ["a", "b"], "error": "Unprocessable Entity"})), "a; b");
        assert_eq!(upstream_message(&json!({"error": "Unauthorized"})), "Unauthorized");
        assert_eq!(upstream_message(&json!(null)), "no error details were given");
    }

    #[test]
    fn only_transient_statuses_are_retryable() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(!retryable_status(status), "{status}");
        }
    }
}
