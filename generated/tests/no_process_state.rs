//! Building and using an SDK client changes nothing in the process: rustls's process-wide
//! default crypto provider stays unset, because each client carries its own TLS configuration.

use clerk_chat::{ApiKey, Client};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn a_client_needs_and_installs_no_process_wide_tls_provider() {
    // A server that answers the TLS client hello with plain HTTP: the handshake starts, with
    // the client's own configuration, and fails.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let client = Client::with_api_key(&format!("https://{address}"), &ApiKey::new("ck_test_key").unwrap()).unwrap();
    assert!(rustls::crypto::CryptoProvider::get_default().is_none(), "building a client installed a provider");
    let error = client.find_messages().send().await.unwrap_err();
    assert!(matches!(error, progenitor_client::Error::CommunicationError(_)), "{error:?}");
    assert!(rustls::crypto::CryptoProvider::get_default().is_none(), "a request installed a provider");
}
