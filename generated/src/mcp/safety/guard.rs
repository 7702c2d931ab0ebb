//! One guarded call: before it, the idempotency key and the repeat guard decide whether to
//! send, answer from the store, look up an earlier attempt, or refuse; after it, the store
//! learns what happened.

use std::time::Duration;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::reconcile::{Lookup, find_earlier_attempt};
use super::{CallKey, Claim, RecentSend, SafeSendStore, SafetySettings, now_ms};
use crate::mcp::arguments::ToolCall;
use crate::mcp::error::ToolError;
use crate::mcp::spec::{Role, ToolSpec};

/// The control argument that makes retries safe (added to the schema by the generator).
const IDEMPOTENCY_KEY: &str = "idempotency_key";
/// The control argument that sends a repeat on purpose.
const ALLOW_REPEAT: &str = "allow_repeat";
/// How often a retry looks whether the call holding its key has finished.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(100);
/// How often the server running a call with a key says that it still is.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A call whose server has not said it is alive for this long died with that server.
const STALE_AFTER: Duration = Duration::from_secs(20);

/// What to do before calling upstream.
#[derive(Debug)]
pub(crate) enum Before {
    /// Call upstream.
    Send,
    /// Answer with this result: the first call's, or the earlier attempt found upstream.
    Answer(Value),
}

/// The safety state of one call of a tool with a `safety` entry.
pub(crate) struct SafeSend<'a> {
    store: &'a dyn SafeSendStore,
    settings: SafetySettings,
    spec: &'static ToolSpec,
    account: String,
    key: Option<CallKey>,
    arguments_fingerprint: String,
    /// The repeat fingerprint, when the tool has a repeat guard and its window is open.
    repeat_fingerprint: Option<String>,
    allow_repeat: bool,
    started_at_ms: i64,
}

impl<'a> SafeSend<'a> {
    /// Takes the control arguments out of `call` (they are not sent upstream). `None` for a
    /// tool without safety; refused when the call carries a key and the host keeps no store.
    pub(crate) fn new(
        store: Option<&'a dyn SafeSendStore>,
        settings: SafetySettings,
        spec: &'static ToolSpec,
        account: String,
        call: &mut ToolCall,
    ) -> Result<Option<SafeSend<'a>>, ToolError> {
        let safety = spec.safety;
        if !safety.idempotency && safety.repeat_fingerprint.is_empty() {
            return Ok(None);
        }
        let key = call.take(IDEMPOTENCY_KEY).and_then(|key| key.as_str().map(str::to_owned));
        let allow_repeat = call.take(ALLOW_REPEAT).and_then(|allow| allow.as_bool()).unwrap_or(false);
        let Some(store) = store else {
            return match key {
                Some(_) => Err(ToolError::invalid_argument(
                    spec.name,
                    IDEMPOTENCY_KEY,
                    "cannot be honoured: this server keeps no idempotency keys",
                    Some("leave it out, and check with the read tools before retrying a call that failed".to_owned()),
                )),
                None => Ok(None),
            };
        };
        let arguments_fingerprint = fingerprint(spec.name, call.values());
        let repeat_fingerprint = (!safety.repeat_fingerprint.is_empty() && !settings.repeat_window.is_zero()).then(|| {
            let chosen: Map<String, Value> = safety
                .repeat_fingerprint
                .iter()
                .filter_map(|name| call.get(name).map(|value| ((*name).to_owned(), sorted_if_recipients(spec, name, value))))
                .collect();
            fingerprint(spec.name, &chosen)
        });
        let key = key.map(|key| CallKey { account: account.clone(), tool: spec.name, key });
        Ok(Some(SafeSend {
            store,
            settings,
            spec,
            account,
            key,
            arguments_fingerprint,
            repeat_fingerprint,
            allow_repeat,
            started_at_ms: now_ms(),
        }))
    }

    /// Decides whether to send: by the idempotency key when there is one, else by the
    /// repeat guard.
    pub(crate) async fn before<C: 'static>(&self, client: &C, call: &ToolCall) -> Result<Before, ToolError> {
        if let Some(key) = self.key.clone() {
            return self.before_with_key(&key, client, call).await;
        }
        let Some(repeat) = &self.repeat_fingerprint else { return Ok(Before::Send) };
        if self.allow_repeat {
            return Ok(Before::Send);
        }
        let since = now_ms() - self.settings.repeat_window.as_millis() as i64;
        let last = self.store.last_send(&self.account, self.spec.name, repeat, since).await.map_err(unavailable)?;
        match last {
            None => Ok(Before::Send),
            Some(last) if last.unknown => match find_earlier_attempt(client, self.spec, call, last.at_ms).await? {
                Lookup::Found(value) => Ok(Before::Answer(value)),
                Lookup::NotFound => Ok(Before::Send),
                Lookup::Undecided => Err(ToolError::OutcomeStillUnknown { tool: self.spec.name, with_key: false }),
            },
            Some(last) => Err(ToolError::Repeated {
                fields: self.spec.safety.repeat_fingerprint.join(", "),
                seconds_ago: ((now_ms() - last.at_ms).max(0) / 1000) as u64,
                at: chrono::DateTime::from_timestamp_millis(last.at_ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                id: last.id,
            }),
        }
    }

    async fn before_with_key<C: 'static>(&self, key: &CallKey, client: &C, call: &ToolCall) -> Result<Before, ToolError> {
        let expires_at = now_ms() + self.settings.key_lifetime.as_millis() as i64;
        let waiting_since = now_ms();
        loop {
            let claim = self.store.claim(key, &self.arguments_fingerprint, expires_at).await.map_err(unavailable)?;
            let started_at_ms = match claim {
                Claim::Claimed => return Ok(Before::Send),
                Claim::Done(result) => return Ok(Before::Answer(result)),
                Claim::OtherArguments => return Err(ToolError::KeyReused { key: key.key.clone() }),
                Claim::Full { limit } => return Err(ToolError::TooManyKeys { limit }),
                Claim::InFlight { alive_at_ms, .. } if now_ms() - alive_at_ms < STALE_AFTER.as_millis() as i64 => {
                    if now_ms() - waiting_since >= self.settings.in_flight_wait.as_millis() as i64 {
                        return Err(ToolError::StillRunning { key: key.key.clone() });
                    }
                    tokio::time::sleep(IN_FLIGHT_POLL).await;
                    continue;
                }
                // No word for longer than a heartbeat can be late: the server running it died
                // mid-call, so its outcome is unknown.
                Claim::InFlight { started_at_ms, .. } | Claim::Unknown { started_at_ms } => started_at_ms,
            };
            match find_earlier_attempt(client, self.spec, call, started_at_ms).await? {
                Lookup::Found(value) => {
                    self.store.settle(key, &value).await.map_err(unavailable)?;
                    return Ok(Before::Answer(value));
                }
                Lookup::NotFound => {
                    // Of several retries that found nothing, one takes the key over and sends;
                    // the others see it in flight on their next claim and wait for it.
                    let stale_before = now_ms() - STALE_AFTER.as_millis() as i64;
                    if self.store.retake(key, started_at_ms, stale_before).await.map_err(unavailable)? {
                        return Ok(Before::Send);
                    }
                }
                Lookup::Undecided => return Err(ToolError::OutcomeStillUnknown { tool: self.spec.name, with_key: true }),
            }
        }
    }

    /// Runs `work` (the confirmation and the call) while telling the store, every
    /// [`HEARTBEAT`], that the call holding the key is alive.
    pub(crate) async fn hold<F: std::future::Future>(&self, work: F) -> F::Output {
        let Some(key) = &self.key else { return work.await };
        let mut work = std::pin::pin!(work);
        // The first beat is one period away: an interval's immediate first tick still waits
        // for the timer wheel's next millisecond, which every call would pay.
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                output = &mut work => return output,
                _ = heartbeat.tick() => {
                    if let Err(failure) = self.store.touch(key).await {
                        tracing::warn!(tool = self.spec.name, "cannot say that a call is still running: {failure}");
                    }
                }
            }
        }
    }

    /// Tells the store what happened, and turns an error that may hide a send into one that
    /// says the outcome is unknown and how a retry settles it.
    pub(crate) async fn after(&self, outcome: Result<Value, ToolError>) -> Result<Value, ToolError> {
        let may_have_happened = match &outcome {
            Ok(_) => true,
            Err(error) => error.may_have_happened(),
        };
        let stored = match (&outcome, &self.key) {
            (Ok(value), Some(key)) => self.store.settle(key, value).await,
            (Err(_), Some(key)) if may_have_happened => self.store.mark_unknown(key).await,
            (Err(_), Some(key)) => self.store.release(key).await,
            (_, None) => Ok(()),
        };
        if let Err(failure) = stored {
            tracing::warn!(tool = self.spec.name, "cannot record the outcome of a call: {failure}");
        }
        if let (Some(repeat), true) = (&self.repeat_fingerprint, may_have_happened) {
            let id =
                outcome.as_ref().ok().and_then(|value| value.pointer("/data/id")).map(|id| id.to_string().trim_matches('"').to_owned());
            let send = RecentSend { at_ms: self.started_at_ms, id, unknown: outcome.is_err() };
            if let Err(failure) = self.store.record_send(&self.account, self.spec.name, repeat, &send).await {
                tracing::warn!(tool = self.spec.name, "cannot record a send for the repeat guard: {failure}");
            }
        }
        match outcome {
            Err(error) if may_have_happened => Err(ToolError::OutcomeUnknown {
                cause: error.cause(),
                with_key: self.key.is_some(),
                can_look_up: self.spec.safety.reconcile.is_some(),
                repeat_window_minutes: self.repeat_fingerprint.as_ref().map(|_| self.settings.repeat_window.as_secs().div_ceil(60)),
            }),
            other => other,
        }
    }
}

fn unavailable(failure: super::StoreFailure) -> ToolError {
    tracing::error!("the store of idempotency keys failed: {failure}");
    ToolError::SafetyUnavailable
}

/// SHA-256 of the tool's name and the arguments, in a form that does not depend on the order
/// the client wrote them in.
fn fingerprint(tool: &str, arguments: &Map<String, Value>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(tool.as_bytes());
    hasher.update([0]);
    hasher.update(canonical(&Value::Object(arguments.clone())).as_bytes());
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// JSON with every object's keys sorted.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            let members: Vec<String> =
                keys.iter().map(|key| format!("{}:{}", Value::String((*key).clone()), canonical(&object[*key]))).collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// The recipients of a message in a fixed order: the same people in another order is the
/// same send.
fn sorted_if_recipients(spec: &ToolSpec, name: &str, value: &Value) -> Value {
    let is_recipients = spec.argument_with_role(Role::Recipients).is_some_and(|argument| argument.name == name);
    match value {
        Value::Array(items) if is_recipients => {
            let mut items = items.clone();
            items.sort_by_key(|item| item.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fingerprints_ignore_the_order_of_keys_but_not_of_values() {
        let one = json!({"sender": "+1", "body": "hi", "data": {"a": 1, "b": 2}});
        let same = json!({"data": {"b": 2, "a": 1}, "body": "hi", "sender": "+1"});
        let other = json!({"sender": "+1", "body": "hi!", "data": {"a": 1, "b": 2}});
        let print = |value: &Value| fingerprint("send_message", value.as_object().unwrap());
        assert_eq!(print(&one), print(&same));
        assert_ne!(print(&one), print(&other));
        assert_ne!(fingerprint("send_message", one.as_object().unwrap()), fingerprint("create_campaign", one.as_object().unwrap()));
    }
}
