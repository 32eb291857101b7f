"""How good a model is: AUC with its interval, calibration, subgroups.

Pure numpy; every figure a model card shows is computed here from predictions and labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BINS = 10
MIN_SUBGROUP = 50


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """The area under the ROC curve (ties count half); None without both outcomes."""
    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    s = np.asarray(scores)[order]
    ranks = np.empty(len(s))
    # Average ranks over ties.
    boundaries = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(s)]])
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def auc_interval(
    labels: np.ndarray, scores: np.ndarray, *, resamples: int = 200, seed: int = 0
) -> tuple[float, float] | None:
    """A 95% bootstrap interval for the AUC (percentiles of `resamples` resamples)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    found = []
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        value = auc(labels[pick], scores[pick])
        if value is not None:
            found.append(value)
    if len(found) < resamples // 2:
        return None
    low, high = np.percentile(found, [2.5, 97.5])
    return float(low), float(high)


def calibration(labels: np.ndarray, risks: np.ndarray, bins: int = BINS) -> list[dict[str, float]]:
    """Equal-width bins of predicted risk: mean prediction, observed rate, count."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(risks, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            rows.append(
                {
                    "from": float(edges[b]),
                    "to": float(edges[b + 1]),
                    "predicted": float(risks[inside].mean()),
                    "observed": float(np.asarray(labels)[inside].mean()),
                    "count": int(inside.sum()),
                }
            )
    return rows


def ece(labels: np.ndarray, risks: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: the count-weighted gap between predicted and observed."""
    rows = calibration(labels, risks, bins)
    total = sum(r["count"] for r in rows)
    return float(sum(abs(r["predicted"] - r["observed"]) * r["count"] for r in rows) / total)


def subgroups(
    labels: np.ndarray, risks: np.ndarray, groups: dict[str, np.ndarray]
) -> dict[str, list[dict[str, Any]]]:
    """AUC within each value of each grouping (None where a group is too small or has one
    outcome only)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, values in groups.items():
        rows = []
        for value in sorted({v for v in values if v is not None and v == v}, key=str):
            inside = values == value
            n = int(inside.sum())
            rows.append(
                {
                    "group": str(value),
                    "count": n,
                    "auc": auc(labels[inside], risks[inside]) if n >= MIN_SUBGROUP else None,
                    "rate": float(np.asarray(labels)[inside].mean()) if n else None,
                }
            )
        found[name] = rows
    return found


def summary(labels: np.ndarray, risks: np.ndarray) -> dict[str, Any]:
    value = auc(labels, risks)
    interval = auc_interval(labels, risks) if value is not None else None
    return {
        "count": len(labels),
        "rate": float(np.mean(labels)) if len(labels) else None,
        "auc": value,
        "auc_95": list(interval) if interval else None,
        "ece": ece(labels, risks) if len(labels) else None,
        "calibration": calibration(labels, risks),
    }


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


KINDS = {
    "trees": "gradient-boosted trees (LightGBM)",
    "logistic": "regularised logistic regression",
}


def as_text(card: dict[str, Any]) -> str:
    """The model card as Markdown: what a supporter, a clinic and a reviewer read."""
    data, test = card["data"], card["test"]
    interval = test.get("auc_95") or [None, None]
    lines = [
        "# Model card: dropout risk",
        "",
        "Predicts the chance that an enrollment has no patient-initiated event in the 14 "
        "days after the end of day D (D days after it started).",
        "",
        "## Data",
        "",
        f"- Trained {card['trained_at']} on {data['enrollments']} enrollments "
        f"({data['examples']} examples at as-of days {', '.join(map(str, data['as_of_days']))}), "
        f"started {data['started_from'][:10]} to {data['started_until'][:10]}.",
        f"- Split by start date: {data['train_enrollments']} earliest to learn from, "
        f"{data['validation_enrollments']} next to choose and calibrate, "
        f"{data['test_enrollments']} latest held out for the figures below.",
        f"- Share with no activity in the next 14 days: {pct(data['dropped_rate'])}.",
        "",
        "## Model",
        "",
        f"- Chosen: {KINDS.get(card['kind'], card['kind'])}"
        f" (validation AUC: logistic {num(card['validation_auc'].get('logistic'))}, "
        f"trees {num(card['validation_auc'].get('trees'))}); isotonic calibration.",
        "",
        "## How good it is (held-out enrollments)",
        "",
        f"- AUC {num(test['auc'])} (95% interval {num(interval[0])} to {num(interval[1])}), "
        f"expected calibration error {num(test['ece'])}, {test['count']} examples.",
        "",
        "| as-of day | examples | rate | AUC | 95% interval | ECE |",
        "|---|---|---|---|---|---|",
    ]
    for day, row in card.get("test_by_day", {}).items():
        low, high = row.get("auc_95") or [None, None]
        lines.append(
            f"| {day} | {row['count']} | {pct(row['rate'])} | {num(row['auc'])} | "
            f"{num(low)} to {num(high)} | {num(row['ece'])} |"
        )
    lines += ["", "Calibration (held out):", "", "| predicted | observed | count |"]
    lines.append("|---|---|---|")
    for row in test["calibration"]:
        lines.append(f"| {pct(row['predicted'])} | {pct(row['observed'])} | {row['count']} |")
    lines += ["", "## Subgroups (held out)", "", "| group | value | count | rate | AUC |"]
    lines.append("|---|---|---|---|---|")
    for name, rows in card.get("subgroups", {}).items():
        for row in rows:
            lines.append(
                f"| {name} | {row['group'] or 'not known'} | {row['count']} | "
                f"{pct(row['rate'])} | {num(row['auc'])} |"
            )
    for evaluation in card.get("evaluations", []):
        lines += [
            "",
            f"## Checked on other data ({evaluation['evaluated_at'][:10]})",
            "",
            f"{evaluation['enrollments']} enrollments from {evaluation['events']}.",
            "",
            "| as-of day | examples | rate | AUC | 95% interval | ECE | oracle AUC | oracle ECE |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for day, row in evaluation["days"].items():
            low, high = row.get("auc_95") or [None, None]
            lines.append(
                f"| {day} | {row['count']} | {pct(row['rate'])} | {num(row['auc'])} | "
                f"{num(low)} to {num(high)} | {num(row['ece'])} | "
                f"{num(row.get('oracle_auc'))} | {num(row.get('oracle_ece'))} |"
            )
    lines += ["", "## Known limits", ""] + [f"- {limit}" for limit in card.get("limits", [])]
    return "\n".join(lines) + "\n"
