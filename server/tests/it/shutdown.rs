//! A shutdown lets a tool call in flight finish before the server closes its sessions, and a
//! cancelled call stops its upstream request.

use std::time::Duration;

use crate::common::{self, call, connect, ok, slow_upstream};
use serde_json::json;

#[tokio::test]
async fn a_call_in_flight_finishes_during_shutdown() {
    let (upstream, _) = slow_upstream(Duration::from_millis(700)).await;
    let directory = tempfile::tempdir().unwrap();
    let mut settings = common::settings(directory.path(), &["--upstream", &upstream]);
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

#[tokio::test]
async fn a_cancelled_call_drops_its_upstream_request() {
    let (upstream, abandoned) = slow_upstream(Duration::from_secs(3)).await;
    let directory = tempfile::tempdir().unwrap();
    let mut settings = common::settings(directory.path(), &["--upstream", &upstream]);
    settings.api_key = Some("ck_test_key".to_owned());
    let server = clerk_mcp::start_http(&settings).await.unwrap();
    let (client, _) = connect(&server.mcp_url()).await;
    let request = rmcp::model::ClientRequest::CallToolRequest(rmcp::model::CallToolRequest::new(rmcp::model::CallToolRequestParams::new(
        "search_contacts",
    )));
    let handle = client.peer().send_cancellable_request(request, rmcp::service::PeerRequestOptions::no_options()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(abandoned.load(std::sync::atomic::Ordering::SeqCst), 0, "the upstream request is under way");
    handle.cancel(Some("the user changed their mind".to_owned())).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while abandoned.load(std::sync::atomic::Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        abandoned.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the server dropped the upstream request when the call was cancelled"
    );
    // Nothing is left in flight: a shutdown does not wait for the cancelled call.
    let started = std::time::Instant::now();
    client.cancel().await.unwrap();
    server.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
}
