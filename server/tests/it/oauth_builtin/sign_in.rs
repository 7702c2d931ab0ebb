//! Signing in: discovery, registration (dynamic and by metadata document), the whole flow with
//! rmcp's OAuth client, the public URL and store settings, and the per-address limits.

use super::*;

#[tokio::test]
async fn rmcp_oauth_client_discovers_registers_signs_in_calls_a_tool_and_refreshes() {
    let setup = setup().await;
    let mut state = OAuthState::new(setup.test.server.mcp_url(), None).await.expect("rmcp discovers the server");
    state
        .start_authorization(AuthorizationRequest::new(CALLBACK).with_client_name("rmcp OAuth test").with_scopes(all_scopes()))
        .await
        .expect("rmcp registers a client (RFC 7591) and prepares PKCE");
    let authorization_url = state.get_authorization_url().await.unwrap();
    assert!(authorization_url.contains("code_challenge_method=S256"), "{authorization_url}");
    // The browser's part: the consent page, then one click on the sandbox team.
    let page = setup.browser.open_consent(&authorization_url).await;
    assert!(page.body.contains("rmcp OAuth test"), "the page names the client");
    assert!(page.body.contains("127.0.0.1:47000"), "the page names the redirect host");
    assert!(page.body.contains("Sandbox"), "the page says it is the sandbox");
    assert!(page.body.contains("Send an SMS or MMS") && page.body.contains("messages:send"), "the page lists the scopes");
    let callback = redirect_location(&setup.browser.submit(&page, &[("decision", "sandbox")]).await);
    state.handle_callback_url(&callback).await.expect("rmcp exchanges the code, checking state and iss");
    let manager = state.into_authorization_manager().expect("authorized");

    let first = manager.get_access_token().await.unwrap();
    let claims = claims_of(&first);
    assert_eq!(claims["aud"], setup.test.server.mcp_url(), "the resource is the audience");
    assert_eq!(claims["iss"], setup.browser.base);
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 600, "access tokens are short-lived");
    manager.refresh_token().await.expect("rmcp refreshes");
    let second = manager.get_access_token().await.unwrap();
    assert_ne!(first, second, "refresh gives a new access token");

    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(reqwest::Client::new(), manager),
        StreamableHttpClientTransportConfig::with_uri(setup.test.server.mcp_url()),
    );
    let client = ().serve(transport).await.expect("the signed-in client connects");
    let found =
        client.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Ada"})))).await.unwrap();
    let found = common::ok(found);
    assert_eq!(found["data"][0]["name"], "Ada Lovelace", "the sandbox demo team's contact: {found}");
    let sent = client
        .call_tool(
            CallToolRequestParams::new("send_message")
                .with_arguments(arguments(json!({"sender": "+12005550100", "recipients": ["+15559876543"], "body": "signed in"}))),
        )
        .await
        .unwrap();
    assert_eq!(common::ok(sent)["data"]["body"], "signed in");
    client.cancel().await.unwrap();
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn the_authorization_server_publishes_what_clients_discover() {
    let setup = setup().await;
    let http = common::http();
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let metadata: Value = http.get(format!("{}{path}", setup.browser.base)).send().await.unwrap().json().await.unwrap();
        assert_eq!(metadata["issuer"], setup.browser.base, "{path}");
        assert_eq!(metadata["code_challenge_methods_supported"], json!(["S256"]), "{path}");
        assert_eq!(metadata["client_id_metadata_document_supported"], true);
        assert_eq!(metadata["registration_endpoint"], format!("{}/register", setup.browser.base));
        assert_eq!(metadata["revocation_endpoint"], format!("{}/revoke", setup.browser.base));
    }
    let resource: Value =
        http.get(format!("{}/.well-known/oauth-protected-resource/mcp", setup.browser.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(resource["authorization_servers"], json!([setup.browser.base]));
    assert_eq!(resource["resource"], setup.test.server.mcp_url());
    let jwks: Value = http.get(format!("{}/jwks.json", setup.browser.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert!(jwks["keys"][0].get("d").is_none(), "the JWKS holds no private part");
    let unauthenticated = http.post(setup.test.server.mcp_url()).json(&json!({})).send().await.unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    let challenge = unauthenticated.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(&format!("resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"", setup.browser.base)),
        "{challenge}"
    );
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn a_client_id_metadata_document_identifies_the_client() {
    let setup = setup().await;
    // The app's metadata document, served where its client id points (loopback is allowed
    // because this server itself is on loopback).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client_id = format!("http://{}/oauth/client.json", listener.local_addr().unwrap());
    let liar_id = format!("http://{}/oauth/liar.json", listener.local_addr().unwrap());
    let document = json!({"client_id": client_id, "client_name": "Metadata App", "redirect_uris": [CALLBACK]});
    let lie = json!({"client_id": "https://someone-else.example/client.json", "client_name": "Liar", "redirect_uris": [CALLBACK]});
    let app = axum::Router::new()
        .route("/oauth/client.json", axum::routing::get(move || async move { axum::Json(document) }))
        .route("/oauth/liar.json", axum::routing::get(move || async move { axum::Json(lie) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let verifier = VERIFIER;
    let resource = format!("{}/mcp", setup.browser.base);
    let challenge = challenge_of(verifier);
    let page =
        setup.browser.open_consent(&setup.authorize_url(&client_id, &setup.standard_request(&challenge, "contacts:read", &resource))).await;
    assert!(page.body.contains("Metadata App"));
    // The name is the app's own claim even in its document; the host that published it is shown.
    assert!(page.body.contains("name given by the app itself, in its description at 127.0.0.1"), "{}", page.body);
    let code = query_value(&redirect_location(&setup.browser.submit(&page, &[("decision", "sandbox")]).await), "code").unwrap();
    let (status, tokens) = setup.exchange(&client_id, &code, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims_of(&access(&tokens))["client_id"], client_id);

    let response = setup
        .browser
        .http
        .get(setup.authorize_url(&liar_id, &setup.standard_request(&challenge, "contacts:read", &resource)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().await.unwrap().contains("names another client_id"));
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn bad_registrations_get_rfc_7591_errors() {
    let setup = setup().await;
    let http = common::http();
    let register =
        |body: String| http.post(format!("{}/register", setup.browser.base)).header("content-type", "application/json").body(body).send();
    let response = register("{not json".to_owned()).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_client_metadata");
    let response = register(json!({"client_name": "No redirect"}).to_string()).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "invalid_redirect_uri");
    assert!(error["error_description"].as_str().unwrap().contains("redirect_uris is required"));
    let response = register(json!({"redirect_uris": ["http://app.example.com/cb"]}).to_string()).await.unwrap();
    let error: Value = response.json().await.unwrap();
    assert!(error["error_description"].as_str().unwrap().contains("use https"), "{error}");
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn on_loopback_localhost_names_the_same_server() {
    let setup = setup().await;
    let localhost = format!("http://localhost:{}", setup.test.server.address.port());
    let http = common::http();
    let metadata: Value =
        http.get(format!("{localhost}/.well-known/oauth-protected-resource/mcp")).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], format!("{localhost}/mcp"), "the resource as the client was given it");
    assert_eq!(metadata["authorization_servers"], json!([setup.browser.base]), "one issuer, whatever the name");
    let challenge = http.post(format!("{localhost}/mcp")).json(&json!({})).send().await.unwrap();
    let challenge = challenge.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains(&format!("resource_metadata=\"{localhost}/.well-known/")), "{challenge}");

    // A resource named through localhost is this server; the token's audience stays canonical.
    let client_id = setup.browser.register(&[CALLBACK]).await;
    let verifier = VERIFIER;
    let resource = format!("{localhost}/mcp");
    let page = setup
        .browser
        .open_consent(&setup.authorize_url(&client_id, &setup.standard_request(&challenge_of(verifier), "contacts:read", &resource)))
        .await;
    let code = query_value(&redirect_location(&setup.browser.submit(&page, &[("decision", "sandbox")]).await), "code").unwrap();
    let (status, tokens) = setup
        .browser
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
            ("resource", &resource),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(claims_of(&access(&tokens))["aud"], setup.test.server.mcp_url());
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn registrations_and_consent_answers_are_limited_per_address() {
    let setup = setup().await;
    let register = || common::http().post(format!("{}/register", setup.browser.base)).json(&json!({"redirect_uris": [CALLBACK]})).send();
    for attempt in 0..30 {
        assert_eq!(register().await.unwrap().status().as_u16(), 201, "attempt {attempt} is within the allowance");
    }
    // The allowance refills one every two seconds: on a loaded machine the thirty above may
    // take that long, so the refusal may come an attempt or two later, never much later.
    let mut refused = register().await.unwrap();
    for _ in 0..10 {
        if refused.status().as_u16() != 201 {
            break;
        }
        refused = register().await.unwrap();
    }
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let error: Value = refused.json().await.unwrap();
    assert!(error["error_description"].as_str().unwrap().contains("try again in"), "{error}");
    // The same allowance covers answers to the consent page, which try keys with Clerk Chat.
    let answer = setup.browser.http.post(format!("{}/authorize", setup.browser.base)).form(&[("decision", "allow")]).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 429);
    // Reading metadata and exchanging tokens are not limited.
    let metadata = common::http().get(format!("{}/.well-known/oauth-authorization-server", setup.browser.base)).send().await.unwrap();
    assert_eq!(metadata.status().as_u16(), 200);
    setup.test.server.shutdown().await;
}

#[tokio::test]
async fn a_public_builtin_server_needs_an_https_public_url() {
    let directory = tempfile::tempdir().unwrap();
    // Refused when the settings are read, before anything starts.
    let public = |public_url: Option<&str>| {
        let mut args = vec!["--auth", "builtin", "--listen", "0.0.0.0:0"];
        args.extend(public_url.map(|url| ["--public-url", url]).into_iter().flatten());
        common::try_settings(directory.path(), &args).expect_err("refused").to_string()
    };
    let error = public(None);
    assert!(error.contains("needs --public-url"), "{error}");
    let error = public(Some("http://mcp.example.com"));
    assert!(error.contains("must be served over https"), "{error}");
    let error = public(Some("https://example.com/clerk"));
    assert!(error.contains("root of its host"), "{error}");
    let error = public(Some("http://127.0.0.1:8787"));
    assert!(error.contains("a loopback URL names this machine only"), "{error}");
}

#[tokio::test]
async fn sign_ins_are_stored_where_the_database_url_says() {
    let directory = tempfile::tempdir().unwrap();
    let elsewhere = directory.path().join("elsewhere/sign-ins.db");
    let url = format!("sqlite://{}", elsewhere.display());
    let server = clerk_mcp::start_http(&common::settings(directory.path(), &["--auth", "builtin", "--database-url", &url])).await.unwrap();
    let tokens = Browser::new(format!("http://{}", server.address)).sign_in_to_sandbox().await;
    let client = common::connect_with_token(&server.mcp_url(), tokens["access_token"].as_str().unwrap()).await;
    let found =
        client.call_tool(CallToolRequestParams::new("search_contacts").with_arguments(arguments(json!({"query": "Ada"})))).await.unwrap();
    assert_eq!(common::ok(found)["data"][0]["name"], "Ada Lovelace", "the signed-in account's key reaches the sandbox");
    assert!(elsewhere.exists(), "the database is at the URL's path");
    assert!(!directory.path().join("oauth/oauth.db").exists(), "and not in the data directory");
    client.cancel().await.unwrap();
    server.shutdown().await;
}
