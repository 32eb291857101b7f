"""Engagement phenotypes: groups of enrollments whose first 8 weeks looked alike.

Each enrollment that started at least 8 weeks ago is described by its weekly count of
active days (0 to 7) in weeks 1 to 8. KMeans (scikit-learn, k = 4, random_state 0,
10 starts) groups these trajectories; each group is named from its centroid's shape by
this rule, applied in order:

1. "low throughout": the centroid with the lowest mean over the 8 weeks;
2. "late start": of the other three, the one that rises most from weeks 1-4 to weeks 5-8
   (the largest mean of weeks 5-8 minus the mean of weeks 1-4);
3. "steady": of the last two, the one with the higher mean in weeks 5-8;
4. "fading early": the one left.

The names are relative (each is used once): they describe how the four groups differ
from each other, not a fixed threshold. Groups are listed in the order steady, fading
early, late start, low throughout. With fewer than 4 distinct trajectories there is
nothing to group and no phenotypes are given.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext_lazy, pgettext_lazy
from numpy.typing import NDArray
from sklearn.cluster import KMeans

from trellis.insights.reports import outcomes as outcome_counts
from trellis.insights.reports.tables import Column, Kind, Table, rate
from trellis.measures.outcomes import Outcome

WEEKS = 8
K = 4
RANDOM_STATE = 0
STEADY, FADING, LATE, LOW = "steady", "fading_early", "late_start", "low_throughout"
ORDER = (STEADY, FADING, LATE, LOW)
NAMES = {
    STEADY: pgettext_lazy("engagement phenotype", "Steady"),
    FADING: pgettext_lazy("engagement phenotype", "Fading early"),
    LATE: pgettext_lazy("engagement phenotype", "Late start"),
    LOW: pgettext_lazy("engagement phenotype", "Low throughout"),
}
SIZE = ("size",)

COLUMNS = [
    Column("phenotype", gettext_lazy("Phenotype")),
    Column("size", gettext_lazy("Enrollments"), Kind.COUNT),
    Column("share", gettext_lazy("Share"), Kind.RATE, SIZE),
    *[
        Column(f"week_{n}", gettext_lazy("Week %(n)s") % {"n": n}, Kind.NUMBER, SIZE)
        for n in range(1, WEEKS + 1)
    ],
    Column("with_outcome", gettext_lazy("People with two or more measures"), Kind.COUNT),
    Column(
        "recovery_rate",
        gettext_lazy("Recovery"),
        Kind.RATE,
        ("with_outcome", "caseness_first", "recovered"),
    ),
    Column(
        "improvement_rate",
        gettext_lazy("Reliable improvement"),
        Kind.RATE,
        ("with_outcome", "improved"),
    ),
    Column(
        "deterioration_rate",
        gettext_lazy("Reliable deterioration"),
        Kind.RATE,
        ("with_outcome", "deteriorated"),
    ),
    # The counts the rates come from, kept so suppression can follow them.
    Column("caseness_first", gettext_lazy("At caseness at the start"), Kind.COUNT),
    Column("recovered", gettext_lazy("Recovered"), Kind.COUNT),
    Column("improved", gettext_lazy("Reliably improved"), Kind.COUNT),
    Column("deteriorated", gettext_lazy("Reliably deteriorated"), Kind.COUNT),
]


@dataclass(frozen=True)
class Phenotypes:
    """The groups found: each enrollment's group key, and each group's centroid."""

    labels: NDArray[Any]  # the group key of each trajectory, in the input order
    centroids: dict[str, NDArray[np.float64]]


def name_centroids(centroids: NDArray[np.float64]) -> list[str]:
    """The name of each of the 4 centroids (rows, weeks 1-8), by the rule above."""
    first = centroids[:, : WEEKS // 2].mean(axis=1)
    second = centroids[:, WEEKS // 2 :].mean(axis=1)
    names: dict[int, str] = {}
    left = list(range(len(centroids)))
    low = min(left, key=lambda i: (centroids[i].mean(), i))
    names[low] = LOW
    left.remove(low)
    late = max(left, key=lambda i: (second[i] - first[i], -i))
    names[late] = LATE
    left.remove(late)
    steady = max(left, key=lambda i: (second[i], -i))
    names[steady] = STEADY
    left.remove(steady)
    names[left[0]] = FADING
    return [names[i] for i in range(len(centroids))]


def cluster(trajectories: NDArray[Any]) -> Phenotypes | None:
    """Group the (enrollments x 8) weekly active days; None with fewer than 4 distinct."""
    data = np.asarray(trajectories, dtype=np.float64)
    if data.ndim != 2 or len(np.unique(data, axis=0)) < K:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = KMeans(n_clusters=K, random_state=RANDOM_STATE, n_init=10).fit(data)
    names = name_centroids(model.cluster_centers_)
    return Phenotypes(
        labels=np.array([names[i] for i in model.labels_], dtype=object),
        centroids={names[i]: model.cluster_centers_[i] for i in range(K)},
    )


def table(
    found: Phenotypes,
    trajectories: NDArray[Any],
    ids: list[Any],
    outcomes: Mapping[Any, Outcome],
) -> Table:
    """One row per phenotype: its size, its mean weekly active days and its outcomes."""
    total = len(ids)
    rows = []
    for key in ORDER:
        mask = found.labels == key
        members = [pk for pk, inside in zip(ids, mask, strict=True) if inside]
        counted = outcome_counts.counts("", "", [outcomes[pk] for pk in members if pk in outcomes])
        means = (
            np.asarray(trajectories, dtype=np.float64)[mask].mean(axis=0)
            if mask.any()
            else np.full(WEEKS, np.nan)
        )
        rows.append(
            {
                "phenotype": str(NAMES[key]),
                "key": key,
                "size": int(mask.sum()),
                "share": rate(int(mask.sum()), total),
                **{
                    f"week_{n + 1}": (None if np.isnan(v) else float(v))
                    for n, v in enumerate(means)
                },
                **{
                    k: counted[k]
                    for k in (
                        "with_outcome",
                        "caseness_first",
                        "recovered",
                        "improved",
                        "deteriorated",
                        "recovery_rate",
                        "improvement_rate",
                        "deterioration_rate",
                    )
                },
            }
        )
    return Table(columns=COLUMNS, rows=rows)
