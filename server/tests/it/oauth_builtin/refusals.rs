//! Everything the authorization server refuses: PKCE, redirects, CSRF, reused codes and refresh
//! tokens, revoked sign-ins, and tokens that are expired, foreign or forged.

use super::*;

#[tokio::test]
async fn authorization_requests_without_s256_pkce_or_with_a_foreign_redirect_are_refused() {
    let setup = setup().await;
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let resource = format!("{}/mcp", setup.browser.base);
    let challenge = challenge_of(VERIFIER);

    // Every refusal before the user has acted is a page: nothing goes to the redirect URI, so
    // the server never bounces a browser anywhere on a request's say-so.
    let refused = |request: Vec<(&str, &str)>| {
        let url = setup.authorize_url(&client_id, &request);
        async {
            let response = setup.browser.http.get(url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 400);
            assert!(response.headers().get("location").is_none(), "refused without a redirect");
            response.text().await.unwrap()
        }
    };
    // Missing PKCE and plain PKCE are refused as invalid_request.
    let mut missing = setup.standard_request(&challenge, "contacts:read", &resource);
    missing.retain(|(name, _)| !name.starts_with("code_challenge"));
    let page = refused(missing).await;
    assert!(page.contains("invalid_request") && page.contains("PKCE is required"), "{page}");
    let mut plain = setup.standard_request(VERIFIER, "contacts:read", &resource);
    plain.retain(|(name, _)| *name != "code_challenge_method");
    plain.push(("code_challenge_method", "plain"));
    assert!(refused(plain).await.contains("plain PKCE is not accepted"));
    // A state beyond 1,024 characters is not stored or echoed.
    let long_state = "s".repeat(1025);
    let mut long = setup.standard_request(&challenge, "contacts:read", &resource);
    long.retain(|(name, _)| *name != "state");
    long.push(("state", &long_state));
    assert!(refused(long).await.contains("state is longer than 1024 characters"));

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
    assert!(refused(other).await.contains("invalid_target"));

    // offline_access (OIDC's request for a refresh token) is accepted and not granted as a scope.
    let offline = setup.standard_request(&challenge, "contacts:read offline_access", &resource);
    let page = setup.browser.open_consent(&setup.authorize_url(&client_id, &offline)).await;
    assert!(page.body.contains("contacts:read") && !page.body.contains("offline_access"));

    // An unknown scope is refused by name.
    let unknown = setup.standard_request(&challenge, "contacts:read admin:everything", &resource);
    assert!(refused(unknown).await.contains("invalid_scope"));
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

    // A client must name itself, and may revoke only its own tokens.
    let (client_id, tokens) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let revoke = |form: Vec<(&'static str, String)>| http.post(format!("{}/revoke", setup.browser.base)).form(&form).send();
    let anonymous = revoke(vec![("token", access(&tokens))]).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.json::<Value>().await.unwrap()["error"], "invalid_client");
    let (other_client, _) = setup.sign_in("contacts:read", &[("decision", "sandbox")]).await;
    let foreign = revoke(vec![("token", access(&tokens)), ("client_id", other_client)]).await.unwrap();
    assert_eq!(foreign.status().as_u16(), 400);
    assert_eq!(foreign.json::<Value>().await.unwrap()["error"], "unauthorized_client");
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 200, "another client's attempt revoked nothing");

    // Revoking an access token ends its sign-in as well; unknown tokens get the same 200.
    let revoked = revoke(vec![("token", access(&tokens)), ("client_id", client_id.clone())]).await.unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(setup.mcp_status(&access(&tokens)).await, 401);
    let unknown = revoke(vec![("token", "nothing-like-a-token".to_owned()), ("client_id", client_id)]).await.unwrap();
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
