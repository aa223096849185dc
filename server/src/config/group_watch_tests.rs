use super::{GroupWatchConfig, DEFAULT_METRICS, NAME};
use crate::config::{Config, ConfigError, SecretEnv};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "vigil.toml", &SecretEnv::default())
}

#[test]
fn the_watch_is_on_by_default_and_reads_its_section() {
    let config = parse("").expect("an empty config");
    assert_eq!(config.group_watch, GroupWatchConfig::default());
    assert!(config.group_watch.enabled);
    assert_eq!(config.group_watch.metrics, DEFAULT_METRICS);
    assert_eq!(config.group_watch.rules.alpha, 0.001);

    let config = parse(
        "[group_watch]\nenabled = false\nmetrics = [\"feed_ctr\"]\ngroups = [0, 1, 2]\n\
         days = 3\nalpha = 0.01\nmin_effect = 0.1\nsrm_alpha = 0.0001\n",
    )
    .expect("a valid section");
    let watch = config.group_watch;
    assert!(!watch.enabled);
    assert_eq!(
        (watch.metrics, watch.groups, watch.days),
        (vec!["feed_ctr".to_string()], vec![0, 1, 2], 3)
    );
    assert_eq!(
        (
            watch.rules.alpha,
            watch.rules.min_effect,
            watch.rules.srm_alpha
        ),
        (0.01, 0.1, 0.0001)
    );
}

#[test]
fn every_problem_of_the_watch_names_its_key_and_line() {
    let text = "[group_watch]\nmetrics = [\"feed_ctr\", \"nope\"]\ngroups = [3]\ndays = 0\n\
                alpha = 1.5\nmin_effect = -1\nsrm_alpha = 0\n";
    let error = parse(text).unwrap_err().to_string();
    for (key, line, says) in [
        ("metrics[1]", 2, "no metric named \"nope\""),
        ("groups", 3, "at least two"),
        ("days", 4, "from 1 to 28"),
        ("alpha", 5, "strictly between 0 and 1"),
        ("min_effect", 6, ">= 0"),
        ("srm_alpha", 7, "strictly between 0 and 1"),
    ] {
        let found = error.lines().any(|l| {
            l.contains(&format!("`group_watch.{key}`"))
                && l.contains(&format!("line {line}"))
                && l.contains(says)
        });
        assert!(found, "{key} (line {line}, {says:?}) not in:\n{error}");
    }
    let error = parse("[group_watch]\ncolour = 1\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("group_watch") && error.contains("unknown field"),
        "{error}"
    );
}

#[test]
fn its_name_is_reserved_and_its_alerts_may_be_silenced() {
    let declared = format!(
        "[[experiments]]\nname = \"{NAME}\"\nmetrics = [\"feed_ctr\"]\ncontrol = [0]\n\
         treatments = [[1]]\nstart = \"2026-12-01\"\n"
    );
    let error = parse(&declared).unwrap_err().to_string();
    assert!(
        error.contains("`experiments[0].name`") && error.contains("reserved"),
        "{error}"
    );
    for (metric, slice) in [
        (
            "experiment:group-watch:feed_ctr",
            "\nslice = \"exp_group=2\"",
        ),
        ("experiment:group-watch:sample-ratio", ""),
    ] {
        let text = format!(
            "[[silences]]\nmetric = \"{metric}\"{slice}\nuntil = \"2027-01-01 12:00:00\"\n"
        );
        let config = parse(&text).expect("the watch's alerts may be silenced");
        assert_eq!(config.alerting.silences.len(), 1);
    }
    let error = parse(
        "[[silences]]\nmetric = \"experiment:group-watch:nope\"\nuntil = \"2027-01-01 12:00:00\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("`silences[0].metric`"), "{error}");
}
