//! The built-in product simulator: a deterministic (per seed) stream of
//! `feed_actions` and `message_actions` with the shape of real product data
//! (daily and weekly cycles, growth, noise, a stable user base, CTR ~0.2), a
//! few labelled incidents and A/B experiments with known effects
//! ([`experiments`]), written to any [`Source`].
//!
//! - [`Simulator::generate`] produces the events of one time interval;
//! - [`fill_history`] writes `days` of history up to now (or catches up after a restart);
//! - [`run_live`] keeps appending events in real time until shutdown.

pub mod experiments;
mod incidents;
mod population;
mod random;
mod rhythm;

use std::future::Future;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::SimulatorConfig;
use crate::events::{EventBatch, FeedAction, FeedActionKind, Incident, MessageAction};
use crate::metrics::model::{EventTable, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};
use experiments::{Active, Running};
use incidents::{Effect, Planned};
use population::User;

/// Expected feed views per user (activity 1) per 15 minutes at the daily peak.
const VIEWS_PER_BUCKET_AT_PEAK: f64 = 0.55;
/// Expected messages per messaging user (messaging 1) per 15 minutes at the peak.
const MESSAGES_PER_BUCKET_AT_PEAK: f64 = 0.12;
/// Bots per spike incident.
const BOTS: u32 = 25;
/// How much history is generated per write (one transaction in SQLite).
const HISTORY_CHUNK_SECONDS: i64 = 6 * 3600;

pub struct Simulator {
    seed: u64,
    users: Vec<User>,
    planned: Vec<Planned>,
    experiments: Vec<Running>,
    /// Time at which growth is 1 and every user has joined (the end of history).
    anchor: i64,
    rng: ChaCha8Rng,
    /// The experiments' own draws, so that their effects leave every other
    /// event exactly as it would be without them.
    experiment_rng: ChaCha8Rng,
}

impl Simulator {
    /// A simulator whose user base depends only on `(seed, users)`. Incidents are
    /// planned in `history` (if any); `anchor` is when growth reaches 1.
    pub fn new(config: &SimulatorConfig, anchor: i64, history: Option<(i64, i64)>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let users = population::build(&mut rng, config.users.max(2), f64::from(config.days));
        let planned = history.map_or_else(Vec::new, |(start, end)| {
            incidents::plan(config.seed, start, end)
        });
        let experiments =
            history.map_or_else(Vec::new, |(start, end)| experiments::plan(start, end));
        Self {
            seed: config.seed,
            users,
            planned,
            experiments,
            anchor,
            rng,
            experiment_rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0xE7E7_A1B2),
        }
    }

    /// Moves the users to `count` synthetic cities (see
    /// [`population::spread_cities`]; 0 keeps the real ones): thousands of
    /// city slices for the scale benchmark, every other draw unchanged.
    pub fn spread_cities(&mut self, count: u32) {
        population::spread_cities(&mut self.users, self.seed, count);
    }

    /// The labelled incidents this simulator injects.
    pub fn incidents(&self) -> Vec<Incident> {
        self.planned.iter().map(|p| p.incident.clone()).collect()
    }

    /// The labels of the experiments this simulator runs.
    pub fn experiment_labels(&self) -> Vec<Incident> {
        self.experiments.iter().map(|e| e.label.clone()).collect()
    }

    /// Continue the experiments still running at the end of the history,
    /// given their stored labels (live generation after [`fill_history`]).
    pub fn resume_experiments(&mut self, labels: &[Incident]) {
        self.experiments = experiments::resume(labels);
    }

    /// Events with time in `[from, to)`. Deterministic for a given seed and
    /// sequence of calls; generation steps through bucket-aligned pieces.
    pub fn generate(&mut self, from: i64, to: i64) -> EventBatch {
        let mut batch = EventBatch::default();
        let mut piece_start = from;
        while piece_start < to {
            let bucket = piece_start.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
            let piece_end = (bucket + BUCKET_SECONDS).min(to);
            self.generate_piece(piece_start, piece_end, &mut batch);
            piece_start = piece_end;
        }
        batch
    }

    /// One piece inside a single bucket.
    fn generate_piece(&mut self, from: i64, to: i64, batch: &mut EventBatch) {
        let fraction = (to - from) as f64 / BUCKET_SECONDS as f64;
        let middle = from + (to - from) / 2;
        let bucket = from.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
        let level = rhythm::growth(middle, self.anchor) * rhythm::bucket_noise(self.seed, bucket);

        let mut feed_on = true;
        let mut messages_on = true;
        let mut os_factor: Option<(&str, f64)> = None;
        let mut like_factor = 1.0;
        let mut bots: Option<(usize, &'static str, f64)> = None;
        for planned in self.planned.iter().filter(|p| p.active(middle)) {
            match &planned.effect {
                Effect::FeedOutage => feed_on = false,
                Effect::MessengerOutage => messages_on = false,
                Effect::OsDrop { os, factor } => os_factor = Some((os, *factor)),
                Effect::LikeDecline { floor } => {
                    like_factor = 1.0 - (1.0 - floor) * planned.progress(middle)
                }
                Effect::BotSpike {
                    country,
                    city,
                    extra,
                } => bots = Some((*country, city, *extra)),
            }
        }

        let experiments = Active::at(&self.experiments, middle);
        let mut expected_views = 0.0;
        for user in &self.users {
            if (self.anchor - middle) as f64 > user.joined_days_before_anchor * 86_400.0 {
                continue; // has not joined yet
            }
            let offset = user.country().utc_offset_hours;
            let daily = rhythm::daily(middle, offset);
            let group = experiments.logged_group(self.seed, user.id, user.exp_group);
            if feed_on {
                let mut mean = VIEWS_PER_BUCKET_AT_PEAK
                    * user.activity
                    * daily
                    * rhythm::weekly_feed(middle, offset)
                    * level
                    * fraction;
                expected_views += mean;
                if let Some((os, factor)) = os_factor {
                    if user.os == os {
                        mean *= factor;
                    }
                }
                let views = random::poisson(&mut self.rng, mean);
                for _ in 0..views {
                    let time = self.rng.random_range(from..to);
                    let post_id = post_for(&mut self.rng, time);
                    batch
                        .feed
                        .push(feed_row(user, group, post_id, FeedActionKind::View, time));
                    if self
                        .rng
                        .random_bool((user.ctr * like_factor).clamp(0.0, 1.0))
                    {
                        let like_time = (time + self.rng.random_range(1..30)).min(to - 1);
                        // The experiment thins likes with its own draws (the main stream is untouched).
                        let kept = experiments.like_factor(user.exp_group);
                        if kept >= 1.0 || self.experiment_rng.random_bool(kept.max(0.0)) {
                            batch.feed.push(feed_row(
                                user,
                                group,
                                post_id,
                                FeedActionKind::Like,
                                like_time,
                            ));
                        }
                    }
                }
            }
            if messages_on && user.messaging > 0.0 {
                let mean = MESSAGES_PER_BUCKET_AT_PEAK
                    * user.messaging
                    * rhythm::daily(middle, offset)
                    * rhythm::weekly_messages(middle, offset)
                    * level
                    * fraction;
                let user_count = self.users.len() as u32;
                for _ in 0..random::poisson(&mut self.rng, mean) {
                    let receiver = receiver_for(&mut self.rng, user, user_count);
                    let time = self.rng.random_range(from..to);
                    batch
                        .messages
                        .push(message_row(user, group, receiver, time));
                }
                let extra = experiments.extra_messages(user.exp_group);
                if extra > 0.0 {
                    let rng = &mut self.experiment_rng;
                    for _ in 0..random::poisson(rng, mean * extra) {
                        let receiver = receiver_for(rng, user, user_count);
                        let time = rng.random_range(from..to);
                        batch
                            .messages
                            .push(message_row(user, group, receiver, time));
                    }
                }
            }
        }

        if let (true, Some((country, city, extra))) = (feed_on, bots) {
            let per_bot = expected_views * extra / f64::from(BOTS);
            let base_id = self.users.len() as u32 + 1;
            for bot in 0..BOTS {
                let bot_user = User {
                    id: base_id + bot,
                    gender: 0,
                    age: 25,
                    country,
                    city: city.to_string(),
                    os: population::ANDROID,
                    source: "ads",
                    exp_group: (bot % 5) as u8,
                    activity: 0.0,
                    ctr: 0.005,
                    messaging: 0.0,
                    joined_days_before_anchor: f64::INFINITY,
                    friends: Vec::new(),
                };
                for _ in 0..random::poisson(&mut self.rng, per_bot) {
                    let time = self.rng.random_range(from..to);
                    let post_id = post_for(&mut self.rng, time);
                    let group = bot_user.exp_group;
                    batch.feed.push(feed_row(
                        &bot_user,
                        group,
                        post_id,
                        FeedActionKind::View,
                        time,
                    ));
                    if self.rng.random_bool(bot_user.ctr) {
                        batch.feed.push(feed_row(
                            &bot_user,
                            group,
                            post_id,
                            FeedActionKind::Like,
                            time,
                        ));
                    }
                }
            }
        }
    }
}

/// Mostly a friend, sometimes anyone; never the sender.
fn receiver_for(rng: &mut impl Rng, user: &User, user_count: u32) -> u32 {
    if !user.friends.is_empty() && rng.random_bool(0.8) {
        return user.friends[rng.random_range(0..user.friends.len())];
    }
    let other = rng.random_range(1..user_count);
    if other >= user.id {
        other + 1
    } else {
        other
    }
}

/// Recent posts are the most viewed: about 12 new posts a minute.
fn post_for(rng: &mut impl Rng, time: i64) -> u32 {
    let newest = (time / 5).max(1) as u64;
    let age = (-(rng.random_range(f64::EPSILON..1.0f64)).ln() * 600.0) as u64;
    newest.saturating_sub(age).clamp(1, u64::from(u32::MAX)) as u32
}

/// A feed event of `user`, logged with `exp_group` (theirs unless an
/// experiment's broken assignment moved them).
fn feed_row(
    user: &User,
    exp_group: u8,
    post_id: u32,
    action: FeedActionKind,
    time: i64,
) -> FeedAction {
    FeedAction {
        user_id: user.id,
        post_id,
        action,
        time,
        gender: user.gender,
        age: user.age,
        country: user.country().name.to_string(),
        city: user.city.clone(),
        os: user.os.to_string(),
        source: user.source.to_string(),
        exp_group,
    }
}

fn message_row(user: &User, exp_group: u8, receiver_id: u32, time: i64) -> MessageAction {
    MessageAction {
        user_id: user.id,
        receiver_id,
        time,
        source: user.source.to_string(),
        exp_group,
        gender: user.gender,
        age: user.age,
        country: user.country().name.to_string(),
        city: user.city.clone(),
        os: user.os.to_string(),
    }
}

/// What [`fill_history`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryReport {
    /// `[from, to)` generated; equal when nothing was missing.
    pub from: i64,
    pub to: i64,
    pub feed_events: u64,
    pub message_events: u64,
    pub incidents: usize,
    /// Experiments labelled (see [`experiments`]).
    pub experiments: usize,
    /// Wall time spent generating and writing.
    pub elapsed: Duration,
}

impl HistoryReport {
    pub fn events(&self) -> u64 {
        self.feed_events + self.message_events
    }

    pub fn events_per_second(&self) -> f64 {
        self.events() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Newest event over both tables.
async fn newest_event(source: &Source) -> Result<Option<i64>, SourceError> {
    let feed = source.newest_event_time(EventTable::FeedActions).await?;
    let messages = source.newest_event_time(EventTable::MessageActions).await?;
    Ok(feed.max(messages))
}

/// Experiments running when the history ended keep running after it (in a
/// catch-up and in live generation), read back from their stored labels.
async fn resume_stored_experiments(
    source: &Source,
    simulator: &mut Simulator,
    now: i64,
) -> Result<(), SourceError> {
    let labels = source
        .incidents(crate::metrics::model::TimeRange {
            from: 0,
            to: now + 86_400,
        })
        .await?;
    simulator.resume_experiments(&labels);
    Ok(())
}

/// Make the store hold `config.days` of history up to `now`: on an empty store,
/// the whole history with its labelled incidents; otherwise only what is missing
/// since the newest stored event (at most `days`, no incidents), so a restart
/// never duplicates history.
pub async fn fill_history(
    source: &Source,
    config: &SimulatorConfig,
    now: i64,
) -> Result<HistoryReport, SourceError> {
    fill_history_in_cities(source, config, now, 0).await
}

/// [`fill_history`] with the users in `cities` synthetic cities
/// ([`Simulator::spread_cities`], `vigil simulate --cities`).
pub async fn fill_history_in_cities(
    source: &Source,
    config: &SimulatorConfig,
    now: i64,
    cities: u32,
) -> Result<HistoryReport, SourceError> {
    let started = Instant::now();
    source.ensure_tables().await?;
    let earliest =
        (now - i64::from(config.days) * 86_400).div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
    let newest = newest_event(source).await?;
    let from = newest.map_or(earliest, |newest| (newest + 1).max(earliest));
    let mut simulator = if newest.is_none() {
        Simulator::new(config, now, Some((from, now)))
    } else {
        let mut simulator = Simulator::new(config, now, None);
        resume_stored_experiments(source, &mut simulator, now).await?;
        simulator
    };
    simulator.spread_cities(cities);
    let incidents = simulator.incidents();
    let experiment_labels = simulator.experiment_labels();
    let labels: Vec<Incident> = incidents
        .iter()
        .chain(&experiment_labels)
        .cloned()
        .collect();
    if !labels.is_empty() {
        source.write_incidents(&labels).await?;
    }
    let mut report = HistoryReport {
        from,
        to: from.max(now),
        feed_events: 0,
        message_events: 0,
        incidents: incidents.len(),
        experiments: experiment_labels.len(),
        elapsed: Duration::ZERO,
    };
    let mut chunk_start = from;
    while chunk_start < now {
        // Chunks end on bucket boundaries so generation is the same however it is chunked.
        let chunk_end = ((chunk_start + HISTORY_CHUNK_SECONDS).div_euclid(BUCKET_SECONDS)
            * BUCKET_SECONDS)
            .min(now);
        let batch = simulator.generate(chunk_start, chunk_end);
        report.feed_events += batch.feed.len() as u64;
        report.message_events += batch.messages.len() as u64;
        source.write_events(batch).await?;
        chunk_start = chunk_end;
    }
    report.elapsed = started.elapsed();
    tracing::info!(
        events = report.events(),
        incidents = report.incidents,
        experiments = report.experiments,
        seconds = report.elapsed.as_secs_f64(),
        "simulator history written"
    );
    Ok(report)
}

/// Append events in real time every `tick` until `shutdown` resolves, starting
/// after the newest stored event. Write errors are logged and retried on the
/// next tick (the interval is then generated again, as one piece).
pub async fn run_live(
    source: &Source,
    config: &SimulatorConfig,
    tick: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SourceError> {
    let now = crate::times::unix_now();
    let mut next_from = newest_event(source).await?.map_or(now, |newest| newest + 1);
    let mut simulator = Simulator::new(config, now, None);
    resume_stored_experiments(source, &mut simulator, now).await?;
    tokio::pin!(shutdown);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            _ = interval.tick() => {}
        }
        let now = crate::times::unix_now();
        if now <= next_from {
            continue;
        }
        let batch = simulator.generate(next_from, now);
        let count = batch.len();
        match source.write_events(batch).await {
            Ok(()) => {
                tracing::debug!(
                    events = count,
                    from = next_from,
                    to = now,
                    "live events written"
                );
                next_from = now;
            }
            Err(error) => tracing::warn!(%error, "live simulator write failed; retrying next tick"),
        }
    }
}

#[cfg(test)]
mod tests;
