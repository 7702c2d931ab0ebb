//! The MCP server handler that serves the generated routes, and the steps every call shares.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use progenitor_client::{Error as SdkError, ResponseValue};
use rmcp::handler::server::tool::{ToolCallContext, ToolRoute, ToolRouter};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;

use crate::mcp::arguments::ToolCall;
use crate::mcp::error::ToolError;
use crate::mcp::host::Host;
use crate::mcp::spec::{Role, ToolSpec};

/// What a route's body returns: the upstream answer as JSON, or why there is none.
pub(super) type RouteFuture = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send>>;

/// An MCP server with the generated tools, running on a [`Host`].
pub struct ToolServer<H: Host> {
    inner: Arc<Inner<H>>,
}

struct Inner<H: Host> {
    host: H,
    router: ToolRouter<ToolServer<H>>,
    /// The tools as listed, with provider enums narrowed to the enabled providers.
    tools: Vec<Tool>,
    prepared: HashMap<&'static str, Prepared>,
    info: Implementation,
    instructions: Option<String>,
    /// Tool calls running now, so that a shutdown can wait for them.
    in_flight: AtomicUsize,
    idle: Notify,
}

/// Counts one tool call in flight for as long as it lives.
struct InFlightCall<'a, H: Host>(&'a Inner<H>);

impl<'a, H: Host> InFlightCall<'a, H> {
    fn start(inner: &'a Inner<H>) -> Self {
        inner.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlightCall(inner)
    }
}

impl<H: Host> Drop for InFlightCall<'_, H> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

struct Prepared {
    spec: &'static ToolSpec,
    schema: Value,
    validator: jsonschema::Validator,
}

impl<H: Host> Clone for ToolServer<H> {
    fn clone(&self) -> Self {
        ToolServer { inner: Arc::clone(&self.inner) }
    }
}

impl<H: Host> ToolServer<H> {
    /// `router` and `specs` are the generated `tool_router()` and `TOOLS`. `info` names the
    /// server to clients; set it explicitly, rmcp's default names rmcp itself.
    pub fn new(
        host: H,
        mut router: ToolRouter<ToolServer<H>>,
        specs: &[&'static ToolSpec],
        info: Implementation,
        instructions: Option<String>,
    ) -> ToolServer<H> {
        let enabled_providers = host.enabled_providers();
        let mut prepared = HashMap::new();
        for spec in specs {
            let mut schema = spec.input_schema();
            if let (Some(enabled), Some(provider)) = (&enabled_providers, spec.argument_with_role(Role::Provider)) {
                narrow_enum(&mut schema, provider.name, enabled);
            }
            if let Some(route) = router.map.get_mut(spec.name) {
                route.attr.input_schema = Arc::new(schema.clone());
            }
            let schema = Value::Object(schema);
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|error| panic!("the generated input schema of `{}` is not a valid JSON Schema: {error}", spec.name));
            prepared.insert(spec.name, Prepared { spec, schema, validator });
        }
        let tools = router.list_all();
        ToolServer {
            inner: Arc::new(Inner {
                host,
                router,
                tools,
                prepared,
                info,
                instructions,
                in_flight: AtomicUsize::new(0),
                idle: Notify::new(),
            }),
        }
    }

    /// Resolves once no tool call is running, for a graceful shutdown.
    pub async fn drained(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    pub fn host(&self) -> &H {
        &self.inner.host
    }

    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    async fn execute(
        &self,
        spec: &'static ToolSpec,
        arguments: Option<JsonObject>,
        request: &RequestContext<RoleServer>,
        operation: &RouteOperation<H::Client>,
    ) -> Result<Value, ToolError> {
        let _in_flight = InFlightCall::start(&self.inner);
        let host = &self.inner.host;
        host.check_scope(request, spec.scope)?;
        let prepared = self.inner.prepared.get(spec.name).expect("every routed tool was prepared in ToolServer::new");
        let mut call = ToolCall::prepare(prepared.spec, arguments, &prepared.validator, &prepared.schema)?;
        let selection = match spec.argument_with_role(Role::Provider) {
            None => None,
            Some(provider_argument) => {
                let explicit = call.get(provider_argument.name).and_then(Value::as_str).map(str::to_owned);
                let sender = spec
                    .argument_with_role(Role::Sender)
                    .and_then(|sender| call.get(sender.name))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let selection = host.select_provider(explicit.as_deref(), sender.as_deref())?;
                if let Some(selection) = &selection {
                    call.set(provider_argument.name, Value::String(selection.provider.clone()));
                }
                selection
            }
        };
        let client = host.upstream_client(request)?;
        let progress_token = if spec.progress { request.meta.get_progress_token() } else { None };
        if let Some(token) = &progress_token {
            let note = ProgressNotificationParam::new(token.clone(), 0.0)
                .with_total(1.0)
                .with_message(format!("sending {} to Clerk Chat", spec.name));
            // A client that went away cannot be told; the call itself goes on.
            let _ = request.peer.notify_progress(note).await;
        }
        let mut value = tokio::select! {
            biased;
            () = request.ct.cancelled() => return Err(ToolError::Cancelled),
            outcome = operation(client, call) => outcome?,
        };
        if let Some(token) = progress_token {
            let note = ProgressNotificationParam::new(token, 1.0).with_total(1.0).with_message("Clerk Chat answered");
            let _ = request.peer.notify_progress(note).await;
        }
        if let (Some(selection), Value::Object(object)) = (selection, &mut value) {
            object.insert("provider_selection".to_owned(), serde_json::to_value(selection).expect("a selection serializes"));
        }
        Ok(value)
    }
}

type RouteOperation<C> = dyn Fn(C, ToolCall) -> RouteFuture + Send + Sync;

/// The route of one tool: validation and everything else shared, then `operation`, the
/// generated SDK call.
pub fn route<H, F>(spec: &'static ToolSpec, operation: F) -> ToolRoute<ToolServer<H>>
where
    H: Host,
    F: Fn(H::Client, ToolCall) -> RouteFuture + Send + Sync + 'static,
{
    let operation: Arc<RouteOperation<H::Client>> = Arc::new(operation);
    ToolRoute::new_dyn(spec.tool(), move |mut context: ToolCallContext<'_, ToolServer<H>>| {
        let operation = Arc::clone(&operation);
        Box::pin(async move {
            let arguments = context.arguments.take();
            let server = context.service;
            let outcome = server.execute(spec, arguments, &context.request_context, &*operation).await;
            Ok(CallToolResponse::from(into_result(spec, outcome)))
        })
    })
}

fn into_result(spec: &ToolSpec, outcome: Result<Value, ToolError>) -> CallToolResult {
    match outcome {
        Ok(value) => {
            let text = summary(spec, &value);
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            result.structured_content = Some(value);
            result
        }
        Err(error) => {
            match &error {
                ToolError::InvalidArguments { .. } | ToolError::Cancelled => {
                    tracing::debug!(tool = spec.name, "tool call refused: {error}")
                }
                _ => tracing::warn!(
                    tool = spec.name,
                    operation = spec.operation,
                    retryable = error.is_retryable(),
                    "tool call failed: {error}"
                ),
            }
            CallToolResult::error(vec![ContentBlock::text(error.to_string())])
        }
    }
}

/// Results up to this size are also given as JSON text, for clients that read only text.
const FULL_TEXT_LIMIT: usize = 2048;

/// The text block beside `structuredContent`: the JSON itself when it is small, else a short
/// summary, so that a page of 50 messages is not sent twice. Clerk Chat wraps answers in
/// `{"data": ...}`; a list is summarized by its length and `total`, an object by its id and status.
fn summary(spec: &ToolSpec, value: &Value) -> String {
    let json = value.to_string();
    if json.len() <= FULL_TEXT_LIMIT {
        return json;
    }
    let data = value.get("data").unwrap_or(value);
    let described = match data {
        Value::Array(items) => match value.get("total").and_then(Value::as_i64) {
            Some(total) => format!("{} of {total} item(s)", items.len()),
            None => format!("{} item(s)", items.len()),
        },
        Value::Object(object) => {
            let id = object.get("id").map(|id| format!(" {id}")).unwrap_or_default();
            let status = object.get("status").and_then(Value::as_str).map(|status| format!(", status {status}")).unwrap_or_default();
            format!("one item{id}{status}")
        }
        other => other.to_string(),
    };
    format!("{}: {described}. The full result ({} bytes of JSON) is in structuredContent.", spec.title, json.len())
}

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

async fn upstream_error<E: Serialize + std::fmt::Debug>(error: SdkError<E>) -> ToolError {
    match error {
        SdkError::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let body = serde_json::to_value(response.into_inner()).unwrap_or(Value::Null);
            ToolError::Upstream { status, message: upstream_message(&body), retryable: retryable_status(status), may_have_happened: false }
        }
        SdkError::UnexpectedResponse(response) => {
            // A status the spec does not list (a proxy's 502, say): its body may still explain.
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let message = match serde_json::from_str::<Value>(&text) {
                Ok(body) => upstream_message(&body),
                Err(_) if !text.trim().is_empty() => text.trim().chars().take(200).collect(),
                Err(_) => "no error details were given".to_owned(),
            };
            ToolError::Upstream { status, message, retryable: retryable_status(status), may_have_happened: false }
        }
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

/// reqwest's messages include the URL; the path is harmless, but keep errors short.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" ({url})"), "").replace(url.as_str(), "Clerk Chat");
    }
    text
}

fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
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

fn narrow_enum(schema: &mut JsonObject, argument: &str, enabled: &[String]) {
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

impl<H: Host> ServerHandler for ToolServer<H> {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(self.inner.info.clone());
        if let Some(instructions) = &self.inner.instructions {
            config = config.with_instructions(instructions.clone());
        }
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.inner.tools.clone()))
    }

    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        self.inner.router.call(ToolCallContext::new(self, request, context)).await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.tools.iter().find(|tool| tool.name == name).cloned()
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
    fn large_results_get_a_summary_small_ones_their_json() {
        let spec = &crate::tools::GET_MESSAGES;
        let small = json!({"data": [], "total": 0});
        assert_eq!(summary(spec, &small), small.to_string());
        let page = json!({"data": vec![json!({"id": 1, "body": "x".repeat(100)}); 50], "total": 1000});
        assert_eq!(
            summary(spec, &page),
            format!(
                "Find messages: 50 of 1000 item(s). The full result ({} bytes of JSON) is in structuredContent.",
                page.to_string().len()
            )
        );
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

    #[test]
    fn narrowing_keeps_only_enabled_providers_in_spec_order() {
        let mut schema =
            json!({"properties": {"provider": {"type": "string", "enum": ["twilio", "bandwidth", "telnyx"]}}}).as_object().unwrap().clone();
        narrow_enum(&mut schema, "provider", &["telnyx".to_owned(), "twilio".to_owned(), "unknown".to_owned()]);
        assert_eq!(schema["properties"]["provider"]["enum"], json!(["twilio", "telnyx"]));
    }
}
