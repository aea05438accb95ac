//! Forecast evaluation on the shared retail series, the protocol of `../shared/tools`:
//! each series' last 72 months, 4 rolling origins 3 months apart, horizon 12 (training
//! windows of 51, 54, 57 and 60 months). Prints MASE (scaled by the in-sample seasonal
//! naive error, m = 12), sMAPE, 80% interval coverage and the time per series on one core
//! for each method. Run with `cargo bench --bench forecast`.

use funnel::analytics::ts::{forecast_with, mase, Method};
use std::collections::BTreeMap;
use std::time::Instant;

fn load(path: &str) -> BTreeMap<String, Vec<f64>> {
    let mut rdr = csv::Reader::from_path(path).expect("the shared series file");
    let mut out: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for r in rdr.records() {
        let r = r.expect("a record");
        out.entry(r[0].to_string())
            .or_default()
            .push((r[1].to_string(), r[2].parse().expect("a value")));
    }
    out.into_iter()
        .map(|(k, mut v)| {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            (k, v.into_iter().map(|x| x.1).collect())
        })
        .collect()
}

fn main() {
    let path =
        std::env::var("FUNNEL_SERIES").unwrap_or_else(|_| "tests/data/aus_retail.csv".to_string());
    let data = load(&path);
    let (last, origins, step, h, m) = (72usize, 4usize, 3usize, 12usize, 12usize);
    let series: Vec<&Vec<f64>> = data.values().filter(|v| v.len() >= last).collect();
    println!(
        "{} series of at least {last} months from {path}; {origins} origins {step} months apart, horizon {h}",
        series.len()
    );
    println!(
        "{:<16} {:>7} {:>7} {:>9} {:>12}",
        "method", "MASE", "sMAPE", "cover80", "ms/series"
    );
    for method in [
        Method::Auto,
        Method::Ets,
        Method::Arima,
        Method::Theta,
        Method::DampedHolt,
        Method::Ses,
        Method::Regression,
        Method::SeasonalNaive,
    ] {
        let (mut mase_sum, mut smape, mut covered, mut points, mut fits) =
            (0.0, 0.0, 0usize, 0usize, 0usize);
        let mut seconds = 0.0;
        let mut fold_mase = vec![0.0; origins];
        for (k, fold) in fold_mase.iter_mut().enumerate() {
            let cut = last - h - (origins - 1 - k) * step;
            for v in &series {
                let tail = &v[v.len() - last..];
                let (train, test) = (&tail[..cut], &tail[cut..cut + h]);
                let t0 = Instant::now();
                let f = forecast_with(method, train, m, h);
                seconds += t0.elapsed().as_secs_f64();
                fits += 1;
                let s_mase = mase(train, test, &f.points, m).unwrap_or(f64::NAN);
                *fold += s_mase / series.len() as f64;
                mase_sum += s_mase;
                smape += test
                    .iter()
                    .zip(&f.points)
                    .map(|(y, p)| {
                        let d = y.abs() + p.forecast.abs();
                        if d == 0.0 {
                            0.0
                        } else {
                            200.0 * (y - p.forecast).abs() / d
                        }
                    })
                    .sum::<f64>()
                    / h as f64;
                for (y, p) in test.iter().zip(&f.points) {
                    points += 1;
                    if p.lo <= *y && *y <= p.hi {
                        covered += 1;
                    }
                }
            }
        }
        println!(
            "{:<16} {:>7.4} {:>7.3} {:>8.1}% {:>12.3}   folds {}",
            method.name(),
            mase_sum / fits as f64,
            smape / fits as f64,
            100.0 * covered as f64 / points as f64,
            1000.0 * seconds / fits as f64,
            fold_mase
                .iter()
                .map(|v| format!("{v:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
