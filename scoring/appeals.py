"""Committee decisions on appeals: N chiefs vote, one rule turns the votes into the answer."""

from __future__ import annotations

from typing import Literal, Sequence

from msgspec import Struct

from .errors import InputError

__all__ = ["CommitteeDecision", "Vote", "committee_decision", "resulting_points"]

VoteOutcome = Literal["uphold", "overturn", "partial"]
DecisionOutcome = Literal["upheld", "overturned", "partially_overturned"]


class Vote(Struct, frozen=True, kw_only=True):
    """One chief's vote: ``points`` is what the deduction is worth after a partial overturn."""

    outcome: VoteOutcome
    points: float | None = None
    reason: str = ""
    by: str = ""


class CommitteeDecision(Struct, frozen=True, kw_only=True):
    """The answer: ``points`` are the points in force afterwards (the median); ``reason`` and
    ``by`` are those of the first vote (in the order given) whose result is the median;
    ``reasons`` keeps every vote's reason in that order."""

    outcome: DecisionOutcome
    points: float
    reason: str
    by: str
    reasons: tuple[str, ...]


def resulting_points(original_points: float, vote: Vote) -> float:
    """What the deduction would be worth if this vote alone decided: uphold keeps the original
    points, overturn gives 0, partial the points given (strictly between 0 and the original)."""
    if vote.outcome == "uphold":
        if vote.points is not None:
            raise InputError("an uphold vote gives no points", vote.by or None)
        return original_points
    if vote.outcome == "overturn":
        if vote.points is not None:
            raise InputError("an overturn vote gives no points", vote.by or None)
        return 0.0
    if vote.points is None or not 0 < vote.points < original_points:
        raise InputError(f"a partial overturn gives points strictly between 0 and {original_points!r}", vote.by or None)
    return vote.points


def committee_decision(original_points: float, votes: Sequence[Vote]) -> CommitteeDecision:
    """Decide an appeal from the votes of an odd-sized committee (1 vote: that vote decides).

    Rule: each vote maps to the points it would leave in force (:func:`resulting_points`:
    uphold = ``original_points``, overturn = 0, partial = the points given, strictly between
    the two). The decision is the median of those N values, well defined because N is odd,
    so it always lies in ``[0, original_points]`` and a majority for one outcome wins (more
    than half the values at the top, or at 0, pull the median there). The outcome follows
    the median: the original points -> upheld, 0 -> overturned, anything between ->
    partially_overturned at the median's points. Every reason is kept.

    An ``original_points`` of 0 (a veto is worth no points: its effect is the veto) cannot
    tell uphold from overturn by points; such an appeal takes only uphold and overturn votes
    and the majority outcome decides (the same as the median of uphold = 1, overturn = 0).

    Raises :class:`InputError` for an even or empty committee, a negative original, or a
    vote whose points do not fit its outcome.
    """
    if len(votes) % 2 == 0:
        raise InputError(f"a committee decides with an odd number of votes, not {len(votes)}")
    if not original_points >= 0:
        raise InputError(f"original points must be >= 0, not {original_points!r}")
    if original_points == 0:
        for vote in votes:
            if vote.outcome == "partial":
                raise InputError("nothing to lower: a deduction worth 0 points is upheld or overturned", vote.by or None)
        # On the scale "the deduction stands": uphold = 1, overturn = 0.
        values = [resulting_points(1.0, v) for v in votes]
    else:
        values = [resulting_points(original_points, v) for v in votes]
    median = sorted(values)[len(values) // 2]
    at = values.index(median)
    top = 1.0 if original_points == 0 else original_points
    outcome: DecisionOutcome
    if median == top:
        outcome, points = "upheld", original_points
    elif median == 0:
        outcome, points = "overturned", 0.0
    else:
        outcome, points = "partially_overturned", median
    return CommitteeDecision(outcome=outcome, points=points, reason=votes[at].reason, by=votes[at].by,
                             reasons=tuple(v.reason for v in votes))
