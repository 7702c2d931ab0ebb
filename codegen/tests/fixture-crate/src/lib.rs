//! The generator's accepted fixture outputs, compiled: if a snapshot is accepted that does not
//! build, this crate fails to build, and so does the workspace.

/// The outputs for `fixtures/coverage`, the spec and manifest written to cover what the generator emits.
pub mod coverage {
    /// The generated SDK of the fixture spec.
    #[allow(clippy::all, unused_imports, unused_qualifications, dead_code, missing_docs, unreachable_pub)]
    #[rustfmt::skip]
    pub mod sdk {
        include!(concat!(env!("OUT_DIR"), "/coverage_sdk.rs"));
    }
    /// The generated MCP tools of the fixture manifest.
    #[allow(clippy::all, unused_imports, dead_code, missing_docs, unreachable_pub)]
    #[rustfmt::skip]
    pub mod tools {
        include!(concat!(env!("OUT_DIR"), "/coverage_tools.rs"));
    }
}

/// The outputs for `fixtures/real-world`: an OpenAPI 3.1 spec with form bodies, header
/// parameters, 204 and text answers, and operations the generator leaves out.
pub mod real_world {
    /// The generated SDK of the fixture spec.
    #[allow(clippy::all, unused_imports, unused_qualifications, dead_code, missing_docs, unreachable_pub)]
    #[rustfmt::skip]
    pub mod sdk {
        include!(concat!(env!("OUT_DIR"), "/real_world_sdk.rs"));
    }
    /// The generated MCP tools of the fixture manifest.
    #[allow(clippy::all, unused_imports, dead_code, missing_docs, unreachable_pub)]
    #[rustfmt::skip]
    pub mod tools {
        include!(concat!(env!("OUT_DIR"), "/real_world_tools.rs"));
    }
}

/// A client of the real-world fixture's SDK for `base_url` that sends `key` as the spec's
/// security scheme says, without retries: the generated constructor is crate-private (as in
/// clerk-chat), so tests outside the crate get one here. The TLS configuration is the
/// client's own, as clerk-chat's (reqwest has no process default).
pub fn real_world_client(base_url: &str, key: &clerk_chat::ApiKey) -> real_world::sdk::Client {
    let tls = clerk_support::tls::client_config().expect("the platform's certificate verifier loads");
    let headers = real_world::sdk::AUTHENTICATION.header(key).into_iter().collect();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .default_headers(headers)
        .build()
        .expect("a client with its own TLS configuration builds");
    real_world::sdk::Client::new_with_client(base_url, http, clerk_chat::RetryPolicy::none())
}
