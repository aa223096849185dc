use crate::config::{Config, ConfigError, SecretEnv};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "vigil.toml", &SecretEnv::default())
}

#[test]
fn an_experiment_is_read_with_its_defaults() {
    let config = parse(
        "[[experiments]]\nname = \"feed-ranking-v2\"\nmetrics = [\"feed_ctr\", \"feed_views\"]\n\
         control = [1]\ntreatments = [[2], [3, 4]]\nstart = \"2026-12-01 14:15:00\"\n",
    )
    .expect("valid");
    let experiment = &config.experiments[0];
    assert_eq!(experiment.name, "feed-ranking-v2");
    assert_eq!(experiment.groups(), [1, 2, 3, 4]);
    assert_eq!(experiment.split, [1.0, 1.0, 1.0]);
    assert_eq!(experiment.start, 1_796_134_500);
    assert_eq!(experiment.end, None);
    assert_eq!(experiment.rules, detect::experiments::Rules::default());
    assert!(experiment.running_at(1_796_134_500) && !experiment.running_at(1_796_134_499));
}

#[test]
fn every_problem_of_an_experiment_names_its_key_and_line() {
    let text = "[[experiments]]\nname = \"bad name\"\nmetrics = [\"feed_ctr\", \"nope\"]\n\
                control = [1]\ntreatments = [[1, 2], []]\nsplit = [1, 0]\n\
                start = \"2026-12-02\"\nend = \"2026-12-01\"\nalpha = 1.5\nmin_effect = -0.1\n";
    let error = parse(text).unwrap_err();
    let lines: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    let has = |key: &str, words: &str, line: usize| {
        lines.iter().any(|l| {
            l.contains(&format!("`experiments[0].{key}`"))
                && l.contains(words)
                && l.contains(&format!("line {line}"))
        })
    };
    assert!(has("name", "letters, digits", 2), "{lines:#?}");
    assert!(
        has("metrics[1]", "no metric named \"nope\"", 3),
        "{lines:#?}"
    );
    assert!(
        has("treatments[0]", "exp_group 1 is in two arms", 5),
        "{lines:#?}"
    );
    assert!(
        has("treatments[1]", "at least one exp_group", 5),
        "{lines:#?}"
    );
    assert!(has("split", "3 arms", 6), "{lines:#?}");
    assert!(has("split", "> 0", 6), "{lines:#?}");
    assert!(has("end", "after `start`", 8), "{lines:#?}");
    assert!(has("alpha", "strictly between 0 and 1", 9), "{lines:#?}");
    assert!(has("min_effect", ">= 0", 10), "{lines:#?}");
    assert!(lines.iter().all(|l| l.starts_with("vigil.toml: ")));
}

#[test]
fn names_times_and_keys_are_checked() {
    let entry = |name: &str, start: &str| {
        format!(
            "[[experiments]]\nname = \"{name}\"\nmetrics = [\"feed_ctr\"]\ncontrol = [0]\n\
             treatments = [[1]]\nstart = \"{start}\"\n"
        )
    };
    let twice = format!("{}{}", entry("a", "2026-12-01"), entry("a", "2026-12-01"));
    let error = parse(&twice).unwrap_err().to_string();
    assert!(
        error.contains("`experiments[1].name`: a second experiment named \"a\""),
        "{error}"
    );
    let error = parse(&entry("b", "yesterday")).unwrap_err().to_string();
    assert!(
        error.contains("`experiments[0].start`") && error.contains("not a time"),
        "{error}"
    );
    let unknown = format!("{}colour = \"red\"\n", entry("c", "2026-12-01"));
    let error = parse(&unknown).unwrap_err().to_string();
    assert!(
        error.contains("experiments[0].colour") && error.contains("unknown field"),
        "{error}"
    );
    let missing = "[[experiments]]\nname = \"d\"\nmetrics = [\"feed_ctr\"]\ncontrol = [0]\nstart = \"2026-12-01\"\n";
    let error = parse(missing).unwrap_err().to_string();
    assert!(
        error.contains("experiments[0].treatments") && error.contains("missing"),
        "{error}"
    );
    let group = entry("e", "2026-12-01").replace("control = [0]", "control = [300]");
    assert!(parse(&group)
        .unwrap_err()
        .to_string()
        .contains("experiments[0].control"));
}

#[test]
fn silences_may_name_an_experiments_alerts() {
    use super::is_experiment_alert;
    let known = |m: &str| m == "feed_ctr";
    assert!(is_experiment_alert(
        "experiment:feed-ranking-v2:feed_ctr",
        known
    ));
    assert!(is_experiment_alert(
        "experiment:onboarding_v3:sample-ratio",
        known
    ));
    assert!(!is_experiment_alert(
        "experiment:feed-ranking-v2:nope",
        known
    ));
    assert!(!is_experiment_alert("experiment::feed_ctr", known));
    assert!(!is_experiment_alert("experiment:a b:feed_ctr", known));
    assert!(!is_experiment_alert("feed_ctr", known));
    let text = "[[silences]]\nmetric = \"experiment:feed-ranking-v2:feed_ctr\"\nslice = \"exp_group=2\"\nuntil = \"2027-01-01 12:00:00\"\n";
    let config = parse(text).expect("an experiment's alert may be silenced");
    assert_eq!(config.alerting.silences.len(), 1);
    let bad = text.replace(":feed_ctr", ":nope");
    let message = parse(&bad).unwrap_err().to_string();
    assert!(
        message.contains("`silences[0].metric`") && message.contains("experiment:<name>:<metric>"),
        "{message}"
    );
}
