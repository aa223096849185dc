//! The one rule for values in a page's URL that the page cannot use: the
//! page still opens, with its defaults in their place; a notice near its top
//! names each ignored value and what was expected; and the server answers
//! 400, the status a script or a crawler reads. Each page says what its own
//! keys mean; the reading, the wording, the status and the notices are here.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// The notices of one reading of a URL, each worded `ignored: <why>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ignored(Vec<String>);

impl Ignored {
    /// A value the page cannot use, and why.
    pub fn value(&mut self, why: impl std::fmt::Display) {
        self.0.push(format!("ignored: {why}"));
    }

    /// A key the page does not read; `known` lists those it does.
    pub fn unknown(&mut self, key: &str, known: &str) {
        self.value(format!(
            "unknown parameter {} (this page reads {known})",
            shown(key)
        ));
    }

    pub fn into_notices(self) -> Vec<String> {
        self.0
    }
}

/// The URL's pairs as every page reads them: values trimmed, and a blank
/// value left out (it asks for the default).
pub fn pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    pairs
        .into_iter()
        .map(|(key, value)| (key, value.trim()))
        .filter(|(_, value)| !value.is_empty())
        .collect()
}

/// The router's query as [`pairs`].
pub fn pairs_of(query: &ParamsMap) -> Vec<(&str, &str)> {
    pairs(query.into_iter().map(|(k, v)| (k.as_ref(), v)))
}

/// A value from the URL for a notice: quoted (so nothing in it reads as
/// markup or as part of the sentence) and cut short.
pub fn shown(value: &str) -> String {
    let cut: String = value.chars().take(40).collect();
    format!("{cut:?}")
}

/// On the server, while the page's component runs (before the response
/// head goes out), answers 400 when the URL had a value the page ignored.
pub fn answer(notices: &[String]) {
    if !notices.is_empty() {
        crate::api::set_status(crate::api::Refusal::BadRequest.status());
    }
}

/// What the URL asked for that the page ignored, and why: near the top of
/// the page, announced politely.
#[component]
pub fn QueryNotices(#[prop(into)] notices: Signal<Vec<String>>) -> impl IntoView {
    move || {
        let notices = notices.get();
        (!notices.is_empty()).then(|| {
            view! {
                <ul class="notices" role="status" data-testid="query-notices">
                    {notices.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                </ul>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed_and_blank_ones_ask_for_the_default() {
        assert_eq!(
            pairs([("a", " 3 "), ("page", ""), ("b", "  ")]),
            [("a", "3")]
        );
    }

    #[test]
    fn notices_name_the_value_quoted_and_short() {
        let mut ignored = Ignored::default();
        ignored.value("page must be a whole number from 1");
        ignored.unknown(&"x".repeat(50), "date");
        assert_eq!(
            ignored.into_notices(),
            [
                "ignored: page must be a whole number from 1".to_string(),
                format!(
                    "ignored: unknown parameter \"{}\" (this page reads date)",
                    "x".repeat(40)
                ),
            ]
        );
    }
}
