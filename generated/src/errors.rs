//! What a failed call says, in the terms a caller acts on: whether trying again later can
//! help, and Clerk Chat's own words about a refused request.

use std::time::Duration;

use crate::retry::{no_answer, retry_after, retryable_status};
use crate::sdk::{Error, types};

/// Questions every failed SDK call answers; `use clerk_chat::ErrorExt;` to ask them.
pub trait ErrorExt {
    /// Whether the same request may succeed later: Clerk Chat timed out (408), was busy (429)
    /// or failing (500, 502-504), or could not be reached. A refusal of the request itself (another 4xx) needs a changed
    /// request. A send that failed this way may still have been delivered when the connection
    /// broke after it left: check before sending again.
    fn is_retryable(&self) -> bool;

    /// Clerk Chat's messages about a refused request, one per problem (its `message`, a text
    /// or a list); empty when no answer came, when it said nothing, or when its status is one
    /// the API description does not list (then `Error::UnexpectedResponse` holds it unread).
    fn messages(&self) -> Vec<String>;

    /// How long Clerk Chat asked the caller to wait before trying again (its `Retry-After`,
    /// as on a 429), when it said.
    fn retry_after(&self) -> Option<Duration>;
}

impl ErrorExt for Error<types::ErrorResponse> {
    fn is_retryable(&self) -> bool {
        match self {
            Error::CommunicationError(error) => no_answer(error),
            _ => self.status().is_some_and(|status| retryable_status(status.as_u16())),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::ErrorResponse(answer) => retry_after(answer.headers()),
            Error::UnexpectedResponse(response) => retry_after(response.headers()),
            _ => None,
        }
    }

    fn messages(&self) -> Vec<String> {
        let Error::ErrorResponse(answer) = self else { return Vec::new() };
        match &answer.message {
            Some(types::ErrorResponseMessage::String(message)) => vec![message.clone()],
            Some(types::ErrorResponseMessage::Array(messages)) => messages.clone(),
            None => Vec::new(),
        }
    }
}
