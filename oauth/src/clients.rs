//! OAuth clients: dynamic registration (RFC 7591), client ID metadata documents, and the
//! redirect URI rules (exact match; any port on loopback for native apps, RFC 8252 7.3).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use url::Url;

use crate::store::ClientRecord;

/// Registration limits: enough for every real client, small enough that a registration is cheap.
const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI_LENGTH: usize = 2000;
const MAX_CLIENT_NAME: usize = 100;
/// A client ID metadata document larger than this is refused.
const MAX_METADATA_DOCUMENT: usize = 64 * 1024;
/// How long a fetched metadata document is trusted before it is fetched again.
const METADATA_CACHE_TTL: Duration = Duration::from_secs(300);

/// An RFC 7591 error: `(error code, description for the developer)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistrationError {
    pub code: &'static str,
    pub description: String,
}

impl RegistrationError {
    fn metadata(description: impl Into<String>) -> RegistrationError {
        RegistrationError { code: "invalid_client_metadata", description: description.into() }
    }
    fn redirect(description: impl Into<String>) -> RegistrationError {
        RegistrationError { code: "invalid_redirect_uri", description: description.into() }
    }
}

pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// A redirect URI a client may register: https, http on loopback, or a native app's private-use
/// scheme; never a fragment, never a scheme that runs code in the browser.
pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), RegistrationError> {
    if uri.len() > MAX_URI_LENGTH {
        return Err(RegistrationError::redirect(format!("redirect URI longer than {MAX_URI_LENGTH} characters")));
    }
    let parsed = Url::parse(uri).map_err(|error| RegistrationError::redirect(format!("`{uri}` is not an absolute URI: {error}")))?;
    if parsed.fragment().is_some() {
        return Err(RegistrationError::redirect(format!("`{uri}` has a fragment (#...); redirect URIs must not")));
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback_host(&parsed) => Ok(()),
        "http" => Err(RegistrationError::redirect(format!(
            "`{uri}` uses http on a host that is not loopback; use https, or http://127.0.0.1:PORT/... for an app on this machine"
        ))),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "https" => {
            Err(RegistrationError::redirect(format!("`{uri}` cannot be a redirect URI")))
        }
        _ => Ok(()),
    }
}

/// Exact match, except that a loopback http redirect may use any port (RFC 8252 7.3): native
/// apps listen on whatever port is free.
pub(crate) fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(registered), Ok(requested)) = (Url::parse(registered), Url::parse(requested)) else { return false };
    registered.scheme() == "http"
        && requested.scheme() == "http"
        && is_loopback_host(&registered)
        && registered.host_str() == requested.host_str()
        && registered.path() == requested.path()
        && registered.query() == requested.query()
        && requested.fragment().is_none()
        && requested.username().is_empty()
        && requested.password().is_none()
}

/// Checks an RFC 7591 registration request and returns the client to store, with the
/// registration response. Every client is public (`token_endpoint_auth_method: none`) and uses
/// PKCE: a secret in an app on a user's machine protects nothing.
pub(crate) fn register(request: &Value, client_id: String, issued_at: i64) -> Result<ClientRecord, RegistrationError> {
    let object = request.as_object().ok_or_else(|| RegistrationError::metadata("the registration must be a JSON object"))?;
    let redirect_uris = redirect_uris(object.get("redirect_uris"))?;
    let client_name = client_name(object.get("client_name"))?.unwrap_or_else(|| "Unnamed app".to_owned());
    for (field, allowed) in [("grant_types", &["authorization_code", "refresh_token"][..]), ("response_types", &["code"][..])] {
        if let Some(values) = object.get(field) {
            let values = values.as_array().ok_or_else(|| RegistrationError::metadata(format!("{field} must be an array of strings")))?;
            for value in values {
                if !value.as_str().is_some_and(|value| allowed.contains(&value)) {
                    return Err(RegistrationError::metadata(format!(
                        "{field}: {value} is not supported; supported: {}",
                        allowed.join(", ")
                    )));
                }
            }
        }
    }
    let registration = json!({
        "client_id": client_id,
        "client_id_issued_at": issued_at,
        "client_name": client_name,
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    Ok(ClientRecord { client_id, client_name, redirect_uris, registration })
}

fn redirect_uris(value: Option<&Value>) -> Result<Vec<String>, RegistrationError> {
    let list = value
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty())
        .ok_or_else(|| RegistrationError::redirect("redirect_uris is required: a non-empty array of URIs"))?;
    if list.len() > MAX_REDIRECT_URIS {
        return Err(RegistrationError::redirect(format!("at most {MAX_REDIRECT_URIS} redirect URIs")));
    }
    list.iter()
        .map(|uri| {
            let uri = uri.as_str().ok_or_else(|| RegistrationError::redirect("every redirect URI must be a string"))?;
            check_redirect_uri(uri)?;
            Ok(uri.to_owned())
        })
        .collect()
}

fn client_name(value: Option<&Value>) -> Result<Option<String>, RegistrationError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) if name.trim().is_empty() => Ok(None),
        Some(Value::String(name)) if name.chars().count() <= MAX_CLIENT_NAME => Ok(Some(name.trim().to_owned())),
        Some(Value::String(_)) => Err(RegistrationError::metadata(format!("client_name is longer than {MAX_CLIENT_NAME} characters"))),
        Some(_) => Err(RegistrationError::metadata("client_name must be a string")),
    }
}

/// Is this client id a URL naming a client ID metadata document?
pub(crate) fn is_metadata_document_id(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Fetches and checks client ID metadata documents, with a short cache.
pub(crate) struct MetadataDocuments {
    http: reqwest::Client,
    /// Loopback and private addresses may be fetched only when the server itself is local:
    /// a public server fetching them would let anyone probe its network.
    allow_local_addresses: bool,
    cache: Mutex<HashMap<String, (ClientRecord, Instant)>>,
}

impl MetadataDocuments {
    pub(crate) fn new(allow_local_addresses: bool) -> MetadataDocuments {
        clerk_support::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5)).redirect(reqwest::redirect::Policy::none());
        if !allow_local_addresses {
            builder = builder.dns_resolver(PublicAddressesOnly);
        }
        let http = builder.build().expect("a reqwest client without custom TLS builds");
        MetadataDocuments { http, allow_local_addresses, cache: Mutex::new(HashMap::new()) }
    }

    /// The client a metadata-document client id describes. The error is a sentence for the
    /// error page.
    pub(crate) async fn client(&self, client_id: &str) -> Result<ClientRecord, String> {
        if let Some((client, fetched)) = self.cache.lock().expect("the cache lock is never poisoned").get(client_id)
            && fetched.elapsed() < METADATA_CACHE_TTL
        {
            return Ok(client.clone());
        }
        let url = Url::parse(client_id).map_err(|_| format!("the client id `{client_id}` is not a URL"))?;
        let local = is_loopback_host(&url)
            || matches!(url.host_str().and_then(|host| host.trim_matches(['[', ']']).parse::<IpAddr>().ok()), Some(address) if is_private(address));
        if local && !self.allow_local_addresses {
            return Err(format!("the client id `{client_id}` points at a local or private address, which this server does not fetch"));
        }
        if url.scheme() != "https" && !(self.allow_local_addresses && is_loopback_host(&url)) {
            return Err(format!("the client id `{client_id}` must be an https URL"));
        }
        if url.path() == "/" || url.fragment().is_some() || url.username() != "" {
            return Err(format!("the client id `{client_id}` must be an https URL with a path and no fragment or credentials"));
        }
        let document = self.fetch(&url).await?;
        let document_id = document.get("client_id").and_then(Value::as_str);
        if document_id != Some(client_id) {
            return Err(format!(
                "the metadata document at {client_id} names another client_id ({}); they must be equal",
                document_id.unwrap_or("none")
            ));
        }
        if let Some(method) = document.get("token_endpoint_auth_method").and_then(Value::as_str)
            && method != "none"
        {
            return Err(format!(
                "the client asks for token_endpoint_auth_method `{method}`; this server supports only public clients (none)"
            ));
        }
        let redirect_uris =
            redirect_uris(document.get("redirect_uris")).map_err(|error| format!("its metadata document: {}", error.description))?;
        let client_name = client_name(document.get("client_name"))
            .map_err(|error| format!("its metadata document: {}", error.description))?
            .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned());
        let client = ClientRecord { client_id: client_id.to_owned(), client_name, redirect_uris, registration: document };
        let mut cache = self.cache.lock().expect("the cache lock is never poisoned");
        cache.retain(|_, (_, fetched)| fetched.elapsed() < METADATA_CACHE_TTL);
        cache.insert(client_id.to_owned(), (client.clone(), Instant::now()));
        Ok(client)
    }

    async fn fetch(&self, url: &Url) -> Result<Value, String> {
        let failed = |reason: String| format!("its metadata document at {url} cannot be read: {reason}");
        let mut response = self
            .http
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|error| failed(innermost_cause(&error)))?;
        if !response.status().is_success() {
            return Err(failed(format!("it answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| failed(error.to_string()))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_METADATA_DOCUMENT {
                return Err(failed(format!("it is larger than {MAX_METADATA_DOCUMENT} bytes")));
            }
        }
        serde_json::from_slice(&body).map_err(|error| failed(format!("it is not JSON: {error}")))
    }
}

/// reqwest's own message names only the URL; the innermost cause says what went wrong (a DNS
/// failure, a refused connection, a private address).
fn innermost_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Addresses a public server must not fetch on a client's say-so: its own machine and network.
fn is_private(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [first, second, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || first == 0
                // 100.64.0.0/10, carrier-grade NAT and many cloud networks.
                || (first == 100 && (second & 0xc0) == 64)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (v6.segments()[0] & 0xfe00) == 0xfc00
                    || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

/// Resolves the host of a client ID metadata document, keeping only public addresses: a name
/// that points into this server's own network is refused, not just an IP literal.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|address| !is_private(address.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_https_loopback_or_a_private_scheme() {
        assert!(check_redirect_uri("https://claude.ai/api/mcp/auth_callback").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:33418/callback").is_ok());
        assert!(check_redirect_uri("http://localhost/callback").is_ok());
        assert!(check_redirect_uri("http://[::1]:9000/cb").is_ok());
        assert!(check_redirect_uri("cursor://anysphere.cursor-retrieval/oauth/callback").is_ok());
        assert_eq!(check_redirect_uri("http://example.com/cb").unwrap_err().code, "invalid_redirect_uri");
        assert!(check_redirect_uri("https://example.com/cb#x").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn loopback_redirects_match_on_any_port_and_nothing_else_is_loose() {
        assert!(redirect_uri_matches("http://127.0.0.1/callback", "http://127.0.0.1:49152/callback"));
        assert!(redirect_uri_matches("http://127.0.0.1:1000/callback", "http://127.0.0.1:2000/callback"));
        assert!(!redirect_uri_matches("http://127.0.0.1/callback", "http://127.0.0.1:49152/other"));
        assert!(!redirect_uri_matches("http://127.0.0.1/callback", "http://localhost:49152/callback"));
        assert!(!redirect_uri_matches("https://app.example/cb", "https://app.example/cb/"));
        assert!(!redirect_uri_matches("https://app.example/cb", "https://app.example:8443/cb"));
    }

    #[test]
    fn private_and_local_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_this_machine_is_not_fetched() {
        use reqwest::dns::Resolve;
        let refused = PublicAddressesOnly.resolve("localhost".parse().unwrap()).await.err().expect("localhost is refused");
        assert!(refused.to_string().contains("resolves to no public address"), "{refused}");
    }

    #[test]
    fn registration_is_public_and_checks_every_redirect_uri() {
        let client = register(&json!({"client_name": "Claude Code", "redirect_uris": ["http://localhost:5555/callback"], "token_endpoint_auth_method": "client_secret_post"}), "c1".into(), 1).unwrap();
        assert_eq!(client.registration["token_endpoint_auth_method"], "none");
        assert_eq!(client.client_name, "Claude Code");
        let error = register(&json!({"redirect_uris": ["https://ok.example/cb", "http://evil.example/cb"]}), "c2".into(), 1).unwrap_err();
        assert_eq!(error.code, "invalid_redirect_uri");
        assert!(error.description.contains("http://evil.example/cb"), "{error:?}");
        assert_eq!(register(&json!({"client_name": "x"}), "c3".into(), 1).unwrap_err().code, "invalid_redirect_uri");
        assert_eq!(
            register(&json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}), "c4".into(), 1).unwrap_err().code,
            "invalid_client_metadata"
        );
    }
}
