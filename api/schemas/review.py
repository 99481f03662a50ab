"""Review bodies: period status changes."""

from __future__ import annotations

from api.schemas.common import Body, Text

__all__ = ["PeriodReopen"]


class PeriodReopen(Body):
    """Reopen a locked or published period; the reason is kept with the change."""

    reason: Text
