//! Everything the authorization server refuses: PKCE, redirects, CSRF, reused codes and refresh
//! tokens, revoked sign-ins, and tokens that are expired, foreign or forged.

use super::*;

#[tokio::test]
async fn authorization_requests_without_s256_pkce_or_with_a_foreign_redirect_are_refused() {
    let setup = setup().await;
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let resource = format!("{}/mcp", setup.browser.base);
    let challenge = challenge_of(VERIFIER);

    // Missing PKCE and plain PKCE go back to the client as invalid_request, with the state.
    let mut missing = setup.standard_request(&challenge, "contacts:read", &resource);
    missing.retain(|(name, _)| !name.starts_with("code_challenge"));
    let response = setup.browser.http.get(setup.authorize_url(&client_id, &missing)).send().await.unwrap();
    let location = redirect_location(&response);
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_request"));
    assert!(query_value(&location, "error_description").unwrap().contains("PKCE is required"));
    assert_eq!(query_value(&location, "state").as_deref(), Some("state-123"));
    let mut plain = setup.standard_request(VERIFIER, "contacts:read", &resource);
    plain.retain(|(name, _)| *name != "code_challenge_method");
    plain.push(("code_challenge_method", "plain"));
    let location = redirect_location(&setup.browser.http.get(setup.authorize_url(&client_id, &plain)).send().await.unwrap());
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_request"));
    assert!(query_value(&location, "error_description").unwrap().contains("plain PKCE is not accepted"));

    // An unregistered redirect URI gets a page, never a redirect (no open redirector).
    let mut foreign = setup.standard_request(&challenge, "contacts:read", &resource);
    foreign.retain(|(name, _)| *name != "redirect_uri");
    foreign.push(("redirect_uri", "https://attacker.example/callback"));
    let response = setup.browser.http.get(setup.authorize_url(&client_id, &foreign)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("not one of its registered redirect URIs"));

    // Loopback redirects may change port (RFC 8252), but not path.
    let mut other_port = setup.standard_request(&challenge, "contacts:read", &resource);
    other_port.retain(|(name, _)| *name != "redirect_uri");
    other_port.push(("redirect_uri", "http://127.0.0.1:51234/callback"));
    assert_eq!(setup.browser.http.get(setup.authorize_url(&client_id, &other_port)).send().await.unwrap().status().as_u16(), 200);

    // A resource that is not this server is refused: tokens are only for this audience.
    let other = setup.standard_request(&challenge, "contacts:read", "https://other.example/mcp");
    let location = redirect_location(&setup.browser.http.get(setup.authorize_url(&client_id, &other)).send().await.unwrap());
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_target"));

    // offline_access (OIDC's request for a refresh token) is accepted and not granted as a scope.
    let offline = setup.standard_request(&challenge, "contacts:read offline_access", &resource);
    let page = setup.browser.open_consent(&setup.authorize_url(&client_id, &offline)).await;
    assert!(page.body.contains("contacts:read") && !page.body.contains("offline_access"));

    // An unknown scope is refused by name.
    let unknown = setup.standard_request(&challenge, "contacts:read admin:everything", &resource);
    let location = redirect_location(&setup.browser.http.get(setup.authorize_url(&client_id, &unknown)).send().await.unwrap());
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_scope"));
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn the_consent_page_needs_its_csrf_cookie_and_deny_returns_access_denied() {
    let setup = setup().await;
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let resource = format!("{}/mcp", setup.browser.base);
    let challenge = challenge_of(VERIFIER);
    let url = setup.authorize_url(&client_id, &setup.standard_request(&challenge, "contacts:read", &resource));
    let page = setup.browser.open_consent(&url).await;

    let forged = setup
        .browser
        .http
        .post(format!("{}/authorize", setup.browser.base))
        .form(&[("request", page.request.as_str()), ("csrf", page.csrf.as_str()), ("decision", "sandbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403, "no cookie, no sign-in");
    let cross_site = setup
        .browser
        .http
        .post(format!("{}/authorize", setup.browser.base))
        .header("cookie", &page.cookie)
        .header("origin", "https://attacker.example")
        .form(&[("request", page.request.as_str()), ("csrf", page.csrf.as_str()), ("decision", "sandbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status().as_u16(), 403, "a form posted from another site is refused");

    let bad_key = setup.browser.submit(&page, &[("decision", "allow"), ("api_key", "not-a-real-key")]).await;
    assert_eq!(bad_key.status().as_u16(), 400);
    let body = bad_key.text().await.unwrap();
    assert!(body.contains("Clerk Chat refused this API key"), "{body}");

    let denied = redirect_location(&setup.browser.submit(&page, &[("decision", "deny")]).await);
    assert_eq!(query_value(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_value(&denied, "state").as_deref(), Some("state-123"));
    let again = setup.browser.submit(&page, &[("decision", "sandbox")]).await;
    assert_eq!(again.status().as_u16(), 400, "an answered page cannot be answered again");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_verifier_and_redirect() {
    let setup = setup().await;
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let verifier = VERIFIER;
    let challenge = challenge_of(verifier);

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup.exchange(&client_id, &code, "another-verifier-of-forty-three-characters-000000000").await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "wrong verifier: {error}");
    assert!(error["error_description"].as_str().unwrap().contains("code_verifier does not match"));

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup
        .browser
        .token(&[("grant_type", "authorization_code"), ("client_id", &client_id), ("code", &code), ("redirect_uri", CALLBACK)])
        .await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_request")), "no verifier at all: {error}");

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup
        .browser
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:47000/other"),
            ("code_verifier", verifier),
        ])
        .await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "wrong redirect URI: {error}");

    let code = setup.code(&client_id, &challenge, "contacts:read", &[("decision", "sandbox")]).await;
    let (status, tokens) = setup.exchange(&client_id, &code, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 200);
    let (status, error) = setup.exchange(&client_id, &code, verifier).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "reused code: {error}");
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 401, "a reused code revokes the tokens issued with it");
    let (status, _) = setup.refresh(&client_id, &refresh_of(&tokens)).await;
    assert_eq!(status, 400, "and their refresh token");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let setup = setup().await;
    let (client_id, first) = setup.sign_in("contacts:read messages:read", &[("decision", "sandbox")]).await;
    let (status, second) = setup.refresh(&client_id, &refresh_of(&first)).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(refresh_of(&first), refresh_of(&second), "refresh tokens rotate");
    assert_eq!(setup.mcp_status(&access(&second)).await, 200);

    let (status, error) = setup.refresh(&client_id, &refresh_of(&first)).await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_grant")), "reused refresh token: {error}");
    let (status, _) = setup.refresh(&client_id, &refresh_of(&second)).await;
    assert_eq!(status, 400, "the newest refresh token of the family is revoked too");
    assert_eq!(setup.mcp_status(&access(&second)).await, 401, "and the family's access tokens");

    // Narrowing the scope on refresh is allowed, widening is not.
    let (client_id, tokens) = setup.sign_in("contacts:read messages:read", &[("decision", "sandbox")]).await;
    let (status, error) = setup
        .browser
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", &refresh_of(&tokens)),
            ("scope", "messages:send"),
        ])
        .await;
    assert_eq!((status, error["error"].as_str()), (400, Some("invalid_scope")));
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn revocation_ends_the_sign_in() {
    let setup = setup().await;
    let http = common::http();
    let (client_id, tokens) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let revoked = http
        .post(format!("{}/revoke", setup.browser.base))
        .form(&[("token", refresh_of(&tokens).as_str()), ("client_id", &client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(setup.refresh(&client_id, &refresh_of(&tokens)).await.0, 400);
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 401);

    // Revoking an access token ends its sign-in as well; unknown tokens get the same 200.
    let (_, tokens) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let revoked = http.post(format!("{}/revoke", setup.browser.base)).form(&[("token", access(&tokens).as_str())]).send().await.unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 401);
    let unknown = http.post(format!("{}/revoke", setup.browser.base)).form(&[("token", "nothing-like-a-token")]).send().await.unwrap();
    assert_eq!(unknown.status().as_u16(), 200);
    setup.test.server.shutdown().await;
}

/// Tokens made with the server's own signing key (read from its data directory), so that only
/// the claim under test is wrong.

#[tokio::test]
async fn expired_foreign_audience_bad_signature_and_unsigned_tokens_get_401() {
    let setup = setup().await;
    let (_, tokens) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let good = claims_of(&access(&tokens));
    let kid = jsonwebtoken::decode_header(access(&tokens)).unwrap().kid.unwrap();
    let key = EncodingKey::from_ec_der(&std::fs::read(setup.test.directory.path().join("oauth/signing-key.p8")).unwrap());
    let sign = |claims: &Value, key: &EncodingKey| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key).unwrap()
    };
    assert_eq!(setup.mcp_status(&sign(&good, &key)).await, 200, "the re-signed good claims pass");
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    assert_eq!(setup.mcp_status(&sign(&expired, &key)).await, 401, "expired");
    let mut foreign = good.clone();
    foreign["aud"] = json!("https://other.example/mcp");
    assert_eq!(setup.mcp_status(&sign(&foreign, &key)).await, 401, "wrong audience");
    let attacker = EncodingKey::from_ec_pem(include_bytes!("../fixtures/test-attacker-es256.pem")).unwrap();
    assert_eq!(setup.mcp_status(&sign(&good, &attacker)).await, 401, "bad signature");
    let unsigned =
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()), URL_SAFE_NO_PAD.encode(good.to_string()));
    assert_eq!(setup.mcp_status(&unsigned).await, 401, "alg none");
    setup.test.server.shutdown().await;
}
