"""Turns the UCI Online Retail data set (a UK online gift shop's invoice lines, 2010-12-01
to 2011-12-09, 541,909 lines; Chen, Sain & Guo 2012, CC BY 4.0) into funnel import files:
products.csv (`funnel import products`) and orders.csv (`funnel import orders
--create-missing --round`).

The data set has no product categories, so each product's family is a proxy taken from
words of its description by the rule in FAMILIES below (first match wins, else "Other").
Lines without a customer id cannot be attributed and are left out; cancellations (invoice
numbers starting with C) become refunds (negative amounts). One order per invoice line.

usage: online_retail.py CSV_OR_DIR... OUT_DIR
  CSV_OR_DIR: the data set as one CSV (InvoiceNo,StockCode,Description,Quantity,
  InvoiceDate,UnitPrice,CustomerID,Country), or a directory of such files — e.g. the
  by-day split in github.com/databricks/Spark-The-Definitive-Guide, data/retail-data/by-day."""
import csv, os, sys
from datetime import datetime

FAMILIES = [
    ("Christmas", ["CHRISTMAS", "XMAS", "ADVENT", "SNOWFLAKE", "REINDEER"]),
    ("Bags", ["BAG", "TOTE", "PURSE"]),
    ("Lighting", ["CANDLE", "T-LIGHT", "LIGHT", "LANTERN", "LAMP"]),
    ("Kitchen", ["MUG", "CUP", "PLATE", "BOWL", "TEA", "CAKE", "BAKING", "LUNCH BOX",
                 "JAR", "BOTTLE", "NAPKIN", "KITCHEN", "SPOON", "TIN"]),
    ("Stationery", ["CARD", "WRAP", "PAPER", "NOTEBOOK", "PEN", "STICKER", "PENCIL",
                    "ENVELOPE", "CHALK", "TAPE"]),
    ("Home decor", ["HEART", "SIGN", "FRAME", "CLOCK", "DOORMAT", "CUSHION", "VINTAGE",
                    "HOOK", "HANGER", "DECORATION", "MIRROR", "VASE", "WICKER"]),
    ("Toys and garden", ["TOY", "GAME", "DOLL", "PLAYING", "GARDEN", "PARASOL", "SPACEBOY"]),
]


def family(description):
    d = description.upper()
    for name, words in FAMILIES:
        if any(w in d for w in words):
            return name
    return "Other"


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for f in sorted(os.listdir(p)):
                if f.endswith(".csv"):
                    yield os.path.join(p, f)
        else:
            yield p


def day(text):
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            pass
    raise ValueError(f"unreadable InvoiceDate {text!r}")


def main():
    *sources, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    products = {}
    lines = kept = 0
    with open(os.path.join(out, "orders.csv"), "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(["external_id", "customer_external_id", "customer", "product",
                    "ordered_on", "amount", "quantity"])
        for path in files(sources):
            with open(path, newline="", encoding="utf-8", errors="replace") as f:
                for n, r in enumerate(csv.DictReader(f), start=2):
                    lines += 1
                    cid = (r["CustomerID"] or "").strip()
                    if not cid:
                        continue
                    cid = cid.split(".")[0]
                    sku = r["StockCode"].strip().upper()
                    desc = (r["Description"] or "").strip() or sku
                    qty, price = int(r["Quantity"]), float(r["UnitPrice"])
                    if sku not in products:
                        products[sku] = [desc, family(desc), price]
                    amount = qty * price
                    kept += 1
                    w.writerow([f"{r['InvoiceNo']}-{os.path.basename(path)}-{n}", f"OR{cid}",
                                f"Online Retail customer {cid}", sku, day(r["InvoiceDate"]),
                                f"{amount:.2f}", abs(qty)])
    with open(os.path.join(out, "products.csv"), "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(["sku", "name", "family", "list_price"])
        for sku, (name, fam, price) in sorted(products.items()):
            w.writerow([sku, f"{name} [{sku}]", fam, f"{max(price, 0):.2f}"])
    print(f"{lines} lines read, {kept} with a customer written; {len(products)} products",
          file=sys.stderr)


main()
