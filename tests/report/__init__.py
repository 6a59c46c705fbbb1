"""Tests of triage/report: index.html, the paged pages, report.pdf and the exports."""
