//! The spec's security scheme, written into the SDK as `AUTHENTICATION` so that the client
//! constructor sends the key the way the spec says (a header, a bearer token or HTTP basic).

use serde_json::Value;

use crate::diagnostics::Diagnostic;
use crate::spec::Spec;

/// The scheme the SDK follows: the first of the spec's top-level `security` alternatives that
/// it can follow. No `security` (or an empty alternative) means no key is sent.
pub(crate) fn authentication_item(spec: &Spec) -> Result<syn::Item, Diagnostic> {
    let alternatives = spec.tree.get("security").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut refused = Vec::new();
    for alternative in &alternatives {
        let names: Vec<&String> = alternative.as_object().map(|requirement| requirement.keys().collect()).unwrap_or_default();
        let [name] = names.as_slice() else {
            if names.is_empty() {
                return Ok(item("the spec's empty security alternative (no authentication)", quote::quote!(None)));
            }
            refused.push(format!(
                "[{}] together (the SDK sends one credential)",
                names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        match scheme(spec, name) {
            Ok(variant) => return Ok(item(&format!("the spec's security scheme `{name}`"), variant)),
            Err(reason) => refused.push(format!("`{name}`: {reason}")),
        }
    }
    if alternatives.is_empty() {
        return Ok(item("the spec, which asks for no authentication", quote::quote!(None)));
    }
    Err(spec
        .diagnostic(&["security"], format!("no security scheme of the spec can be followed: {}", refused.join("; ")))
        .with_help("the SDK sends an `apiKey` scheme `in: header`, an `http` scheme `bearer` or an `http` scheme `basic`"))
}

fn scheme(spec: &Spec, name: &str) -> Result<proc_macro2::TokenStream, String> {
    let scheme = spec.tree.pointer(&format!("/components/securitySchemes/{name}")).ok_or("it is not in components.securitySchemes")?;
    let text = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or("");
    match (text("type"), text("in"), text("scheme").to_ascii_lowercase().as_str()) {
        ("apiKey", "header", _) => {
            let header = text("name");
            let valid = !header.is_empty() && header.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
            if !valid {
                return Err(format!("`{header}` is not a valid header name"));
            }
            Ok(quote::quote!(ApiKeyHeader(#header)))
        }
        ("apiKey", location, _) => {
            Err(format!("a key `in: {location}` would put the secret where logs keep it; the SDK sends keys in headers"))
        }
        ("http", _, "bearer") => Ok(quote::quote!(Bearer)),
        ("http", _, "basic") => Ok(quote::quote!(Basic)),
        (kind, _, http_scheme) => Err(format!(
            "type `{kind}`{} is not supported",
            if kind == "http" { format!(" scheme `{http_scheme}`") } else { String::new() }
        )),
    }
}

fn item(source: &str, variant: proc_macro2::TokenStream) -> syn::Item {
    let doc = format!(" How the client sends its key: {source}.");
    syn::parse_quote! {
        #[doc = #doc]
        pub(crate) const AUTHENTICATION: ::clerk_chat::Authentication = ::clerk_chat::Authentication::#variant;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn followed(security: &str, schemes: &str) -> Result<String, String> {
        let text = format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths: {{}}\n{security}\ncomponents:\n  securitySchemes: {schemes}\n"
        );
        let spec = Spec::load("spec.yaml", &text).map_err(|error| error.to_string())?;
        authentication_item(&spec).map(|item| quote::ToTokens::to_token_stream(&item).to_string()).map_err(|error| error.to_string())
    }

    #[test]
    fn header_keys_bearer_tokens_and_basic_credentials_are_followed() {
        let header = followed("security: [{key: []}]", "{key: {type: apiKey, in: header, name: X-Key}}").unwrap();
        assert!(header.contains("ApiKeyHeader (\"X-Key\")"), "{header}");
        assert!(followed("security: [{b: []}]", "{b: {type: http, scheme: Bearer}}").unwrap().contains(":: Bearer"));
        assert!(followed("security: [{b: []}]", "{b: {type: http, scheme: basic}}").unwrap().contains(":: Basic"));
        assert!(followed("", "{}").unwrap().contains(":: None"));
    }

    #[test]
    fn the_first_alternative_that_can_be_followed_wins_and_a_key_in_the_url_is_refused_by_name() {
        let schemes = "{q: {type: apiKey, in: query, name: key}, b: {type: http, scheme: bearer}}";
        assert!(followed("security: [{q: []}, {b: []}]", schemes).unwrap().contains(":: Bearer"));
        let refused = followed("security: [{q: []}]", schemes).unwrap_err();
        assert!(refused.contains("`q`: a key `in: query` would put the secret where logs keep it"), "{refused}");
        let oauth = followed("security: [{o: []}]", "{o: {type: oauth2, flows: {}}}").unwrap_err();
        assert!(oauth.contains("`o`: type `oauth2` is not supported"), "{oauth}");
    }
}
