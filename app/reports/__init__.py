"""The weekly monitoring report: gathering a week's data, rendering it, and the CLI command.

- ``gather``: ``WeeklyReports`` resolves the week and reads its data through the sources and the
  snapshot store, under per-week keys.
- ``render``: Markdown, a short chat summary and a self-contained HTML page (Jinja2).
- ``command``: ``lookout report``, which prints a report or posts its summary to a webhook.

The report itself is built by the pure ``app.services.report.build_weekly_report``.
"""

from app.reports.gather import WeeklyReports

__all__ = ["WeeklyReports"]
