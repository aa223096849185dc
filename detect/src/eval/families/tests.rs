use super::*;

fn clean(family: Family, level: Level, seed: u64) -> LabelledSeries {
    generate_family_case(family, AnomalyClass::Clean, level, seed)
}

/// Autocorrelation at `lag` over the pairs where both buckets report.
fn autocorrelation(values: &[f64], lag: usize) -> f64 {
    let seen: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let mean = seen.iter().sum::<f64>() / seen.len() as f64;
    let var = seen.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / seen.len() as f64;
    let pairs: Vec<f64> = values
        .iter()
        .zip(&values[lag..])
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (a - mean) * (b - mean))
        .collect();
    pairs.iter().sum::<f64>() / pairs.len() as f64 / var
}

fn day_mean(case: &LabelledSeries, family: Family, day: usize) -> f64 {
    let values = case.series.raw_values();
    let d = &values[day * family.day()..(day + 1) * family.day()];
    let seen: Vec<f64> = d.iter().copied().filter(|v| v.is_finite()).collect();
    seen.iter().sum::<f64>() / seen.len() as f64
}

/// A case as comparable data (`Series` equality is false on gaps: NaN).
type Fingerprint = (
    String,
    String,
    Vec<Option<f64>>,
    Vec<IncidentSpan>,
    Vec<IncidentSpan>,
);

fn fingerprints(cases: &[LabelledSeries]) -> Vec<Fingerprint> {
    cases
        .iter()
        .map(|c| {
            let name = format!("{} {} {} {}", c.name, c.class, c.scale, c.eval_start);
            let values = c.series.values().collect();
            (
                name,
                c.family.clone(),
                values,
                c.incidents.clone(),
                c.neutral.clone(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_cases() {
    let a = generate_families(7, 1);
    assert_eq!(a.len(), 7 * 6 * 3);
    assert_eq!(fingerprints(&a), fingerprints(&generate_families(7, 1)));
    assert_ne!(fingerprints(&a), fingerprints(&generate_families(8, 1)));
    assert!(generate_families(7, 0).is_empty());
    let names: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
    assert!(a.iter().all(|c| names.contains(&c.family.as_str())));
}

#[test]
fn lengths_steps_and_gaps_are_as_documented() {
    for family in Family::ALL {
        assert_eq!(Family::from_name(family.name()), Some(family));
        assert!(family.history_days() >= 3, "{family:?}");
        for level in Level::ALL {
            let case = clean(family, level, 1);
            assert_eq!(case.series.step, family.step());
            assert_eq!(case.series.len(), family.case_len());
            assert_eq!(case.eval_start, family.history());
            assert_eq!(
                case.eval_start,
                family.history_days() * 86_400 / family.step() as usize
            );
            let missing = 1.0 - case.series.observed() as f64 / case.series.len() as f64;
            if family == Family::Irregular {
                assert!((0.25..0.55).contains(&missing), "{missing}");
            } else {
                assert_eq!(missing, 0.0, "{family:?}");
            }
            assert!(case.series.values().flatten().all(|v| v >= 0.0));
        }
    }
    assert_eq!(Family::Service1m.day(), 1440);
    assert_eq!(Family::Service1m.case_len(), 4 * 1440);
    assert_eq!(Family::Service5m.case_len(), 9 * 288);
}

#[test]
fn every_anomaly_is_inside_its_label() {
    for family in Family::ALL {
        for class in CLASSES {
            for level in Level::ALL {
                for seed in 0..4 {
                    check_labels(family, class, level, seed);
                }
            }
        }
    }
}

fn check_labels(family: Family, class: AnomalyClass, level: Level, seed: u64) {
    let p = plan(family, class, level, seed);
    let case = generate_family_case(family, class, level, seed);
    let name = &case.name;
    assert_eq!(case.series.len(), p.len, "{name}");
    assert_eq!(case.incidents, p.incidents, "{name}");
    assert_eq!(case.neutral, p.neutral, "{name}");
    for t in 0..p.len {
        let in_incident = p.incidents.iter().any(|i| i.contains(t));
        assert_eq!(p.mult[t] != 1.0, in_incident, "{name} at {t}");
        if t >= family.history() {
            let in_neutral = p.neutral.iter().any(|n| n.contains(t));
            assert_eq!(p.burst[t] != 1.0, in_neutral, "{name} at {t}");
        }
    }
    assert!(p
        .neutral
        .iter()
        .all(|n| n.start >= family.history() && n.end <= p.len));
    assert!(!p
        .incidents
        .iter()
        .any(|i| p.neutral.iter().any(|n| n.overlaps(i))));
    if class == AnomalyClass::Clean {
        assert!(
            p.incidents.is_empty() && p.len == family.case_len(),
            "{name}"
        );
        return;
    }
    assert_eq!(p.incidents.len(), 1, "{name}");
    let inc = p.incidents[0];
    assert!(inc.start >= family.history() && inc.end <= p.len, "{name}");
    assert!(
        case.series.value(inc.start).is_some(),
        "{name}: first bucket seen"
    );
    match class {
        AnomalyClass::ToZero => {
            assert_eq!(inc.end, p.len, "{name}: zeros at the end");
            assert!((inc.start..inc.end).all(|t| case.series.value(t) == Some(0.0)));
        }
        AnomalyClass::SpikeUp => assert!(p.mult[inc.start] >= 2.0, "{name}"),
        _ => assert!(
            p.mult[inc.start..inc.end].iter().all(|&m| m < 1.0),
            "{name}"
        ),
    }
    // On high counts the change shows in the values (not on the
    // plateau, whose noise is the point).
    if level == Level::High && family != Family::NoisyPlateau {
        let ratios: Vec<f64> = (inc.start..inc.end)
            .filter_map(|t| Some(case.series.value(t)? / p.mean[t]))
            .collect();
        let mean_ratio = ratios.iter().sum::<f64>() / ratios.len() as f64;
        match class {
            AnomalyClass::SpikeUp => assert!(mean_ratio > 1.5, "{name}: {mean_ratio}"),
            _ => assert!(mean_ratio < 0.9, "{name}: {mean_ratio}"),
        }
    }
}

#[test]
fn durations_are_in_time_not_buckets() {
    for family in [Family::Service1m, Family::Service5m, Family::Trend] {
        for seed in 0..10 {
            let case = generate_family_case(family, AnomalyClass::FoldDrop, Level::High, seed);
            let seconds = case.incidents[0].len() as i64 * family.step();
            assert!((1800..=7200).contains(&seconds), "{}: {seconds}", case.name);
        }
    }
}

#[test]
fn cycled_families_repeat_daily_and_the_others_do_not() {
    for seed in 0..3 {
        for family in Family::ALL {
            let case = clean(family, Level::High, seed);
            let values = &case.series.raw_values()[..family.history()];
            let r = autocorrelation(values, family.day());
            match family {
                Family::NoCycle | Family::NoisyPlateau => {
                    assert!(r.abs() < 0.2, "{}: {r}", case.name)
                }
                // A mild cycle under a strong trend still repeats.
                Family::Trend => assert!(r > 0.2, "{}: {r}", case.name),
                _ => assert!(r > 0.5, "{}: {r}", case.name),
            }
        }
    }
}

#[test]
fn trend_moves_the_level_and_the_service_does_not() {
    for seed in 0..10 {
        let last = |f: Family| f.history_days() - 1;
        let trend = clean(Family::Trend, Level::High, seed);
        let change = day_mean(&trend, Family::Trend, last(Family::Trend))
            / day_mean(&trend, Family::Trend, 0);
        assert!((change - 1.0).abs() > 0.25, "{}: {change}", trend.name);
        let service = clean(Family::Service1m, Level::High, seed);
        let flat = day_mean(&service, Family::Service1m, last(Family::Service1m))
            / day_mean(&service, Family::Service1m, 0);
        assert!((flat - 1.0).abs() < 0.05, "{}: {flat}", service.name);
    }
}

/// Buckets where the shift level changes.
fn shift_starts(p: &Plan) -> Vec<usize> {
    (1..p.shift_level.len())
        .filter(|&t| p.shift_level[t] != p.shift_level[t - 1])
        .collect()
}

#[test]
fn level_shifts_are_permanent_and_in_the_history() {
    for seed in 0..10 {
        let p = plan(Family::LevelShifts, AnomalyClass::Clean, Level::High, seed);
        let day = Family::LevelShifts.day();
        let history = Family::LevelShifts.history();
        let shifts = shift_starts(&p);
        let last = *shifts.last().expect("at least one shift");
        assert!((1..=3).contains(&(history - last).div_ceil(day)), "{last}");
        assert!(shifts.iter().all(|&s| s >= day && s < history));
        let step = p.shift_level[last] / p.shift_level[last - 1];
        assert!(
            (0.6..=0.8).contains(&step) || (1.2..=1.4).contains(&step),
            "{step}"
        );
        assert!(p.shift_level.iter().all(|l| (0.5..=2.0).contains(l)));
        // Permanent: the level holds to the end.
        assert!(p.shift_level[last..]
            .iter()
            .all(|&l| l == p.shift_level[last]));
        // No other family has one.
        let service = plan(Family::Service5m, AnomalyClass::Clean, Level::High, seed);
        assert!(shift_starts(&service).is_empty());
    }
}

#[test]
fn product_only_classes_give_clean_cases() {
    let case = generate_family_case(
        Family::Service5m,
        AnomalyClass::DropDuringSpike,
        Level::Low,
        1,
    );
    assert_eq!(case.class, "clean");
    assert!(case.incidents.is_empty());
}

#[test]
fn the_plateau_is_over_dispersed_and_bursty() {
    let cv = |family: Family, seed: u64| {
        let p = plan(family, AnomalyClass::Clean, Level::High, seed);
        let case = clean(family, Level::High, seed);
        let ratios: Vec<f64> = (0..family.history())
            .filter_map(|t| Some(case.series.value(t)? / p.expected(t)))
            .collect();
        let n = ratios.len() as f64;
        let m = ratios.iter().sum::<f64>() / n;
        (ratios.iter().map(|r| (r - m).powi(2)).sum::<f64>() / n).sqrt()
    };
    for seed in 0..5 {
        assert!(cv(Family::NoisyPlateau, seed) > 0.3, "seed {seed}");
        assert!(cv(Family::Service5m, seed) < 0.1, "seed {seed}");
        let p = plan(Family::NoisyPlateau, AnomalyClass::Clean, Level::High, seed);
        assert!(
            !p.neutral.is_empty(),
            "seed {seed}: bursts in the scored days"
        );
    }
}
