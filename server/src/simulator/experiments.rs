//! Simulated A/B experiments with known effects, the ground truth for
//! experiment alerts. Users are already split into `exp_group` 0..=4; an
//! experiment compares a treatment group with a control group. The
//! simulator's defaults ([`DEFAULTS`]):
//!
//! | name | control → treatment | what happens |
//! |---|---|---|
//! | `aa-check` | 0 → 1 | nothing (A/A: any alert is a false alarm); ends half-way |
//! | `feed-ranking-v2` | 1 → 2 | likes per view × 0.85 (CTR -15%) from its start |
//! | `messenger-suggestions` | 1 → 3 | messages sent × 1.25 from its start |
//! | `onboarding-v3` | 0 → 4 | from 40% into it, half of group 4's users are logged as group 0 (sample ratio mismatch) |
//!
//! Effects touch only the treatment group's events, and draw from their own
//! random stream, so every other event is exactly what it was without them
//! (totals move by the group's share of the effect: CTR -3%, messages +5%).
//! Each experiment is recorded in the `incidents` table like the injected
//! incidents, with an `experiment_*` kind, the treatment as the slice
//! `exp_group` and the control in the description, so `vigil eval` can score
//! experiment alerts (delay to the effect, false alarms on the A/A pair).

use crate::events::{Incident, IncidentKind};
use crate::metrics::model::BUCKET_SECONDS;

use super::random::hash_unit;

/// What an experiment does to its treatment group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Treatment {
    /// Nothing: an A/A pair.
    None,
    /// Each like of a treated user is kept with probability `factor`.
    Likes { factor: f64 },
    /// Treated users send `factor` x the messages.
    Messages { factor: f64 },
    /// From `break_at` (a fraction of the experiment's span) on, `share` of
    /// the treated users are logged with the control group's `exp_group`.
    Reassign { break_at: f64, share: f64 },
}

/// One default experiment. Start and end are fractions of the history after
/// its warm-up (the same warm-up as the incidents: a baseline first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Template {
    pub name: &'static str,
    pub control: u8,
    pub treatment: u8,
    /// The catalogue metric the experiment's label is about.
    pub metric: &'static str,
    pub start: f64,
    pub end: f64,
    pub effect: Treatment,
}

/// The simulator's experiments (see the module docs).
pub const DEFAULTS: [Template; 4] = [
    Template {
        name: "aa-check",
        control: 0,
        treatment: 1,
        metric: "feed_ctr",
        start: 0.0,
        end: 0.5,
        effect: Treatment::None,
    },
    Template {
        name: "feed-ranking-v2",
        control: 1,
        treatment: 2,
        metric: "feed_ctr",
        start: 0.35,
        end: 1.0,
        effect: Treatment::Likes { factor: 0.85 },
    },
    Template {
        name: "messenger-suggestions",
        control: 1,
        treatment: 3,
        metric: "messages_sent",
        start: 0.25,
        end: 1.0,
        effect: Treatment::Messages { factor: 1.25 },
    },
    Template {
        name: "onboarding-v3",
        control: 0,
        treatment: 4,
        metric: "feed_active_users",
        start: 0.55,
        end: 1.0,
        effect: Treatment::Reassign {
            break_at: 0.4,
            share: 0.5,
        },
    },
];

/// Label ids start here, clear of the incidents' 1..=5.
const FIRST_ID: u32 = 101;

/// A running experiment: its template, when it runs and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    pub template: Template,
    /// `[start, end)` of the experiment itself.
    pub start: i64,
    pub end: i64,
    /// The label: from the effect's start (the break, for a mismatch).
    pub label: Incident,
}

impl Running {
    fn active(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }
}

/// The default experiments placed in the history `[start, end)`; none when
/// the history is too short for the incidents' warm-up.
pub fn plan(start: i64, end: i64) -> Vec<Running> {
    let warmup = ((end - start) / 4).min(2 * 86_400);
    let first = start + warmup;
    if end - first < 5 * 3 * 3600 {
        return Vec::new();
    }
    let at = |fraction: f64| {
        let t = first + ((end - first) as f64 * fraction) as i64;
        (t.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS).clamp(first, end)
    };
    DEFAULTS
        .iter()
        .enumerate()
        .map(|(index, template)| {
            let (from, to) = (at(template.start), at(template.end));
            let effect_from = effect_start(template.effect, from, to);
            Running {
                template: *template,
                start: from,
                end: to,
                label: label(FIRST_ID + index as u32, template, effect_from, to),
            }
        })
        .collect()
}

/// Where the effect of an experiment running `[from, to)` starts: at its
/// start, or for a broken assignment at the break.
fn effect_start(effect: Treatment, from: i64, to: i64) -> i64 {
    match effect {
        Treatment::Reassign { break_at, .. } => {
            let t = from + ((to - from) as f64 * break_at) as i64;
            t.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS
        }
        _ => from,
    }
}

fn label(id: u32, template: &Template, start: i64, end: i64) -> Incident {
    let (kind, what) = match template.effect {
        Treatment::None => (
            IncidentKind::ExperimentAa,
            "no effect (A/A): the groups must not diverge".to_string(),
        ),
        Treatment::Likes { factor } => (
            IncidentKind::ExperimentEffect,
            format!("likes per view x{factor} in the treatment (CTR {:+.0}%)", (factor - 1.0) * 100.0),
        ),
        Treatment::Messages { factor } => (
            IncidentKind::ExperimentEffect,
            format!("messages sent x{factor} in the treatment ({:+.0}%)", (factor - 1.0) * 100.0),
        ),
        Treatment::Reassign { share, .. } => (
            IncidentKind::ExperimentSrm,
            format!(
                "assignment broke: {:.0}% of group {}'s users are logged as group {} (sample ratio mismatch)",
                share * 100.0,
                template.treatment,
                template.control
            ),
        ),
    };
    Incident {
        id,
        start,
        end: end.max(start + 1),
        kind,
        metric: template.metric.into(),
        slice_dimension: Some("exp_group".into()),
        slice_value: Some(template.treatment.to_string()),
        description: format!(
            "Experiment {}: control group {}, treatment group {}; {what}",
            template.name, template.control, template.treatment
        ),
    }
}

/// The experiments' effects at one moment, looked up once per generated piece.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Active {
    /// (treatment group, factor on its likes).
    pub likes: Option<(u8, f64)>,
    /// (treatment group, factor on its messages).
    pub messages: Option<(u8, f64)>,
    /// (treatment group, control group, share reassigned).
    pub reassign: Option<(u8, u8, f64)>,
}

impl Active {
    /// What the `experiments` do at time `t`.
    pub fn at(experiments: &[Running], t: i64) -> Self {
        let mut active = Self::default();
        for running in experiments.iter().filter(|r| r.active(t)) {
            let group = running.template.treatment;
            match running.template.effect {
                Treatment::None => {}
                Treatment::Likes { factor } => active.likes = Some((group, factor)),
                Treatment::Messages { factor } => active.messages = Some((group, factor)),
                Treatment::Reassign { share, .. } => {
                    if t >= running.label.start {
                        active.reassign = Some((group, running.template.control, share));
                    }
                }
            }
        }
        active
    }

    /// The group a user's events are logged with: their own, unless the
    /// broken assignment moved them (the same users for the whole break).
    pub fn logged_group(&self, seed: u64, user_id: u32, exp_group: u8) -> u8 {
        match self.reassign {
            Some((group, control, share))
                if exp_group == group
                    && hash_unit(seed ^ 0x5A5A_0F0F, i64::from(user_id)) < share =>
            {
                control
            }
            _ => exp_group,
        }
    }

    /// The factor on likes of a user in `exp_group` (1 outside the treatment).
    pub fn like_factor(&self, exp_group: u8) -> f64 {
        match self.likes {
            Some((group, factor)) if group == exp_group => factor,
            _ => 1.0,
        }
    }

    /// The extra messages (as a fraction of the normal ones) of a user in `exp_group`.
    pub fn extra_messages(&self, exp_group: u8) -> f64 {
        match self.messages {
            Some((group, factor)) if group == exp_group => (factor - 1.0).max(0.0),
            _ => 0.0,
        }
    }
}

/// The experiments still running when the history ended, from their stored
/// labels, so live generation continues them (open-ended from then on).
pub fn resume(labels: &[Incident]) -> Vec<Running> {
    labels
        .iter()
        .filter_map(|label| {
            let index = label.id.checked_sub(FIRST_ID)? as usize;
            let template = DEFAULTS.get(index)?;
            let expected_kind = match template.effect {
                Treatment::None => IncidentKind::ExperimentAa,
                Treatment::Likes { .. } | Treatment::Messages { .. } => {
                    IncidentKind::ExperimentEffect
                }
                Treatment::Reassign { .. } => IncidentKind::ExperimentSrm,
            };
            (label.kind == expected_kind && template.end >= 1.0).then(|| Running {
                template: *template,
                start: label.start,
                end: i64::MAX,
                label: label.clone(),
            })
        })
        .collect()
}

/// The experiments the simulator's stored labels describe, declared as a
/// config would declare them: what a check compares on a simulated store
/// whose config declares none (`make run` shows them without a config).
/// A mismatch's label starts at the break; its experiment started earlier,
/// where the break's fraction of the run places it (within a bucket: two
/// starts a bucket apart can give the same break).
pub fn declared(labels: &[Incident]) -> Vec<crate::config::ExperimentConfig> {
    labels
        .iter()
        .filter(|label| label.kind.is_experiment())
        .filter_map(|label| {
            let template = DEFAULTS.get(label.id.checked_sub(FIRST_ID)? as usize)?;
            let start = match template.effect {
                // The bucket-aligned start whose break is the label's start
                // (the estimate is within a bucket or two of it).
                Treatment::Reassign { break_at, .. } => {
                    let run = (label.end - label.start) as f64 / (1.0 - break_at);
                    let estimate = (label.end - run as i64).div_euclid(BUCKET_SECONDS);
                    (estimate - 3..=estimate + 3)
                        .map(|b| b * BUCKET_SECONDS)
                        .find(|from| effect_start(template.effect, *from, label.end) == label.start)
                        .unwrap_or(label.start)
                }
                _ => label.start,
            };
            Some(crate::config::ExperimentConfig {
                name: template.name.into(),
                metrics: vec![template.metric.into()],
                control: vec![template.control],
                treatments: vec![vec![template.treatment]],
                split: vec![1.0, 1.0],
                start,
                end: (template.end < 1.0).then_some(label.end),
                rules: Default::default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod declared_tests {
    use super::*;

    #[test]
    fn the_declared_experiments_are_the_planned_ones() {
        let start = 1_709_510_400;
        for length in [4 * 86_400 + 1_234, 7 * 86_400, 14 * 86_400 + 77] {
            let planned = plan(start, start + length);
            let labels: Vec<Incident> = planned.iter().map(|r| r.label.clone()).collect();
            let declared = declared(&labels);
            assert_eq!(declared.len(), DEFAULTS.len());
            for (running, declared) in planned.iter().zip(&declared) {
                let template = running.template;
                assert_eq!(declared.name, template.name);
                // A break in the middle of a bucket is the same break for two
                // starts a bucket apart: a mismatch's start is known within one.
                assert!(
                    (declared.start - running.start).abs() <= BUCKET_SECONDS,
                    "{} over {length}: {} for {}",
                    template.name,
                    declared.start,
                    running.start
                );
                if !matches!(template.effect, Treatment::Reassign { .. }) {
                    assert_eq!(declared.start, running.start);
                }
                assert_eq!(declared.end, (template.end < 1.0).then_some(running.end));
                assert_eq!(
                    (declared.control.as_slice(), declared.treatments.as_slice()),
                    (
                        [template.control].as_slice(),
                        [vec![template.treatment]].as_slice()
                    )
                );
            }
        }
    }
}
