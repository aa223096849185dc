//! `/report?date=YYYY-MM-DD`: the morning report of any day, as the Telegram
//! message says it: each metric's value with its change against the day
//! before and a week before, then the day's alerts (default: yesterday).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{fetch_report, DailyReport, ReportMetric};
use crate::format::{number, percent, Digits};

#[component]
pub fn ReportPage() -> impl IntoView {
    let query = use_query_map();
    let date = move || query.with(|q| q.get("date"));
    let report = Resource::new(date, fetch_report);

    view! {
        <Title text="Morning report"/>
        <h1>"Morning report"</h1>
        <form method="get" action="/report" class="report-date">
            <label>"Day " <input type="date" name="date" value=date/></label>
            <button type="submit">"Show"</button>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Loading the report…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => view! { <Report report/> }.into_any(),
                    Err(error) => {
                        view! { <p class="error" role="alert">{crate::api::error_text(&error)}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Report(report: DailyReport) -> impl IntoView {
    let count = report.alerts.len() + report.more_alerts;
    view! {
        <h2 data-testid="report-day">{report.long_date.clone()}</h2>
        <table class="report-metrics">
            <thead>
                <tr><th>"Metric"</th><th>"Value"</th><th>"d/d"</th><th>"w/w"</th></tr>
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
    let value = match (metric.ratio, metric.value) {
        (true, Some(v)) => format!("{:.2} %", v * 100.0),
        (_, value) => number(value, Digits::Exact),
    };
    let change = |c: Option<f64>| c.map_or_else(|| "—".to_string(), |c| percent(c, Digits::Exact));
    view! {
        <tr>
            <td>{metric.title.clone()}</td>
            <td class="num">{value}</td>
            <td class="num">{change(metric.day_over_day)}</td>
            <td class="num">{change(metric.week_over_week)}</td>
        </tr>
    }
}
