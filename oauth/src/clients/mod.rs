//! OAuth clients: dynamic registration (RFC 7591) here; the redirect URI rules in `redirects`;
//! client ID metadata documents in `documents`; the addresses a metadata fetch may not reach in
//! `addresses`.

mod addresses;
mod documents;
mod redirects;

use serde_json::{Value, json};

use crate::store::ClientRecord;

pub(crate) use documents::{MetadataDocuments, is_metadata_document_id};
pub(crate) use redirects::{RedirectPolicy, is_loopback_host, redirect_uri_matches};

/// Registration limits: enough for every real client, small enough that a registration is cheap.
const MAX_REDIRECT_URIS: usize = 10;
const MAX_CLIENT_NAME: usize = 100;

/// An RFC 7591 error: `(error code, description for the developer)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistrationError {
    pub(crate) code: &'static str,
    pub(crate) description: String,
}

impl RegistrationError {
    fn metadata(description: impl Into<String>) -> RegistrationError {
        RegistrationError { code: "invalid_client_metadata", description: description.into() }
    }

    fn redirect(description: impl Into<String>) -> RegistrationError {
        RegistrationError { code: "invalid_redirect_uri", description: description.into() }
    }
}

/// Checks an RFC 7591 registration request and returns the client to store, with the
/// registration response. Every client is public (`token_endpoint_auth_method: none`) and uses
/// PKCE: a secret in an app on a user's machine protects nothing.
pub(crate) fn register(
    request: &Value,
    client_id: String,
    issued_at: i64,
    redirects: &RedirectPolicy,
) -> Result<ClientRecord, RegistrationError> {
    let object = request.as_object().ok_or_else(|| RegistrationError::metadata("the registration must be a JSON object"))?;
    let redirect_uris = redirect_uris(object.get("redirect_uris"), redirects)?;
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

fn redirect_uris(value: Option<&Value>, redirects: &RedirectPolicy) -> Result<Vec<String>, RegistrationError> {
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
            redirects.check(uri)?;
            Ok(uri.to_owned())
        })
        .collect()
}

/// A client's name, as shown on the consent page: at most 100 characters, and none that could
/// disguise it (control characters, or the bidirectional overrides that reorder what is shown).
fn client_name(value: Option<&Value>) -> Result<Option<String>, RegistrationError> {
    let name = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(name)) if name.trim().is_empty() => return Ok(None),
        Some(Value::String(name)) => name.trim(),
        Some(_) => return Err(RegistrationError::metadata("client_name must be a string")),
    };
    if name.chars().count() > MAX_CLIENT_NAME {
        return Err(RegistrationError::metadata(format!("client_name is longer than {MAX_CLIENT_NAME} characters")));
    }
    if let Some(bad) = name.chars().find(|character| is_disguising(*character)) {
        return Err(RegistrationError::metadata(format!(
            "client_name contains the character U+{:04X}; control and text-direction characters are not allowed in a name",
            u32::from(bad)
        )));
    }
    Ok(Some(name.to_owned()))
}

/// Control characters, and the Unicode characters that change the direction or visibility of
/// the text around them.
pub(crate) fn is_disguising(character: char) -> bool {
    character.is_control() || matches!(character, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_is_public_and_checks_every_redirect_uri() {
        let redirects = RedirectPolicy::new(&[]).unwrap();
        let client = register(&json!({"client_name": "Claude Code", "redirect_uris": ["http://localhost:5555/callback"], "token_endpoint_auth_method": "client_secret_post"}), "c1".into(), 1, &redirects).unwrap();
        assert_eq!(client.registration["token_endpoint_auth_method"], "none");
        assert_eq!(client.client_name, "Claude Code");
        let error = register(&json!({"redirect_uris": ["https://ok.example/cb", "http://evil.example/cb"]}), "c2".into(), 1, &redirects)
            .unwrap_err();
        assert_eq!(error.code, "invalid_redirect_uri");
        assert!(error.description.contains("http://evil.example/cb"), "{error:?}");
        assert_eq!(register(&json!({"client_name": "x"}), "c3".into(), 1, &redirects).unwrap_err().code, "invalid_redirect_uri");
        assert_eq!(
            register(&json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}), "c4".into(), 1, &redirects)
                .unwrap_err()
                .code,
            "invalid_client_metadata"
        );
    }

    #[test]
    fn names_that_could_disguise_an_app_are_refused() {
        let redirects = RedirectPolicy::new(&[]).unwrap();
        for name in ["Claude\r\nCode", "Goo\u{202E}elgoog", "Zero\u{200B}width", "Bell\u{7}"] {
            let error =
                register(&json!({"client_name": name, "redirect_uris": ["https://a.example/cb"]}), "c".into(), 1, &redirects).unwrap_err();
            assert_eq!(error.code, "invalid_client_metadata", "{name:?}");
            assert!(error.description.contains("not allowed in a name"), "{error:?}");
        }
        assert!(
            register(&json!({"client_name": "Café Ünïcode 日本", "redirect_uris": ["https://a.example/cb"]}), "c".into(), 1, &redirects)
                .is_ok()
        );
    }
}
