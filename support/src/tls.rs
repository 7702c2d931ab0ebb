//! The TLS crypto provider for reqwest clients. reqwest is built without one (to avoid
//! compiling aws-lc beside ring), so every process that makes HTTPS requests installs ring as
//! its default provider before building a client; this is the one place that does it.

/// Installs ring as the process's rustls crypto provider, unless one is installed already.
/// Cheap and idempotent: call it before building any reqwest client.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; its provider is ring too, so losing it is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
