"""A clinic's reports: engagement, retention, outcomes, supporter workload and engagement
phenotypes. Pure computations on arrays and plain rows, no database: the reads (and who
asks) are in `trellis.insights.queries`, the pages in `trellis.insights.report_views`.

docs/insights-reports.md says what each report counts and how.
"""
