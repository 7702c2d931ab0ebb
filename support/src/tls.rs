//! The TLS crypto provider for reqwest clients. reqwest is built without one (to avoid
//! compiling aws-lc beside ring), so a client gets ring either through its own configuration
//! ([`client_config`], what the SDK does: a library must not change its user's process) or
//! from the process's default ([`install_crypto_provider`], for this project's other clients).

use std::sync::Arc;

/// A rustls client configuration with ring as its crypto provider and the platform's
/// certificate verifier (reqwest's own choice of verifier), offering HTTP/2 and HTTP/1.1, for
/// `reqwest::ClientBuilder::tls_backend_preconfigured`. Touches no process-wide state.
pub fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Installs ring as the process's rustls crypto provider, unless one is installed already.
/// Cheap and idempotent: call it before building any reqwest client.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; its provider is ring too, so losing it is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
