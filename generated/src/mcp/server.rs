//! The MCP server handler that serves the generated routes, and the steps every call shares.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::handler::server::tool::{ToolCallContext, ToolRoute, ToolRouter};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, JsonObject, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProgressToken, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;

use crate::mcp::arguments::ToolCall;
use crate::mcp::cost::{cost_of, record_cost};
use crate::mcp::drain::InFlightCalls;
use crate::mcp::error::ToolError;
use crate::mcp::host::{Host, ProviderSelection};
use crate::mcp::profiles::ClientProfile;
use crate::mcp::providers::{narrow_enum, record_selection, select_provider};
use crate::mcp::results::{OutputShape, into_result};
use crate::mcp::safety::{Before, SafeSend, confirm_with_user};
use crate::mcp::spec::{Role, ToolSpec};

/// What a route's body returns: the upstream answer as JSON, or why there is none.
pub(super) type RouteFuture = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send>>;

/// The generated SDK call of one route, behind a pointer so that every call of the tool shares it.
type RouteOperation<C> = dyn Fn(C, ToolCall) -> RouteFuture + Send + Sync;

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
    in_flight: InFlightCalls,
}

/// A tool's input schema as served, compiled once at start-up rather than on every call.
struct Prepared {
    spec: &'static ToolSpec,
    schema: Value,
    /// The input schema as the client profile lists it, to tell a caller when a rule it broke
    /// was not in the schema it was shown.
    listed: Value,
    validator: jsonschema::Validator,
}

impl<H: Host> Clone for ToolServer<H> {
    fn clone(&self) -> Self {
        ToolServer { inner: Arc::clone(&self.inner) }
    }
}

impl<H: Host> ToolServer<H> {
    /// `router` and `specs` are the generated `tool_router()` and `TOOLS`, or the part of
    /// `TOOLS` to serve: a route without a spec here is dropped, so that tool is neither listed
    /// nor callable (a call gets the answer of an unknown tool). `info` names the server to
    /// clients; set it explicitly, rmcp's default names rmcp itself.
    pub fn new(
        host: H,
        mut router: ToolRouter<ToolServer<H>>,
        specs: &[&'static ToolSpec],
        info: Implementation,
        instructions: Option<String>,
    ) -> ToolServer<H> {
        router.map.retain(|name, _| specs.iter().any(|spec| spec.name == name.as_ref()));
        let enabled_providers = host.enabled_providers();
        let profile = host.client_profile();
        let mut prepared = HashMap::new();
        for spec in specs {
            prepared.insert(spec.name, prepare(spec, enabled_providers.as_deref(), profile, &mut router));
        }
        let tools = router.list_all();
        ToolServer { inner: Arc::new(Inner { host, router, tools, prepared, info, instructions, in_flight: InFlightCalls::default() }) }
    }

    /// Resolves once no tool call is running, for a graceful shutdown.
    pub async fn drained(&self) {
        self.inner.in_flight.drained().await;
    }

    /// The host the tools run on, as given to [`ToolServer::new`].
    pub fn host(&self) -> &H {
        &self.inner.host
    }

    /// The tools as `tools/list` shows them, with provider enums narrowed to the enabled providers.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    /// The steps every call shares, in the order that sends nothing upstream unless the
    /// caller may make the call, its arguments are valid, and the safety of sends allows it.
    async fn execute(
        &self,
        spec: &'static ToolSpec,
        arguments: Option<JsonObject>,
        request: &RequestContext<RoleServer>,
        operation: &RouteOperation<H::Client>,
    ) -> Result<Value, ToolError> {
        let _in_flight = self.inner.in_flight.start();
        let host = &self.inner.host;
        host.check_scope(request, spec.scope)?;
        let prepared = self.inner.prepared.get(spec.name).expect("every routed tool was prepared in ToolServer::new");
        let mut call = ToolCall::prepare(prepared.spec, arguments, &prepared.validator, &prepared.schema, &prepared.listed)?;
        let settings = host.safety_settings();
        let guard = SafeSend::new(host.safe_sends(), settings.clone(), spec, host.account(request), &mut call)?;
        let selection = select_provider(host, spec, &mut call)?;
        let cost = cost_of(spec, &call);
        let client = host.upstream_client(request)?;
        let Some(guard) = guard else {
            return call_upstream(spec, request, operation, client, call, selection, cost).await;
        };
        if let Before::Answer(value) = guard.before(&client, &call).await? {
            return Ok(value);
        }
        let outcome = guard
            .hold(async {
                confirm_with_user(request, spec, &call, &settings).await?;
                call_upstream(spec, request, operation, client, call.clone(), selection, cost).await
            })
            .await;
        guard.after(outcome).await
    }
}

/// The call itself, with progress for a tool that reports it and the client's cancellation;
/// the result carries the provider chosen and the cost of the send.
async fn call_upstream<C>(
    spec: &'static ToolSpec,
    request: &RequestContext<RoleServer>,
    operation: &RouteOperation<C>,
    client: C,
    call: ToolCall,
    selection: Option<ProviderSelection>,
    cost: Option<Value>,
) -> Result<Value, ToolError> {
    let progress_token = if spec.progress { request.meta.get_progress_token() } else { None };
    if let Some(token) = &progress_token {
        notify_progress(request, token.clone(), 0.0, format!("sending {} to Clerk Chat", spec.name)).await;
    }
    let mut value = tokio::select! {
        biased;
        () = request.ct.cancelled() => return Err(ToolError::Cancelled),
        outcome = operation(client, call) => outcome?,
    };
    if let Some(token) = progress_token {
        notify_progress(request, token, 1.0, "Clerk Chat answered".to_owned()).await;
    }
    record_selection(&mut value, selection, spec.argument_with_role(Role::Provider).is_some());
    record_cost(&mut value, cost);
    Ok(value)
}

/// Narrows the tool's provider enum to the enabled providers, lists that schema as the client
/// profile shapes it, and compiles the full schema for validating calls.
fn prepare<H: Host>(
    spec: &'static ToolSpec,
    enabled_providers: Option<&[String]>,
    profile: ClientProfile,
    router: &mut ToolRouter<ToolServer<H>>,
) -> Prepared {
    let mut schema = spec.input_schema();
    if let (Some(enabled), Some(provider)) = (enabled_providers, spec.argument_with_role(Role::Provider)) {
        narrow_enum(&mut schema, provider.name, enabled);
    }
    let schema = Value::Object(schema);
    let listed = profile.adapt_input_schema(&schema);
    if let Some(route) = router.map.get_mut(spec.name) {
        if let Value::Object(listed) = &listed {
            route.attr.input_schema = Arc::new(listed.clone());
        }
        if !profile.lists_output_schema() {
            route.attr.output_schema = None;
        }
    }
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|error| panic!("the generated input schema of `{}` is not a valid JSON Schema: {error}", spec.name));
    Prepared { spec, schema, listed, validator }
}

/// The answer to a call of a tool this server does not serve: the name, the closest served
/// tool when one is near enough to be a slip (`send_sms` -> `send_message`), and the list.
/// Still rmcp's `-32602` (invalid params), which clients show as a failed call.
fn unknown_tool(name: &str, tools: &[Tool]) -> ErrorData {
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    // A name that shares a word with a tool (`send_sms`, `messages`) is suggested too.
    let suggestion = clerk_support::did_you_mean::closest(name, names.iter().copied()).or_else(|| {
        let words: Vec<&str> = name.split(['_', '-']).filter(|word| word.len() > 2).collect();
        names.iter().copied().find(|tool| tool.split(['_', '-']).any(|part| words.contains(&part)))
    });
    let hint = suggestion.map(|tool| format!("did you mean `{tool}`? ")).unwrap_or_default();
    let shown: String = name.chars().take(64).flat_map(char::escape_default).collect();
    ErrorData::invalid_params(format!("tool not found: `{shown}`; {hint}the tools are: {}", names.join(", ")), None)
}

/// Tells the client how far a call got, out of a total of 1.
async fn notify_progress(request: &RequestContext<RoleServer>, token: ProgressToken, progress: f64, message: String) {
    let note = ProgressNotificationParam::new(token, progress).with_total(1.0).with_message(message);
    // A client that went away cannot be told; the call itself goes on.
    let _ = request.peer.notify_progress(note).await;
}

/// The route of one tool: validation and everything else shared, then `operation`, the
/// generated SDK call.
pub fn route<H, F>(spec: &'static ToolSpec, operation: F) -> ToolRoute<ToolServer<H>>
where
    H: Host,
    F: Fn(H::Client, ToolCall) -> RouteFuture + Send + Sync + 'static,
{
    let operation: Arc<RouteOperation<H::Client>> = Arc::new(operation);
    let tool = spec.tool();
    let output = Arc::new(OutputShape::new(spec, &tool));
    ToolRoute::new_dyn(tool, move |mut context: ToolCallContext<'_, ToolServer<H>>| {
        let operation = Arc::clone(&operation);
        let output = Arc::clone(&output);
        Box::pin(async move {
            let arguments = context.arguments.take();
            let server = context.service;
            let outcome =
                server.execute(spec, arguments, &context.request_context, &*operation).await.and_then(|value| output.conform(value));
            if let Err(error) = &outcome {
                log_failure(spec, error);
            }
            Ok(CallToolResponse::from(into_result(spec, outcome)))
        })
    })
}

/// A refusal of the caller's own making is routine and logged quietly; any other failure is
/// one an operator may need to see. The message can hold what the caller or Clerk Chat sent, so
/// it is logged escaped: it cannot start a line of its own.
fn log_failure(spec: &ToolSpec, error: &ToolError) {
    let message = error.to_string();
    match error {
        ToolError::InvalidArguments { .. } | ToolError::Cancelled => {
            tracing::debug!(tool = spec.name, error = ?message, "tool call refused")
        }
        _ => tracing::warn!(
            tool = spec.name,
            operation = spec.operation,
            retryable = error.is_retryable(),
            error = ?message,
            "tool call failed"
        ),
    }
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        if !self.inner.host.lists_only_usable_tools() {
            return Ok(ListToolsResult::with_all_items(self.inner.tools.clone()));
        }
        let usable = |tool: &&Tool| {
            let scope = self.inner.prepared.get(tool.name.as_ref()).map(|prepared| prepared.spec.scope);
            scope.is_none_or(|scope| self.inner.host.check_scope(&context, scope).is_ok())
        };
        Ok(ListToolsResult::with_all_items(self.inner.tools.iter().filter(usable).cloned().collect()))
    }

    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        if !self.inner.router.has_route(&request.name) {
            return Err(unknown_tool(&request.name, &self.inner.tools));
        }
        self.inner.router.call(ToolCallContext::new(self, request, context)).await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.inner.tools.iter().find(|tool| tool.name == name).cloned()
    }
}
