//! The typed SDK: progenitor's output for the spec, and what the tool routes need to know of it.

use std::collections::BTreeMap;

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
}

pub(crate) fn generate(spec: &Spec) -> Result<GeneratedSdk, Diagnostic> {
    let mut settings = progenitor::GenerationSettings::default();
    settings.with_interface(progenitor::InterfaceStyle::Builder).with_tag(progenitor::TagStyle::Merged).with_derive("PartialEq");
    let mut generator = progenitor::Generator::new(&settings);
    // progenitor panics on some specs it does not support; turn that into a diagnostic.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generator.generate_tokens(&spec.openapi)))
        .map_err(|panic| {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                .unwrap_or_else(|| "unknown reason".to_owned());
            Diagnostic::new(&spec.file, None, format!("progenitor cannot generate an SDK from this spec: {reason}"))
        })?
        .map_err(|error| Diagnostic::new(&spec.file, None, format!("progenitor cannot generate an SDK from this spec: {error}")))?;
    let file: syn::File = syn::parse2(tokens)
        .map_err(|error| Diagnostic::new(&spec.file, None, format!("progenitor produced code that does not parse: {error}")))?;
    let (setters, client_methods) = introspect(&file);
    Ok(GeneratedSdk { code: prettyplease::unparse(&file), setters, client_methods })
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
