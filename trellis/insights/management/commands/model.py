"""trellis model train | predict | evaluate | card: dropout risk on the interchange format.

    trellis model train --events E --enrollments N --out DIR
    trellis model predict --model DIR --events E --enrollments N --as-of-day D --out preds.csv
    trellis model evaluate --model DIR --events E --enrollments N [--days 7,14,28]
    trellis model card --model DIR
    trellis model train --organization SLUG      (from the clinic's own records, then installed)
    trellis model install --model DIR --organization SLUG
    trellis model score [--organization SLUG]    (tonight's scoring and risk alerts, now)

E and N are the interchange format's events and enrollments files (docs/events.md), CSV
or Parquet by their suffix. A problem with a file stops the command with the file, the
line and the column, and a non-zero exit; nothing is written then. docs/insights-risk.md
explains the target, the models and the card.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Organization
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.insights import scoring
from trellis.insights.risk import card, features, interchange, learn, simulate


def _days(raw: str) -> tuple[int, ...]:
    try:
        days = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"{raw!r} is not a list of days such as 7,14,28") from None
    if not days or min(days) < 1:
        raise ValueError("as-of days are 1 or more")
    return days


def _auc(value: float | None) -> str:
    """An AUC to print; none when the enrollments had one outcome only."""
    return "-" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = "Train, apply and check the dropout-risk model on interchange-format files."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{train,predict,evaluate,card}"
        )

        def files(command: ArgumentParser) -> None:
            command.add_argument(
                "--events", required=True, type=Path, help="events.csv or .parquet"
            )
            command.add_argument(
                "--enrollments", required=True, type=Path, help="enrollments.csv or .parquet"
            )

        train = sub.add_parser(
            "train",
            help="Fit, choose, calibrate; write the model folder (or, with --organization, "
            "learn from that clinic's records and install the model for it).",
        )
        train.add_argument("--events", type=Path, help="events.csv or .parquet")
        train.add_argument("--enrollments", type=Path, help="enrollments.csv or .parquet")
        train.add_argument("--out", type=Path, help="The model folder to write.")
        train.add_argument("--organization", metavar="SLUG", help="Learn from this clinic.")
        train.add_argument(
            "--days", type=_days, default=learn.TRAIN_DAYS, help="As-of days to learn from."
        )
        train.add_argument("--seed", type=int, default=0)

        predict = sub.add_parser("predict", help="Score every enrollment at one as-of day.")
        predict.add_argument("--model", required=True, type=Path)
        files(predict)
        predict.add_argument("--as-of-day", required=True, type=int, dest="as_of_day")
        predict.add_argument("--out", required=True, type=Path, help="The CSV file to write.")

        evaluate = sub.add_parser("evaluate", help="AUC, calibration and subgroups at as-of days.")
        evaluate.add_argument("--model", required=True, type=Path)
        files(evaluate)
        evaluate.add_argument("--days", type=_days, default=learn.EVALUATE_DAYS)
        evaluate.add_argument(
            "--into-card",
            action="store_true",
            dest="into_card",
            help="Add these figures to the model's card (model.json and card.md).",
        )
        evaluate.add_argument(
            "--truth",
            type=Path,
            help="A simulator's truth.parquet, to compare with its oracle (default: the one "
            "beside the events file, if any).",
        )

        show = sub.add_parser("card", help="Print a model's card (Markdown).")
        show.add_argument("--model", required=True, type=Path)

        install = sub.add_parser("install", help="Make a trained model a clinic's model.")
        install.add_argument("--model", required=True, type=Path)
        install.add_argument("--organization", required=True, metavar="SLUG")
        install.add_argument(
            "--trained-on", dest="trained_on", default="", help="Where its data came from."
        )

        score = sub.add_parser("score", help="Run tonight's scoring and risk alerts now.")
        score.add_argument("--organization", metavar="SLUG", help="Only this clinic.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['subcommand']}")(options)
        except (interchange.FileProblem, learn.TooFew, learn.BeyondTheData) as problem:
            raise CommandError(str(problem)) from None
        except (FileNotFoundError, ValueError) as problem:
            raise CommandError(str(problem)) from None

    def _read(self, options: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
        events = interchange.read_events(options["events"])
        enrollments = interchange.read_enrollments(options["enrollments"])
        if events.unknown_types:
            listed = ", ".join(f"{t} ({n})" for t, n in sorted(events.unknown_types.items()))
            total = sum(events.unknown_types.values())
            self.stdout.write(f"Ignored {total} events of types the model does not know: {listed}.")
        strangers = events.frame.filter(
            ~pl.col("enrollment_id").is_in(enrollments["enrollment_id"].implode())
        ).height
        if strangers:
            self.stdout.write(
                f"Ignored {strangers} events of enrollments not in the enrollments file."
            )
        return events.frame, enrollments

    def _train(self, options: dict[str, Any]) -> None:
        if options["organization"]:
            self._train_clinic(options)
            return
        if not (options["events"] and options["enrollments"] and options["out"]):
            raise CommandError(
                "Give --events, --enrollments and --out, or --organization to learn from a "
                "clinic's own records."
            )
        events, enrollments = self._read(options)
        model = learn.train(
            events,
            enrollments,
            days=options["days"],
            seed=options["seed"],
            source={"events": str(options["events"]), "enrollments": str(options["enrollments"])},
        )
        out: Path = options["out"]
        # Written beside its place and moved in whole: a failure leaves no half a model.
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".model-", dir=out.parent))
        try:
            model.save(staging)
            (staging / "card.md").write_text(card.as_text(model.card))
            if out.exists():
                shutil.rmtree(out)
            os.replace(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        test = model.card["test"]
        self.stdout.write(
            f"Trained {model.kind} on {model.card['data']['enrollments']} enrollments; held-out "
            f"AUC {test['auc']:.3f}, ECE {test['ece']:.3f}. Model and card in {out}."
        )

    def _predict(self, options: dict[str, Any]) -> None:
        model = learn.Model.load(options["model"])
        events, enrollments = self._read(options)
        scores = learn.score(model, events, enrollments, options["as_of_day"])
        out: Path = options["out"]
        staging = out.with_name(f".{out.name}.part")
        scores.write_csv(staging)
        os.replace(staging, out)
        self.stdout.write(
            f"Scored {scores.height} enrollments at day {options['as_of_day']} into {out}."
        )

    def _evaluate(self, options: dict[str, Any]) -> None:
        model = learn.Model.load(options["model"])
        events, enrollments = self._read(options)
        truth_path = options["truth"] or options["events"].with_name("truth.parquet")
        truth = pl.read_parquet(truth_path) if truth_path.exists() else None
        self.stdout.write(
            f"Model: {card.KINDS.get(model.kind, model.kind)}, trained {model.card['trained_at']}."
        )
        evaluation: dict[str, Any] = {
            "evaluated_at": timeutil.now().isoformat(timespec="seconds"),
            "events": str(options["events"]),
            "enrollments": int(enrollments.height),
            "days": {},
        }
        for day in options["days"]:
            labelled = features.labels(events, enrollments, day)
            if labelled.height == 0:
                raise learn.BeyondTheData(
                    f"day {day} is beyond the data: no enrollment's next 14 days are covered"
                )
            rows = features.at_day(events, enrollments, day).join(labelled, on="enrollment_id")
            risks = model.risk(learn.matrix(rows))
            labels = rows["dropped"].to_numpy()
            found = card.summary(labels, risks)
            low, high = found["auc_95"] or (None, None)
            line = (
                f"day {day}: {found['count']} enrollments, {found['rate']:.1%} with no activity "
                f"in the next 14 days; AUC {_auc(found['auc'])} (95% {_auc(low)} to "
                f"{_auc(high)}), ECE {found['ece']:.3f}"
            )
            figures = {k: found[k] for k in ("count", "rate", "auc", "auc_95", "ece")}
            if truth is not None:
                oracle = self._oracle(events, enrollments, truth, rows, day)
                oracle_auc, oracle_ece = card.auc(labels, oracle), card.ece(labels, oracle)
                line += f"; the simulator's oracle: AUC {_auc(oracle_auc)}, ECE {oracle_ece:.3f}"
                figures.update(oracle_auc=oracle_auc, oracle_ece=oracle_ece)
            evaluation["days"][str(day)] = figures
            self.stdout.write(line)
            raw = rows.select("enrollment_id").join(enrollments, on="enrollment_id", how="left")
            groups = card.subgroups(
                labels,
                risks,
                {
                    "age band": raw["age_band"].to_numpy(),
                    "sex": raw["sex"].to_numpy(),
                    "support level": raw["support_level"].to_numpy(),
                },
            )
            for name, found_rows in groups.items():
                listed = ", ".join(
                    f"{row['group'] or 'not known'} {row['count']} "
                    + ("AUC -" if row["auc"] is None else f"AUC {row['auc']:.3f}")
                    for row in found_rows
                )
                self.stdout.write(f"  by {name}: {listed}")
            calibration = ", ".join(
                f"{row['predicted']:.2f}->{row['observed']:.2f} ({row['count']})"
                for row in found["calibration"]
            )
            self.stdout.write(f"  calibration (predicted->observed): {calibration}")
        if options["into_card"]:
            model.card.setdefault("evaluations", []).append(evaluation)
            folder: Path = options["model"]
            model.save(folder)
            (folder / "card.md").write_text(card.as_text(model.card))
            self.stdout.write(f"Added these figures to the card in {folder}.")

    def _oracle(
        self,
        events: pl.DataFrame,
        enrollments: pl.DataFrame,
        truth: pl.DataFrame,
        rows: pl.DataFrame,
        day: int,
    ) -> np.ndarray:
        last = features.last_acted_day(events, enrollments, day)
        joined = (
            rows.select("enrollment_id")
            .join(last, on="enrollment_id", how="left")
            .join(truth, on="enrollment_id", how="left")
        )
        if joined["hazard"].null_count():
            raise ValueError("the truth file does not describe every enrollment scored")
        return simulate.oracle_risk(joined, joined["last_day"].fill_null(-1).to_numpy(), day)

    def _clinic(self, slug: str) -> Organization:
        clinic = Organization.objects.filter(slug=slug).first()
        if clinic is None:
            raise CommandError(f"No clinic with the short name {slug!r}.")
        return clinic

    def _train_clinic(self, options: dict[str, Any]) -> None:
        clinic = self._clinic(options["organization"])
        events, enrollments = scoring.frames(list(Enrollment.objects.filter(organization=clinic)))
        model = learn.train(
            events,
            enrollments,
            days=options["days"],
            seed=options["seed"],
            source={"organization": clinic.slug},
        )
        now = timeutil.now()
        installed = scoring.install(
            clinic, model, trained_on=f"{clinic.name}'s own records", actor=None, now=now
        )
        self.stdout.write(
            f"Trained {model.kind} on {model.card['data']['enrollments']} enrollments of "
            f"{clinic.name} and installed it ({installed.pk})."
        )

    def _install(self, options: dict[str, Any]) -> None:
        clinic = self._clinic(options["organization"])
        model = learn.Model.load(options["model"])
        installed = scoring.install(
            clinic,
            model,
            trained_on=options["trained_on"] or f"Trained elsewhere ({options['model'].name})",
            actor=None,
            now=timeutil.now(),
        )
        self.stdout.write(f"Installed the {model.kind} model for {clinic.name} ({installed.pk}).")

    def _score(self, options: dict[str, Any]) -> None:
        now = timeutil.now()
        clinics = (
            [self._clinic(options["organization"])]
            if options["organization"]
            else list(Organization.objects.all())
        )
        for clinic in clinics:
            night = scoring.score_clinic(clinic, now=now)
            self.stdout.write(
                f"{clinic.name}: {night.scored} scored ({night.by_rules} by the rules only), "
                f"{night.alerts} risk alerts, {night.skipped_no_consent} not scored (no "
                "agreement to the estimate)."
            )

    def _card(self, options: dict[str, Any]) -> None:
        model = learn.Model.load(options["model"])
        self.stdout.write(card.as_text(model.card))
