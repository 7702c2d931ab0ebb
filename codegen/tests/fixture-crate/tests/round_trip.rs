//! The real-world fixture's generated tools against a small API on loopback: a form body with
//! a fixed and a given header and the bearer token the spec's security scheme asks for, a 204
//! and a text answer, each through a real MCP client.

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use clerk_chat::mcp::{Host, HostError, ToolServer};
use clerk_codegen_fixtures::real_world::{sdk, tools};
use rmcp::model::{CallToolRequestParams, Implementation};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServiceExt};
use serde_json::{Value, json};

struct Fixture {
    base_url: String,
}

impl Host for Fixture {
    type Client = sdk::Client;
    fn upstream_client(&self, _request: &RequestContext<RoleServer>) -> Result<sdk::Client, HostError> {
        Ok(clerk_codegen_fixtures::real_world_client(&self.base_url, &clerk_chat::ApiKey::new("fixture-token").unwrap()))
    }
}

/// Answers a form post only when it is one, with the headers the tool must send.
async fn post_note(headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let header_text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
    let form = String::from_utf8_lossy(&body).into_owned();
    let expected =
        (header_text("authorization"), header_text("content-type"), header_text("x-api-version"), header_text("x-request-source"));
    let wanted = ("Bearer fixture-token", "application/x-www-form-urlencoded", "2026-01-01", "round-trip");
    if expected != (wanted.0.to_owned(), wanted.1.to_owned(), wanted.2.to_owned(), wanted.3.to_owned()) {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"title": "bad request", "detail": format!("{expected:?}")})));
    }
    let title = form.split('&').find_map(|pair| pair.strip_prefix("title=")).unwrap_or("").replace('+', " ");
    let pinned = form.contains("pinned=true");
    let note = json!({"id": "n1", "title": title, "body": {"type": "text", "text": form}, "labels": {"pinned": pinned.to_string()}});
    (StatusCode::CREATED, axum::Json(note))
}

async fn delete_note(Path(note_id): Path<String>) -> axum::response::Response {
    if note_id == "n1" {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, axum::Json(json!({"title": "not found", "detail": format!("no note {note_id}")}))).into_response()
    }
}

async fn note_text(Path(note_id): Path<String>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], format!("Note {note_id}: milk, eggs"))
}

async fn start_api() -> String {
    let app = Router::new()
        .route("/notes", post(post_note))
        .route("/notes/{note_id}", delete(delete_note))
        .route("/notes/{note_id}/text", get(note_text));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test]
async fn form_bodies_headers_204s_and_text_answers_round_trip_through_the_tools() {
    let base_url = start_api().await;
    let server = ToolServer::new(Fixture { base_url }, tools::tool_router(), &tools::TOOLS, Implementation::new("fixture", "0"), None);
    let (server_side, client_side) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move { server.serve(server_side).await.unwrap().waiting().await });
    let client = ().serve(client_side).await.unwrap();
    let call = |name: &'static str, arguments: Value| {
        let request = CallToolRequestParams::new(name).with_arguments(arguments.as_object().unwrap().clone());
        let client = &client;
        async move { client.call_tool(request).await.unwrap() }
    };

    let listed = client.list_all_tools().await.unwrap();
    let post_schema = &listed.iter().find(|tool| tool.name == "post_note").unwrap().input_schema;
    assert!(post_schema["properties"].get("X-Api-Version").is_none(), "the fixed header is not an argument");

    let posted = call("post_note", json!({"title": "Milk and eggs", "pinned": true, "request_source": "round-trip"})).await;
    assert_ne!(posted.is_error, Some(true), "{posted:?}");
    let note = posted.structured_content.unwrap();
    assert_eq!(note["title"], "Milk and eggs");
    assert_eq!(note["body"]["text"], "pinned=true&title=Milk+and+eggs", "sent form-encoded (fields in the SDK type's order)");

    let deleted = call("delete_note", json!({"note_id": "n1"})).await;
    assert_eq!(deleted.structured_content, Some(json!({"status": 204})), "{deleted:?}");
    let missing = call("delete_note", json!({"note_id": "n2"})).await;
    assert_eq!(missing.is_error, Some(true));
    assert!(format!("{missing:?}").contains("404"), "{missing:?}");

    let text = call("get_note_text", json!({"note_id": "n1"})).await;
    assert_eq!(text.structured_content, Some(json!({"status": 200, "text": "Note n1: milk, eggs"})), "{text:?}");
    client.cancel().await.unwrap();
}
