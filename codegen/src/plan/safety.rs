//! The safety stage of planning a tool that sends or writes (`[tool.safety]`): which control
//! arguments the runtime adds to its schema (`idempotency_key`, `allow_repeat`), which of its
//! arguments make a call a repeat, how an unknown outcome is looked up, and whether the user is
//! asked first. Checked here so that a mistake in the manifest is a diagnostic, not a runtime
//! surprise.

use serde_json::{Value, json};

use super::ArgumentPlan;
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::manifest::{Manifest, Reconcile, Role, ToolEntry};

/// The control argument that makes retries safe.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency_key";
/// The control argument that sends a repeat on purpose.
pub(crate) const ALLOW_REPEAT: &str = "allow_repeat";

/// A tool's safety as planned.
#[derive(Debug, Clone, Default)]
pub(crate) struct SafetyPlan {
    pub(crate) idempotency: bool,
    /// Tool argument names, in the manifest's order.
    pub(crate) repeat_fingerprint: Vec<String>,
    pub(crate) reconcile: Option<Reconcile>,
    pub(crate) confirm: bool,
}

impl SafetyPlan {
    /// The arguments the runtime adds to the tool's input schema, with their schemas.
    pub(crate) fn control_arguments(&self) -> Vec<(&'static str, Value)> {
        let mut arguments = Vec::new();
        if self.idempotency {
            arguments.push((
                IDEMPOTENCY_KEY,
                json!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "description": "Any unique text (a UUID, say) naming this one send. Calling again with the same key and the same arguments returns the first call's result instead of sending again, so a retry after a timeout or an error is safe. Keys are kept for 24 hours."
                }),
            ));
        }
        if !self.repeat_fingerprint.is_empty() {
            arguments.push((
                ALLOW_REPEAT,
                json!({
                    "type": "boolean",
                    "default": false,
                    "description": format!(
                        "Set to true only to send on purpose what was sent moments ago: a call with the same {} as one in the last minutes is refused otherwise.",
                        self.repeat_fingerprint.join(", ")
                    )
                }),
            ));
        }
        arguments
    }
}

/// Plans the tool's safety from its manifest entry, checking it against the planned arguments.
pub(super) fn plan_safety(manifest: &Manifest, tool: &ToolEntry, arguments: &[ArgumentPlan], problems: &mut Vec<Diagnostic>) -> SafetyPlan {
    let Some(safety) = &tool.safety else { return SafetyPlan::default() };
    let tool_name = tool.name.get_ref();
    let visible: Vec<&str> = arguments.iter().filter(|argument| !argument.hidden).map(|argument| argument.name.as_str()).collect();
    let mut repeat_fingerprint = Vec::new();
    for name in &safety.get_ref().repeat_fingerprint {
        if visible.contains(&name.get_ref().as_str()) {
            repeat_fingerprint.push(name.get_ref().clone());
        } else {
            problems.push(
                manifest
                    .diagnostic(
                        name,
                        format!("tool `{tool_name}`: repeat_fingerprint names `{}`, which is not one of its arguments", name.get_ref()),
                    )
                    .with_optional_help(
                        did_you_mean(name.get_ref(), visible.iter().copied())
                            .or_else(|| Some(format!("its arguments are: {}", visible.join(", ")))),
                    ),
            );
        }
    }
    let plan = SafetyPlan {
        idempotency: safety.get_ref().idempotency,
        repeat_fingerprint,
        reconcile: safety.get_ref().reconcile.as_ref().map(|reconcile| *reconcile.get_ref()),
        confirm: safety.get_ref().confirm,
    };
    for (control, _) in plan.control_arguments() {
        if visible.contains(&control) {
            problems.push(
                manifest
                    .diagnostic(
                        safety,
                        format!("tool `{tool_name}`: its safety adds the argument `{control}`, but the tool has one of that name"),
                    )
                    .with_help("rename the tool's argument in the manifest (arguments.<key> = { rename = \"...\" })"),
            );
        }
    }
    if let Some(reconcile) = &safety.get_ref().reconcile {
        check_reconcile(manifest, tool_name, reconcile, arguments, problems);
    }
    plan
}

/// `sent_messages` finds a message by its sender, recipients and body: the tool must say
/// which arguments those are.
fn check_reconcile(
    manifest: &Manifest,
    tool_name: &str,
    reconcile: &serde_spanned::Spanned<Reconcile>,
    arguments: &[ArgumentPlan],
    problems: &mut Vec<Diagnostic>,
) {
    match reconcile.get_ref() {
        Reconcile::SentMessages => {
            let has = |role: Role| arguments.iter().any(|argument| argument.role == Some(role));
            let missing: Vec<&str> = [(Role::Sender, "sender"), (Role::Recipients, "recipients"), (Role::MessageBody, "message_body")]
                .into_iter()
                .filter(|(role, _)| !has(*role))
                .map(|(_, word)| word)
                .collect();
            if !missing.is_empty() {
                problems.push(
                    manifest
                        .diagnostic(reconcile, format!("tool `{tool_name}`: reconcile = \"sent_messages\" finds a message by its sender, recipients and body, but no argument has the role {}", missing.join(", ")))
                        .with_help("give those arguments a role: arguments.<key> = { role = \"...\" }"),
                );
            }
        }
    }
}
