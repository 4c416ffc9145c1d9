#!/usr/bin/env python3
"""scikit-learn reference for crm/segment's k-means, on online-retail RFM.

Not part of CI: TestOnlineRetail in retail_test.go runs it only when
given -online-retail, and it needs scikit-learn (Debian: apt-get install
python3-sklearn). It can also be run by hand:

    python3 sklearn_kmeans.py --transactions transactions.csv \
        --features-out py_features.csv --cluster go_features.csv --k 4,5

It does two things and prints one JSON object:

1. From the transactions it computes RFM per customer with the same
   cleaning as the Go test (onlineRetailStats in retail_test.go), then
   log1p and z-scores (StandardScaler: population standard deviation),
   and writes them to --features-out (customer_id,recency,frequency,
   monetary), so the Go test can check both sides computed the same
   features. Cleaning: rows without CustomerID are dropped, and exact
   duplicate rows; an invoice starting with "C" is a cancellation, its
   (negative) amount is taken off the customer's spend and it counts
   neither as an order nor for recency; other rows with Quantity <= 0 or
   UnitPrice <= 0 are dropped. Orders are distinct purchase invoices,
   spend is the net sum (at least 0), recency is days from the last
   purchase to the day after the last invoice in the file. Customers with
   no purchase (only cancellations) are left out.

2. It clusters the matrix in --cluster (the Go test's standardized
   features, so both cluster exactly the same numbers) with
   KMeans(init="k-means++", n_init=10, random_state=0) for each --k, and
   reports the inertia, plus the silhouette score of k = 2..8.
"""

import argparse
import csv
import json
import sys
from datetime import datetime, timedelta

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score


def rfm(path):
    seen = set()
    customers = {}  # id -> [invoices set, monetary, last purchase]
    latest = None
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = tuple(row[c] for c in (
                "InvoiceNo", "StockCode", "Description", "Quantity",
                "InvoiceDate", "UnitPrice", "CustomerID", "Country"))
            if row["CustomerID"].strip() == "" or key in seen:
                continue
            seen.add(key)
            cid = int(float(row["CustomerID"]))
            qty = float(row["Quantity"])
            price = float(row["UnitPrice"])
            when = datetime.strptime(row["InvoiceDate"], "%Y-%m-%d %H:%M:%S")
            cancel = row["InvoiceNo"].startswith("C")
            if not cancel and (qty <= 0 or price <= 0):
                continue
            latest = when if latest is None or when > latest else latest
            c = customers.setdefault(cid, [set(), 0.0, None])
            c[1] += qty * price
            if not cancel:
                c[0].add(row["InvoiceNo"])
                if c[2] is None or when > c[2]:
                    c[2] = when
    ref = latest + timedelta(days=1)
    ids, x = [], []
    for cid in sorted(customers):
        invoices, money, last = customers[cid]
        if not invoices:
            continue
        ids.append(cid)
        x.append([(ref - last).total_seconds() / 86400, len(invoices), max(0.0, money)])
    return ids, np.array(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transactions", help="online-retail transactions.csv")
    ap.add_argument("--features-out", help="where to write the standardized RFM features")
    ap.add_argument("--cluster", help="CSV of standardized features to cluster (header, customer_id first)")
    ap.add_argument("--k", default="4", help="comma-separated k values")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    out = {"sklearn": __import__("sklearn").__version__}
    if args.transactions:
        ids, x = rfm(args.transactions)
        z = np.log1p(x)
        z = (z - z.mean(axis=0)) / z.std(axis=0)
        out["customers"] = len(ids)
        if args.features_out:
            with open(args.features_out, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["customer_id", "recency", "frequency", "monetary"])
                for cid, row in zip(ids, z):
                    w.writerow([cid] + [repr(float(v)) for v in row])
    if args.cluster:
        data = np.loadtxt(args.cluster, delimiter=",", skiprows=1)[:, 1:]
        out["cluster_rows"] = int(data.shape[0])
        out["inertia"] = {}
        for k in (int(v) for v in args.k.split(",")):
            km = KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=args.seed,
                        algorithm="lloyd").fit(data)
            out["inertia"][str(k)] = float(km.inertia_)
        sil = {}
        for k in range(2, 9):
            labels = KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=args.seed,
                            algorithm="lloyd").fit_predict(data)
            sil[str(k)] = float(silhouette_score(data, labels))
        out["silhouette"] = sil
        out["silhouette_k"] = int(max(sil, key=lambda k: (sil[k], -int(k))))
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
