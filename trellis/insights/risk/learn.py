"""Training, choosing, calibrating, saving and loading a dropout-risk model.

Two candidates, fitted on the earliest enrollments (by `started_at`) and compared on the
next ones, so the model is always judged on people who came later than those it learned
from:

- a regularised logistic model (L2; the strength chosen from three), on features with
  missing values filled by the training median and flagged;
- gradient-boosted trees (LightGBM), stopped early on the validation enrollments.

The one with the higher validation AUC is kept and calibrated on the validation
enrollments (isotonic regression from its score to the observed rate). The latest
enrollments are held out for the model card. A model is a folder: `model.json` (what was
chosen, the logistic weights or nothing, the calibration, the card) and, for trees,
`trees.txt` (LightGBM's own text format). Nothing is pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from trellis.insights.risk import card, features, reasons

MIN_ENROLLMENTS = 500
TRAIN_DAYS = (7, 10, 14, 21, 28, 35, 42)
EVALUATE_DAYS = (7, 14, 28)
SPLIT = (0.7, 0.85)  # train up to 70% of starts, validate to 85%, hold out the rest
FORMAT = 1


class TooFew(ValueError):
    """Fewer past enrollments than a model needs (Zantvoort 2024: about 500)."""


@dataclass
class Linear:
    medians: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    weights: np.ndarray
    flagged: np.ndarray  # indices of features with a missing-value flag
    flag_means: np.ndarray
    flag_weights: np.ndarray
    intercept: float

    def _parts(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        missing = np.isnan(x)
        filled = np.where(missing, self.medians, x)
        z = (filled - self.means) / self.scales
        flags = missing[:, self.flagged].astype(float)
        return z, flags

    def margin(self, x: np.ndarray) -> np.ndarray:
        z, flags = self._parts(x)
        # `intercept` is the margin at the training average (flags at their means).
        return z @ self.weights + (flags - self.flag_means) @ self.flag_weights + self.intercept

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Each feature's exact share of the margin, against the training average."""
        z, flags = self._parts(x)
        parts = z * self.weights  # the training mean of z is 0
        parts[:, self.flagged] += (flags - self.flag_means) * self.flag_weights
        return parts

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Linear:
        arrays = {k: np.asarray(v) for k, v in data.items() if k != "intercept"}
        arrays["flagged"] = arrays["flagged"].astype(int)
        return cls(**arrays, intercept=float(data["intercept"]))


def fit_linear(x: np.ndarray, y: np.ndarray, strength: float) -> Linear:
    missing = np.isnan(x)
    medians = np.nanmedian(np.where(missing.all(axis=0), 0.0, x), axis=0)
    filled = np.where(missing, medians, x)
    means = filled.mean(axis=0)
    scales = filled.std(axis=0)
    scales[scales == 0] = 1.0
    z = (filled - means) / scales
    flagged = np.flatnonzero(missing.any(axis=0) & ~missing.all(axis=0))
    flags = missing[:, flagged].astype(float)
    fitted = LogisticRegression(C=strength, max_iter=2000).fit(np.hstack([z, flags]), y)
    weights = fitted.coef_[0]
    k = x.shape[1]
    flag_means = flags.mean(axis=0)
    return Linear(
        medians=medians,
        means=means,
        scales=scales,
        weights=weights[:k],
        flagged=flagged,
        flag_means=flag_means,
        flag_weights=weights[k:],
        intercept=float(fitted.intercept_[0] + flag_means @ weights[k:]),
    )


def fit_trees(
    x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int
) -> lightgbm.Booster:
    params = {
        "objective": "binary",
        "learning_rate": 0.1,
        "num_leaves": 31,
        "max_depth": 5,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.9,
        "lambda_l2": 1.0,
        "num_threads": 2,
        "seed": seed,
        "deterministic": True,
        "verbosity": -1,
    }
    train = lightgbm.Dataset(x, y, feature_name=features.NAMES, free_raw_data=False)
    valid = lightgbm.Dataset(x_val, y_val, reference=train)
    return lightgbm.train(
        params,
        train,
        num_boost_round=1000,
        valid_sets=[valid],
        callbacks=[lightgbm.early_stopping(40, verbose=False)],
    )


@dataclass
class Model:
    """A trained model: its kind, the scorer, the calibration and the card."""

    kind: str  # "logistic" or "trees"
    linear: Linear | None
    trees: lightgbm.Booster | None
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    card: dict[str, Any]

    def margin(self, x: np.ndarray) -> np.ndarray:
        if self.trees is not None:
            return np.asarray(self.trees.predict(x, raw_score=True))
        assert self.linear is not None
        return self.linear.margin(x)

    def risk(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities."""
        return np.interp(self.margin(x), self.calibration_x, self.calibration_y)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        if self.trees is not None:
            parts = np.asarray(self.trees.predict(x, pred_contrib=True))
            return parts[:, :-1]  # the last column is the baseline
        assert self.linear is not None
        return self.linear.contributions(x)

    def texts(self) -> dict[str, str]:
        """The model as the texts of its folder: `model.json` and, for trees, `trees.txt`."""
        data = {
            "format": FORMAT,
            "kind": self.kind,
            "features": features.NAMES,
            "linear": self.linear.as_dict() if self.linear else None,
            "calibration": {"x": self.calibration_x.tolist(), "y": self.calibration_y.tolist()},
            "card": self.card,
        }
        texts = {"model.json": json.dumps(data, indent=1)}
        if self.trees is not None:
            texts["trees.txt"] = self.trees.model_to_string(
                num_iteration=self.trees.best_iteration or None
            )
        return texts

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.texts().items():
            (folder / name).write_text(text)

    @classmethod
    def from_texts(cls, model_json: str, trees: str = "", *, where: str = "the model") -> Model:
        data = json.loads(model_json)
        if data.get("format") != FORMAT or data.get("features") != features.NAMES:
            raise ValueError(f"{where}: a model of another version of Trellis; train it again")
        if data["kind"] == "trees" and not trees:
            raise ValueError(f"{where}: a tree model without its trees.txt")
        return cls(
            kind=data["kind"],
            linear=Linear.from_dict(data["linear"]) if data["linear"] else None,
            trees=lightgbm.Booster(model_str=trees) if data["kind"] == "trees" else None,
            calibration_x=np.asarray(data["calibration"]["x"]),
            calibration_y=np.asarray(data["calibration"]["y"]),
            card=data["card"],
        )

    @classmethod
    def load(cls, folder: Path) -> Model:
        path = folder / "model.json"
        if not path.exists():
            raise FileNotFoundError(
                f"{folder}: no model.json (train one with `trellis model train`)"
            )
        trees = folder / "trees.txt"
        return cls.from_texts(
            path.read_text(), trees.read_text() if trees.exists() else "", where=str(folder)
        )


def examples(
    events: pl.DataFrame, enrollments: pl.DataFrame, days: tuple[int, ...]
) -> pl.DataFrame:
    """Features and labels at each as-of day, stacked, with each enrollment's start and
    subgroup columns."""
    frames = []
    for day in days:
        labelled = features.labels(events, enrollments, day)
        if labelled.height == 0:
            continue
        frames.append(features.at_day(events, enrollments, day).join(labelled, on="enrollment_id"))
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames).join(
        enrollments.select(
            "enrollment_id",
            "started_at",
            pl.col("age_band").alias("age_group"),
            pl.col("sex").alias("sex_group"),
            pl.col("support_level").alias("support_group"),
        ),
        on="enrollment_id",
    )


def matrix(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(features.NAMES).to_numpy().astype(np.float64)


def train(
    events: pl.DataFrame,
    enrollments: pl.DataFrame,
    *,
    days: tuple[int, ...] = TRAIN_DAYS,
    seed: int = 0,
    source: dict[str, Any] | None = None,
) -> Model:
    """Fit both candidates, keep the better on validation, calibrate it, and write its card."""
    data = examples(events, enrollments, days)
    people = data["enrollment_id"].n_unique() if data.height else 0
    if people < MIN_ENROLLMENTS:
        raise TooFew(
            f"{people} past enrollments have a known outcome; a model needs at least "
            f"{MIN_ENROLLMENTS} (below that its accuracy is overstated), so none is trained "
            "and Trellis keeps to its transparent rules"
        )
    starts = (
        data.group_by("enrollment_id")
        .agg(pl.col("started_at").first())
        .sort("started_at", "enrollment_id")
    )
    cut_train, cut_valid = (int(people * share) for share in SPLIT)
    part = pl.concat(
        [
            starts[:cut_train].select("enrollment_id", part=pl.lit("train")),
            starts[cut_train:cut_valid].select("enrollment_id", part=pl.lit("valid")),
            starts[cut_valid:].select("enrollment_id", part=pl.lit("test")),
        ]
    )
    data = data.join(part, on="enrollment_id")
    fold = {name: data.filter(pl.col("part") == name) for name in ("train", "valid", "test")}
    x = {name: matrix(frame) for name, frame in fold.items()}
    y = {name: frame["dropped"].to_numpy() for name, frame in fold.items()}

    candidates: dict[str, tuple[float, Any]] = {}
    for strength in (0.01, 0.1, 1.0):
        linear = fit_linear(x["train"], y["train"], strength)
        score = card.auc(y["valid"], linear.margin(x["valid"])) or 0.0
        if "logistic" not in candidates or score > candidates["logistic"][0]:
            candidates["logistic"] = (score, linear)
    trees = fit_trees(x["train"], y["train"], x["valid"], y["valid"], seed)
    candidates["trees"] = (
        card.auc(y["valid"], np.asarray(trees.predict(x["valid"], raw_score=True))) or 0.0,
        trees,
    )
    kind = max(candidates, key=lambda k: candidates[k][0])
    chosen = candidates[kind][1]
    model = Model(
        kind=kind,
        linear=chosen if kind == "logistic" else None,
        trees=chosen if kind == "trees" else None,
        calibration_x=np.zeros(2),
        calibration_y=np.zeros(2),
        card={},
    )
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    isotonic.fit(model.margin(x["valid"]), y["valid"])
    model.calibration_x = np.asarray(isotonic.X_thresholds_)
    model.calibration_y = np.asarray(isotonic.y_thresholds_)

    test = fold["test"]
    risks = model.risk(x["test"])
    labels = y["test"]
    by_day = {}
    for day in sorted(set(test["as_of_day"].to_list())):
        inside = test["as_of_day"].to_numpy() == day
        by_day[str(int(day))] = card.summary(labels[inside], risks[inside])
    model.card = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source or {},
        "kind": kind,
        "validation_auc": {k: round(v[0], 4) for k, v in candidates.items()},
        "data": {
            "enrollments": people,
            "examples": data.height,
            "as_of_days": list(days),
            "started_from": str(starts["started_at"].min()),
            "started_until": str(starts["started_at"].max()),
            "train_enrollments": cut_train,
            "validation_enrollments": cut_valid - cut_train,
            "test_enrollments": people - cut_valid,
            "dropped_rate": float(np.mean(data["dropped"].to_numpy())),
        },
        "test": card.summary(labels, risks),
        "test_by_day": by_day,
        "subgroups": card.subgroups(
            labels,
            risks,
            {
                "age band": test["age_group"].to_numpy(),
                "sex": test["sex_group"].to_numpy(),
                "support level": test["support_group"].to_numpy(),
            },
        ),
        "limits": LIMITS,
    }
    return model


LIMITS = [
    "It predicts whether a patient will do nothing in Trellis for the next 14 days, not "
    "whether they will get better, and not why they stop.",
    "It learned from the enrollments named above; a clinic whose patients, programs or "
    "reminders differ should check it on its own data (trellis model evaluate) first.",
    "It sees only what the event log holds: not messages from supporters, not life outside "
    "the program.",
    "A high risk is a prompt for a supporter to look, never a decision; a low risk never "
    "means a patient needs no one.",
    "Subgroups smaller than 50 people have no AUC: too few to judge.",
]


class BeyondTheData(ValueError):
    """No enrollment has reached the end of the as-of day by the last event."""


def score(
    model: Model, events: pl.DataFrame, enrollments: pl.DataFrame, as_of_day: int
) -> pl.DataFrame:
    """`enrollment_id, as_of_day, risk, reasons` for every enrollment scored at day D:
    not ended by the end of day D, which the data reach (the last event is after it)."""
    if as_of_day < 1:
        raise BeyondTheData("the as-of day is 1 or more (day D ends D days after the start)")
    end = features.data_end(events)
    reached = (
        enrollments
        if end is None
        else enrollments.filter(pl.col("started_at") + pl.duration(days=as_of_day) <= pl.lit(end))
    )
    if end is None or reached.height == 0:
        raise BeyondTheData(
            f"day {as_of_day} is beyond the data: no enrollment reaches the end of day "
            f"{as_of_day} by the last event ({end or 'there are no events'})"
        )
    rows = features.at_day(events, reached, as_of_day)
    risks, words = explain(model, rows)
    return pl.DataFrame(
        {
            "enrollment_id": rows["enrollment_id"],
            "as_of_day": pl.Series([as_of_day] * rows.height, dtype=pl.Int64),
            "risk": pl.Series(np.round(risks, 4), dtype=pl.Float64),
            "reasons": pl.Series(["; ".join(w) for w in words], dtype=pl.String),
        }
    )


def explain(model: Model, rows: pl.DataFrame) -> tuple[np.ndarray, list[list[str]]]:
    """The calibrated risk and the plain-word reasons of each row of `features.at_day`."""
    if rows.height == 0:
        return np.zeros(0), []
    x = matrix(rows)
    parts = model.contributions(x)
    words = [reasons.explain(features.NAMES, x[i], parts[i]) for i in range(rows.height)]
    return model.risk(x), words
