"""Committee decisions on appeals: the median of the votes' resulting points decides."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import CommitteeDecision, InputError, Vote, committee_decision

SETTINGS = settings(max_examples=200, derandomize=True, deadline=None)


def up(by: str = "", reason: str = "维持") -> Vote:
    return Vote(outcome="uphold", reason=reason, by=by)


def over(by: str = "", reason: str = "撤销") -> Vote:
    return Vote(outcome="overturn", reason=reason, by=by)


def part(points: float, by: str = "", reason: str = "部分撤销") -> Vote:
    return Vote(outcome="partial", points=points, reason=reason, by=by)


def test_one_vote_decides_alone():
    assert committee_decision(2.0, [up("a")]) == CommitteeDecision(outcome="upheld", points=2.0, reason="维持", by="a",
                                                                     reasons=("维持",))
    assert committee_decision(2.0, [over("a")]).outcome == "overturned"
    decided = committee_decision(2.0, [part(0.5, "a")])
    assert (decided.outcome, decided.points, decided.by) == ("partially_overturned", 0.5, "a")


def test_the_median_vote_decides_and_every_reason_is_kept():
    votes = [up("a", "证据充分"), part(1.5, "b", "情节较轻"), over("c", "照片不符"), part(0.5, "d", "酌减"), part(1.0, "e", "减半")]
    decided = committee_decision(2.0, votes)
    # Resulting points 2, 1.5, 0, 0.5, 1 -> median 1 (chief e's vote).
    assert (decided.outcome, decided.points, decided.by, decided.reason) == ("partially_overturned", 1.0, "e", "减半")
    assert decided.reasons == ("证据充分", "情节较轻", "照片不符", "酌减", "减半")
    # Two upholds and an overturn: upheld, reason of the first upholding vote.
    decided = committee_decision(2.0, [over("a"), up("b", "维持原判"), up("c", "同意")])
    assert (decided.outcome, decided.points, decided.by, decided.reason) == ("upheld", 2.0, "b", "维持原判")
    # Split three ways: the partial vote sits in the middle.
    assert committee_decision(2.0, [over(), up(), part(0.8)]).points == 0.8
    assert committee_decision(3.0, [over(), over(), part(1.0)]).outcome == "overturned"


def test_a_veto_is_decided_by_majority():
    assert committee_decision(0.0, [over(), up(), up()]).outcome == "upheld"
    assert committee_decision(0.0, [over("a"), up("b"), over("c")]).outcome == "overturned"
    with pytest.raises(InputError, match="nothing to lower"):
        committee_decision(0.0, [part(0.5), up(), up()])


@pytest.mark.parametrize("votes", [[], [up(), over()], [up(), up(), up(), up()]])
def test_the_committee_is_odd(votes):
    with pytest.raises(InputError, match="odd number"):
        committee_decision(1.0, votes)


@pytest.mark.parametrize("vote", [part(2.0), part(3.0), part(0.0), Vote(outcome="partial"),
                                  Vote(outcome="uphold", points=1.0), Vote(outcome="overturn", points=0.5)])
def test_points_must_fit_the_outcome(vote):
    with pytest.raises(InputError):
        committee_decision(2.0, [vote])


@st.composite
def committees(draw):
    original = draw(st.floats(0.001, 1000, allow_nan=False, allow_infinity=False))
    size = draw(st.sampled_from([1, 3, 5, 7, 9]))
    votes = []
    for n in range(size):
        kind = draw(st.sampled_from(["uphold", "overturn", "partial"]))
        if kind == "partial":
            points = draw(st.floats(0, original, exclude_min=True, exclude_max=True, allow_nan=False))
            if not 0 < points < original:
                kind = "uphold"
        votes.append(part(points, by=f"c{n}") if kind == "partial" else Vote(outcome=kind, by=f"c{n}"))  # type: ignore[arg-type]
    return original, votes


@SETTINGS
@given(committees())
def test_the_decision_is_bounded_and_matches_its_outcome(committee):
    original, votes = committee
    decided = committee_decision(original, votes)
    assert 0 <= decided.points <= original
    assert decided.outcome == ("upheld" if decided.points == original else "overturned" if decided.points == 0
                               else "partially_overturned")
    assert len(decided.reasons) == len(votes)
    assert decided.by in {v.by for v in votes}
    # Order of votes changes nothing but whose reason is quoted.
    assert committee_decision(original, list(reversed(votes))).points == decided.points


@SETTINGS
@given(committees())
def test_a_majority_outcome_wins(committee):
    original, votes = committee
    decided = committee_decision(original, votes)
    for outcome, expected in (("uphold", "upheld"), ("overturn", "overturned")):
        if sum(v.outcome == outcome for v in votes) > len(votes) // 2:
            assert decided.outcome == expected
    partial = [v.points for v in votes if v.outcome == "partial"]
    if len(partial) > len(votes) // 2:
        # A majority for partial overturns keeps the result among partial points.
        assert decided.outcome == "partially_overturned" and decided.points in partial
