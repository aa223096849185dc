//! Inhibition: while a metric fires, its slices that move the same way are
//! part of that incident, not alerts of their own. An outage of the feed
//! drops every os, country and source with it; one message about the metric,
//! listing the slices that drive it with their share, says it all, where a
//! message per slice buries it. A slice moving against its firing metric is
//! news, and still alerts.

use crate::Point;

/// What a slice's judgment reads of its whole metric at the same bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Parent {
    /// The metric fires: its own point alerts (anomalous and not held back)
    /// or its alert is still open.
    pub firing: bool,
    /// Its relative deviation from expected at this bucket: the direction.
    pub deviation: Option<f64>,
}

impl Parent {
    /// The whole metric at one bucket: its point, whether the floor held
    /// that point back, whether its alert was open before this bucket.
    pub fn new(point: &Point, suppressed: bool, alert_open: bool) -> Self {
        Self {
            firing: alert_open || (point.is_anomaly && !suppressed),
            deviation: point.deviation,
        }
    }
}

/// Why the anomalous `slice` point of `metric` does not alert on its own
/// (its metric fires and it moves the same way), or `None` when it does.
/// A slice whose direction or its metric's is unknown keeps its alert.
pub fn inhibition(parent: &Parent, metric: &str, slice: &Point) -> Option<String> {
    if !slice.is_anomaly || !parent.firing {
        return None;
    }
    let (Some(whole), Some(part)) = (parent.deviation, slice.deviation) else {
        return None;
    };
    (whole * part > 0.0).then(|| format!("moves with {metric}, whose alert lists it"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(deviation: f64, is_anomaly: bool) -> Point {
        Point {
            value: Some(100.0 * (1.0 + deviation)),
            expected: Some(100.0),
            is_anomaly,
            deviation: Some(deviation),
            ..Point::default()
        }
    }

    #[test]
    fn a_slice_moving_with_its_firing_metric_is_held_back() {
        let outage = Parent::new(&point(-0.6, true), false, false);
        assert!(inhibition(&outage, "feed_views", &point(-0.8, true))
            .is_some_and(|why| why.contains("feed_views")));
        assert_eq!(
            inhibition(&outage, "feed_views", &point(0.5, true)),
            None,
            "a slice moving against its metric still alerts"
        );
        assert_eq!(inhibition(&outage, "feed_views", &point(-0.8, false)), None);
    }

    #[test]
    fn only_a_firing_metric_holds_its_slices_back() {
        let calm = Parent::new(&point(-0.1, false), false, false);
        assert_eq!(inhibition(&calm, "m", &point(-0.8, true)), None);
        let held_back = Parent::new(&point(-0.6, true), true, false);
        assert_eq!(inhibition(&held_back, "m", &point(-0.8, true)), None);
        let still_open = Parent::new(&point(-0.1, false), false, true);
        assert!(inhibition(&still_open, "m", &point(-0.8, true)).is_some());
        let unknown = Parent {
            firing: true,
            deviation: None,
        };
        assert_eq!(inhibition(&unknown, "m", &point(-0.8, true)), None);
    }
}
