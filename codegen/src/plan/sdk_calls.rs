//! What a tool's route calls in the generated SDK: progenitor's client method and request
//! builder for the operation. They are looked up in the SDK as generated, so that a name
//! progenitor spells differently is reported here, at the operation, instead of as a
//! compile error in generated/.

use std::collections::BTreeMap;

use heck::{ToSnakeCase, ToUpperCamelCase};

use super::ArgumentLocation;
use super::wire::WireArgument;
use crate::diagnostics::Diagnostic;
use crate::sdk::GeneratedSdk;
use crate::spec::{Operation, Spec};

/// progenitor's request builder for one operation, with the setters it offers.
pub(super) struct OperationBuilder<'a> {
    spec: &'a Spec,
    sdk: &'a GeneratedSdk,
    operation: &'a Operation,
    /// progenitor names each builder after its operation id, in PascalCase.
    builder_name: String,
    /// The builder's setters and their Rust types; `None` when progenitor wrote no such builder.
    setters: Option<&'a BTreeMap<String, String>>,
}

impl<'a> OperationBuilder<'a> {
    pub(super) fn new(spec: &'a Spec, sdk: &'a GeneratedSdk, operation: &'a Operation) -> Self {
        let builder_name = operation.id.to_upper_camel_case();
        let setters = sdk.setters.get(&builder_name);
        OperationBuilder { spec, sdk, operation, builder_name, setters }
    }

    /// Every problem found here is the spec's (progenitor wrote the SDK from it), so it
    /// points at the operation in the spec.
    fn diagnostic_at_operation(&self, message: String) -> Diagnostic {
        let operation_keys: Vec<&str> = self.operation.yaml_keys.iter().map(String::as_str).collect();
        self.spec.diagnostic(&operation_keys, message)
    }

    /// For a path, query or header argument: the builder setter named after its wire name, and the
    /// Rust type the setter takes. Body arguments have none; they go through [`Self::body_type`].
    pub(super) fn setter(&self, wire: &WireArgument, problems: &mut Vec<Diagnostic>) -> Option<(String, String)> {
        match wire.location {
            ArgumentLocation::Path | ArgumentLocation::Query | ArgumentLocation::Header => {
                let setter_name = wire.wire_name.to_snake_case();
                match self.setters.and_then(|setters| setters.get(&setter_name)) {
                    Some(rust_type) => Some((setter_name, rust_type.clone())),
                    None => {
                        problems.push(self.diagnostic_at_operation(format!(
                            "progenitor's builder `{}` has no setter `{setter_name}` for parameter `{}`",
                            self.builder_name, wire.wire_name
                        )));
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// The client method that starts the request: the operation id in snake_case.
    pub(super) fn client_method(&self, problems: &mut Vec<Diagnostic>) -> String {
        let client_method = self.operation.id.to_snake_case();
        if !self.sdk.client_methods.contains(&client_method) {
            problems.push(self.diagnostic_at_operation(format!(
                "progenitor's client has no method `{client_method}` for operation `{}`",
                self.operation.id
            )));
        }
        client_method
    }

    /// Whether the builder has a `send_json`, which the route then calls to pass the answer
    /// on as JSON.
    pub(super) fn has_json_sender(&self) -> bool {
        self.sdk.json_senders.contains(&self.builder_name)
    }

    /// The Rust type of the request body, which the route deserializes the body arguments
    /// into; `None` for an operation without a body.
    pub(super) fn body_type(&self, problems: &mut Vec<Diagnostic>) -> Option<String> {
        self.operation.body.as_ref()?;
        match self.setters.and_then(|setters| setters.get("body")) {
            Some(rust_type) => Some(rust_type.clone()),
            None => {
                problems.push(self.diagnostic_at_operation(format!("progenitor's builder `{}` has no `body` setter", self.builder_name)));
                None
            }
        }
    }
}
