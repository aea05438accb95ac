"""(Copied from the project's evaluation tools, unchanged below this line.)
Peer customer-lifetime-value figures from the Python `lifetimes` package (BG/NBD + Gamma-Gamma) on
any order-line CSV, on a calibration/holdout split — the reference the CLV work compares against.
usage: peer_lifetimes.py ORDERS.csv CUSTOMER_COL DATE_COL AMOUNT_COL CALIBRATION_END OBSERVATION_END
Days are the time unit; several orders on one day count as one purchase (their amounts summed).
Needs `pip install lifetimes pandas 'numpy<2' 'scipy<1.14'` in a virtualenv outside the repository."""
import sys, numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import calibration_and_holdout_data
path, cust, date, amount, cal_end, obs_end = sys.argv[1:7]
t = pd.read_csv(path, dtype={cust: str}, parse_dates=[date])
t = t.groupby([cust, date], as_index=False)[amount].sum()
s = calibration_and_holdout_data(t, cust, date, calibration_period_end=cal_end, observation_period_end=obs_end,
                                 freq='D', monetary_value_col=amount)
bgf = BetaGeoFitter(penalizer_coef=0.0).fit(s['frequency_cal'], s['recency_cal'], s['T_cal'])
print('BG/NBD parameters (days):', {k: round(v, 4) for k, v in bgf.params_.items()})
dur = (pd.Timestamp(obs_end) - pd.Timestamp(cal_end)).days
pred = bgf.conditional_expected_number_of_purchases_up_to_time(dur, s['frequency_cal'], s['recency_cal'], s['T_cal'])
act = s['frequency_holdout']
print(f"customers {len(s)}; holdout repeat purchases actual {act.sum():.0f} predicted {pred.sum():.0f}; "
      f"per-customer MAE {np.mean(np.abs(pred - act)):.4f}")
rep = s[(s['frequency_cal'] > 0) & (s['monetary_value_cal'] > 0)]
ggf = GammaGammaFitter(penalizer_coef=0.0).fit(rep['frequency_cal'], rep['monetary_value_cal'])
print('Gamma-Gamma parameters:', {k: round(v, 4) for k, v in ggf.params_.items()})
spend = ggf.conditional_expected_average_profit(s['frequency_cal'], s['monetary_value_cal'])
rev_pred, rev_act = pred * spend, s['frequency_holdout'] * s['monetary_value_holdout']
print(f"holdout revenue actual {rev_act.sum():.0f} predicted {rev_pred.sum():.0f}; per-customer MAE "
      f"{np.mean(np.abs(rev_pred - rev_act)):.3f}; Spearman {pd.Series(rev_pred).corr(rev_act, method='spearman'):.4f}")
