"""The supporter's workspace: the caseload ordered by need, each patient's record, the
supervisor's view of the team's work, and the JSON API behind them."""
