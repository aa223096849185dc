//! What a new silence covers, checked against the metric's definition. The
//! web form and `vigil alerts silence` share it: a slice the metric is not
//! split by would be accepted and then never match an alert.

use crate::alerts::SilenceScope;
use crate::metrics::model::{MetricDef, SliceKey};

/// The scope for `metric` (already resolved by the caller, which names an
/// unknown metric its own way) and `slice`: everything when there is no
/// metric, the whole metric without a slice, else that one slice, if the
/// metric is sliced by its dimension. The error is the reason, for a person.
pub fn silence_scope(
    metric: Option<&MetricDef>,
    slice: Option<SliceKey>,
) -> Result<SilenceScope, String> {
    let Some(def) = metric else {
        return Ok(SilenceScope::All);
    };
    let Some(slice) = slice else {
        return Ok(SilenceScope::Metric {
            metric: def.name.clone(),
        });
    };
    if !def.slices.contains(&slice.dimension) {
        return Err(if def.slices.is_empty() {
            format!("{} has no slices: leave the slice empty", def.name)
        } else {
            format!(
                "{} is not sliced by {:?}: use one of {}",
                def.name,
                slice.dimension,
                def.slices.join(", ")
            )
        });
    }
    Ok(SilenceScope::Slice {
        metric: def.name.clone(),
        slice: Some(slice),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue::builtin_metric;

    fn slice(dimension: &str, value: &str) -> SliceKey {
        SliceKey {
            dimension: dimension.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_slice_must_be_one_the_metric_is_split_by() {
        let views = &builtin_metric("feed_views").expect("built-in");
        let dimension = views.slices.first().expect("feed_views has slices").clone();
        let error = silence_scope(Some(views), Some(slice("platform", "x"))).unwrap_err();
        assert!(
            error.contains("feed_views is not sliced by \"platform\""),
            "{error}"
        );
        assert_eq!(
            silence_scope(Some(views), Some(slice(&dimension, "x"))),
            Ok(SilenceScope::Slice {
                metric: "feed_views".into(),
                slice: Some(slice(&dimension, "x")),
            })
        );
        assert_eq!(
            silence_scope(Some(views), None),
            Ok(SilenceScope::Metric {
                metric: "feed_views".into()
            })
        );
        assert_eq!(silence_scope(None, None), Ok(SilenceScope::All));
    }
}
