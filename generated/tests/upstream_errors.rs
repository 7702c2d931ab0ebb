//! How the runtime reports upstream failures, against real HTTP answers on loopback.

use clerk_chat::mcp::{ToolError, respond};
use clerk_chat::{ApiKey, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A one-shot HTTP server that answers every connection with `status` and a JSON `body`.
async fn answering(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0_u8; 8192];
            let _ = socket.read(&mut request).await;
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{address}")
}

fn client(base_url: &str) -> Client {
    Client::with_api_key(base_url, &ApiKey::new("ck_test_key").unwrap()).unwrap()
}

#[tokio::test]
async fn a_422_carries_status_message_and_no_retry() {
    let base = answering(
        "422 Unprocessable Entity",
        r#"{"statusCode":422,"message":["sender must be a phone number of this team"],"error":"Unprocessable Entity"}"#,
    )
    .await;
    let error = respond(client(&base).search_contacts().send().await).await.unwrap_err();
    assert!(matches!(error, ToolError::Upstream { status: 422, retryable: false, .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("422 Unprocessable Entity: sender must be a phone number of this team"), "{text}");
    assert!(text.contains("will not help"), "{text}");
}

#[tokio::test]
async fn a_429_and_a_503_are_retryable() {
    for (status, code) in [("429 Too Many Requests", 429), ("503 Service Unavailable", 503)] {
        let base = answering(status, r#"{"message":"slow down"}"#).await;
        let error = respond(client(&base).find_messages().send().await).await.unwrap_err();
        assert!(error.is_retryable(), "{error:?}");
        assert!(matches!(error, ToolError::Upstream { status, .. } if status == code), "{error:?}");
        assert!(error.to_string().contains("slow down"), "{error}");
    }
}

#[tokio::test]
async fn an_answer_that_breaks_the_spec_is_reported_as_such() {
    let base = answering("200 OK", r#"{"data": "not a list"}"#).await;
    let error = respond(client(&base).search_contacts().send().await).await.unwrap_err();
    assert!(matches!(error, ToolError::UnexpectedAnswer { .. }), "{error:?}");
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_surely_not_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = respond(client(&format!("http://{address}")).find_messages().send().await).await.unwrap_err();
    assert!(matches!(error, ToolError::Unreachable { may_have_happened: false, .. }), "{error:?}");
    assert!(!error.to_string().contains("ck_test_key"));
}

#[tokio::test]
async fn a_success_is_the_body_as_json() {
    let base = answering("200 OK", r#"{"data": [{"id": "c1", "name": "Ada", "optOut": false}]}"#).await;
    let value = respond(client(&base).search_contacts().send().await).await.unwrap();
    assert_eq!(value["data"][0]["name"], "Ada");
}
