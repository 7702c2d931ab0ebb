//! Client ID metadata documents cannot fill the server's memory: hundreds of large documents
//! at distinct URLs leave its RSS nearly where it was, failures are not fetched again, each host
//! gets a few fetches a minute, and no proxy from the environment is used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use serde_json::json;

use super::{CALLBACK, authorize_url, forwarded_address};
use crate::common::browser::Browser;
use crate::common::spawned::SpawnedServer;

/// Hosts serving documents, and documents per host: the per-host limit's worth each.
const HOSTS: usize = 30;
const DOCUMENTS_PER_HOST: usize = 10;

/// Serves `/client/N.json` (a 60 KB document naming itself) and `/missing.json` (404) on
/// 127.0.0.2, 127.0.0.3, ...; counts every request.
async fn document_hosts() -> (Vec<SocketAddr>, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let mut addresses = Vec::new();
    for host in 0..HOSTS {
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.{}:0", host + 2)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route(
                "/client/{file}",
                axum::routing::get(
                    |State((address, served)): State<(SocketAddr, Arc<AtomicUsize>)>, Path(file): Path<String>| async move {
                        served.fetch_add(1, Ordering::SeqCst);
                        axum::Json(json!({
                            "client_id": format!("http://{address}/client/{file}"),
                            "client_name": format!("App {file}"),
                            "redirect_uris": [CALLBACK],
                            "logo_uri": format!("http://{address}/{}", "x".repeat(60_000)),
                        }))
                    },
                ),
            )
            .route(
                "/missing.json",
                axum::routing::get(|State((_, served)): State<(SocketAddr, Arc<AtomicUsize>)>| async move {
                    served.fetch_add(1, Ordering::SeqCst);
                    axum::http::StatusCode::NOT_FOUND
                }),
            )
            .with_state((address, Arc::clone(&served)));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addresses.push(address);
    }
    (addresses, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_large_metadata_documents_leave_memory_bounded() {
    let (hosts, served) = document_hosts().await;
    // A proxy that does not exist: a server that honoured the environment would fail every fetch.
    let dead_proxy = "http://127.0.0.1:9";
    let server = SpawnedServer::start(
        &["--auth", "builtin", "--trusted-proxy", "127.0.0.1"],
        &[("HTTP_PROXY", dead_proxy), ("HTTPS_PROXY", dead_proxy), ("http_proxy", dead_proxy), ("ALL_PROXY", dead_proxy)],
    );
    let browser = Browser::new(server.base.clone());
    let open = |client_id: String, n: usize| {
        let request = browser.http.get(authorize_url(&browser, &client_id, "s")).header("x-forwarded-for", forwarded_address(n));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // One sign-in page first, so that the baseline includes the server's warmed-up allocations.
    assert_eq!(open(format!("http://{}/client/warm.json", hosts[0]), 0).await.0, 200);
    let before = server.rss_mib();
    let mut opened = 1;
    for (host_index, host) in hosts.iter().enumerate() {
        let already = usize::from(host_index == 0);
        for document in already..DOCUMENTS_PER_HOST {
            let (status, page) = open(format!("http://{host}/client/{document}.json"), opened).await;
            assert_eq!(status, 200, "document {document} of {host}: {page}");
            opened += 1;
        }
    }
    let growth = server.rss_mib() - before;
    eprintln!("RSS before {before:.1} MiB, growth {growth:.1} MiB");
    assert_eq!(opened, HOSTS * DOCUMENTS_PER_HOST);
    assert!(growth < 64.0, "{opened} documents of 60 KB grew the server by {growth:.1} MiB");
    assert_eq!(served.load(Ordering::SeqCst), opened, "each document fetched once, directly (no proxy)");

    // A host's allowance is spent: its next document is not fetched.
    let (status, page) = open(format!("http://{}/client/over.json", hosts[1]), opened).await;
    assert_eq!(status, 400);
    assert!(page.contains("too many sign-ins by apps whose client IDs are at 127.0.0.3"), "{page}");
    assert_eq!(served.load(Ordering::SeqCst), opened);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_document_is_not_fetched_again_at_once() {
    let (hosts, served) = document_hosts().await;
    let server = SpawnedServer::start(&["--auth", "builtin", "--trusted-proxy", "127.0.0.1"], &[]);
    let browser = Browser::new(server.base.clone());
    let missing = format!("http://{}/missing.json", hosts[0]);
    for n in 0..20 {
        let response =
            browser.http.get(authorize_url(&browser, &missing, "s")).header("x-forwarded-for", forwarded_address(n)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        assert!(response.text().await.unwrap().contains("it answered 404 Not Found"));
    }
    assert_eq!(served.load(Ordering::SeqCst), 1, "20 requests, one fetch");
}
