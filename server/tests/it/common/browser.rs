//! The browser's part of the built-in OAuth sign-in, over plain HTTP: registration, the
//! consent page's form and cookie, its answer, and the code for tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest;

/// A PKCE verifier of the required length (43 to 128 characters).
pub(crate) const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

/// PKCE S256: base64url of the verifier's SHA-256.
pub(crate) fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// A client that does not follow redirects, like a browser whose redirect we inspect.
pub(crate) struct Browser {
    /// `http://127.0.0.1:PORT`: the issuer and the base of every endpoint.
    pub base: String,
    pub http: reqwest::Client,
}

/// The consent page as a browser gets it: its form fields and the CSRF cookie.
pub(crate) struct ConsentPage {
    pub body: String,
    pub cookie: String,
    pub request: String,
    pub csrf: String,
}

impl ConsentPage {
    /// The page a browser got: its body, its CSRF cookie and its form's fields.
    pub(crate) async fn read(response: reqwest::Response) -> ConsentPage {
        let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body = response.text().await.unwrap();
        let (request, csrf) = (hidden_field(&body, "request"), hidden_field(&body, "csrf"));
        ConsentPage { body, cookie, request, csrf }
    }
}

fn hidden_field(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} field in {body}")) + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

impl Browser {
    pub(crate) fn new(base: String) -> Browser {
        clerk_support::tls::install_crypto_provider();
        Browser { base, http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap() }
    }

    /// Registers a client (RFC 7591) and returns its id.
    pub(crate) async fn register(&self, redirect_uris: &[&str]) -> String {
        let response = self
            .http
            .post(format!("{}/register", self.base))
            .json(&json!({"client_name": "Test client", "redirect_uris": redirect_uris}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        response.json::<Value>().await.unwrap()["client_id"].as_str().unwrap().to_owned()
    }

    /// `/authorize` with these query parameters.
    pub(crate) fn authorize_url(&self, parameters: &[(&str, &str)]) -> String {
        let mut url = reqwest::Url::parse(&format!("{}/authorize", self.base)).unwrap();
        url.query_pairs_mut().extend_pairs(parameters);
        url.to_string()
    }

    pub(crate) async fn open_consent(&self, url: &str) -> ConsentPage {
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "the consent page opens");
        ConsentPage::read(response).await
    }

    /// Answers the consent page with these fields beside its own.
    pub(crate) async fn submit(&self, page: &ConsentPage, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("request", page.request.as_str()), ("csrf", page.csrf.as_str())];
        form.extend_from_slice(fields);
        self.http.post(format!("{}/authorize", self.base)).header("cookie", &page.cookie).form(&form).send().await.unwrap()
    }

    /// A token request: the status and the JSON answer.
    pub(crate) async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self.http.post(format!("{}/token", self.base)).form(form).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// The whole sign-in with one click on the sandbox team; the token response.
    pub(crate) async fn sign_in_to_sandbox(&self) -> Value {
        self.sign_in(&[("decision", "sandbox")]).await.1
    }

    /// Registers a client and signs in with `answer` on the consent page (one click on the
    /// sandbox team, or `decision=allow` with an `api_key`): the client id and the tokens.
    pub(crate) async fn sign_in(&self, answer: &[(&str, &str)]) -> (String, Value) {
        let redirect = "http://127.0.0.1:9/callback";
        let client_id = self.register(&[redirect]).await;
        let challenge = challenge_of(VERIFIER);
        let url = self.authorize_url(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", redirect),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let page = self.open_consent(&url).await;
        let code = query_value(&redirect_location(&self.submit(&page, answer).await), "code").unwrap();
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ];
        let (status, tokens) = self.token(&form).await;
        assert_eq!(status, 200, "{tokens}");
        (client_id, tokens)
    }
}

/// The Location of the redirect back to the client.
pub(crate) fn redirect_location(response: &reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 303, "expected a redirect back to the client");
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub(crate) fn query_value(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url).unwrap().query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}
