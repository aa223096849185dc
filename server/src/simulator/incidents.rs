//! Labelled incidents: where they are placed in the history and what they do to
//! the generated events. Placement depends only on (seed, history range).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::population::{ANDROID, COUNTRIES};
use crate::events::{Incident, IncidentKind};
use crate::metrics::model::BUCKET_SECONDS;

/// What an incident does to generation while it lasts.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// No feed events at all.
    FeedOutage,
    /// Feed views (and so likes) of users on `os` multiplied by `factor`.
    OsDrop { os: &'static str, factor: f64 },
    /// Bots in `city` add `extra` x the normal views, almost never liking.
    BotSpike {
        country: usize,
        city: &'static str,
        extra: f64,
    },
    /// Like probability drifts linearly from 1x down to `floor` x.
    LikeDecline { floor: f64 },
    /// No messages at all.
    MessengerOutage,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub incident: Incident,
    pub effect: Effect,
}

impl Planned {
    pub fn active(&self, t: i64) -> bool {
        self.incident.start <= t && t < self.incident.end
    }

    /// Fraction of the incident elapsed at `t` (0 at start, 1 at end).
    pub fn progress(&self, t: i64) -> f64 {
        let length = (self.incident.end - self.incident.start).max(1) as f64;
        ((t - self.incident.start) as f64 / length).clamp(0.0, 1.0)
    }
}

/// (kind, metric, slice, duration in seconds, effect, description).
type Template = (
    IncidentKind,
    &'static str,
    Option<(&'static str, &'static str)>,
    i64,
    Effect,
    String,
);

/// Place the five incident kinds in `[start, end)`: none in the first quarter (or
/// first two days) so detectors have a baseline, none in the last three hours, one
/// per equal segment, in a seed-shuffled order, starting on bucket boundaries.
pub fn plan(seed: u64, start: i64, end: i64) -> Vec<Planned> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1AC1_DE47);
    let warmup = ((end - start) / 4).min(2 * 86_400);
    let first = start + warmup;
    let last = end - 3 * 3600;
    if last - first < 5 * 3 * 3600 {
        return Vec::new(); // too little history to place incidents without overlap
    }
    let (bot_country, bot_city) = {
        let country = rng.random_range(0..COUNTRIES.len());
        let cities = COUNTRIES[country].cities;
        (country, cities[rng.random_range(0..cities.len())])
    };
    // (kind, metric, slice, duration, effect, description)
    let mut templates: Vec<Template> = vec![
        (
            IncidentKind::Outage,
            "feed_views",
            None,
            3600,
            Effect::FeedOutage,
            "Feed outage: the feed API returned errors, no views or likes for an hour".into(),
        ),
        (
            IncidentKind::PartialDrop,
            "feed_views",
            Some(("os", ANDROID)),
            4 * 3600,
            Effect::OsDrop {
                os: ANDROID,
                factor: 0.5,
            },
            "Android release 4.2.0 broke feed loading for half of the sessions: Android views -50%"
                .into(),
        ),
        (
            IncidentKind::Spike,
            "feed_views",
            Some(("city", bot_city)),
            90 * 60,
            Effect::BotSpike {
                country: bot_country,
                city: bot_city,
                extra: 0.8,
            },
            format!("Bot traffic from {bot_city}: views up, CTR down"),
        ),
        (
            IncidentKind::SlowDecline,
            "feed_likes",
            None,
            6 * 3600,
            Effect::LikeDecline { floor: 0.55 },
            "Like button degraded slowly after a config change: likes drift down over six hours"
                .into(),
        ),
        (
            IncidentKind::Outage,
            "messages_sent",
            None,
            45 * 60,
            Effect::MessengerOutage,
            "Messenger outage: no messages delivered for 45 minutes".into(),
        ),
    ];
    templates.shuffle(&mut rng);
    let segment = (last - first) / templates.len() as i64;
    templates
        .into_iter()
        .enumerate()
        .map(
            |(index, (kind, metric, slice, duration, effect, description))| {
                let segment_start = first + index as i64 * segment;
                let latest = (segment_start + segment - duration).max(segment_start);
                let start = rng
                    .random_range(segment_start..=latest)
                    .div_euclid(BUCKET_SECONDS)
                    * BUCKET_SECONDS
                    + BUCKET_SECONDS; // next boundary: stays inside the segment
                Planned {
                    incident: Incident {
                        id: index as u32 + 1,
                        start,
                        end: start + duration,
                        kind,
                        metric: metric.into(),
                        slice_dimension: slice.map(|(dimension, _)| dimension.into()),
                        slice_value: slice.map(|(_, value)| value.into()),
                        description,
                    },
                    effect,
                }
            },
        )
        .collect()
}
