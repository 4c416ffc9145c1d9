#!/usr/bin/env python3
"""scikit-learn reference for TestBankMarketing (not run in CI).

Usage (Debian: apt-get install -y python3-sklearn):

    /usr/bin/python3 crm/conversion/testdata/sklearn_bank.py \
        /work/shared/datasets/bank-marketing/bank-additional-full.csv [splits.csv]

Same preparation as the Go test: drop duration, one-hot encode every
non-numeric column (all levels, sorted), stratified 20% held out, seeds
1..5. Logistic regression is StandardScaler + LogisticRegression(C=1,
lbfgs), the Go model's standardization and penalty; boosted trees are
HistGradientBoostingClassifier with its defaults. With a second argument,
the test splits are read from that file (written by the Go test with
-bank-splits) so both libraries see exactly the same rows: one line per
seed, the 0-based indices of the test rows separated by spaces.
"""
import csv
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = [h.strip() for h in rows[0]], rows[1:]
    target = "output" if "output" in header else "y"
    cols = {h: [r[i].strip() for r in rows] for i, h in enumerate(header)}
    y = np.array([v.lower() == "yes" for v in cols.pop(target)], dtype=int)
    cols.pop("duration")
    feats = []
    for h, vals in cols.items():
        try:
            feats.append(np.array([float(v) for v in vals]))
        except ValueError:
            for level in sorted(set(vals)):
                feats.append(np.array([v == level for v in vals], dtype=float))
    return np.column_stack(feats), y


def main():
    X, y = load(sys.argv[1])
    splits = None
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            splits = [np.array([int(i) for i in line.split()]) for line in f if line.strip()]
    print(f"{X.shape[0]} rows, {y.sum()} positives, {X.shape[1]} features")
    models = {
        "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)),
        "gbt": lambda: HistGradientBoostingClassifier(random_state=0),
    }
    results = {name: [] for name in models}
    for k, seed in enumerate([1, 2, 3, 4, 5]):
        if splits:
            test = np.zeros(len(y), dtype=bool)
            test[splits[k]] = True
            Xtr, Xte, ytr, yte = X[~test], X[test], y[~test], y[test]
        else:
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
        for name, make in models.items():
            start = time.time()
            m = make()
            if name == "gbt":
                m.set_params(random_state=seed)
            m.fit(Xtr, ytr)
            p = m.predict_proba(Xte)[:, 1]
            auc, loss = roc_auc_score(yte, p), log_loss(yte, p)
            results[name].append(auc)
            extra = f" trees {m.n_iter_}" if name == "gbt" else ""
            print(f"seed {seed} {name:8s} AUC {auc:.4f}  log loss {loss:.4f}  fit {time.time() - start:.2f}s{extra}")
    for name, aucs in results.items():
        a = np.array(aucs)
        print(f"{name:8s} ROC AUC mean {a.mean():.4f} std {a.std():.4f} min {a.min():.4f} max {a.max():.4f}")


if __name__ == "__main__":
    main()
