//! Redirect URIs: which a client may register, and when a requested one matches a registered
//! one. Sign-ins are only ever sent to https, to http on this machine, or to an app's own
//! scheme; never to a scheme that opens another program, a page or a connection.

use url::Url;

use super::RegistrationError;

const MAX_URI_LENGTH: usize = 2000;

/// Private-use schemes of real MCP clients that are not in reverse-DNS form (RFC 8252 7.1
/// asks for that form): Cursor registers `cursor://anysphere.cursor-mcp/oauth/callback`.
const KNOWN_APP_SCHEMES: &[&str] = &["cursor"];

/// Schemes that open another program, a page or a connection instead of returning to the app
/// that asked: refused always, whatever an operator allows.
const LAUNCHING_SCHEMES: &[&str] = &[
    "about",
    "blob",
    "chrome",
    "data",
    "file",
    "filesystem",
    "ftp",
    "intent",
    "jar",
    "javascript",
    "mailto",
    "ms-msdt",
    "ms-officecmd",
    "ms-search",
    "search-ms",
    "sftp",
    "shell",
    "sms",
    "smb",
    "ssh",
    "tel",
    "telnet",
    "vbscript",
    "view-source",
    "ws",
    "wss",
];

/// The redirect URI rules, with the app schemes an operator added (`--redirect-scheme`).
#[derive(Debug, Clone)]
pub(crate) struct RedirectPolicy {
    extra_schemes: Vec<String>,
}

impl RedirectPolicy {
    /// The rules, allowing also `extra_schemes`; a scheme that launches something, or that is
    /// not a URI scheme, is refused with the reason.
    pub(crate) fn new(extra_schemes: &[String]) -> Result<RedirectPolicy, String> {
        let mut schemes = Vec::new();
        for scheme in extra_schemes.iter().map(|scheme| scheme.trim().trim_end_matches(':').to_ascii_lowercase()) {
            let valid = scheme.starts_with(|first: char| first.is_ascii_alphabetic())
                && scheme.chars().all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character));
            if !valid {
                return Err(format!("`{scheme}` is not a URI scheme (a letter, then letters, digits, +, - or .)"));
            }
            if LAUNCHING_SCHEMES.contains(&scheme.as_str()) || matches!(scheme.as_str(), "http" | "https") {
                return Err(format!("`{scheme}` cannot be allowed as an app scheme: it opens another program, page or connection"));
            }
            schemes.push(scheme);
        }
        Ok(RedirectPolicy { extra_schemes: schemes })
    }

    /// A redirect URI a client may register: https, http on loopback, or an app's own scheme
    /// (reverse-DNS form, a known client's, or one the operator allowed); never a fragment or
    /// credentials, never a scheme that launches something.
    pub(crate) fn check(&self, uri: &str) -> Result<(), RegistrationError> {
        if uri.len() > MAX_URI_LENGTH {
            return Err(RegistrationError::redirect(format!("redirect URI longer than {MAX_URI_LENGTH} characters")));
        }
        let parsed = Url::parse(uri).map_err(|error| RegistrationError::redirect(format!("`{uri}` is not an absolute URI: {error}")))?;
        let scheme = parsed.scheme();
        if LAUNCHING_SCHEMES.contains(&scheme) {
            return Err(RegistrationError::redirect(format!(
                "`{uri}` cannot be a redirect URI: the scheme `{scheme}` opens another program, page or connection instead of returning to the app"
            )));
        }
        if parsed.fragment().is_some() {
            return Err(RegistrationError::redirect(format!("`{uri}` has a fragment (#...); redirect URIs must not")));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(RegistrationError::redirect(format!("`{uri}` carries credentials; redirect URIs must not")));
        }
        match scheme {
            "https" if parsed.host().is_some() => Ok(()),
            "https" => Err(RegistrationError::redirect(format!("`{uri}` names no host"))),
            "http" if is_loopback_host(&parsed) => Ok(()),
            "http" => Err(RegistrationError::redirect(format!(
                "`{uri}` uses http on a host that is not loopback; use https, or http://127.0.0.1:PORT/... for an app on this machine"
            ))),
            _ if scheme.contains('.') || KNOWN_APP_SCHEMES.contains(&scheme) || self.extra_schemes.iter().any(|extra| extra == scheme) => {
                Ok(())
            }
            _ => Err(RegistrationError::redirect(format!(
                "`{uri}` uses the scheme `{scheme}`, which this server does not send sign-ins to: use https, http://127.0.0.1:PORT/..., or an app scheme in reverse-DNS form such as com.example.app:/callback (RFC 8252 7.1); the server's operator can allow more with --redirect-scheme"
            ))),
        }
    }
}

/// localhost, 127.0.0.0/8 or ::1.
pub(crate) fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn default_policy() -> RedirectPolicy {
        RedirectPolicy::new(&[]).unwrap()
    }

    #[test]
    fn redirect_uris_must_be_https_loopback_or_an_app_scheme() {
        let policy = default_policy();
        assert!(policy.check("https://claude.ai/api/mcp/auth_callback").is_ok());
        assert!(policy.check("http://127.0.0.1:33418/callback").is_ok());
        assert!(policy.check("http://localhost/callback").is_ok());
        assert!(policy.check("http://[::1]:9000/cb").is_ok());
        assert!(policy.check("cursor://anysphere.cursor-retrieval/oauth/callback").is_ok());
        assert!(policy.check("com.example.app:/oauth/callback").is_ok(), "reverse-DNS form");
        assert_eq!(policy.check("http://example.com/cb").unwrap_err().code, "invalid_redirect_uri");
        assert!(policy.check("https://example.com/cb#x").is_err());
        assert!(policy.check("https://user:pw@example.com/cb").is_err());
        assert!(policy.check("javascript:alert(1)").is_err());
        assert!(policy.check("/relative").is_err());
    }

    #[test]
    fn schemes_that_launch_something_are_refused_by_name() {
        let policy = RedirectPolicy::new(&["myapp".to_owned()]).unwrap();
        for uri in [
            "ms-msdt:/id",
            "search-ms:query=x",
            "view-source:https://x.example",
            "intent://x#Intent;end",
            "ws://x.example/",
            "ftp://x.example/",
            "data:text/html,hi",
            "file:///etc/passwd",
        ] {
            let error = policy.check(uri).unwrap_err();
            assert!(error.description.contains("opens another program, page or connection"), "{uri}: {error:?}");
        }
        let unknown = policy.check("steam://run/1").unwrap_err();
        assert!(unknown.description.contains("reverse-DNS") && unknown.description.contains("--redirect-scheme"), "{unknown:?}");
        assert!(policy.check("myapp://callback").is_ok(), "an operator's scheme");
    }

    #[test]
    fn an_operator_cannot_allow_a_launching_scheme() {
        assert!(RedirectPolicy::new(&["ms-msdt".to_owned()]).unwrap_err().contains("cannot be allowed"));
        assert!(RedirectPolicy::new(&["https".to_owned()]).is_err());
        assert!(RedirectPolicy::new(&["9lives".to_owned()]).unwrap_err().contains("not a URI scheme"));
        assert!(RedirectPolicy::new(&["com.example.app:".to_owned()]).is_ok());
    }

    #[test]
    fn every_real_clients_redirect_uris_register() {
        // From ../shared/reference/client-quirks.md: Claude Code, claude.ai, Cursor, VS Code,
        // ChatGPT and Gemini CLI.
        let policy = default_policy();
        for uri in [
            "http://127.0.0.1:53682/callback",
            "https://claude.ai/api/mcp/auth_callback",
            "https://claude.com/api/mcp/auth_callback",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "https://www.cursor.com/agents/mcp/oauth/callback",
            "http://localhost:8787/callback",
            "http://127.0.0.1:33418",
            "https://vscode.dev/redirect",
            "https://chatgpt.com/connector/oauth/abc123",
            "https://chatgpt.com/connector_platform_oauth_redirect",
            "http://localhost:7777/oauth/callback",
        ] {
            assert!(policy.check(uri).is_ok(), "{uri}: {:?}", policy.check(uri));
        }
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

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Whatever is asked, a match is the registered URI itself or the same loopback http
        /// URI on another port: never another host, path, query or scheme.
        #[test]
        fn a_match_never_leaves_the_registered_uri(
            registered in "(https://app\\.example|http://127\\.0\\.0\\.1(:[0-9]{1,5})?|cursor://anysphere\\.cursor-mcp)(/[a-z]{0,6}){0,2}(\\?[a-z=]{0,6})?",
            requested in "[a-z]{2,8}://[a-z0-9.:@\\[\\]]{1,20}(/[a-z%.]{0,6}){0,3}(\\?[a-z=&]{0,6})?(#[a-z]{0,3})?",
        ) {
            if redirect_uri_matches(&registered, &requested) && registered != requested {
                let (registered, requested) = (Url::parse(&registered).unwrap(), Url::parse(&requested).unwrap());
                prop_assert_eq!(requested.scheme(), "http");
                prop_assert_eq!(registered.host_str(), requested.host_str());
                prop_assert!(is_loopback_host(&requested));
                prop_assert_eq!(registered.path(), requested.path());
                prop_assert_eq!(registered.query(), requested.query());
                prop_assert!(requested.fragment().is_none());
            }
        }

        /// No URI that registers uses a launching scheme, http off loopback, or a fragment.
        #[test]
        fn nothing_that_registers_can_launch_or_leak(uri in "[a-z][a-z0-9+.-]{0,10}:(//)?[a-zA-Z0-9.:@/?#=&%-]{0,30}") {
            if default_policy().check(&uri).is_ok() {
                let parsed = Url::parse(&uri).unwrap();
                prop_assert!(!LAUNCHING_SCHEMES.contains(&parsed.scheme()));
                prop_assert!(parsed.fragment().is_none());
                prop_assert!(parsed.scheme() != "http" || is_loopback_host(&parsed));
            }
        }
    }
}
