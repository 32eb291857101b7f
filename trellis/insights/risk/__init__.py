"""Dropout risk from the engagement event log, with no database.

Everything here reads and writes the interchange format (docs/events.md) through polars
and numpy, so a clinic's own export and another platform's files go through the same
code:

- `interchange`: reading events and enrollments files (CSV or Parquet), checked, with the
  file, the line and the column of anything malformed;
- `simulate`: a simulated cohort written straight to those files, with its ground truth
  (each enrollment's engagement class and daily hazard) and the oracle's risk;
- `features`: what the log says about each enrollment at the end of day D, set-based;
- `learn`: the regularised logistic baseline and gradient-boosted trees, chosen by
  time-based validation, calibrated, saved and loaded;
- `card`: how good a model is (AUC with its interval, calibration, subgroups);
- `reasons`: why a risk is high, in plain words, from exact feature contributions.

docs/insights-risk.md tells the whole story.
"""
