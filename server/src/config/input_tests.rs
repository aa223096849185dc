//! Bad input that used to slip through `vigil config check` (issue 19): each
//! problem of a file is listed in one run, naming file, key, reason and line.

use super::*;

fn problems(text: &str) -> Vec<String> {
    Config::parse(text, "vigil.toml", &SecretEnv::default())
        .unwrap_err()
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The one problem of `key`, asserting there is exactly one.
fn problem_of<'a>(all: &'a [String], key: &str) -> &'a str {
    let named: Vec<&String> = all
        .iter()
        .filter(|p| p.starts_with(&format!("vigil.toml: `{key}`: ")))
        .collect();
    assert_eq!(named.len(), 1, "one problem for {key} in {all:#?}");
    named[0]
}

#[test]
fn every_wrong_type_in_a_file_is_listed_with_its_line() {
    let text = "[simulator]\nusers = \"many\"\ndays = \"x\"\n\n\
                [schedule]\ngrace_seconds = \"soon\"\n\n\
                [alerts]\nrepeat_after_minutes = \"hourly\"\n";
    let all = problems(text);
    assert_eq!(all.len(), 4, "{all:#?}");
    for (key, line) in [
        ("simulator.users", 2),
        ("simulator.days", 3),
        ("schedule.grace_seconds", 6),
        ("alerts.repeat_after_minutes", 9),
    ] {
        let problem = problem_of(&all, key);
        assert!(problem.contains("invalid type"), "{problem}");
        assert!(problem.contains(&format!("(line {line}, ")), "{problem}");
    }
    // In file order.
    assert!(all[0].contains("simulator.users") && all[3].contains("alerts."));
}

#[test]
fn every_negative_number_in_a_file_is_listed() {
    let text = "[simulator]\nusers = -1\ndays = -2\nseed = -3\n\n\
                [schedule]\ngrace_seconds = -4\ncatch_up_hours = -5\n\n\
                [alerts]\nrepeat_after_minutes = -6\nmin_volume = -7\nmin_abs_change = -8\n";
    let all = problems(text);
    assert_eq!(all.len(), 8, "{all:#?}");
    for (key, line) in [
        ("simulator.users", 2),
        ("simulator.days", 3),
        ("simulator.seed", 4),
        ("schedule.grace_seconds", 7),
        ("schedule.catch_up_hours", 8),
        ("alerts.repeat_after_minutes", 11),
        ("alerts.min_volume", 12),
        ("alerts.min_abs_change", 13),
    ] {
        let problem = problem_of(&all, key);
        assert!(problem.contains(&format!("(line {line}, ")), "{problem}");
    }
    assert!(
        problem_of(&all, "simulator.users").contains("expected a whole number >= 0"),
        "{all:#?}"
    );
}

#[test]
fn shape_problems_do_not_hide_the_value_checks_of_other_entries() {
    // metrics[0] cannot be read (bad table); metrics[1] still gets its own
    // check under its own index, and a link naming metrics[0] is not blamed.
    let text = "[[metrics]]\nname = \"a\"\ntable = \"nowhere\"\naggregate = \"count\"\n\n\
                [[metrics]]\nname = \"b\"\ntable = \"feed_actions\"\naggregate = \"count\"\nslices = [\"platform\"]\n\n\
                [[links]]\nmetric = \"a\"\ntitle = \"A\"\nurl = \"https://bi.example/a\"\n";
    let all = problems(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(problem_of(&all, "metrics[0].table").contains("nowhere"));
    assert!(problem_of(&all, "metrics[1].slices[0]").contains("(line 10, "));
}

#[test]
fn a_missing_required_key_is_named_once() {
    let all = problems("[source]\nkind = \"mysql\"\n\n[[links]]\nmetric = \"*\"\ntitle = \"BI\"\n");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(problem_of(&all, "source.kind").contains("unknown variant `mysql`"));
    assert!(problem_of(&all, "links[0].url").contains("required but missing"));
}

#[test]
fn keys_of_the_other_source_kind_are_refused() {
    let all = problems("[source]\nkind = \"sqlite\"\nurl = \"http://ch:8123\"\n");
    assert!(problem_of(&all, "source.url").contains("only with kind = \"clickhouse\""));
    let all = problems("[source]\nkind = \"clickhouse\"\npath = \"x.sqlite\"\n");
    assert!(problem_of(&all, "source.path").contains("only with kind = \"sqlite\""));
    assert!(problem_of(&all, "source.url").contains("needs `url`"));
}

#[test]
fn a_duplicate_key_is_named() {
    let all = problems("[simulator]\nusers = 5\nusers = 6\n");
    let problem = problem_of(&all, "simulator.users");
    assert!(problem.contains("duplicate key (line 3, "), "{problem}");
    let all = problems(
        "[[metrics]]\nname = \"a\"\ntable = \"feed_actions\"\naggregate = \"count\"\n\n\
         [[metrics]]\nname = \"b\"\nname = \"c\"\n",
    );
    assert!(problem_of(&all, "metrics[1].name").contains("(line 8, "));
}

#[test]
fn a_nul_byte_is_named_as_such_with_its_line() {
    let all = problems("[simulator]\nusers = 5\n[[metrics]]\nname = \"a\0b\"\n");
    let problem = problem_of(&all, "(file)");
    assert!(
        problem.contains("NUL byte (line 4, column 10)"),
        "{problem}"
    );
    assert!(!problem.contains("quote"), "{problem}");
}

#[test]
fn invalid_utf8_is_named_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vigil.toml");
    std::fs::write(&file, b"[simulator]\nusers = 5\n# caf\xe9\n").expect("written");
    let message = Config::load(&file).unwrap_err().to_string();
    assert!(message.contains("vigil.toml: `(file)`: "), "{message}");
    assert!(
        message.contains("not valid UTF-8 (line 3, column 6)"),
        "{message}"
    );
}

#[test]
fn api_url_with_a_bad_port_or_credentials_is_refused_without_echoing_them() {
    let all = problems("[telegram]\napi_url = \"https://api.telegram.org:99999\"\n");
    assert!(problem_of(&all, "telegram.api_url").contains("1 to 65535"));
    let all = problems("[telegram]\napi_url = \"https://bob:hunter2@api.telegram.org\"\n");
    let problem = problem_of(&all, "telegram.api_url");
    assert!(problem.contains("user:password@"), "{problem}");
    assert!(problem.contains("`token`"), "{problem}");
    assert!(
        !problem.contains("hunter2") && !problem.contains("bob"),
        "{problem}"
    );
    let all = problems(
        "[telegram]\napi_url = \"https://api.telegram.org/bot123456789:AAHk-abcdefghijklmnopqrstuv\"\n",
    );
    let problem = problem_of(&all, "telegram.api_url");
    assert!(!problem.contains("AAHk"), "{problem}");
    // Dashboard links are shown in every alert: no credentials there either.
    let all = problems(
        "[[links]]\nmetric = \"*\"\ntitle = \"BI\"\nurl = \"https://bob:hunter2@bi.example/d\"\n",
    );
    let problem = problem_of(&all, "links[0].url");
    assert!(!problem.contains("hunter2"), "{problem}");
}

#[test]
fn an_empty_store_path_and_chat_zero_are_refused() {
    let all = problems("[source]\nkind = \"sqlite\"\npath = \"\"\n");
    assert!(problem_of(&all, "source.path").contains("must not be empty"));
    let all = problems("[telegram]\nchat = 0\nchats = { feed_views = 0 }\n");
    assert!(problem_of(&all, "telegram.chat").contains("not a chat id"));
    assert!(problem_of(&all, "telegram.chats.feed_views").contains("not a chat id"));
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    let all = problems(
        "[source]\nkind = \"clickhouse\"\nurl = \"http://h:8123\"\npassword = 20250917\n\n\
         [telegram]\ntoken = 123456789\nchat = -100\n",
    );
    for key in ["source.password", "telegram.token"] {
        let problem = problem_of(&all, key);
        assert!(!problem.contains("20250917"), "{problem}");
        assert!(!problem.contains("123456789"), "{problem}");
    }
}

#[test]
fn every_syntax_error_is_listed_in_file_order() {
    let all = problems("a = 1\n[simulator]\nusers = \nseed = 2\n[alerts]\nmin_volume = [\n");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all[0].contains("(line 3, "), "{all:#?}");
    assert!(all[1].contains("(line 6, "), "{all:#?}");
    assert!(all
        .iter()
        .all(|p| p.starts_with("vigil.toml: `(syntax)`: ")));
}

#[test]
fn the_late_rows_window_is_read_and_checked() {
    let config = Config::parse(
        "[schedule]\nlate_rows_minutes = 30\n",
        "vigil.toml",
        &SecretEnv::default(),
    )
    .expect("valid");
    assert_eq!(config.alerting.schedule.late_rows_secs, 30 * 60);
    let off = Config::parse(
        "[schedule]\nlate_rows_minutes = 0\n",
        "vigil.toml",
        &SecretEnv::default(),
    )
    .expect("0 turns re-checks off");
    assert_eq!(off.alerting.schedule.late_rows_secs, 0);
    for bad in ["-15", "1441"] {
        let all = problems(&format!("[schedule]\nlate_rows_minutes = {bad}\n"));
        let problem = problem_of(&all, "schedule.late_rows_minutes");
        assert!(problem.contains("0..=1440 minutes"), "{problem}");
        assert!(problem.contains("(line 2, "), "{problem}");
    }
}
