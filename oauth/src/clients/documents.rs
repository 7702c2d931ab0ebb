//! Client ID metadata documents: an app names itself with an https URL whose JSON document
//! gives its name and redirect URIs. Fetched on demand, so every resource an anonymous caller
//! can make the server spend is bounded: a few fetches at once, a few a minute per host, at
//! most 64 KB read per document, only the fields used kept, for at most 1 MiB in all, and
//! failures remembered for a minute so that repeating one costs nothing.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use url::Url;

use super::addresses::{PublicAddressesOnly, is_private};
use super::redirects::{RedirectPolicy, is_loopback_host};
use super::{client_name, redirect_uris};
use crate::store::ClientRecord;

/// A client ID metadata document larger than this is refused.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// A client ID longer than this is refused before anything else.
const MAX_CLIENT_ID_LENGTH: usize = 2000;
/// How long a fetched document is trusted before it is fetched again.
const FOUND_FOR: Duration = Duration::from_secs(300);
/// How long a failed fetch is remembered, so that repeating it costs no fetch.
const FAILED_FOR: Duration = Duration::from_secs(60);
/// What the clients kept may weigh together, in bytes of their fields; the least used go first.
const FOUND_BYTES: u64 = 1024 * 1024;
/// What the remembered failures may weigh together.
const FAILED_BYTES: u64 = 1024 * 1024;
/// Fetches running at once, whatever their hosts.
const CONCURRENT_FETCHES: usize = 4;
/// How long a fetch waits for its turn before the sign-in is told to try again.
const FETCH_TURN_WAIT: Duration = Duration::from_secs(5);
/// Fetches a minute from one host.
const FETCHES_PER_HOST_PER_MINUTE: u32 = 10;
/// Hosts whose fetches are counted; beyond this the least recently seen are forgotten.
const COUNTED_HOSTS: u64 = 10_000;

/// Is this client id a URL naming a client ID metadata document?
pub(crate) fn is_metadata_document_id(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// Fetches, checks and remembers client ID metadata documents.
pub(crate) struct MetadataDocuments {
    http: reqwest::Client,
    /// Loopback and private addresses may be fetched only when the server itself listens on
    /// loopback: a server others can reach fetching them would let anyone probe its network.
    allow_local_addresses: bool,
    redirects: RedirectPolicy,
    found: Cache<String, ClientRecord>,
    failed: Cache<String, String>,
    turns: Semaphore,
    fetches_by_host: Cache<String, Arc<AtomicU32>>,
}

impl MetadataDocuments {
    pub(crate) fn new(allow_local_addresses: bool, redirects: RedirectPolicy) -> MetadataDocuments {
        clerk_support::tls::install_crypto_provider();
        // No proxy from the environment: where the request goes must be what the resolver
        // checked, not a proxy's choice.
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5)).redirect(reqwest::redirect::Policy::none()).no_proxy();
        if !allow_local_addresses {
            builder = builder.dns_resolver(PublicAddressesOnly);
        }
        let http = builder.build().expect("a reqwest client without custom TLS builds");
        let found = Cache::builder()
            .max_capacity(FOUND_BYTES)
            .weigher(|client_id: &String, client: &ClientRecord| {
                let uris: usize = client.redirect_uris.iter().map(String::len).sum();
                u32::try_from(client_id.len() + client.client_name.len() + uris).unwrap_or(u32::MAX)
            })
            .time_to_live(FOUND_FOR)
            .build();
        let failed = Cache::builder()
            .max_capacity(FAILED_BYTES)
            .weigher(|client_id: &String, problem: &String| u32::try_from(client_id.len() + problem.len()).unwrap_or(u32::MAX))
            .time_to_live(FAILED_FOR)
            .build();
        let fetches_by_host = Cache::builder().max_capacity(COUNTED_HOSTS).time_to_live(Duration::from_secs(60)).build();
        MetadataDocuments {
            http,
            allow_local_addresses,
            redirects,
            found,
            failed,
            turns: Semaphore::new(CONCURRENT_FETCHES),
            fetches_by_host,
        }
    }

    /// The client a metadata-document client id describes. The error is a sentence for the
    /// error page.
    pub(crate) async fn client(&self, client_id: &str) -> Result<ClientRecord, String> {
        if let Some(client) = self.found.get(client_id) {
            return Ok(client);
        }
        if let Some(problem) = self.failed.get(client_id) {
            return Err(problem);
        }
        let url = self.checked_url(client_id)?;
        self.count_fetch(&url)?;
        let _turn = match tokio::time::timeout(FETCH_TURN_WAIT, self.turns.acquire()).await {
            Ok(Ok(turn)) => turn,
            _ => return Err("this server is busy reading other apps' client ID documents; try again in a moment".to_owned()),
        };
        match self.fetch_client(client_id, &url).await {
            Ok(client) => {
                self.found.insert(client_id.to_owned(), client.clone());
                Ok(client)
            }
            Err(problem) => {
                self.failed.insert(client_id.to_owned(), problem.clone());
                Err(problem)
            }
        }
    }

    /// The client id as a URL this server will fetch.
    fn checked_url(&self, client_id: &str) -> Result<Url, String> {
        if client_id.len() > MAX_CLIENT_ID_LENGTH {
            return Err(format!("the client id is longer than {MAX_CLIENT_ID_LENGTH} characters"));
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
        if url.path() == "/" || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(format!("the client id `{client_id}` must be an https URL with a path and no fragment or credentials"));
        }
        Ok(url)
    }

    /// Counts a fetch against its host's allowance for this minute.
    fn count_fetch(&self, url: &Url) -> Result<(), String> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let count = self.fetches_by_host.get_with(host.clone(), || Arc::new(AtomicU32::new(0)));
        if count.fetch_add(1, Ordering::Relaxed) >= FETCHES_PER_HOST_PER_MINUTE {
            return Err(format!("too many sign-ins by apps whose client IDs are at {host} right now; try again in a minute"));
        }
        Ok(())
    }

    async fn fetch_client(&self, client_id: &str, url: &Url) -> Result<ClientRecord, String> {
        let document = self.fetch(url).await?;
        client_from_document(client_id, url, &document, &self.redirects)
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
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(failed(format!("it is larger than {MAX_DOCUMENT_BYTES} bytes")));
            }
        }
        serde_json::from_slice(&body).map_err(|error| failed(format!("it is not JSON: {error}")))
    }
}

/// The client a fetched document describes, checked as a registration is; only the fields used
/// are kept, whatever else the document held. The document's own words are never repeated in
/// an error: it could say anything.
fn client_from_document(client_id: &str, url: &Url, document: &Value, redirects: &RedirectPolicy) -> Result<ClientRecord, String> {
    if document.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(format!("the metadata document at {client_id} names another client_id; they must be equal"));
    }
    if let Some(method) = document.get("token_endpoint_auth_method").and_then(Value::as_str)
        && method != "none"
    {
        return Err("the client asks for a token_endpoint_auth_method other than none; this server supports only public clients".to_owned());
    }
    let redirect_uris =
        redirect_uris(document.get("redirect_uris"), redirects).map_err(|error| format!("its metadata document: {}", error.description))?;
    let client_name = client_name(document.get("client_name"))
        .map_err(|error| format!("its metadata document: {}", error.description))?
        .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned());
    let registration = json!({"client_id": client_id, "client_name": client_name, "redirect_uris": redirect_uris});
    Ok(ClientRecord { client_id: client_id.to_owned(), client_name, redirect_uris, registration })
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    use super::*;

    const CLIENT_ID: &str = "https://app.example/oauth/client.json";

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[ -~\u{80}-\u{2070}]{0,40}".prop_map(Value::String),
            prop_oneof![Just(CLIENT_ID), Just("https://app.example/cb"), Just("ms-msdt:/id"), Just("http://evil.example/cb"), Just("none")]
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("client_id"),
                        Just("client_name"),
                        Just("redirect_uris"),
                        Just("token_endpoint_auth_method"),
                        Just("logo")
                    ]
                    .prop_map(str::to_owned),
                    inner,
                    0..5
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// Documents near the valid ones: each field usually of the right shape, sometimes not.
    fn document() -> impl Strategy<Value = Value> {
        let uri = prop_oneof![
            12 => Just("https://app.example/cb".to_owned()),
            6 => Just("http://127.0.0.1:9/cb".to_owned()),
            1 => Just("ms-msdt:/id".to_owned()),
            1 => Just("http://evil.example/cb".to_owned()),
            1 => "[a-z]{1,8}:[ -~]{0,20}",
        ];
        (
            prop_oneof![4 => Just(Value::from(CLIENT_ID)), 1 => json_value()],
            prop_oneof![4 => prop::collection::vec(uri, 0..4).prop_map(|uris| json!(uris)), 1 => json_value()],
            prop_oneof![4 => "[ -~]{0,60}".prop_map(Value::String), 1 => "[ -~\u{80}-\u{2070}]{0,120}".prop_map(Value::String), 1 => json_value()],
            prop_oneof![3 => Just(Value::Null), 1 => json_value()],
        )
            .prop_map(|(id, uris, name, method)| {
                let mut document = json!({"client_id": id, "redirect_uris": uris, "client_name": name});
                if !method.is_null() {
                    document["token_endpoint_auth_method"] = method;
                }
                document
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Whatever a document holds, the check never panics, and what it accepts is a client
        /// with this id, registrable redirect URIs and a name that disguises nothing.
        #[test]
        fn a_document_is_accepted_only_when_it_describes_a_sound_client(document in prop_oneof![document(), json_value()]) {
            let url = Url::parse(CLIENT_ID).unwrap();
            let redirects = RedirectPolicy::new(&[]).unwrap();
            if let Ok(client) = client_from_document(CLIENT_ID, &url, &document, &redirects) {
                prop_assert_eq!(&client.client_id, CLIENT_ID);
                prop_assert!(!client.redirect_uris.is_empty() && client.redirect_uris.len() <= 10);
                for uri in &client.redirect_uris {
                    prop_assert!(redirects.check(uri).is_ok());
                }
                prop_assert!(client.client_name.chars().count() <= 100);
                prop_assert!(!client.client_name.chars().any(crate::clients::is_disguising));
                prop_assert_eq!(client.registration.as_object().unwrap().len(), 3, "only the used fields are kept");
            }
        }
    }

    #[test]
    fn the_generated_documents_are_often_accepted() {
        // Else the property above would hold for want of a case.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let url = Url::parse(CLIENT_ID).unwrap();
        let redirects = RedirectPolicy::new(&[]).unwrap();
        let accepted = (0..500)
            .filter(|_| {
                let document = document().new_tree(&mut runner).unwrap().current();
                client_from_document(CLIENT_ID, &url, &document, &redirects).is_ok()
            })
            .count();
        assert!(accepted >= 25, "only {accepted} of 500 documents were accepted");
    }

    #[test]
    fn a_document_naming_another_id_is_refused_without_repeating_it() {
        let url = Url::parse(CLIENT_ID).unwrap();
        let document = json!({"client_id": "https://evil.example/<script>", "redirect_uris": ["https://app.example/cb"]});
        let error = client_from_document(CLIENT_ID, &url, &document, &RedirectPolicy::new(&[]).unwrap()).unwrap_err();
        assert!(error.contains("names another client_id") && !error.contains("evil.example"), "{error}");
    }
}
