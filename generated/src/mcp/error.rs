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
    /// nothing was sent.
    #[error("invalid arguments for {tool}, nothing was sent:\n{}", list(problems))]
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
            ToolError::Unreachable { .. } => true,
            _ => false,
        }
    }
}
