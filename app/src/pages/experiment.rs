//! `/experiments` (the experiments the checks compare) and
//! `/experiment/<name>`: an experiment's groups overlaid, the effect over
//! time with its confidence sequence, and the newest figures in the alert's
//! words, then its checks replayed (what they would have sent, with its
//! rules or a what-if's). Everything is rendered on the server (inline
//! SVG), so the page reads before the wasm bundle loads.

mod plot;
mod replay;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    error_text, fetch_experiment, fetch_experiments, replay_experiment_checks, ArmComparison,
    ExperimentDetail, ExperimentList, ExperimentMetric, ExperimentReplay, ExperimentSummary,
    ReplayRules,
};
use crate::components::url_query::{self, QueryNotices};
use crate::format::{local_time, number, percent, Digits};
use crate::routes::experiment_page;

#[component]
pub fn ExperimentsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| fetch_experiments());
    view! {
        <Title text="Experiments"/>
        <h1>"Experiments"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading the experiments…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! { <ExperimentTable list/> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error_text(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ExperimentTable(list: ExperimentList) -> impl IntoView {
    if list.experiments.is_empty() {
        return view! {
            <p class="empty">"No experiments: declare them with [[experiments]] in the config (docs/experiments.md)."</p>
        }
        .into_any();
    }
    let offset = list.utc_offset_minutes;
    let row = move |e: &ExperimentSummary| {
        view! {
            <tr data-testid="experiment-row">
                <td><a href=experiment_page(&e.name)>{e.name.clone()}</a></td>
                <td>{e.arms.clone()}</td>
                <td>{e.metrics.join(", ")}</td>
                <td>{period(e, offset)}</td>
            </tr>
        }
    };
    view! {
        <div class="table-scroll">
            <table class="experiments">
                <thead><tr><th>"Name"</th><th>"Arms"</th><th>"Metrics"</th><th>"Runs"</th></tr></thead>
                <tbody>{list.experiments.iter().map(row).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// "running since 25 Feb 22:45", "ended 3 Mar 00:00".
fn period(e: &ExperimentSummary, offset: i32) -> String {
    let start = local_time(e.start, offset);
    match (e.running, e.end) {
        (true, _) => format!("running since {start}"),
        (false, Some(end)) => format!("{start} to {}", local_time(end, offset)),
        (false, None) => format!("from {start}"),
    }
}

#[component]
pub fn ExperimentPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    // Blocking: the response head waits for it, so an unknown name is
    // answered 404 (the error arrives before anything is streamed).
    let detail = Resource::new_blocking(name, fetch_experiment);
    // The replay's rules from the URL; the replay itself streams in after
    // the page (it is not blocking: the page reads without it).
    let query = use_query_map();
    let read = Memo::new(move |_| query.with(|q| replay::read_query(url_query::pairs_of(q))));
    #[cfg(feature = "ssr")]
    read.with_untracked(|(_, notices)| url_query::answer(notices));
    let rules = move || read.with(|(rules, _)| *rules);
    let replay = Resource::new(
        move || (name(), rules()),
        |(name, rules)| replay_experiment_checks(name, rules),
    );
    view! {
        <Title text=move || format!("Experiment {}", name())/>
        <p class="back"><a href="/experiments">"← Experiments"</a></p>
        <h1>"Experiment " {name}</h1>
        <QueryNotices notices=Signal::derive(move || read.with(|(_, notices)| notices.clone()))/>
        <Suspense fallback=|| view! { <p class="loading">"Judging the experiment since its start…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! {
                        <Detail detail=detail.clone()/>
                        <Replay detail rules=rules() replay/>
                    }
                    .into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error_text(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The replay section, its form starting from the URL's rules or else the
/// experiment's.
#[component]
fn Replay(
    detail: ExperimentDetail,
    rules: ReplayRules,
    replay: Resource<Result<ExperimentReplay, ServerFnError>>,
) -> impl IntoView {
    view! {
        <replay::ReplaySection
            name=detail.summary.name.clone()
            rules
            alpha=rules.alpha.unwrap_or(detail.alpha)
            min_effect=rules.min_effect.unwrap_or(detail.min_effect)
            replay
        />
    }
}

#[component]
fn Detail(detail: ExperimentDetail) -> impl IntoView {
    let offset = detail.utc_offset_minutes;
    let mismatch = detail.srm_p_value < detail.srm_alpha;
    let users = detail
        .users
        .iter()
        .map(|u| format!("{} {} (split: {:.0})", u.arm, u.users, u.expected))
        .collect::<Vec<_>>()
        .join(", ");
    let srm = if mismatch {
        format!(
            "Sample ratio mismatch: users per group do not match the configured split (sequential p = {}). The comparison is invalid until assignment or logging is fixed.",
            crate::format::p_value(detail.srm_p_value)
        )
    } else {
        format!(
            "Group sizes match the split (sequential p = {}, alerts below {}).",
            crate::format::p_value(detail.srm_p_value),
            detail.srm_alpha
        )
    };
    let rules = format!(
        "Alerts when the always-valid p-value (mSPRT, checked every 15 min) is below {} and the effect is at least {} in size. Charts: running totals since the start, {} checkpoints.",
        detail.alpha,
        percent(detail.min_effect, Digits::Short).trim_start_matches('+'),
        detail.checkpoints.len()
    );
    let checkpoints = StoredValue::new(detail.checkpoints.clone());
    view! {
        <p data-testid="experiment-period">
            {format!("{}: {}, ", detail.summary.arms, detail.summary.metrics.join(", "))}
            {period(&detail.summary, offset)}
        </p>
        <p class=if mismatch { "experiment-srm error" } else { "experiment-srm" } data-testid="experiment-srm"
            role=mismatch.then_some("alert")>{srm}</p>
        <p data-testid="experiment-users">{format!("Users: {users}.")}</p>
        <p class="muted">{rules}</p>
        {if detail.checkpoints.is_empty() {
            view! { <p class="empty">"No data since the start yet."</p> }.into_any()
        } else {
            detail
                .metrics
                .into_iter()
                .map(|metric| view! { <MetricSection metric checkpoints min_effect=detail.min_effect/> })
                .collect_view()
                .into_any()
        }}
    }
}

#[component]
fn MetricSection(
    metric: ExperimentMetric,
    checkpoints: StoredValue<Vec<i64>>,
    min_effect: f64,
) -> impl IntoView {
    let times = checkpoints.get_value();
    let ratio = metric.ratio;
    let groups = plot::group_chart(&times, &metric.groups, ratio);
    let what = if ratio {
        "running value since the start"
    } else {
        "per exposed user since the start"
    };
    let comparisons = metric
        .comparisons
        .iter()
        .map(|c| comparison(c, &times, min_effect))
        .collect_view();
    view! {
        <section class="experiment-metric" data-testid="experiment-metric" data-metric=metric.name.clone()>
            <h2>{metric.title.clone()}</h2>
            <figure class="exp-figure" data-testid="group-chart">
                {groups}
                <figcaption>{format!("Each group's {} ({what}); control dashed.", metric.title)}</figcaption>
            </figure>
            {comparisons}
        </section>
    }
}

fn comparison(c: &ArmComparison, times: &[i64], min_effect: f64) -> impl IntoView {
    let chart = plot::effect_chart(times, &c.effects, min_effect);
    let p = c
        .p_value
        .map(|p| format!(" Always-valid p = {}.", crate::format::p_value(p)))
        .unwrap_or_default();
    let newest = c.effects.last().copied().flatten().map(|e| {
        format!(
            "Newest: {} ({} to {}).",
            percent(e.relative, Digits::Table),
            percent(e.low, Digits::Table),
            percent(e.high, Digits::Table)
        )
    });
    view! {
        <div class="exp-comparison" data-testid="comparison" data-verdict=c.verdict.clone()>
            <h3>
                {format!("{} vs {} ", c.treatment, c.control)}
                <span class=format!("verdict verdict-{}", c.verdict.replace(' ', "-")) data-testid="experiment-verdict">
                    {c.verdict.clone()}
                </span>
            </h3>
            <p data-testid="experiment-sentence">{format!("{}.{p}", c.sentence.trim_end_matches('.'))}</p>
            <figure class="exp-figure" data-testid="effect-chart">
                {chart}
                <figcaption>
                    {format!(
                        "Effect of {} against {} with its confidence sequence (shaded); dotted: ±{} minimum effect. {}",
                        c.treatment,
                        c.control,
                        number(Some(min_effect * 100.0), Digits::Exact) + "%",
                        newest.unwrap_or_default()
                    )}
                </figcaption>
            </figure>
        </div>
    }
}
