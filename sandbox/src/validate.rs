//! Request validation: every problem found in one pass, each as a sentence naming the field,
//! as Clerk Chat's class-validator messages do.

use chrono::{DateTime, Utc};
use clerk_chat::phone::is_e164;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Parses a JSON body: malformed JSON is a 400, a JSON value that is not an object a 422.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Err(error) => Err(ApiError::MalformedJson(error.to_string())),
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::invalid("the request body must be a JSON object")),
    }
}

/// Reads fields of one JSON object, collecting problems instead of stopping at the first.
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
    pub problems: Vec<String>,
    /// The fields the handler asked for: any other field of the object is unknown.
    known: Vec<String>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(object: &'a Map<String, Value>) -> Self {
        Fields { object, prefix: String::new(), problems: Vec::new(), known: Vec::new() }
    }

    pub(crate) fn nested(object: &'a Map<String, Value>, prefix: String) -> Self {
        Fields { object, prefix, problems: Vec::new(), known: Vec::new() }
    }

    /// A problem for every field of the object no reader asked for, with the closest known
    /// name: a field the spec does not have (or `list_name` for `listName`) is refused, never
    /// silently dropped. Call it after every field was read.
    pub(crate) fn refuse_unknown(&mut self) {
        let mut unknown: Vec<&String> = self.object.keys().filter(|key| !self.known.contains(key)).collect();
        unknown.sort();
        for field in unknown {
            let hint = clerk_support::did_you_mean::did_you_mean(field, self.known.iter().map(String::as_str))
                .map(|hint| format!("; {hint}"))
                .unwrap_or_default();
            let name = self.name(field);
            self.problems.push(format!("{name} is not a field of this request{hint}"));
        }
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// The field's value when given. `null` counts as given: no request field of the spec is
    /// nullable, so the typed readers refuse it.
    fn present(&mut self, field: &str) -> Option<&'a Value> {
        if !self.known.iter().any(|known| known == field) {
            self.known.push(field.to_owned());
        }
        self.object.get(field)
    }

    pub(crate) fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    pub(crate) fn string(&mut self, field: &str, required: bool, min: usize, max: usize) -> Option<String> {
        match self.present(field) {
            None => {
                if required {
                    self.problem(format!("{} is required", self.name(field)));
                }
                None
            }
            Some(Value::String(text)) => {
                let length = text.chars().count();
                if length < min {
                    self.problem(format!("{} must be at least {min} character(s) long", self.name(field)));
                    None
                } else if length > max {
                    self.problem(format!("{} must be at most {max} characters long, not {length}", self.name(field)));
                    None
                } else {
                    Some(text.clone())
                }
            }
            Some(other) => {
                self.problem(format!("{} must be a string, not {}", self.name(field), kind(other)));
                None
            }
        }
    }

    /// An email address (`format: email` in the spec): text with one `@`, a dotted domain and
    /// no spaces, at most 320 characters.
    pub(crate) fn email(&mut self, field: &str, required: bool) -> Option<String> {
        let email = self.string(field, required, 3, 320)?;
        if looks_like_email(&email) {
            Some(email)
        } else {
            self.problem(format!("{} must be an email address such as ada@example.com, not {email:?}", self.name(field)));
            None
        }
    }

    pub(crate) fn phone(&mut self, field: &str, required: bool) -> Option<String> {
        if let Some(Value::Number(number)) = self.present(field) {
            self.problem(format!(
                "{} must be a string in E.164 format such as \"+15551234567\", not the number {number}",
                self.name(field)
            ));
            return None;
        }
        let text = self.string(field, required, 0, 16)?;
        if is_e164(&text) {
            Some(text)
        } else {
            self.problem(format!("{} must be a phone number in E.164 format such as +15551234567, not {text:?}", self.name(field)));
            None
        }
    }

    pub(crate) fn boolean(&mut self, field: &str) -> Option<bool> {
        match self.present(field)? {
            Value::Bool(flag) => Some(*flag),
            other => {
                self.problem(format!("{} must be a boolean, not {}", self.name(field), kind(other)));
                None
            }
        }
    }

    pub(crate) fn object(&mut self, field: &str) -> Option<Map<String, Value>> {
        match self.present(field)? {
            Value::Object(object) => Some(object.clone()),
            other => {
                self.problem(format!("{} must be an object, not {}", self.name(field), kind(other)));
                None
            }
        }
    }

    pub(crate) fn array(&mut self, field: &str, required: bool, min: usize, max: usize) -> Option<&'a Vec<Value>> {
        match self.present(field) {
            None => {
                if required {
                    self.problem(format!("{} is required", self.name(field)));
                }
                None
            }
            Some(Value::Array(items)) if items.len() < min => {
                self.problem(format!("{} must contain at least {min} item(s)", self.name(field)));
                None
            }
            Some(Value::Array(items)) if items.len() > max => {
                self.problem(format!("{} must contain at most {max} items, not {}", self.name(field), items.len()));
                None
            }
            Some(Value::Array(items)) => Some(items),
            Some(other) => {
                self.problem(format!("{} must be an array, not {}", self.name(field), kind(other)));
                None
            }
        }
    }

    pub(crate) fn phone_array(&mut self, field: &str, required: bool, min: usize, max: usize) -> Option<Vec<String>> {
        let items = self.array(field, required, min, max)?;
        let mut phones = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::String(text) if is_e164(text) => phones.push(text.clone()),
                other => self.problem(format!(
                    "{}.{index} must be a phone number in E.164 format such as +15551234567, not {other}",
                    self.name(field)
                )),
            }
        }
        (phones.len() == items.len()).then_some(phones)
    }

    pub(crate) fn media_urls(&mut self, field: &str, required: bool) -> Option<Vec<String>> {
        let items = self.array(field, required, 0, 10)?;
        let mut urls = Vec::new();
        for (index, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(url)
                    if (url.starts_with("http://") || url.starts_with("https://"))
                        && url.len() <= 2048
                        && !url.contains(char::is_whitespace) =>
                {
                    urls.push(url.to_owned());
                }
                _ => self.problem(format!("{}.{index} must be an http(s) URL of at most 2048 characters, not {item}", self.name(field))),
            }
        }
        (urls.len() == items.len()).then_some(urls)
    }

    pub(crate) fn one_of(&mut self, field: &str, allowed: &[&str]) -> Option<String> {
        match self.present(field)? {
            Value::String(text) if allowed.contains(&text.as_str()) => Some(text.clone()),
            other => {
                self.problem(format!("{} must be one of {}, not {other}", self.name(field), allowed.join(", ")));
                None
            }
        }
    }

    pub(crate) fn date_time(&mut self, field: &str) -> Option<DateTime<Utc>> {
        let text = self.string(field, false, 0, 64)?;
        match DateTime::parse_from_rfc3339(&text) {
            Ok(time) => Some(time.with_timezone(&Utc)),
            Err(_) => {
                self.problem(format!(
                    "{} must be an ISO 8601 date-time with a time zone such as 2026-01-31T09:00:00Z, not {text:?}",
                    self.name(field)
                ));
                None
            }
        }
    }

    pub(crate) fn finish(mut self) -> Result<(), ApiError> {
        self.refuse_unknown();
        if self.problems.is_empty() { Ok(()) } else { Err(ApiError::Invalid(self.problems)) }
    }
}

fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
