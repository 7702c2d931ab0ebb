//! Suggestions for a misspelt name: the closest known name, when it is close enough to be a
//! plausible typo or a camelCase / snake_case / kebab-case mix-up.

/// How similar (Jaro-Winkler, 0 to 1) a candidate must be to count as a likely typo.
const MINIMUM_SIMILARITY: f64 = 0.8;

/// The candidate closest to `wrong`, if any is close enough. Names that differ only in case,
/// `_` and `-` count as the same name.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normalized_wrong = normalize(wrong);
    candidates
        .into_iter()
        .map(|candidate| {
            let normalized_candidate = normalize(candidate);
            let similarity = if normalized_candidate == normalized_wrong {
                1.0
            } else {
                strsim::jaro_winkler(&wrong.to_lowercase(), &candidate.to_lowercase())
            };
            (candidate, similarity)
        })
        .filter(|(_, similarity)| *similarity >= MINIMUM_SIMILARITY)
        .max_by(|left, right| left.1.total_cmp(&right.1))
        .map(|(candidate, _)| candidate)
}

/// [`closest`], phrased as the hint of an error message: "did you mean `name`?".
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(wrong, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

fn normalize(name: &str) -> String {
    name.chars().filter(|character| *character != '_' && *character != '-').flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_or_a_case_mix_up_finds_the_name() {
        assert_eq!(closest("recipents", ["sender", "recipients", "body"]), Some("recipients"));
        assert_eq!(closest("mediaUrls", ["media_urls", "body"]), Some("media_urls"));
        assert_eq!(closest("LIMIT", ["limit", "page"]), Some("limit"));
        assert_eq!(did_you_mean("provders", ["providers", "sandbox"]).as_deref(), Some("did you mean `providers`?"));
    }

    #[test]
    fn nothing_close_suggests_nothing() {
        assert_eq!(closest("fax", ["sender", "recipients"]), None);
        assert_eq!(closest("anything", []), None);
    }
}
