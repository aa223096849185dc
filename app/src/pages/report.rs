//! `/report?date=YYYY-MM-DD`: the morning report of any day, as the Telegram
//! message says it: each metric's value with its change against the day
//! before and a week before, then the day's alerts (default: yesterday).

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{fetch_report, DailyReport, ReportMetric};
use crate::components::url_query::{self, shown, Ignored, QueryNotices};
use crate::format::{daily_change, daily_value};

/// The day `/report?date=` asks for (`None`: the default, yesterday), with
/// a notice per value the page ignores.
fn read_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Option<String>, Vec<String>) {
    let mut ignored = Ignored::default();
    let mut date = None;
    for (key, value) in url_query::pairs(pairs) {
        match key {
            "date" => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                Ok(day) => date = Some(day.format("%Y-%m-%d").to_string()),
                Err(_) => ignored.value(format!(
                    "date {} is not a day: use YYYY-MM-DD, e.g. 2026-12-05",
                    shown(value)
                )),
            },
            _ => ignored.unknown(key, "date"),
        }
    }
    (date, ignored.into_notices())
}

#[component]
pub fn ReportPage() -> impl IntoView {
    let query = use_query_map();
    let read = Memo::new(move |_| query.with(|q| read_query(url_query::pairs_of(q))));
    #[cfg(feature = "ssr")]
    read.with_untracked(|(_, notices)| url_query::answer(notices));
    let date = move || read.with(|(date, _)| date.clone());
    let report = Resource::new(date, fetch_report);

    view! {
        <Title text="Morning report"/>
        <h1>"Morning report"</h1>
        <QueryNotices notices=Signal::derive(move || read.with(|(_, notices)| notices.clone()))/>
        <Suspense fallback=|| view! { <p class="loading">"Loading the report…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    // The field holds the day shown, the default one too.
                    Ok(report) => view! {
                        <DateForm day=Some(report.date.clone())/>
                        <Report report/>
                    }
                    .into_any(),
                    Err(error) => view! {
                        <DateForm day=date()/>
                        <p class="error" role="alert">{crate::api::error_text(&error)}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// Another day's report: the field starts at `day` (`YYYY-MM-DD`).
#[component]
fn DateForm(day: Option<String>) -> impl IntoView {
    view! {
        <form method="get" action="/report" class="report-date">
            <label>"Day " <input type="date" name="date" value=day.unwrap_or_default()/></label>
            <button type="submit">"Show"</button>
        </form>
    }
}

#[component]
fn Report(report: DailyReport) -> impl IntoView {
    let count = report.alerts.len() + report.more_alerts;
    view! {
        <h2 data-testid="report-day">{report.long_date.clone()}</h2>
        <table class="report-metrics">
            <thead>
                <tr>
                    <th scope="col">"Metric"</th>
                    <th scope="col" class="num">"Value"</th>
                    <th scope="col" class="num"><abbr title="against the day before">"d/d"</abbr></th>
                    <th scope="col" class="num"><abbr title="against a week before">"w/w"</abbr></th>
                </tr>
            </thead>
            <tbody>{report.metrics.iter().map(row).collect_view()}</tbody>
        </table>
        <h2>{format!("Alerts ({count})")}</h2>
        {if count == 0 {
            view! { <p class="empty">"No alerts that day."</p> }.into_any()
        } else {
            view! {
                <ul class="report-alerts">
                    {report.alerts.iter().map(|line| view! { <li>{line.clone()}</li> }).collect_view()}
                    {(report.more_alerts > 0).then(|| view! { <li>{format!("… and {} more", report.more_alerts)}</li> })}
                </ul>
            }
                .into_any()
        }}
        {(!report.experiments.is_empty()).then(|| view! {
            <h2>"Experiments"</h2>
            <ul>{report.experiments.iter().map(|line| view! { <li>{line.clone()}</li> }).collect_view()}</ul>
        })}
    }
}

fn row(metric: &ReportMetric) -> impl IntoView {
    let value = daily_value(metric.value, metric.ratio);
    view! {
        <tr>
            <th scope="row">{metric.title.clone()}</th>
            <td class="num">{value}</td>
            <td class="num">{daily_change(metric.day_over_day)}</td>
            <td class="num">{daily_change(metric.week_over_week)}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_that_is_not_one_is_ignored_with_a_notice() {
        assert_eq!(
            read_query([("date", "2026-12-05")]),
            (Some("2026-12-05".into()), vec![])
        );
        assert_eq!(read_query([("date", " ")]), (None, vec![]));
        assert_eq!(
            read_query([("date", "05/12/2026"), ("colour", "red")]),
            (
                None,
                vec![
                    "ignored: date \"05/12/2026\" is not a day: use YYYY-MM-DD, e.g. 2026-12-05"
                        .to_string(),
                    "ignored: unknown parameter \"colour\" (this page reads date)".to_string(),
                ]
            )
        );
    }
}
