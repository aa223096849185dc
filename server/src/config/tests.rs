use super::*;

fn error(text: &str) -> String {
    Config::parse(text, "vigil.toml", &SecretEnv::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn credentials_in_the_url_are_refused_without_echoing_them() {
    let message = error(
        "[source]\nkind = \"clickhouse\"\nurl = \"http://u:p4ss@ch.example.com:8443\"\ndatabase = \"db\"\n",
    );
    assert!(message.contains("vigil.toml"), "{message}");
    assert!(message.contains("`source.url`"), "{message}");
    assert!(message.contains("not in the URL"), "{message}");
    assert!(!message.contains("p4ss"), "{message}");
    assert!(!message.contains("u:"), "{message}");
}

#[test]
fn a_url_of_another_scheme_is_refused_with_the_reason() {
    // https:// is accepted now (src/config/clickhouse_tls/tests.rs covers its keys).
    let message = error("[source]\nkind = \"clickhouse\"\nurl = \"ftp://ch.example:8443\"\n");
    assert!(message.contains("source.url"), "{message}");
    assert!(message.contains("http:// or https://"), "{message}");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let text = r#"
[simulator]
users = 1

[[metrics]]
name = "a"
table = "feed_actions"
aggregate = "distinct"
column = "nope"

[[metrics]]
name = "b"
table = "feed_actions"
aggregate = "count"
slices = ["platform"]
"#;
    let error = Config::parse(text, "vigil.toml", &SecretEnv::default()).unwrap_err();
    let keys: Vec<String> = error
        .problems()
        .iter()
        .map(|p| match p {
            ConfigError::Invalid { key, .. } => key.clone(),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(keys.len(), 3, "{error}");
    assert!(keys.iter().any(|k| k == "metrics[0].column"), "{keys:?}");
    assert!(
        keys.iter().any(|k| k.starts_with("metrics[1].slices")),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k == "simulator.users"), "{keys:?}");
    // One line per problem, each naming the file.
    let message = error.to_string();
    assert_eq!(message.lines().count(), 3, "{message}");
    assert!(
        message
            .lines()
            .all(|line| line.starts_with("vigil.toml: `")),
        "{message}"
    );
}

#[test]
fn shape_errors_in_several_sections_are_all_reported() {
    let text = "[simulator]\nspeed = 3\n\n[[metrics]]\nname = \"a\"\ntable = \"nowhere\"\naggregate = \"count\"\n";
    let error = Config::parse(text, "vigil.toml", &SecretEnv::default()).unwrap_err();
    let message = error.to_string();
    assert_eq!(error.problems().len(), 2, "{message}");
    // The first problem serde meets keeps its line; the others name their key.
    assert!(message.contains("`metrics[0].table`"), "{message}");
    assert!(
        message.contains("nowhere") && message.contains("line 6"),
        "{message}"
    );
    assert!(message.contains("`simulator.speed`"), "{message}");
}

#[test]
fn shipped_example_file_loads() {
    let text = include_str!("../../../vigil.example.toml");
    let config =
        Config::parse(text, "vigil.example.toml", &SecretEnv::default()).expect("example is valid");
    assert_eq!(config.source, Config::default().source);
    let catalogue = config.catalogue().expect("example metrics are valid");
    assert!(catalogue.get("android_views").is_ok());
    assert!(catalogue.get("ads_ctr").is_ok());
    assert!(catalogue.get("feed_views").is_ok(), "built-ins stay");
}

#[test]
fn empty_file_is_the_embedded_default() {
    let config = Config::parse("", "vigil.toml", &SecretEnv::default()).expect("valid");
    assert_eq!(config, Config::default());
}

#[test]
fn full_file_parses() {
    let config = Config::parse(
        r#"
[source]
kind = "clickhouse"
url = "http://localhost:8123"
database = "simulator"
password = "from-file"
feed_actions_table = "feed_actions_v2"

[[metrics]]
name = "android_views"
table = "feed_actions"
aggregate = "count"
filters = { os = "Android", action = "view" }
slices = ["country"]

[[metrics]]
name = "ios_ctr"
title = "iOS CTR"
table = "feed_actions"
aggregate = "ratio"
numerator = { action = "like" }
denominator = { action = "view" }
filters = { os = "iOS" }

[simulator]
users = 500
"#,
        "vigil.toml",
        &SecretEnv {
            clickhouse_password: Some("from-env".into()),
            telegram_token: None,
            ..SecretEnv::default()
        },
    )
    .expect("valid");
    let SourceConfig::ClickHouse(clickhouse) = &config.source else {
        panic!("clickhouse expected");
    };
    assert_eq!(
        clickhouse.password.as_ref().map(Secret::expose),
        Some("from-env")
    );
    assert_eq!(clickhouse.tables.feed_actions, "feed_actions_v2");
    assert_eq!(config.metrics.len(), 2);
    assert_eq!(config.simulator.users, 500);
    assert_eq!(config.simulator.days, 14);
    assert_eq!(config.catalogue().expect("valid").metrics().len(), 8);
}

#[test]
fn password_is_redacted_in_debug() {
    let config = Config::parse(
        "[source]\nkind = \"clickhouse\"\nurl = \"http://h:8123\"\npassword = \"hunter2\"\n",
        "vigil.toml",
        &SecretEnv::default(),
    )
    .expect("valid");
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("redacted"));
}

#[test]
fn unknown_keys_are_errors_with_path_and_line() {
    let message = error("[source]\nkind = \"sqlite\"\npaht = \"x\"\n");
    assert!(message.starts_with("vigil.toml: `source"), "{message}");
    assert!(message.contains("unknown field `paht`"), "{message}");
    let message = error("[simulator]\nusers = 10\nspeed = 3\n");
    assert!(message.starts_with("vigil.toml: `simulator"), "{message}");
    assert!(
        message.contains("speed") && message.contains("line 3"),
        "{message}"
    );
}

#[test]
fn bad_slice_names_point_at_the_slice() {
    let metric = |slices: &str| {
        format!(
            "[[metrics]]\nname = \"a\"\ntable = \"feed_actions\"\naggregate = \"count\"\n\
             [[metrics]]\nname = \"b\"\ntable = \"feed_actions\"\naggregate = \"count\"\n\
             [[metrics]]\nname = \"c\"\ntable = \"message_actions\"\naggregate = \"count\"\nslices = {slices}\n"
        )
    };
    let message = error(&metric(r#"["os", "os\"; DROP"]"#));
    assert!(
        message.starts_with("vigil.toml: `metrics[2].slices[1]`: "),
        "{message}"
    );
    assert!(message.contains("quote"), "{message}");
    let message = error(&metric(r#"["os\u0007"]"#));
    assert!(
        message.contains("`metrics[2].slices[0]`") && message.contains("control"),
        "{message}"
    );
    let message = error(&metric(r#"["action"]"#));
    assert!(
        message.contains("`metrics[2].slices[0]`")
            && message.contains("cannot be a slice of message_actions"),
        "{message}"
    );
}

#[test]
fn unknown_column_and_wrong_types_name_the_key() {
    let message = error("[[metrics]]\nname = \"x\"\ntable = \"message_actions\"\naggregate = \"count\"\nfilters = { action = \"view\" }\n");
    assert!(
        message.contains("`metrics[0].filters.action`") && message.contains("no column `action`"),
        "{message}"
    );
    let message =
        error("[[metrics]]\nname = \"x\"\ntable = \"feed_actions\"\naggregate = \"distinct\"\n");
    assert!(message.contains("`metrics[0].column`"), "{message}");
    let message = error("[[metrics]]\nname = \"x\"\ntable = \"feeds\"\naggregate = \"count\"\n");
    assert!(
        message.contains("`metrics[0].table`") && message.contains("feeds"),
        "{message}"
    );
    let message = error("[simulator]\nusers = \"many\"\n");
    assert!(message.contains("`simulator.users`"), "{message}");
    let message = error(
        "[[metrics]]\nname = \"feed_views\"\ntable = \"feed_actions\"\naggregate = \"count\"\n",
    );
    assert!(
        message.contains("`metrics[0].name`") && message.contains("twice"),
        "{message}"
    );
}

#[test]
fn alerting_sections_are_validated_key_by_key() {
    let text = "[telegram]\ntoken = \"x\"\n\n[alerts]\nutc_offset = \"Mars\"\nrepeat_after_minutes = 1\n\n\
                [[links]]\nmetric = \"nope\"\ntitle = \"BI\"\nurl = \"ftp://x\"\n\n\
                [detectors]\ndefault = { detector = \"iqr\", n = 1 }\nmetrics = { feed_vews = { detector = \"drop\" } }\n";
    let error = Config::parse(text, "vigil.toml", &SecretEnv::default()).unwrap_err();
    let message = error.to_string();
    for key in [
        "`telegram.token`",
        "`telegram.chat`",
        "`alerts.utc_offset`",
        "`alerts.repeat_after_minutes`",
        "`links[0].metric`",
        "`links[0].url`",
        "`detectors.default`",
        "`detectors.metrics.feed_vews`",
    ] {
        assert!(message.contains(key), "{key} in {message}");
    }
    assert!(
        !message.contains("\"x\""),
        "a token is never echoed: {message}"
    );
}

#[test]
fn unknown_detector_keys_are_named() {
    let text = "[detectors]\n\
        default = { detector = \"iqr\", a = 4, n = 5, zz = 3 }\n\
        metrics = { feed_ctr = { detector = \"drop\", z = 3 }, feed_views = { members = [{ detector = \"seasonal\", perod = 96 }] } }\n";
    let message = Config::parse(text, "vigil.toml", &SecretEnv::default())
        .unwrap_err()
        .to_string();
    for expected in [
        "vigil.toml: `detectors.default`: unknown field `zz`",
        "vigil.toml: `detectors.metrics.feed_ctr`: unknown field `z`",
        "vigil.toml: `detectors.metrics.feed_views`: unknown field `perod`",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
}

#[test]
fn detector_periods_take_durations_like_the_cli() {
    use detect::DetectorSpec;
    let period = |entry: &str| {
        let text = format!("[detectors]\ndefault = {entry}\n");
        let config =
            Config::parse(&text, "vigil.toml", &SecretEnv::default()).map_err(|e| e.to_string())?;
        Ok::<_, String>(match &config.alerting.detectors.default.members[0] {
            DetectorSpec::Seasonal(p) => p.period,
            DetectorSpec::SeasonalIqr(p) => p.period,
            other => panic!("unexpected {other:?}"),
        })
    };
    assert_eq!(
        period("{ detector = \"seasonal\", period = \"1d\" }"),
        Ok(96)
    );
    assert_eq!(
        period("{ detector = \"seasonal_iqr\", period = \"1w\" }"),
        Ok(672)
    );
    assert_eq!(period("{ detector = \"seasonal\", period = 48 }"), Ok(48));
    assert_eq!(
        period("{ members = [{ detector = \"seasonal\", period = \"2d\" }] }"),
        Ok(192)
    );
    let bad = period("{ detector = \"seasonal\", period = \"10m\" }").unwrap_err();
    assert!(
        bad.contains("`detectors.default`") && bad.contains("whole number"),
        "{bad}"
    );
    let auto = period("{ detector = \"seasonal\", period = \"auto\" }").unwrap_err();
    assert!(
        auto.contains("`detectors.default`") && auto.contains("\"1d\""),
        "{auto}"
    );
}

#[test]
fn a_bad_token_from_the_environment_blames_the_variable() {
    let env = SecretEnv {
        clickhouse_password: None,
        telegram_token: Some("999:ENVTOKEN".into()),
        ..SecretEnv::default()
    };
    let text = "[telegram]\ntoken = \"123456789:AAHk-abcdefghijklmnopqrstuv\"\nchat = -100\n";
    let message = Config::parse(text, "tg.toml", &env)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("environment variable VIGIL_TELEGRAM_TOKEN: not a bot token"),
        "{message}"
    );
    assert!(!message.contains("tg.toml"), "the file is fine: {message}");
    assert!(!message.contains("ENVTOKEN"), "never echoed: {message}");

    // A bad token in the file is still the file's problem.
    let file_only = "[telegram]\ntoken = \"hunter2\"\nchat = -100\n";
    let message = Config::parse(file_only, "tg.toml", &SecretEnv::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("tg.toml: `telegram.token`"), "{message}");
}

#[test]
fn a_missing_file_names_the_os_error_once() {
    let error = Config::load(Path::new("/nonexistent/vigil.toml")).unwrap_err();
    let chain = format!("{:#}", anyhow::Error::new(error));
    assert!(chain.contains("/nonexistent/vigil.toml"), "{chain}");
    assert_eq!(chain.matches("(os error 2)").count(), 1, "{chain}");
}

#[test]
fn several_detectors_combine_by_a_rule() {
    let text = "[detectors]\n\
        default = { combine = \"majority\", members = [{ detector = \"seasonal\" }, { detector = \"drop\" }, { detector = \"iqr\", a = 3 }] }\n\
        metrics = { feed_ctr = { members = [{ detector = \"seasonal\" }] } }\n";
    let config = Config::parse(text, "vigil.toml", &SecretEnv::default()).expect("valid");
    let detectors = &config.alerting.detectors;
    assert_eq!(
        detectors.for_metric("feed_views").name(),
        "majority(seasonal+drop+iqr)"
    );
    assert_eq!(detectors.for_metric("feed_views").members.len(), 3);
    assert_eq!(detectors.for_metric("feed_ctr").name(), "seasonal");

    let bad = "[detectors]\n\
        default = { combine = \"some\", members = [{ detector = \"drop\" }] }\n\
        metrics = { feed_views = { combine = \"any\", members = [{ detector = \"iqr\", n = 1 }] }, feed_likes = { combine = \"all\", members = [] }, feed_ctr = { members = [{ adetector = \"seasonal\" }] } }\n";
    let message = Config::parse(bad, "vigil.toml", &SecretEnv::default())
        .unwrap_err()
        .to_string();
    for expected in [
        "`detectors.default`",
        "\"some\"",
        "`detectors.metrics.feed_views`",
        "`detectors.metrics.feed_likes`",
        "`detectors.metrics.feed_ctr`",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    assert!(
        message.lines().all(|line| line.starts_with("vigil.toml")),
        "one line per problem: {message}"
    );
}

#[test]
fn the_token_from_the_environment_wins_and_enables_telegram() {
    let env = SecretEnv {
        clickhouse_password: None,
        telegram_token: Some("123456789:AAF-secret_token_value_xyz123".into()),
        ..SecretEnv::default()
    };
    let text = "[telegram]\nchat = -100\n\n[detectors]\nmetrics = { feed_ctr = { detector = \"seasonal\" } }\n";
    let config = Config::parse(text, "vigil.toml", &env).expect("valid");
    let telegram = &config.alerting.telegram;
    assert!(telegram.enabled());
    assert_eq!(telegram.chat_for("feed_views"), Some(-100));
    assert_eq!(
        config.alerting.detectors.for_metric("feed_ctr").name(),
        "seasonal"
    );
    assert_eq!(
        config.alerting.detectors.for_metric("feed_views").name(),
        "learned"
    );
    assert!(
        !format!("{config:?}").contains("secret_token"),
        "redacted in Debug"
    );
}

#[test]
fn planned_silences_are_read_and_checked() {
    let text = "[[silences]]\nmetric = \"messages_sent\"\nslice = \"os=Android\"\nuntil = \"2027-01-01 12:00:00\"\nreason = \"New Year\"\n\n\
                [[silences]]\nmetric = \"*\"\nfrom = \"2027-01-02\"\nuntil = \"2027-01-03\"\n";
    let config = Config::parse(text, "vigil.toml", &SecretEnv::default()).expect("valid");
    let silences = &config.alerting.silences;
    assert_eq!(silences.len(), 2);
    assert_eq!(silences[0].until, 1_798_804_800);
    assert_eq!(silences[0].from, None);
    assert_eq!(silences[1].scope, crate::alerts::SilenceScope::All);
    let bad = "[[silences]]\nmetric = \"nope\"\nslice = \"os\"\nuntil = \"soon\"\n";
    let message = Config::parse(bad, "vigil.toml", &SecretEnv::default())
        .unwrap_err()
        .to_string();
    for key in [
        "`silences[0].metric`",
        "`silences[0].slice`",
        "`silences[0].until`",
    ] {
        assert!(message.contains(key), "{key} in {message}");
    }
}

#[test]
fn missing_file_is_named() {
    let message = Config::load(Path::new("/nonexistent/vigil.toml"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("/nonexistent/vigil.toml"), "{message}");
}

#[test]
fn a_relative_store_path_is_relative_to_the_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vigil.toml");
    std::fs::write(
        &file,
        "[source]\nkind = \"sqlite\"\npath = \"./store/v.sqlite\"\n",
    )
    .expect("written");
    let config = Config::load(&file).expect("valid");
    assert_eq!(
        config.source,
        SourceConfig::Sqlite(SqliteConfig {
            path: dir.path().join("./store/v.sqlite")
        })
    );
    // Absolute paths and the built-in default are left as they are.
    std::fs::write(
        &file,
        "[source]\nkind = \"sqlite\"\npath = \"/srv/v.sqlite\"\n",
    )
    .expect("written");
    let config = Config::load(&file).expect("valid");
    assert_eq!(
        config.source,
        SourceConfig::Sqlite(SqliteConfig {
            path: PathBuf::from("/srv/v.sqlite")
        })
    );
    std::fs::write(&file, "").expect("written");
    assert_eq!(
        Config::load(&file).expect("valid").source,
        SourceConfig::Sqlite(SqliteConfig::default())
    );
}

#[test]
fn a_learned_detector_names_a_model_file_beside_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vigil.toml");
    let model = detect::models::ModelRef::builtin().to_json();
    std::fs::write(dir.path().join("team-model.json"), &model).expect("model written");
    std::fs::write(
        &file,
        "[detectors]\nmetrics = { feed_views = { detector = \"learned\", model = \"team-model.json\" } }\n",
    )
    .expect("written");
    let config = Config::load(&file).expect("valid");
    let chosen = config.alerting.detectors.for_metric("feed_views");
    let Some(detect::DetectorSpec::Learned(params)) = chosen.as_single() else {
        panic!("not the learned detector: {chosen:?}");
    };
    assert_eq!(params.model.id, "team-model.json");
    assert_eq!(
        params.threshold,
        detect::models::ModelRef::builtin().threshold,
        "no threshold given: the model's own"
    );

    // A missing file and a model from another version name the key and why.
    std::fs::write(
        &file,
        "[detectors]\ndefault = { detector = \"learned\", model = \"missing.json\" }\n",
    )
    .expect("written");
    let message = Config::load(&file).unwrap_err().to_string();
    assert!(message.contains("`detectors.default`"), "{message}");
    assert!(message.contains("cannot read"), "{message}");
    std::fs::write(
        dir.path().join("old.json"),
        model.replacen("\"version\":1", "\"version\":0", 1),
    )
    .expect("written");
    std::fs::write(
        &file,
        "[detectors]\ndefault = { detector = \"learned\", model = \"old.json\" }\n",
    )
    .expect("written");
    let message = Config::load(&file).unwrap_err().to_string();
    assert!(message.contains("retrain it"), "{message}");
}
