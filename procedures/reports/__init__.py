"""`reports.*`: timezone-correct analytics with coverage, and generated CSV / JSON / PDF reports."""

from procedures.reports.routes import reports
from procedures.reports.worker import report_worker

__all__ = ["report_worker", "reports"]
