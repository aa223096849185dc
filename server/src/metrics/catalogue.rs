//! The built-in metrics and the catalogue (built-ins + metrics from the config file).

use super::model::{Aggregate, EventTable, Filter, MetricDef};
use super::{validate, MetricError};

/// Dimensions every built-in metric is watched by.
const BUILTIN_SLICES: [&str; 3] = ["os", "source", "country"];

fn action(value: &str) -> Filter {
    Filter {
        column: "action".into(),
        value: value.into(),
    }
}

fn metric(
    name: &str,
    title: &str,
    table: EventTable,
    aggregate: Aggregate,
    filters: Vec<Filter>,
    depends_on: &[&str],
) -> MetricDef {
    MetricDef {
        name: name.into(),
        title: title.into(),
        table,
        aggregate,
        filters,
        slices: BUILTIN_SLICES.iter().map(|s| s.to_string()).collect(),
        depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
        dimensions: Vec::new(),
    }
}

/// The six key product metrics, in display order.
pub fn builtin() -> Vec<MetricDef> {
    use EventTable::{FeedActions, MessageActions};
    let users = || Aggregate::Distinct {
        column: "user_id".into(),
    };
    vec![
        metric(
            "feed_active_users",
            "Feed active users",
            FeedActions,
            users(),
            vec![],
            &[],
        ),
        metric(
            "feed_views",
            "Feed views",
            FeedActions,
            Aggregate::Count,
            vec![action("view")],
            &[],
        ),
        metric(
            "feed_likes",
            "Feed likes",
            FeedActions,
            Aggregate::Count,
            vec![action("like")],
            &[],
        ),
        metric(
            "feed_ctr",
            "Feed CTR (likes / views)",
            FeedActions,
            Aggregate::Ratio {
                numerator: vec![action("like")],
                denominator: vec![action("view")],
            },
            vec![],
            &["feed_views", "feed_likes"],
        ),
        metric(
            "messenger_active_users",
            "Messenger active users",
            MessageActions,
            users(),
            vec![],
            &[],
        ),
        metric(
            "messages_sent",
            "Messages sent",
            MessageActions,
            Aggregate::Count,
            vec![],
            &[],
        ),
    ]
}

/// One built-in metric by name.
#[cfg(test)]
pub fn builtin_metric(name: &str) -> Option<MetricDef> {
    builtin().into_iter().find(|metric| metric.name == name)
}

/// All metrics vigil knows: the built-ins followed by the user's, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalogue {
    metrics: Vec<MetricDef>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Self { metrics: builtin() }
    }
}

impl Catalogue {
    /// Built-ins plus `user_metrics`; rejects invalid definitions, duplicate names
    /// and dependencies on unknown metrics.
    pub fn with_user_metrics(user_metrics: Vec<MetricDef>) -> Result<Self, MetricError> {
        let mut metrics = builtin();
        for metric in user_metrics {
            validate(&metric)?;
            if metrics.iter().any(|known| known.name == metric.name) {
                return Err(MetricError::Duplicate { name: metric.name });
            }
            metrics.push(metric);
        }
        for metric in &metrics {
            for dependency in &metric.depends_on {
                if !metrics.iter().any(|known| &known.name == dependency) {
                    return Err(MetricError::UnknownDependency {
                        metric: metric.name.clone(),
                        dependency: dependency.clone(),
                    });
                }
            }
        }
        Ok(Self { metrics })
    }

    pub fn metrics(&self) -> &[MetricDef] {
        &self.metrics
    }

    /// A metric by name, or an error listing the known names.
    pub fn get(&self, name: &str) -> Result<&MetricDef, MetricError> {
        self.metrics
            .iter()
            .find(|metric| metric.name == name)
            .ok_or_else(|| MetricError::UnknownMetric {
                name: name.escape_debug().to_string(),
                known: self.names().join(", "),
            })
    }

    pub fn names(&self) -> Vec<&str> {
        self.metrics
            .iter()
            .map(|metric| metric.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_valid_and_unique() {
        let catalogue = Catalogue::with_user_metrics(vec![]).expect("valid");
        assert_eq!(catalogue.metrics().len(), 6);
        assert!(catalogue.get("feed_ctr").is_ok());
        let error = catalogue.get("feed_vews").unwrap_err().to_string();
        assert!(
            error.contains("feed_views") && error.contains("messages_sent"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_user_metric_is_rejected() {
        let duplicate = builtin_metric("feed_views").expect("built-in");
        assert_eq!(
            Catalogue::with_user_metrics(vec![duplicate]),
            Err(MetricError::Duplicate {
                name: "feed_views".into()
            })
        );
    }
}
