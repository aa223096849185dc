//! A property of the lifecycle on any store: duplicates, interleaving and
//! restarts never change the history a clean pass writes.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::alerts::{eval_of, now_after};
use super::Backend;
use crate::alerts::AlertConfig;
use crate::evaluation::Evaluation;
use crate::metrics::model::BUCKET_SECONDS;
use crate::state::{HistoryFilter, StateStore};

/// Per-series history with wall-clock times and ids left out: what the
/// interleaving must not change.
fn canonical(store: &dyn StateStore) -> Vec<String> {
    let alerts = store
        .history(&HistoryFilter::default(), usize::MAX)
        .unwrap();
    let mut out: Vec<_> = store
        .events(None)
        .unwrap()
        .into_iter()
        .map(|e| {
            let a = alerts.iter().find(|a| a.id == e.alert_id).unwrap();
            format!(
                "{} {:?} started {} bucket {:?} {} {} muted={}",
                a.metric, a.slice, a.started_at, e.bucket, e.kind, e.details, e.muted
            )
        })
        .collect();
    out.sort();
    out
}

const SERIES: [(&str, Option<&str>); 3] = [("views", None), ("views", Some("iOS")), ("ctr", None)];

/// Values per series per bucket: gap, normal or anomalous.
fn values() -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
    let value = prop_oneof![Just(None), Just(Some(100.0)), Just(Some(500.0))];
    proptest::collection::vec(proptest::collection::vec(value, 12), SERIES.len())
}

/// Per step: which series advances next, whether to re-send an old
/// evaluation, whether to restart, whether to cut the batch.
type Choices = Vec<(usize, bool, u8, bool)>;

/// Runs `cases` random cases, each on two fresh states of `backend`'s kind.
pub fn duplicates_and_restarts_give_the_clean_history(backend: &dyn Backend, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let choices = proptest::collection::vec((0usize..3, any::<bool>(), 0u8..8, any::<bool>()), 60);
    runner
        .run(&(values(), choices), |(values, choices)| {
            one_case(backend, values, choices)
        })
        .unwrap();
}

fn one_case(
    backend: &dyn Backend,
    values: Vec<Vec<Option<f64>>>,
    choices: Choices,
) -> Result<(), TestCaseError> {
    let cfg = AlertConfig {
        repeat_after_secs: 1800,
        ..AlertConfig::default()
    };
    let evals: Vec<Vec<Evaluation>> = SERIES
        .iter()
        .zip(&values)
        .map(|((metric, slice), vs)| {
            vs.iter()
                .enumerate()
                .map(|(i, v)| eval_of(metric, *slice, i as i64, *v))
                .collect()
        })
        .collect();

    // Clean pass: every bucket once, in order.
    let clean_state = backend.fresh();
    let mut clean = clean_state.open();
    for i in 0..12 {
        let batch: Vec<_> = evals.iter().map(|s| s[i].clone()).collect();
        clean.apply(&batch, now_after(i as i64), &cfg).unwrap();
    }

    // Messy pass: series interleaved, old evaluations re-sent, restarts.
    let messy_state = backend.fresh();
    let mut messy = messy_state.open();
    let mut next = [0usize; 3];
    let mut batch: Vec<Evaluation> = Vec::new();
    let flush = |store: &mut Box<dyn StateStore>, batch: &mut Vec<Evaluation>| {
        if let Some(newest) = batch.iter().map(|e| e.bucket).max() {
            store.apply(batch, newest + BUCKET_SECONDS, &cfg).unwrap();
        }
        batch.clear();
    };
    let mut choices = choices.into_iter().cycle();
    while next.iter().any(|&n| n < 12) {
        let (series, duplicate, restart, cut) = choices.next().unwrap();
        let series = (series..series + 3)
            .map(|s| s % 3)
            .find(|&s| next[s] < 12)
            .unwrap();
        batch.push(evals[series][next[series]].clone());
        next[series] += 1;
        if duplicate {
            let old = next[series] / 2;
            batch.push(evals[series][old].clone());
        }
        if cut {
            flush(&mut messy, &mut batch);
        }
        if restart == 0 {
            flush(&mut messy, &mut batch);
            drop(messy);
            messy = messy_state.open();
        }
    }
    flush(&mut messy, &mut batch);
    // Everything once more after a final restart: nothing changes.
    drop(messy);
    let mut messy = messy_state.open();
    for series in &evals {
        messy.apply(series, now_after(12), &cfg).unwrap();
    }

    prop_assert_eq!(canonical(messy.as_ref()), canonical(clean.as_ref()));
    // The same notifications are queued (the messy outbox order differs).
    let queued = |s: &dyn StateStore| {
        let mut q: Vec<_> = s
            .due(i64::MAX)
            .unwrap()
            .into_iter()
            .map(|i| {
                format!(
                    "{:?}",
                    (
                        i.payload.metric,
                        i.payload.slice,
                        i.payload.bucket,
                        i.payload.notify
                    )
                )
            })
            .collect();
        q.sort();
        q
    };
    prop_assert_eq!(queued(messy.as_ref()), queued(clean.as_ref()));
    Ok(())
}
