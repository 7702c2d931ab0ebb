//! A shutdown lets a tool call in flight finish before the server closes its sessions.

mod common;

use std::time::Duration;

use common::{call, connect, ok};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An upstream that answers every request after `delay`, with an empty contact list.
async fn slow_upstream(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0_u8; 8192];
                let _ = socket.read(&mut request).await;
                tokio::time::sleep(delay).await;
                let body = r#"{"data":[]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_call_in_flight_finishes_during_shutdown() {
    let upstream = slow_upstream(Duration::from_millis(700)).await;
    let directory = tempfile::tempdir().unwrap();
    let mut settings = common::settings(directory.path(), |options| options.upstream = Some(upstream));
    settings.api_key = Some("ck_test_key".to_owned());
    let server = clerk_mcp::start_http(&settings).await.unwrap();
    let (client, _) = connect(&server.mcp_url()).await;
    let in_flight = tokio::spawn(async move {
        let result = call(&client, "search_contacts", json!({})).await;
        (client, result)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let address = server.address;
    let shutting_down = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err(), "a stopping server accepts no new connections");
    let (client, result) = tokio::time::timeout(Duration::from_secs(5), in_flight).await.expect("the call in flight finishes").unwrap();
    assert_eq!(ok(result), json!({"data": []}), "the call that was running got its answer");
    tokio::time::timeout(Duration::from_secs(5), shutting_down).await.expect("the server stops once the call is done").unwrap();
    drop(client);
}
