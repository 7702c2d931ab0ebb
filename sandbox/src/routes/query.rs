//! Query parameters as Clerk Chat reads them: repeated keys kept (`inboxIds=a&inboxIds=b`, or
//! `inboxIds[]=...`), and every problem collected rather than the first returned.

/// Query parameters, with repeated keys kept.
pub(super) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|raw| form_urlencoded::parse(raw.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect())
        .unwrap_or_default()
}

/// Every value of `name`.
pub(super) fn query_values<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(key, _)| key == name || key == &format!("{name}[]")).map(|(_, value)| value.as_str()).collect()
}

/// An integer from `min` to `max`, given at most once; `default` when absent or wrong.
pub(super) fn query_integer(pairs: &[(String, String)], name: &str, default: i64, min: i64, max: i64, problems: &mut Vec<String>) -> i64 {
    match query_values(pairs, name).as_slice() {
        [] => default,
        [text] => match text.parse::<i64>() {
            Ok(value) if (min..=max).contains(&value) => value,
            _ => {
                problems.push(format!("{name} must be an integer from {min} to {max}, not {text:?}"));
                default
            }
        },
        _ => {
            problems.push(format!("{name} may be given once"));
            default
        }
    }
}

/// A value given at most once.
pub(super) fn query_single<'a>(pairs: &'a [(String, String)], name: &str, problems: &mut Vec<String>) -> Option<&'a str> {
    match query_values(pairs, name).as_slice() {
        [] => None,
        [value] => Some(value),
        _ => {
            problems.push(format!("{name} may be given once"));
            None
        }
    }
}
