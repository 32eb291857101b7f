"""Insights: the hourly alert rules, and later risk models and reports."""
