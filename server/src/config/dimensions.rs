//! `[[dimensions]]`: configured slice dimensions, checked one by one; a
//! metric's own checks (its table has the column) come with the metric.

use super::raw::RawDimension;
use crate::metrics::dimensions::problems;
use crate::metrics::model::DimensionDef;

/// The well-formed definitions; each problem goes to `problem` as
/// (`dimensions[i].key`, reason). A name defined twice is a problem.
pub(super) fn read(
    raw: Vec<Option<RawDimension>>,
    mut problem: impl FnMut(String, String),
) -> Vec<DimensionDef> {
    let mut read: Vec<DimensionDef> = Vec::new();
    for (index, raw) in raw.into_iter().enumerate() {
        let Some(raw) = raw else {
            continue; // its problems are already listed
        };
        let def = raw.into_def();
        let found = problems(&def);
        let twice = read.iter().any(|d| d.name == def.name);
        for (key, reason) in &found {
            problem(format!("dimensions[{index}].{key}"), reason.clone());
        }
        if twice {
            problem(
                format!("dimensions[{index}].name"),
                format!("dimension `{}` is defined twice", def.name),
            );
        }
        if found.is_empty() && !twice {
            read.push(def);
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, SecretEnv};

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "vigil.toml", &SecretEnv::default()).map_err(|e| e.to_string())
    }

    const AGE_VIEWS: &str = "[[metrics]]\nname = \"views\"\ntable = \"feed_actions\"\n\
        aggregate = \"count\"\nslices = [\"age_band\", \"city\"]\n";

    #[test]
    fn a_banded_dimension_reaches_the_metrics_that_slice_by_it() {
        let text = format!(
            "{AGE_VIEWS}[[dimensions]]\nname = \"age_band\"\ncolumn = \"age\"\n\
             bands = [18, 25, 35]\n[[dimensions]]\nname = \"city\"\ntop = 200\n"
        );
        let config = parse(&text).expect("valid");
        let views = config
            .metrics
            .iter()
            .find(|m| m.name == "views")
            .expect("views");
        assert_eq!(views.dimensions.len(), 2);
        assert_eq!(views.dimensions[0].bands, [18, 25, 35]);
        assert_eq!(crate::metrics::dimensions::top(views, "city"), 200);
        assert!(crate::metrics::catalogue::builtin()
            .iter()
            .all(|m| m.dimensions.is_empty()));
    }

    #[test]
    fn bad_dimensions_name_file_key_and_reason() {
        let bad = |dimension: &str| {
            parse(&format!("{AGE_VIEWS}[[dimensions]]\n{dimension}\n")).unwrap_err()
        };
        let message = bad("name = \"age_band\"\ncolumn = \"age\"\nbands = [25, 18]");
        assert!(message.contains("vigil.toml"), "{message}");
        assert!(message.contains("`dimensions[0].bands`"), "{message}");
        assert!(message.contains("strictly ascending"), "{message}");
        let message = bad("name = \"age_band\"\ncolumn = \"os\"\nbands = [18]");
        assert!(message.contains("`metrics[0].slices[0]`"), "{message}");
        assert!(message.contains("whole-number"), "{message}");
        let message = bad("name = \"age_band\"\ncolumn = \"age\"\ntop = 0");
        assert!(message.contains("`dimensions[0].top`"), "{message}");
        let message = bad("name = \"age_band\"\ncolumn = \"age\"\nbins = [1]");
        assert!(message.contains("bins"), "{message}");
    }
}
