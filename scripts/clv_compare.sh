#!/bin/sh
# funnel's BG/NBD + Gamma-Gamma against the `lifetimes` package on the same transactions and
# the same calibration/holdout split: the CDNOW data (23,570 customers, 1997-01 to 1998-06),
# which ships with lifetimes; calibration to 1997-09-30, holdout to 1998-06-30.
#
#   python3 -m venv /tmp/lt && /tmp/lt/bin/pip install lifetimes pandas 'numpy<2' 'scipy<1.14'
#   cargo build --release
#   scripts/clv_compare.sh /tmp/lt
#
# Both print their parameters and holdout figures; the README quotes one run.
set -eu
venv=${1:?usage: clv_compare.sh VENV (a virtualenv with lifetimes installed)}
peer=${PEER:-$(dirname "$0")/peer_lifetimes.py}
data=$("$venv/bin/python" -c 'import lifetimes.datasets, os; print(os.path.dirname(lifetimes.datasets.__file__))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$(dirname "$0")/cdnow_orders.py" "$data/CDNOW_master.txt" "$work/orders.csv"
bin=${FUNNEL:-target/release/funnel}
"$bin" --db "$work/cdnow.db" import orders "$work/orders.csv" --create-missing > /dev/null
echo "== funnel"
"$bin" --db "$work/cdnow.db" --today 1998-06-30 clv --evaluate --calibration-end 1997-09-30 --format table | head -4
echo "== lifetimes $("$venv/bin/python" -c 'import lifetimes; print(lifetimes.__version__)')"
"$venv/bin/python" "$peer" "$work/orders.csv" customer_external_id ordered_on amount 1997-09-30 1998-06-30
