//! Tool failures, phrased for the LLM that made the call: what is wrong and how to fix it.

use std::fmt;

use crate::mcp::host::HostError;

/// One thing wrong with the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentProblem {
    /// Where, as the caller wrote it: `recipients[1]`, `contacts[0].phone`; empty for the whole object.
    pub argument: String,
    /// What is wrong with the value, phrased to follow the argument's name: `is missing`.
    pub problem: String,
    /// How to write the value instead, when there is more to say than the problem itself.
    pub fix: Option<String>,
}

impl fmt::Display for ArgumentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.argument.is_empty() {
            write!(f, "{}", self.problem)?;
        } else {
            write!(f, "{} {}", self.argument, self.problem)?;
        }
        if let Some(fix) = &self.fix {
            write!(f, "; {fix}")?;
        }
        Ok(())
    }
}

/// Why a tool call has no result. Its message is what the MCP client sees, so every variant
/// says whether the request reached Clerk Chat and whether retrying can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The arguments broke the tool's schema or could not be converted to the SDK's types;
    /// Clerk Chat was not called (true of reads and sends alike).
    #[error("invalid arguments for {tool}, so Clerk Chat was not called:\n{}", list(problems))]
    InvalidArguments {
        /// The name of the tool that was called.
        tool: &'static str,
        /// Every problem found, so that the caller can fix them all in one go.
        problems: Vec<ArgumentProblem>,
    },
    /// Clerk Chat answered with an error status.
    #[error("Clerk Chat answered {status}{}: {message}. {}", reason_suffix(status), retry_advice(*retryable, *may_have_happened))]
    Upstream {
        /// The HTTP status of the answer.
        status: u16,
        /// Clerk Chat's own explanation, or a note that it gave none.
        message: String,
        /// Whether the status is a transient one that a later retry may get past.
        retryable: bool,
        /// Whether the request may have taken effect despite the error.
        may_have_happened: bool,
    },
    /// No answer came back: the connection failed, timed out or broke off.
    #[error("could not reach Clerk Chat: {message}. {}", retry_advice(true, *may_have_happened))]
    Unreachable {
        /// What went wrong on the way, without the request's URL.
        message: String,
        /// Whether the request may have left and taken effect; only a failed connect rules it out.
        may_have_happened: bool,
    },
    /// Clerk Chat answered, but not in the shape its API description promises.
    #[error(
        "Clerk Chat's answer did not match its API description: {message}. Retrying will not help; report this to the server's operator"
    )]
    UnexpectedAnswer {
        /// How the answer differed from the description.
        message: String,
    },
    /// The arguments passed the tool's schema, yet the SDK refused to build the request from
    /// them: the schema and the SDK's types disagree, which is the server's bug, not the caller's.
    #[error(
        "the arguments passed the tool's schema, but the request could not be built from them: {message}. Retrying will not help; report this to the server's operator"
    )]
    RequestNotBuilt {
        /// Why the SDK refused to build the request.
        message: String,
    },
    /// The host refused the call: a missing scope, a provider that is not enabled, or no
    /// upstream client for this session.
    #[error("{0}")]
    Host(#[from] HostError),
    /// The client cancelled the call before Clerk Chat answered.
    #[error("the call was cancelled before it finished")]
    Cancelled,
    /// A call that may reach people failed in a way that leaves its outcome unknown: the
    /// request may have arrived. The message says how a retry settles it.
    #[error("the outcome is unknown: {cause}. The request may or may not have taken effect. {}", unknown_advice(*with_key, *can_look_up, *repeat_window_minutes))]
    OutcomeUnknown {
        /// What went wrong, without advice of its own.
        cause: String,
        /// Whether the call carried an idempotency key.
        with_key: bool,
        /// Whether the runtime can look the earlier attempt up upstream.
        can_look_up: bool,
        /// The repeat window, when the tool has a repeat guard.
        repeat_window_minutes: Option<u64>,
    },
    /// An earlier attempt has an unknown outcome and cannot be looked up, so nothing is sent.
    #[error("nothing was sent: an earlier {tool} call {} ended with an unknown outcome, and the server cannot look up whether it took effect. Check in Clerk Chat first; to send anyway, {}", if *with_key { "with this idempotency_key" } else { "with the same arguments" }, if *with_key { "call again with a new idempotency_key" } else { "call again with allow_repeat: true" })]
    OutcomeStillUnknown {
        /// The tool called.
        tool: &'static str,
        /// Whether the earlier attempt is known by its idempotency key (else by the repeat guard).
        with_key: bool,
    },
    /// Looking up an earlier attempt with an unknown outcome failed.
    #[error(
        "nothing was sent: an earlier attempt of this call has an unknown outcome, and looking it up at Clerk Chat failed ({cause}). Retry after a short wait with the same idempotency_key"
    )]
    LookupFailed {
        /// Why the lookup failed.
        cause: String,
    },
    /// The idempotency key was used before for a call with other arguments.
    #[error(
        "nothing was sent: idempotency_key {key:?} was already used for a call with other arguments. Use a fresh key (a new UUID) for every distinct send, and reuse a key only to retry the very same call"
    )]
    KeyReused {
        /// The key, as the caller gave it.
        key: String,
    },
    /// The account holds as many live idempotency keys as it may.
    #[error(
        "nothing was sent: this account used {limit} idempotency keys within their lifetime, the most it may hold. Retry without an idempotency_key, or later"
    )]
    TooManyKeys {
        /// How many live keys an account may hold.
        limit: u64,
    },
    /// A call with the same key is still running and did not finish while this one waited.
    #[error(
        "nothing was sent by this call: a call with idempotency_key {key:?} is still running (it may be waiting for the user to confirm). Retry with the same key in a moment to get its result"
    )]
    StillRunning {
        /// The key, as the caller gave it.
        key: String,
    },
    /// An identical call was made within the repeat window.
    #[error("nothing was sent: an identical call (same {fields}) was made {seconds_ago} s ago, at {at}{}, and sending it twice is refused as an accidental repeat. If the user wants it sent again, call again with allow_repeat: true", id.as_ref().map(|id| format!(", id {id}")).unwrap_or_default())]
    Repeated {
        /// The arguments that make calls identical.
        fields: String,
        /// How long ago the earlier call was made.
        seconds_ago: u64,
        /// When, as an ISO 8601 date-time.
        at: String,
        /// The earlier call's id upstream, when it answered.
        id: Option<String>,
    },
    /// The user did not confirm the call, so nothing was sent.
    #[error("nothing was sent: the user {answer} when asked to confirm it. Do not retry unless the user asks for it again")]
    NotConfirmed {
        /// What the user did: `declined`, `cancelled`, `did not answer in time`.
        answer: &'static str,
    },
    /// The client declared that it can ask the user, but asking failed.
    #[error("nothing was sent: the server could not ask the user to confirm this call ({cause}). Retry after a short wait")]
    ConfirmationFailed {
        /// Why asking failed.
        cause: String,
    },
    /// The store of idempotency keys and recent sends cannot be used.
    #[error("nothing was sent: the server cannot check idempotency keys and repeats right now. Retry after a short wait")]
    SafetyUnavailable,
}

fn unknown_advice(with_key: bool, can_look_up: bool, repeat_window_minutes: Option<u64>) -> String {
    match (with_key, can_look_up, repeat_window_minutes) {
        (true, true, _) => "Retry with the same idempotency_key: the server first looks for it at Clerk Chat and sends only if it is not there".to_owned(),
        (true, false, _) => "Check in Clerk Chat whether it took effect; a retry with the same idempotency_key is refused until then, and a new key sends again".to_owned(),
        (false, true, Some(minutes)) => format!(
            "Retry with the same arguments within {minutes} minute(s): the server first looks for it at Clerk Chat and sends only if it is not there. Pass an idempotency_key next time"
        ),
        (false, _, _) => "Check in Clerk Chat (e.g. with get_messages) whether it took effect before calling again; pass an idempotency_key next time to make retries safe".to_owned(),
    }
}

fn list(problems: &[ArgumentProblem]) -> String {
    problems.iter().map(|problem| format!("- {problem}")).collect::<Vec<_>>().join("\n")
}

fn reason_suffix(status: &u16) -> String {
    reqwest::StatusCode::from_u16(*status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .map(|reason| format!(" {reason}"))
        .unwrap_or_default()
}

fn retry_advice(retryable: bool, may_have_happened: bool) -> &'static str {
    match (retryable, may_have_happened) {
        (true, true) => {
            "Retrying may help, but the request may already have taken effect: check (e.g. with get_messages) before sending again"
        }
        (true, false) => "Retrying after a short wait may help",
        (false, _) => "Retrying the same call will not help; change the arguments or the account's setup",
    }
}

impl ToolError {
    /// A [`ToolError::InvalidArguments`] with a single problem, for the conversions that find
    /// one bad argument at a time.
    pub fn invalid_argument(tool: &'static str, argument: impl Into<String>, problem: impl Into<String>, fix: Option<String>) -> ToolError {
        ToolError::InvalidArguments { tool, problems: vec![ArgumentProblem { argument: argument.into(), problem: problem.into(), fix }] }
    }

    /// Whether the same call can succeed later without changes.
    pub fn is_retryable(&self) -> bool {
        match self {
            ToolError::Upstream { retryable, .. } => *retryable,
            ToolError::Unreachable { .. }
            | ToolError::OutcomeUnknown { .. }
            | ToolError::LookupFailed { .. }
            | ToolError::StillRunning { .. }
            | ToolError::ConfirmationFailed { .. }
            | ToolError::SafetyUnavailable => true,
            _ => false,
        }
    }

    /// Whether the request may have reached Clerk Chat and taken effect despite the error.
    pub fn may_have_happened(&self) -> bool {
        match self {
            ToolError::Upstream { may_have_happened, .. } | ToolError::Unreachable { may_have_happened, .. } => *may_have_happened,
            // The call was cancelled while the request was on its way or being answered.
            ToolError::Cancelled | ToolError::OutcomeUnknown { .. } => true,
            _ => false,
        }
    }

    /// What went wrong, without the advice the message adds: the cause of an unknown outcome.
    pub(crate) fn cause(&self) -> String {
        match self {
            ToolError::Unreachable { message, .. } => format!("Clerk Chat could not be reached to the end ({message})"),
            ToolError::Upstream { status, message, .. } => format!("Clerk Chat answered {status}{}: {message}", reason_suffix(status)),
            ToolError::Cancelled => "the call was cancelled while Clerk Chat was handling it".to_owned(),
            other => other.to_string(),
        }
    }
}
