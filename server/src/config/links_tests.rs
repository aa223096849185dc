use super::*;
use crate::config::{Config, SecretEnv};

fn slice(dimension: &str, value: &str) -> SliceKey {
    SliceKey {
        dimension: dimension.into(),
        value: value.into(),
    }
}

/// 2026-12-06 09:00:00 UTC to 09:15:00 UTC.
const FROM: i64 = 1_796_547_600;
const TO: i64 = FROM + 900;

fn alert(slice: Option<&SliceKey>) -> LinkAlert<'_> {
    LinkAlert {
        metric: "feed_views",
        slice,
        from: FROM,
        to: TO,
    }
}

fn fill(template: &str, slice: Option<&SliceKey>, format: TimeFormat) -> String {
    LinkTemplate::parse(template)
        .expect("valid template")
        .fill(&alert(slice), format)
}

#[test]
fn placeholders_are_filled_and_each_value_is_encoded() {
    let os = slice("country", "Côte d'Ivoire & Co");
    assert_eq!(
        fill(
            "https://bi.example/d?m={metric}&{slice_key}={slice_value}",
            Some(&os),
            TimeFormat::EpochMs
        ),
        "https://bi.example/d?m=feed_views&country=C%C3%B4te%20d%27Ivoire%20%26%20Co"
    );
    // A whole-metric alert: the slice placeholders are empty.
    assert_eq!(
        fill(
            "https://g/d?var-{slice_key}={slice_value}&x=1",
            None,
            TimeFormat::EpochMs
        ),
        "https://g/d?var-=&x=1"
    );
    // Literal braces.
    assert_eq!(
        fill(
            "https://r/q?p={{\"a\"}}&m={metric}",
            None,
            TimeFormat::EpochMs
        ),
        "https://r/q?p={\"a\"}&m=feed_views"
    );
}

#[test]
fn each_time_format() {
    let url = "https://d/?from={from}&to={to}";
    assert_eq!(
        fill(url, None, TimeFormat::EpochMs),
        "https://d/?from=1796547600000&to=1796548500000"
    );
    assert_eq!(
        fill(url, None, TimeFormat::EpochS),
        "https://d/?from=1796547600&to=1796548500"
    );
    assert_eq!(
        fill(url, None, TimeFormat::Iso),
        "https://d/?from=2026-12-06T09%3A00%3A00Z&to=2026-12-06T09%3A15%3A00Z"
    );
}

#[test]
fn the_window_opens_before_the_start_and_ends_with_the_bucket() {
    let alert = LinkAlert::around("feed_views", None, FROM, TO);
    assert_eq!(alert.from, FROM - CONTEXT_BEFORE_SECS);
    assert_eq!(alert.to, TO + BUCKET_SECONDS);
}

#[test]
fn template_errors_say_what_and_where() {
    let error = LinkTemplate::parse("https://d/?m={metrc}").unwrap_err();
    assert!(
        error.contains("unknown placeholder {metrc} at column 14"),
        "{error}"
    );
    assert!(
        error.contains("{slice_value}"),
        "lists the known ones: {error}"
    );
    let error = LinkTemplate::parse("https://d/?m={metric").unwrap_err();
    assert!(error.contains("`{` at column 14 is not closed"), "{error}");
    let error = LinkTemplate::parse("https://d/?m={met{ric}").unwrap_err();
    assert!(error.contains("not closed"), "{error}");
    let error = LinkTemplate::parse("https://d/?m=metric}").unwrap_err();
    assert!(
        error.contains("`}` at column 20 closes no placeholder"),
        "{error}"
    );
    let error = LinkTemplate::parse("https://d/?m={}").unwrap_err();
    assert!(error.contains("unknown placeholder {}"), "{error}");
}

#[test]
fn config_check_validates_link_templates_by_key() {
    let text = "[[links]]\nmetric = \"*\"\ntitle = \"Grafana\"\n\
                url = \"https://grafana.example/d/abc?from={from}&to={to}&var-m={metric}\"\n\n\
                [[links]]\nmetric = \"*\"\ntitle = \"Redash\"\nurl = \"https://redash.example/q?p={when}\"\ntime_format = \"iso\"\n\n\
                [[links]]\nmetric = \"*\"\ntitle = \"Superset\"\nurl = \"https://superset.example/d/12/?from={from\"\ntime_format = \"unix\"\n";
    let message = Config::parse(text, "vigil.toml", &SecretEnv::default())
        .unwrap_err()
        .to_string();
    assert_eq!(message.lines().count(), 3, "{message}");
    assert!(
        message.contains("vigil.toml: `links[1].url`: unknown placeholder {when}"),
        "{message}"
    );
    assert!(message.contains("(line 9, "), "{message}");
    assert!(
        message.contains("vigil.toml: `links[2].url`: `{` at column"),
        "{message}"
    );
    assert!(
        message.contains("vigil.toml: `links[2].time_format`: unknown variant `unix`"),
        "{message}"
    );

    let text = "[[links]]\nmetric = \"feed_views\"\ntitle = \"Superset\"\n\
                url = \"https://superset.example/d/12/?from={from}&to={to}\"\ntime_format = \"iso\"\n";
    let config = Config::parse(text, "vigil.toml", &SecretEnv::default()).expect("valid");
    let os = slice("os", "iOS");
    let alert = alert(Some(&os));
    assert_eq!(
        config.alerting.links_for(&alert),
        vec![(
            "Superset".to_string(),
            "https://superset.example/d/12/?from=2026-12-06T09%3A00%3A00Z&to=2026-12-06T09%3A15%3A00Z"
                .to_string()
        )]
    );
    let other = LinkAlert {
        metric: "feed_likes",
        ..alert
    };
    assert!(
        config.alerting.links_for(&other).is_empty(),
        "one metric's link"
    );
}

#[test]
fn the_readme_examples_for_grafana_superset_and_redash_load() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("### Dashboard links that open at the alert")
        .nth(1)
        .expect("the README section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("its TOML example");
    let config = Config::parse(block, "README.md", &SecretEnv::default()).expect("valid");
    let titles: Vec<&str> = config
        .alerting
        .links
        .iter()
        .map(|l| l.title.as_str())
        .collect();
    assert_eq!(titles, ["Grafana", "Superset", "Redash"]);
    let os = slice("os", "iOS");
    let alert = alert(Some(&os));
    let urls = config.alerting.links_for(&alert);
    assert!(
        urls[0]
            .1
            .ends_with("from=1796547600000&to=1796548500000&var-metric=feed_views&var-os=iOS"),
        "{urls:?}"
    );
    assert!(
        urls[2]
            .1
            .contains("&p_range.start=2026-12-06T09%3A00%3A00Z&"),
        "{urls:?}"
    );
}
