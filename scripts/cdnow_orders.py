"""Turns the CDNOW transaction file that ships with the `lifetimes` package (CDNOW_master.txt
or CDNOW_sample.txt: customer id [, sample id], date YYYYMMDD, number of CDs, dollar value)
into a funnel orders CSV (`funnel import orders FILE --create-missing`).
usage: cdnow_orders.py CDNOW_FILE OUT.csv"""
import csv, sys

src, out = sys.argv[1:3]
with open(src) as f, open(out, "w", newline="") as o:
    w = csv.writer(o)
    w.writerow(["customer_external_id", "customer", "ordered_on", "amount", "quantity"])
    for line in f:
        p = line.split()
        if len(p) < 4 or not p[0].isdigit():
            continue  # the header line
        cid, d, n, v = p[0], p[-3], p[-2], p[-1]
        w.writerow([f"CD{cid}", f"CDNOW customer {cid}", f"{d[:4]}-{d[4:6]}-{d[6:]}", v, n])
