//! Checking a call's arguments against the tool's schema, and handing them to the route.

use clerk_support::did_you_mean::closest;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::mcp::error::{ArgumentProblem, ToolError};
use crate::mcp::loose_arguments::{drop_nulls_meaning_absent, read_scalars_sent_as_strings};
use crate::mcp::spec::{Location, ToolSpec};

/// The arguments of one call, validated, with defaults and fixed values filled in, keyed
/// by the names the client used. The generated route reads them by wire name.
#[derive(Debug, Clone)]
pub struct ToolCall {
    spec: &'static ToolSpec,
    values: Map<String, Value>,
}

impl ToolCall {
    /// Validates `arguments` against `validator` (compiled from the tool's full input schema)
    /// and fills in defaults and fixed values. `listed` is the schema the client was shown (a
    /// client profile may leave rules out): a broken rule it lacks is still a problem, and the
    /// problem says the rule was not shown.
    pub(crate) fn prepare(
        spec: &'static ToolSpec,
        arguments: Option<Map<String, Value>>,
        validator: &jsonschema::Validator,
        schema: &Value,
        listed: &Value,
    ) -> Result<ToolCall, ToolError> {
        let mut arguments = arguments.unwrap_or_default();
        drop_nulls_meaning_absent(&mut arguments, schema);
        read_scalars_sent_as_strings(&mut arguments, schema);
        let instance = Value::Object(arguments);
        let problems: Vec<ArgumentProblem> = validator
            .iter_errors(&instance)
            .map(|error| {
                let mut problem = describe(&error, schema);
                if listed != schema && listed.pointer(error.schema_path().as_str()).is_none() {
                    problem.problem.push_str(" (a rule the tool's schema as shown to this client leaves out; it still applies)");
                }
                problem
            })
            .collect();
        if !problems.is_empty() {
            return Err(ToolError::InvalidArguments { tool: spec.name, problems });
        }
        let Value::Object(mut values) = instance else { unreachable!("built as an object above") };
        for argument in spec.arguments {
            let preset = if argument.hidden { argument.fixed } else { argument.default };
            if let Some(text) = preset
                && (argument.hidden || !values.contains_key(argument.name) || values[argument.name].is_null())
            {
                let value = serde_json::from_str(text).expect("the generator writes defaults and fixed values as JSON");
                values.insert(argument.name.to_owned(), value);
            }
        }
        Ok(ToolCall { spec, values })
    }

    /// The value of an argument by the client's name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|value| !value.is_null())
    }

    pub(crate) fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    /// Removes an argument that is for the runtime, not for Clerk Chat.
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        self.values.remove(name)
    }

    /// Every argument, by the client's names.
    pub(crate) fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// A path parameter, converted to the SDK's type.
    pub fn path<T: DeserializeOwned>(&self, wire_name: &str) -> Result<T, ToolError> {
        self.typed(Location::Path, wire_name)?.ok_or_else(|| self.conversion_error(wire_name, "is required".to_owned()))
    }

    /// A query parameter, converted to the SDK's type; `None` when left out.
    pub fn query<T: DeserializeOwned>(&self, wire_name: &str) -> Result<Option<T>, ToolError> {
        self.typed(Location::Query, wire_name)
    }

    /// A header parameter, converted to the SDK's type; `None` when left out.
    pub fn header<T: DeserializeOwned>(&self, wire_name: &str) -> Result<Option<T>, ToolError> {
        self.typed(Location::Header, wire_name)
    }

    /// The request body, assembled from the body arguments under their wire names.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ToolError> {
        if let Some(whole) = self.spec.arguments.iter().find(|argument| argument.location == Location::Body) {
            let value = self.get(whole.name).cloned().unwrap_or(Value::Null);
            return serde_json::from_value(value).map_err(|error| self.conversion_error(whole.wire_name, error.to_string()));
        }
        let body: Map<String, Value> = self
            .spec
            .arguments
            .iter()
            .filter(|argument| argument.location == Location::BodyField)
            .filter_map(|argument| self.values.get(argument.name).map(|value| (argument.wire_name.to_owned(), value.clone())))
            .collect();
        serde_json::from_value(Value::Object(body))
            .map_err(|error| ToolError::invalid_argument(self.spec.name, "", format!("cannot be sent: {error}"), None))
    }

    fn typed<T: DeserializeOwned>(&self, location: Location, wire_name: &str) -> Result<Option<T>, ToolError> {
        let argument = self.spec.argument_by_wire_name(location, wire_name).expect("the generator only names arguments the tool has");
        match self.get(argument.name) {
            None => Ok(None),
            Some(value) => {
                serde_json::from_value(value.clone()).map(Some).map_err(|error| self.conversion_error(argument.name, error.to_string()))
            }
        }
    }

    fn conversion_error(&self, name: &str, problem: String) -> ToolError {
        ToolError::invalid_argument(self.spec.name, name, problem, None)
    }
}

/// Turns one schema violation into a sentence that names the argument, says what is wrong
/// with the value the caller sent, and how to write it instead.
fn describe(error: &jsonschema::ValidationError<'_>, schema: &Value) -> ArgumentProblem {
    let argument = display_path(error.instance_path().as_str());
    // The schema that holds the failed keyword, for its description and examples.
    let keyword_pointer = error.schema_path().as_str();
    let subschema = keyword_pointer.rsplit_once('/').and_then(|(parent, _)| schema.pointer(parent)).unwrap_or(&Value::Null);
    match error.kind() {
        ValidationErrorKind::Required { property } => missing_property(&argument, property, subschema),
        ValidationErrorKind::AdditionalProperties { unexpected } => unknown_properties(&argument, unexpected, subschema),
        _ => {
            let (problem, fix) = wrong_value(error, subschema);
            ArgumentProblem { argument, problem, fix }
        }
    }
}

/// A required property left out: the problem is reported on the property itself, so that the
/// caller reads `body is missing`, not a complaint about the object that lacks it.
fn missing_property(argument: &str, property: &Value, subschema: &Value) -> ArgumentProblem {
    let name = property.as_str().unwrap_or_default().to_owned();
    let about = subschema.pointer(&format!("/properties/{name}/description")).and_then(Value::as_str);
    let place = if argument.is_empty() { String::new() } else { format!(" in {argument}") };
    ArgumentProblem {
        argument: name.clone(),
        problem: format!("is missing{place}"),
        fix: Some(match about {
            Some(about) => format!("add `{name}`: {}", about.trim_end_matches('.')),
            None => format!("add `{name}`"),
        }),
    }
}

/// Properties the schema does not know, most often a misspelling: each gets the closest known
/// name as its fix, and when none is close, the caller gets the list of known names.
fn unknown_properties(argument: &str, unexpected: &[String], subschema: &Value) -> ArgumentProblem {
    let known: Vec<&str> = subschema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut fixes = Vec::new();
    for name in unexpected {
        if let Some(suggestion) = closest(name, known.iter().copied()) {
            fixes.push(format!("`{name}` should probably be `{suggestion}`"));
        }
    }
    let fix = if fixes.is_empty() { format!("known arguments: {}", known.join(", ")) } else { fixes.join("; ") };
    let names = unexpected.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
    let where_ = if argument.is_empty() { String::new() } else { format!(" in {argument}") };
    ArgumentProblem { argument: String::new(), problem: format!("unknown argument(s) {names}{where_}"), fix: Some(fix) }
}

/// The problem and fix for a value the schema refused, by the keyword it broke.
fn wrong_value(error: &jsonschema::ValidationError<'_>, subschema: &Value) -> (String, Option<String>) {
    let instance = error.instance();
    let value = shorten(instance);
    let described = subschema.get("description").and_then(Value::as_str).map(|text| text.trim_end_matches('.').to_owned());
    match error.kind() {
        ValidationErrorKind::Type { kind } => wrong_type(kind, instance, &value, subschema),
        ValidationErrorKind::Pattern { pattern } => {
            let expected = described.clone().unwrap_or_else(|| format!("text matching the pattern {pattern}"));
            (format!("{value} is not in the expected format"), Some(format!("expected {}", lowercase_first(&expected))))
        }
        ValidationErrorKind::Enum { options } => not_allowed(options, instance, &value),
        ValidationErrorKind::Format { format } => wrong_format(format, &value),
        ValidationErrorKind::MaxLength { limit } => {
            (format!("is {} characters long, more than the {limit} allowed", char_count(instance)), Some("shorten it".to_owned()))
        }
        ValidationErrorKind::MinLength { limit } => (format!("is {value}, shorter than the {limit} character(s) required"), None),
        ValidationErrorKind::MaxItems { limit } => (
            format!("has {} items, more than the {limit} allowed", item_count(instance)),
            Some(format!("send at most {limit}, or split the call")),
        ),
        ValidationErrorKind::MinItems { limit } => (format!("has {} items, fewer than the {limit} required", item_count(instance)), None),
        ValidationErrorKind::Maximum { limit } => {
            (format!("is {value}, more than the maximum {limit}"), Some(format!("use at most {limit}")))
        }
        ValidationErrorKind::Minimum { limit } => {
            (format!("is {value}, less than the minimum {limit}"), Some(format!("use at least {limit}")))
        }
        _ => (error.to_string(), described.map(|text| format!("expected {}", lowercase_first(&text)))),
    }
}

/// A value of the wrong JSON type. The schema's first example shows the right one; without
/// one, a string at least gets the most common fix, since models often leave out the quotes.
fn wrong_type(kind: &TypeKind, instance: &Value, value: &str, subschema: &Value) -> (String, Option<String>) {
    let example =
        subschema.get("examples").and_then(Value::as_array).and_then(|examples| examples.first()).map(|example| example.to_string());
    let wanted = match kind {
        TypeKind::Single(single) => single.to_string(),
        TypeKind::Multiple(several) => several.iter().map(|kind| kind.to_string()).collect::<Vec<_>>().join(" or "),
    };
    let fix = match (&example, wanted.as_str()) {
        (Some(example), _) => Some(format!("write it like {example}")),
        (None, "string") => Some("put the value in double quotes".to_owned()),
        _ => None,
    };
    (format!("is {value}, {}, but must be {}", with_article(json_type(instance)), with_article(&wanted)), fix)
}

/// `array` -> `an array`, `string or null` -> `a string or null`.
fn with_article(kind: &str) -> String {
    if kind == "null" {
        return kind.to_owned();
    }
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {kind}")
}

/// A value outside the enum, with the closest allowed value when one is near enough to be a typo.
fn not_allowed(options: &Value, instance: &Value, value: &str) -> (String, Option<String>) {
    let allowed: Vec<String> = options.as_array().into_iter().flatten().map(|option| option.to_string()).collect();
    let wrong = instance.as_str().unwrap_or_default();
    let allowed_plain: Vec<&str> = options.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let suggestion = closest(wrong, allowed_plain.iter().copied()).map(|best| format!("did you mean \"{best}\"? ")).unwrap_or_default();
    (format!("{value} is not allowed"), Some(format!("{suggestion}use one of {}", allowed.join(", "))))
}

/// A string in the wrong format, with an example of each format the generated schemas use.
fn wrong_format(format: &str, value: &str) -> (String, Option<String>) {
    let how = match format {
        "date-time" => "an ISO 8601 date-time with a time zone, such as 2026-01-31T09:00:00Z".to_owned(),
        "uuid" => "a UUID such as 5d0e8d03-d09f-47e5-8017-4d00cbf737f4".to_owned(),
        "uri" => "an absolute URL such as https://example.com/photo.jpg".to_owned(),
        "email" => "an email address such as ada@example.com".to_owned(),
        other => format!("a valid {other}"),
    };
    (format!("{value} is not a valid {format}"), Some(format!("write {how}")))
}

/// `/recipients/1` -> `recipients[1]`; `/contacts/0/phone` -> `contacts[0].phone`.
fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

fn shorten(value: &Value) -> String {
    const MAX: usize = 60;
    let text = value.to_string();
    if text.chars().count() <= MAX { text } else { format!("{}...", text.chars().take(MAX).collect::<String>()) }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn char_count(value: &Value) -> usize {
    value.as_str().map(|text| text.chars().count()).unwrap_or(0)
}

fn item_count(value: &Value) -> usize {
    value.as_array().map(Vec::len).unwrap_or(0)
}

fn lowercase_first(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_the_caller_wrote_them() {
        assert_eq!(display_path(""), "");
        assert_eq!(display_path("/recipients/1"), "recipients[1]");
        assert_eq!(display_path("/contacts/0/phone"), "contacts[0].phone");
    }
}

#[cfg(test)]
mod validation_tests {
    use serde_json::json;

    use super::*;
    use crate::mcp::spec::ToolSpec;
    use crate::tools::{CREATE_CAMPAIGN, CREATE_CONTACTS_BATCH, GET_MESSAGES, SEND_MESSAGE};

    fn prepare(spec: &'static ToolSpec, arguments: Value) -> Result<ToolCall, ToolError> {
        let schema = Value::Object(spec.input_schema());
        let validator =
            jsonschema::options().with_draft(jsonschema::Draft::Draft202012).should_validate_formats(true).build(&schema).unwrap();
        ToolCall::prepare(spec, arguments.as_object().cloned(), &validator, &schema, &schema)
    }

    fn message(spec: &'static ToolSpec, arguments: Value) -> String {
        prepare(spec, arguments).expect_err("these arguments are invalid").to_string()
    }

    #[test]
    fn a_bad_recipient_is_named_with_its_index_and_the_fix() {
        let text = message(&SEND_MESSAGE, json!({"sender": "+15551234567", "recipients": ["+15559876543", "+1 555"], "body": "hi"}));
        assert!(text.contains("recipients[1] \"+1 555\" is not in the expected format"), "{text}");
        assert!(text.contains("E.164 format, such as +15551234567"), "{text}");
        assert!(text.contains("so Clerk Chat was not called"), "{text}");
    }

    #[test]
    fn a_phone_number_sent_as_a_json_number_says_to_quote_it() {
        let text = message(&SEND_MESSAGE, json!({"sender": 15551234567_u64, "recipients": ["+15559876543"], "body": "hi"}));
        assert!(text.contains("sender is 15551234567, a number, but must be a string; write it like \"+15551234567\""), "{text}");
    }

    #[test]
    fn numbers_and_booleans_sent_as_strings_are_read_and_still_checked() {
        let call = prepare(&GET_MESSAGES, json!({"limit": "5"})).unwrap();
        assert_eq!(call.get("limit"), Some(&json!(5)));
        let too_many = message(&GET_MESSAGES, json!({"limit": "51"}));
        assert!(too_many.contains("limit"), "the range still applies: {too_many}");
        let words = message(&GET_MESSAGES, json!({"limit": "five"}));
        assert!(words.contains("limit is \"five\", a string, but must be an integer"), "{words}");
        let phone = message(&SEND_MESSAGE, json!({"sender": 15551234567_u64, "recipients": "+15559876543", "body": "hi"}));
        assert!(phone.contains("recipients is \"+15559876543\", a string, but must be an array"), "{phone}");
    }

    #[test]
    fn missing_and_unknown_arguments_are_all_reported_at_once() {
        let text = message(&SEND_MESSAGE, json!({"sender": "+15551234567", "recipient": ["+15559876543"]}));
        assert!(text.contains("recipients is missing"), "{text}");
        assert!(text.contains("body is missing"), "{text}");
        assert!(text.contains("`recipient` should probably be `recipients`"), "{text}");
    }

    #[test]
    fn limits_and_enums_say_what_is_allowed() {
        let text = message(&GET_MESSAGES, json!({"limit": 51, "start": "yesterday"}));
        assert!(text.contains("limit is 51, more than the maximum 50; use at most 50"), "{text}");
        assert!(text.contains("start \"yesterday\" is not a valid date-time"), "{text}");
        let text = message(&CREATE_CAMPAIGN, json!({"sender": "+15551234567", "list_name": "vip", "body": "hi", "provider": "twillio"}));
        assert!(text.contains("provider \"twillio\" is not allowed; did you mean \"twilio\"?"), "{text}");
    }

    #[test]
    fn nested_problems_name_the_entry() {
        let text = message(&CREATE_CONTACTS_BATCH, json!({"contacts": [{"name": "A"}, {"phone": "555-0100"}]}));
        assert!(text.contains("contacts[1].phone \"555-0100\""), "{text}");
        let text = message(&CREATE_CONTACTS_BATCH, json!({"contacts": []}));
        assert!(text.contains("contacts has 0 items, fewer than the 1 required"), "{text}");
    }

    #[test]
    fn defaults_fill_in_and_null_means_left_out() {
        let call = prepare(
            &SEND_MESSAGE,
            json!({"sender": "+15551234567", "recipients": ["+15559876543"], "body": "hi", "media_urls": null, "sent_by_name": null}),
        )
        .unwrap();
        assert_eq!(call.get("media_urls"), Some(&json!([])));
        assert_eq!(call.get("sent_by_name"), None);
        let body: crate::types::SendMessageRequest = call.body().unwrap();
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            json!({"sender": "+15551234567", "recipients": ["+15559876543"], "body": "hi", "mediaUrls": []})
        );
        let call = prepare(&GET_MESSAGES, json!({})).unwrap();
        assert_eq!(call.query::<std::num::NonZeroU32>("limit").unwrap().map(|limit| limit.get()), Some(50));
        assert_eq!(call.query::<std::num::NonZeroU32>("page").unwrap().map(|page| page.get()), Some(1));
    }
}
