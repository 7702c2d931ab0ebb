//! `POST /authorize`: the user's answer on the consent page. The form must come from this
//! server's page (Origin) and carry the page's CSRF token in both the form and its cookie; an
//! allowed sign-in stores the account (its key checked upstream and sealed), a new grant and
//! its code, and sends the browser back to the client.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use clerk_store::StoreError;

use super::authorize::{consent_page, csrf_cookie_name, find_client};
use super::{Parameters, Server, back_to_client, error_page, redirect_error, unavailable_page};
use crate::secrets::{random_token, same_secret, token_hash};
use crate::store::{Grant, NewCode, PendingRequest, SealedKey, now};
use crate::{AuthorizationServer, KeyCheckError};

pub(super) async fn authorize_decision(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    // A browser always sends Origin on a form POST; another site's origin is a forged request.
    // The issuer has no path, so it is exactly this server's origin.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|origin| origin.to_str().ok())
        && origin != server.config.issuer
    {
        return error_page(StatusCode::FORBIDDEN, "Cannot sign in", "This form was sent from another site. Start again from your app.");
    }
    let params = match Parameters::parse(&body) {
        Ok(params) => params,
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", &format!("Malformed form: {problem}.")),
    };
    let get = |name: &str| params.get(name).unwrap_or_default();
    let pending = match server.store.pending(get("request")).await {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired",
                "Start again from your app; sign-in pages last 10 minutes.",
            );
        }
        Err(error) => return unavailable_page(error),
    };
    let cookie_token = cookie(&headers, &csrf_cookie_name(&pending.request_id)).unwrap_or_default();
    if !same_secret(get("csrf"), &pending.csrf_token) || !same_secret(cookie_token, &pending.csrf_token) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Cannot sign in",
            "This form did not come from the sign-in page it belongs to. Start again from your app.",
        );
    }
    let client = match find_client(&server, &pending.client_id).await {
        Ok(found) => found,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, "Cannot sign in", &message),
    };
    let ask_again = |message: &str| consent_page(&server, &client, &pending, StatusCode::BAD_REQUEST, Some(message));
    let api_key = match get("decision") {
        "deny" => return deny(&server, &pending).await,
        "sandbox" => match server.backend.sandbox_team_key() {
            Some(key) => key,
            None => return ask_again("This server is not on the sandbox: paste a Clerk Chat API key."),
        },
        "allow" => get("api_key").trim().to_owned(),
        _ => return ask_again("Choose Allow or Deny."),
    };
    if api_key.is_empty() {
        return ask_again("Paste your Clerk Chat API key, then choose Allow.");
    }
    match check_key(&server, &pending, &api_key).await {
        Ok(()) => {}
        Err(KeyRefusal::AskAgain(message)) => return ask_again(&message),
        Err(KeyRefusal::Page(page)) => return page,
    }
    match finish_sign_in(&server, &pending, &api_key).await {
        Ok(Some(code)) => back_to_client(&server, &pending.redirect_uri, pending.state.as_deref(), &[("code", &code)]),
        Ok(None) => error_page(StatusCode::BAD_REQUEST, "Already answered", "This sign-in was already answered. Go back to your app."),
        Err(error) => unavailable_page(error),
    }
}

/// Wrong API keys a consent page takes before it is closed: enough for typos, too few to guess.
const MAX_WRONG_KEYS: u32 = 5;

/// Why a key typed into the consent page was not taken.
enum KeyRefusal {
    /// Show the page again with this sentence.
    AskAgain(String),
    /// The page is closed (too many wrong keys), or the store failed.
    Page(Response),
}

/// Checks the key with Clerk Chat, within the server-wide limit on key checks, and closes the
/// page after [`MAX_WRONG_KEYS`] wrong ones.
async fn check_key(server: &AuthorizationServer, pending: &PendingRequest, api_key: &str) -> Result<(), KeyRefusal> {
    let Some(_turn) = server.limits.key_check_turn() else {
        tracing::warn!("key checks at sign-in are over the server-wide limit");
        return Err(KeyRefusal::AskAgain("This server is checking many keys right now; try again in a few seconds.".to_owned()));
    };
    let refusal = match server.backend.check_api_key(api_key).await {
        Ok(()) => return Ok(()),
        Err(refusal) => refusal,
    };
    match &refusal {
        KeyCheckError::Unavailable { cause, .. } => tracing::warn!(cause = ?cause, "cannot check an API key at sign-in"),
        KeyCheckError::Rejected(_) => match server.store.record_failed_key_check(&pending.request_id).await {
            Ok(failures) if failures >= MAX_WRONG_KEYS => {
                tracing::warn!(client_id = ?pending.client_id, "a consent page was closed after {MAX_WRONG_KEYS} wrong API keys");
                if let Err(error) = server.store.finish_pending(&pending.request_id).await {
                    return Err(KeyRefusal::Page(unavailable_page(error)));
                }
                return Err(KeyRefusal::Page(error_page(
                    StatusCode::FORBIDDEN,
                    "Too many wrong keys",
                    &format!("This sign-in was closed after {MAX_WRONG_KEYS} wrong API keys. Start again from your app."),
                )));
            }
            Ok(_) => {}
            Err(error) => return Err(KeyRefusal::Page(unavailable_page(error))),
        },
    }
    Err(KeyRefusal::AskAgain(refusal.user_message().to_owned()))
}

async fn deny(server: &AuthorizationServer, pending: &PendingRequest) -> Response {
    match server.store.finish_pending(&pending.request_id).await {
        Ok(_) => redirect_error(server, &pending.redirect_uri, pending.state.as_deref(), "access_denied", "the user denied the request"),
        Err(error) => unavailable_page(error),
    }
}

/// Stores the account and a new grant, and returns its code; `None` if the page was already
/// answered (a double submit).
async fn finish_sign_in(server: &AuthorizationServer, pending: &PendingRequest, api_key: &str) -> Result<Option<String>, StoreError> {
    if !server.store.finish_pending(&pending.request_id).await? {
        return Ok(None);
    }
    let label = if server.config.sandbox { "sandbox team" } else { "Clerk Chat API key" };
    let seal = |account_id: &str| -> SealedKey { server.vault.seal(account_id, api_key) };
    let account_id = server.store.upsert_account(&server.vault.fingerprint(api_key), &random_token(), &seal, label).await?;
    let grant = Grant {
        grant_id: random_token(),
        client_id: pending.client_id.clone(),
        account_id: account_id.clone(),
        scope: pending.scope.clone(),
        resource: pending.resource.clone(),
        revoked: false,
    };
    let code = random_token();
    let code_hash = token_hash(&code);
    let new_code = NewCode {
        code_hash: &code_hash,
        redirect_uri: &pending.redirect_uri,
        code_challenge: &pending.code_challenge,
        expires_at: now() + server.config.code_lifetime.as_secs() as i64,
    };
    server.store.insert_grant_with_code(&grant, &new_code).await?;
    tracing::info!(client_id = ?pending.client_id, account_id = %account_id, scope = %pending.scope, "the user allowed a sign-in");
    Ok(Some(code))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}
