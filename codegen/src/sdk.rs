//! The typed SDK: progenitor's output for the spec, and what the tool routes need to know of it.

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;

use crate::diagnostics::Diagnostic;
use crate::spec::Spec;

pub(crate) struct GeneratedSdk {
    pub(crate) code: String,
    /// For each builder (named after an operation, PascalCase): setter name -> the Rust
    /// type its `TryInto` bound names, as progenitor wrote it.
    pub(crate) setters: BTreeMap<String, BTreeMap<String, String>>,
    /// The client's methods, one per operation.
    pub(crate) client_methods: Vec<String>,
    /// The builders that have a `send_json` beside `send` (see [`add_json_senders`]).
    pub(crate) json_senders: BTreeSet<String>,
    /// What code that uses the SDK sees of it, for the change report.
    pub(crate) surface: crate::sdk_surface::SdkSurface,
}

pub(crate) fn generate(spec: &Spec) -> Result<GeneratedSdk, Diagnostic> {
    let mut settings = progenitor::GenerationSettings::default();
    settings.with_interface(progenitor::InterfaceStyle::Builder).with_tag(progenitor::TagStyle::Merged).with_derive("PartialEq");
    // The client carries its retry policy; the crate's `retry.rs` implements `ClientHooks`
    // for `Client`, which takes precedence over the default impl progenitor writes for `&Client`.
    settings.with_inner_type(quote::quote!(::clerk_chat::RetryPolicy));
    let mut id_patch = progenitor::TypePatch::default();
    for derive in ["Copy", "Eq", "Hash", "PartialOrd", "Ord"] {
        id_patch.with_derive(derive);
    }
    for type_name in scalar_id_types(&spec.tree) {
        settings.with_patch(type_name, &id_patch);
    }
    let mut generator = progenitor::Generator::new(&settings);
    // progenitor panics on some specs it does not support; turn that into a diagnostic, without
    // the panic message and backtrace the default hook would print first.
    let tokens = quietly(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generator.generate_tokens(&spec.openapi))))
        .map_err(|panic| {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                .unwrap_or_else(|| "unknown reason".to_owned());
            Diagnostic::new(&spec.file, None, format!("progenitor cannot generate an SDK from this spec: {reason}"))
        })?
        .map_err(|error| Diagnostic::new(&spec.file, None, format!("progenitor cannot generate an SDK from this spec: {error}")))?;
    let mut file: syn::File = syn::parse2(tokens)
        .map_err(|error| Diagnostic::new(&spec.file, None, format!("progenitor produced code that does not parse: {error}")))?;
    file.items.push(crate::security::authentication_item(spec)?);
    let json_senders = add_json_senders(&mut file);
    seal_constructors(&mut file);
    start_required_lists_empty(&mut file, &empty_list_defaults(&spec.tree));
    explain_pattern_errors(&mut file, &spec.tree);
    let (setters, client_methods) = introspect(&file);
    let surface = crate::sdk_surface::SdkSurface::of(&file, &setters);
    Ok(GeneratedSdk { code: prettyplease::unparse(&file), setters, client_methods, json_senders, surface })
}

thread_local! {
    /// Set while this thread runs progenitor, whose panics are caught and reported.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` with panics on this thread left to the caller to report: a panic hook installed
/// once keeps quiet on a thread running `quietly` and passes every other panic (another
/// thread's, a test's) to the hook that was there before.
fn quietly<T>(work: impl FnOnce() -> T) -> T {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|quiet| quiet.set(true));
    let result = work();
    QUIET.with(|quiet| quiet.set(false));
    result
}

/// Gives every builder whose `send` answers a typed JSON body a `send_json` beside it: the
/// same request, with the success answer as the JSON that came. The MCP tools pass an answer
/// on as JSON, and parsing it into the SDK's types only to serialize it again was a fifth of
/// a `get_messages` call's CPU; the tools check the JSON against the output schema instead.
/// progenitor's `send` infers the success type from its return type, so the copy differs only
/// there. Returns the names of the builders that got one.
fn add_json_senders(file: &mut syn::File) -> BTreeSet<String> {
    let mut builders = BTreeSet::new();
    for item in module_items_mut(&mut file.items, "builder").into_iter().flatten() {
        let syn::Item::Impl(implementation) = item else { continue };
        let Some(json_sender) = implementation.items.iter().find_map(json_sender_of) else { continue };
        if let syn::Type::Path(self_type) = &*implementation.self_ty
            && let Some(segment) = self_type.path.segments.last()
        {
            builders.insert(segment.ident.to_string());
        }
        implementation.items.push(syn::ImplItem::Fn(json_sender));
    }
    builders
}

/// The items of the module `name` among `items`.
pub(crate) fn module_items<'a>(items: &'a [syn::Item], name: &str) -> Option<&'a Vec<syn::Item>> {
    items.iter().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == name => module.content.as_ref().map(|(_, items)| items),
        _ => None,
    })
}

/// [`module_items`], to change them.
fn module_items_mut<'a>(items: &'a mut [syn::Item], name: &str) -> Option<&'a mut Vec<syn::Item>> {
    items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == name => module.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// A value that breaks a named schema's `pattern` is refused with the value and what the spec
/// says the value is (its description, or its example), instead of typify's bare "doesn't
/// match pattern": `"+1 555" is not valid here: A phone number in E.164 format, such as
/// +15551234567.`
fn explain_pattern_errors(file: &mut syn::File, tree: &serde_json::Value) {
    use heck::ToUpperCamelCase;
    let mut explained = BTreeMap::new();
    for (name, schema) in tree["components"]["schemas"].as_object().into_iter().flatten() {
        let described = schema["description"].as_str().map(str::to_owned);
        let example = schema["example"].as_str().map(|example| format!("such as {example}"));
        if let (Some(_), Some(expected)) = (schema["pattern"].as_str(), described.or(example)) {
            explained.insert(name.to_upper_camel_case(), expected.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    for item in module_items_mut(&mut file.items, "types").into_iter().flatten() {
        let Some((implementation, type_name)) = trait_impl(item, "FromStr") else { continue };
        let Some(expected) = explained.get(&type_name) else { continue };
        for member in &mut implementation.items {
            let syn::ImplItem::Fn(method) = member else { continue };
            for statement in &mut method.block.stmts {
                let syn::Stmt::Expr(syn::Expr::If(check), _) = statement else { continue };
                let is_pattern_check = check.cond.to_token_stream().to_string().contains("PATTERN");
                if is_pattern_check {
                    check.then_branch = syn::parse_quote!({
                        return Err(format!("{:?} is not valid here: {}", value, #expected).into());
                    });
                }
            }
        }
    }
}

/// Leaves the SDK's users no way to build a client without a key, or one that panics:
/// progenitor's `Client::new` builds a reqwest client without a TLS crypto provider (a panic
/// under `rustls-no-provider`) and without the `apiKey` header, so it is dropped, and
/// `new_with_client` (base URL, reqwest client, retry policy) is kept for the crate's own
/// constructors only (`client.rs`).
fn seal_constructors(file: &mut syn::File) {
    for item in &mut file.items {
        let syn::Item::Impl(implementation) = item else { continue };
        let syn::Type::Path(self_type) = &*implementation.self_ty else { continue };
        if implementation.trait_.is_some() || !self_type.path.is_ident("Client") {
            continue;
        }
        implementation.items.retain(|item| !matches!(item, syn::ImplItem::Fn(method) if method.sig.ident == "new"));
        for item in &mut implementation.items {
            if let syn::ImplItem::Fn(method) = item
                && method.sig.ident == "new_with_client"
            {
                method.vis = syn::parse_quote!(pub(crate));
            }
        }
    }
}

/// The named schemas that are a bare integer or UUID (`MessageId`, `InboxId`, ...): their
/// newtypes are ids, so they get `Copy`, `Eq`, `Hash` and an order, and can be used as map
/// keys and compared without clones, like the integer or UUID they wrap.
fn scalar_id_types(tree: &serde_json::Value) -> Vec<String> {
    use heck::ToUpperCamelCase;
    let schemas = tree["components"]["schemas"].as_object().into_iter().flatten();
    schemas
        .filter(|(_, schema)| schema.get("enum").is_none())
        .filter(|(_, schema)| schema["type"] == "integer" || (schema["type"] == "string" && schema["format"] == "uuid"))
        .map(|(name, _)| name.to_upper_camel_case())
        .collect()
}

/// The required properties whose schema gives `default: []`, as (type, field) the way
/// progenitor names them: `SendMessageRequest`, `media_urls`.
fn empty_list_defaults(tree: &serde_json::Value) -> BTreeSet<(String, String)> {
    use heck::{ToSnakeCase, ToUpperCamelCase};
    let mut found = BTreeSet::new();
    for (name, schema) in tree["components"]["schemas"].as_object().into_iter().flatten() {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        for (property, property_schema) in schema["properties"].as_object().into_iter().flatten() {
            if required.contains(&serde_json::json!(property)) && property_schema.get("default") == Some(&serde_json::json!([])) {
                found.insert((name.to_upper_camel_case(), property.to_snake_case()));
            }
        }
    }
    found
}

/// Starts each of `fields` empty in its type's builder. progenitor's builders ignore a
/// default on a required property and start it as "no value supplied", so without this every
/// send would have to say `.media_urls(vec![])`; the field is still sent (as `[]`), since the
/// API requires it.
fn start_required_lists_empty(file: &mut syn::File, fields: &BTreeSet<(String, String)>) {
    let builders = module_items_mut(&mut file.items, "types").and_then(|types| module_items_mut(types, "builder"));
    for builder in builders.into_iter().flatten() {
        start_empty_in_default_impl(builder, fields);
    }
}

/// `item` when it is `impl <trait_name> for T`, with the name of `T`.
fn trait_impl<'a>(item: &'a mut syn::Item, trait_name: &str) -> Option<(&'a mut syn::ItemImpl, String)> {
    let syn::Item::Impl(implementation) = item else { return None };
    let (_, trait_path, _) = implementation.trait_.as_ref()?;
    if trait_path.segments.last()?.ident != trait_name {
        return None;
    }
    let syn::Type::Path(self_type) = &*implementation.self_ty else { return None };
    let type_name = self_type.path.segments.last()?.ident.to_string();
    Some((implementation, type_name))
}

/// In `impl Default for T { fn default() -> Self { Self { field: Err(..), .. } } }`, the
/// fields of `T` named in `fields` start as `Ok(Default::default())`.
fn start_empty_in_default_impl(item: &mut syn::Item, fields: &BTreeSet<(String, String)>) {
    let Some((implementation, type_name)) = trait_impl(item, "Default") else { return };
    for item in &mut implementation.items {
        let syn::ImplItem::Fn(default) = item else { continue };
        for statement in &mut default.block.stmts {
            let syn::Stmt::Expr(syn::Expr::Struct(initializer), _) = statement else { continue };
            for field in &mut initializer.fields {
                if let syn::Member::Named(name) = &field.member
                    && fields.contains(&(type_name.clone(), name.to_string()))
                {
                    field.expr = syn::parse_quote!(Ok(Default::default()));
                }
            }
        }
    }
}

/// `send` as `send_json`, when `send` returns `Result<ResponseValue<T>, E>` with a `T` that is
/// parsed from JSON (not `()` for an empty answer, nor a byte stream).
fn json_sender_of(item: &syn::ImplItem) -> Option<syn::ImplItemFn> {
    let syn::ImplItem::Fn(send) = item else { return None };
    if send.sig.ident != "send" {
        return None;
    }
    let mut json_sender = send.clone();
    let syn::ReturnType::Type(_, result) = &mut json_sender.sig.output else { return None };
    let success = first_type_argument(result)?;
    let syn::Type::Path(response_value) = &*success else { return None };
    if response_value.path.segments.last()?.ident != "ResponseValue" {
        return None;
    }
    let syn::Type::Path(parsed) = &*first_type_argument(success)? else { return None };
    let parsed_name = parsed.path.segments.last()?.ident.to_string();
    if parsed_name == "ByteStream" || parsed_name == "Upgraded" {
        return None;
    }
    *first_type_argument(success)? = syn::parse_quote!(::serde_json::Value);
    json_sender.sig.ident = syn::Ident::new("send_json", send.sig.ident.span());
    json_sender.attrs.retain(|attribute| !attribute.path().is_ident("doc"));
    json_sender.attrs.push(syn::parse_quote!(
        #[doc = "Sends the request like `send`, and gives the success answer as the JSON that came, unparsed into types."]
    ));
    Some(json_sender)
}

/// The first type argument of a path type: `T` of `Result<T, E>` or `ResponseValue<T>`.
fn first_type_argument(path_type: &mut syn::Type) -> Option<&mut syn::Type> {
    let syn::Type::Path(path_type) = path_type else { return None };
    let syn::PathArguments::AngleBracketed(arguments) = &mut path_type.path.segments.last_mut()?.arguments else { return None };
    match arguments.args.first_mut()? {
        syn::GenericArgument::Type(argument) => Some(argument),
        _ => None,
    }
}

fn introspect(file: &syn::File) -> (BTreeMap<String, BTreeMap<String, String>>, Vec<String>) {
    let mut setters = BTreeMap::new();
    let mut client_methods = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Mod(module) if module.ident == "builder" => {
                for item in module.content.iter().flat_map(|(_, items)| items) {
                    if let syn::Item::Impl(implementation) = item
                        && let syn::Type::Path(self_type) = &*implementation.self_ty
                        && let Some(segment) = self_type.path.segments.last()
                    {
                        let methods = setters.entry(segment.ident.to_string()).or_insert_with(BTreeMap::new);
                        for item in &implementation.items {
                            if let syn::ImplItem::Fn(method) = item
                                && let Some(target) = try_into_target(&method.sig)
                            {
                                methods.insert(method.sig.ident.to_string(), target);
                            }
                        }
                    }
                }
            }
            syn::Item::Impl(implementation) if implementation.trait_.is_none() => {
                if let syn::Type::Path(self_type) = &*implementation.self_ty
                    && self_type.path.is_ident("Client")
                {
                    for item in &implementation.items {
                        if let syn::ImplItem::Fn(method) = item {
                            client_methods.push(method.sig.ident.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (setters, client_methods)
}

/// `fn x<V>(self, value: V) -> Self where V: std::convert::TryInto<T>` gives `T`.
fn try_into_target(signature: &syn::Signature) -> Option<String> {
    let where_clause = signature.generics.where_clause.as_ref()?;
    for predicate in &where_clause.predicates {
        if let syn::WherePredicate::Type(bound) = predicate {
            for trait_bound in &bound.bounds {
                if let syn::TypeParamBound::Trait(trait_bound) = trait_bound
                    && let Some(last) = trait_bound.path.segments.last()
                    && last.ident == "TryInto"
                    && let syn::PathArguments::AngleBracketed(arguments) = &last.arguments
                    && let Some(syn::GenericArgument::Type(target)) = arguments.args.first()
                {
                    return Some(target.to_token_stream().to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(returns: &str) -> syn::ImplItem {
        syn::parse_str(&format!("pub async fn send(self) -> {returns} {{ ResponseValue::from_response(response).await }}")).unwrap()
    }

    #[test]
    fn bare_integer_and_uuid_schemas_are_ids_and_constrained_or_enumerated_ones_are_not() {
        let tree = serde_json::json!({"components": {"schemas": {
            "message_id": {"type": "integer", "format": "int64"},
            "InboxId": {"type": "string", "format": "uuid"},
            "ContactId": {"type": "string", "minLength": 1},
            "Priority": {"type": "integer", "enum": [1, 2]},
            "Message": {"type": "object"},
        }}});
        assert_eq!(scalar_id_types(&tree), ["MessageId", "InboxId"]);
    }

    #[test]
    fn a_json_answer_gets_a_send_json_that_differs_only_in_its_success_type() {
        let json_sender = json_sender_of(&sender("Result<ResponseValue<types::Contact>, Error<types::ErrorResponse>>")).unwrap();
        assert_eq!(json_sender.sig.ident, "send_json");
        let returns = json_sender.sig.output.to_token_stream().to_string().replace(' ', "");
        assert_eq!(returns, "->Result<ResponseValue<::serde_json::Value>,Error<types::ErrorResponse>>");
        assert!(json_sender.block.to_token_stream().to_string().contains("from_response"), "the body is send's");
    }

    #[test]
    fn a_required_list_with_an_empty_default_starts_empty_in_its_builder() {
        let tree = serde_json::json!({"components": {"schemas": {"SendMessageRequest": {
            "required": ["mediaUrls", "recipients"],
            "properties": {"mediaUrls": {"type": "array", "default": []}, "recipients": {"type": "array"}}}}}});
        let fields = empty_list_defaults(&tree);
        assert_eq!(fields.into_iter().collect::<Vec<_>>(), [("SendMessageRequest".to_owned(), "media_urls".to_owned())]);
        let mut file: syn::File = syn::parse_quote! {
            pub mod types { pub mod builder {
                impl ::std::default::Default for SendMessageRequest {
                    fn default() -> Self {
                        Self { media_urls: Err("no value supplied for media_urls".to_string()), recipients: Err("no value supplied for recipients".to_string()) }
                    }
                }
            } }
        };
        start_required_lists_empty(&mut file, &empty_list_defaults(&tree));
        let code = file.to_token_stream().to_string().replace(' ', "");
        assert!(code.contains("media_urls:Ok(Default::default())"), "{code}");
        assert!(code.contains("recipients:Err(\"novaluesuppliedforrecipients\""), "a list without a default stays required: {code}");
    }

    #[test]
    fn empty_and_streamed_answers_get_none() {
        assert!(json_sender_of(&sender("Result<ResponseValue<()>, Error<()>>")).is_none());
        assert!(json_sender_of(&sender("Result<ResponseValue<ByteStream>, Error<()>>")).is_none());
    }
}
