//! The Rust SDK's public surface as data, and the report of how it changed between two runs.
//!
//! `generated/sdk-surface.json` is written beside the code; the next run compares its new
//! surface with that file, so a spec change that renames or retypes a field is reported as
//! breaking for code that uses the SDK before it ships.

use std::collections::BTreeMap;
use std::fmt;

use quote::ToTokens;
use serde::{Deserialize, Serialize};

/// What code that uses the SDK sees: the public types and the request builders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SdkSurface {
    /// Each type of `types` by name: its fields (a struct) or variants (an enum), each with
    /// its Rust type (`""` for a variant without data).
    pub types: BTreeMap<String, BTreeMap<String, String>>,
    /// Each request builder by name: its setters and the type each takes.
    pub builders: BTreeMap<String, BTreeMap<String, String>>,
}

impl SdkSurface {
    /// The surface of progenitor's output `file`, whose builders' setters are `setters`.
    pub(crate) fn of(file: &syn::File, setters: &BTreeMap<String, BTreeMap<String, String>>) -> SdkSurface {
        let mut types = BTreeMap::new();
        let type_items = crate::sdk::module_items(&file.items, "types");
        let is_public = |visibility: &syn::Visibility| matches!(visibility, syn::Visibility::Public(_));
        let spelled = |tokens: &dyn ToTokens| tokens.to_token_stream().to_string().replace(' ', "");
        for item in type_items.into_iter().flatten() {
            match item {
                syn::Item::Struct(structure) if is_public(&structure.vis) => {
                    // A newtype's inner type counts though it is private: its conversions show it.
                    let shown = |field: &syn::Field| is_public(&field.vis) || field.ident.is_none();
                    let fields = structure.fields.iter().enumerate().filter(|(_, field)| shown(field));
                    let fields = fields.map(|(index, field)| {
                        (field.ident.as_ref().map_or_else(|| index.to_string(), ToString::to_string), spelled(&field.ty))
                    });
                    types.insert(structure.ident.to_string(), fields.collect());
                }
                syn::Item::Enum(enumeration) if is_public(&enumeration.vis) => {
                    let variants = enumeration.variants.iter().map(|variant| (variant.ident.to_string(), spelled(&variant.fields)));
                    types.insert(enumeration.ident.to_string(), variants.collect());
                }
                _ => {}
            }
        }
        // Setter types are spelled as the types module's fields are: no spaces, no `types::`.
        let same_spelling = |rust_type: &String| rust_type.replace(' ', "").replace("types::", "");
        let builders = setters
            .iter()
            .map(|(builder, methods)| {
                (builder.clone(), methods.iter().map(|(setter, rust_type)| (setter.clone(), same_spelling(rust_type))).collect())
            })
            .collect();
        SdkSurface { types, builders }
    }

    /// The surface as pretty JSON with a final newline, as the surface file holds it.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the SDK surface serializes") + "\n"
    }
}

/// How the SDK's surface changed; its `Display` is what `cargo codegen` prints.
#[derive(Debug, Clone, Default)]
pub struct SdkSurfaceReport {
    /// Each change, and whether code written against the old SDK may stop compiling.
    changes: Vec<(bool, String)>,
}

impl SdkSurfaceReport {
    /// Whether a change may break code that uses the SDK: the crate's version must then say so.
    pub fn has_breaking(&self) -> bool {
        self.changes.iter().any(|(breaking, _)| *breaking)
    }
}

impl fmt::Display for SdkSurfaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(f, "Rust SDK surface: unchanged.");
        }
        let breaking = self.changes.iter().filter(|(breaking, _)| *breaking).count();
        writeln!(f, "Rust SDK surface: {} change(s), {breaking} breaking for code that uses the SDK:", self.changes.len())?;
        for (breaking, text) in &self.changes {
            writeln!(f, "  {} {text}", if *breaking { "BREAKING" } else { "ok      " })?;
        }
        Ok(())
    }
}

/// What changed from `old` to `new`: a removed or retyped type, field, variant or setter is
/// breaking; an added one is not (progenitor's structs are built through their builders).
pub fn compare(old: &SdkSurface, new: &SdkSurface) -> SdkSurfaceReport {
    let mut changes = Vec::new();
    for (kind, old_items, new_items) in [("type", &old.types, &new.types), ("builder", &old.builders, &new.builders)] {
        for (name, old_members) in old_items {
            let Some(new_members) = new_items.get(name) else {
                changes.push((true, format!("{kind} `{name}` removed")));
                continue;
            };
            for (member, old_type) in old_members {
                match new_members.get(member) {
                    None => changes.push((true, format!("`{name}.{member}` removed"))),
                    Some(new_type) if new_type != old_type => {
                        changes.push((true, format!("`{name}.{member}` changed from `{old_type}` to `{new_type}`")))
                    }
                    Some(_) => {}
                }
            }
            for member in new_members.keys().filter(|member| !old_members.contains_key(*member)) {
                changes.push((false, format!("`{name}.{member}` added")));
            }
        }
        for name in new_items.keys().filter(|name| !old_items.contains_key(*name)) {
            changes.push((false, format!("{kind} `{name}` added")));
        }
    }
    SdkSurfaceReport { changes }
}
