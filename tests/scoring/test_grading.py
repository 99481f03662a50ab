"""Grade boundaries, pass and accountability lines, ranking and tie-breaking."""

from __future__ import annotations

from fractions import Fraction

import pytest

from scoring import Ranking, SchemeError, apply_grading, rank, score_scheme, score_scheme_all, shipped_scheme

INDIVIDUAL = shipped_scheme("individual_annual").grading
COMPOSITE = shipped_scheme("composite_annual").grading
BRANCH = shipped_scheme("branch_annual").grading


def grade(grading, total, vetoed=False):
    return apply_grading(grading, Fraction(str(total)), vetoed)


@pytest.mark.parametrize(
    "total, expected",
    # Seed 002: 95 % and above (含95%) excellent; 80 (含) - 95 good; 60 (含) - 80 average; below 60 poor.
    [(100, "excellent"), (95, "excellent"), (94.999, "good"), (80, "good"), (79.999, "average"),
     (60, "average"), (59.999, "poor"), (0, "poor")],
)
def test_individual_grade_boundaries(total, expected):
    assert grade(INDIVIDUAL, total).grade == expected


@pytest.mark.parametrize(
    "total, expected",
    # Seed 001 part 3: 90 (含) excellent; 80 (含) - 90 good; 70 (含) - 80 pass; below 70 fail.
    [(90, "excellent"), (89.999, "good"), (80, "good"), (79.999, "pass"), (70, "pass"), (69.999, "fail")],
)
def test_composite_grade_boundaries(total, expected):
    assert grade(COMPOSITE, total).grade == expected


@pytest.mark.parametrize(
    "total, passed, accountability, band",
    # Seed 002: 85 and above (含85) with no veto passes; below 85 fails; below 70 accountability.
    [(85, True, False, "passed"), (84.999, False, False, "not_passed"), (70, False, False, "not_passed"),
     (69.999, False, True, "accountable"), (100, True, False, "passed")],
)
def test_branch_lines(total, passed, accountability, band):
    s = grade(BRANCH, total)
    assert (s.passed, s.accountability, s.grade) == (passed, accountability, band)


def test_veto_beats_any_total():
    s = grade(BRANCH, 100, vetoed=True)
    assert (s.passed, s.grade, s.accountability) == (False, "not_passed", False)
    assert grade(INDIVIDUAL, 99, vetoed=True).grade == "poor"


def test_exclusive_band_minimum():
    from scoring import GradeBand, Grading

    g = Grading(bands=(GradeBand(code="a", name="甲", name_en="A", min=90, min_inclusive=False),
                       GradeBand(code="b", name="乙", name_en="B")))
    assert grade(g, 90).grade == "b" and grade(g, 90.001).grade == "a"


def test_competition_ranks_share_places():
    keys = [(90,), (95,), (90,), (80,)]
    assert [p.rank for p in rank(keys, [False] * 4, None)] == [2, 1, 2, 4]


def test_tie_break_keys_decide_before_sharing():
    keys = [(90, 40), (90, 45), (90, 40)]
    assert [p.rank for p in rank(keys, [False] * 3, Ranking(tie_break=("x",)))] == [2, 1, 2]


def test_top_share_commended_bottom_n_flagged():
    # Seed 001 part 2: top 30 % commended, bottom 5 lose eligibility.
    ranking = shipped_scheme("supervision_annual").ranking
    keys = [(100 - n,) for n in range(10)]
    places = rank(keys, [False] * 10, ranking)
    assert [p.commended for p in places] == [True] * 3 + [False] * 7  # floor(0.3 x 10) = 3
    assert [p.flagged for p in places] == [False] * 5 + [True] * 5
    places = rank(keys[:7], [False] * 7, ranking)  # floor(2.1) = 2
    assert sum(p.commended for p in places) == 2


def test_ties_at_a_boundary_are_all_in():
    ranking = Ranking(commend_top=2, flag_bottom=1)
    keys = [(99,), (95,), (95,), (80,), (80,)]
    places = rank(keys, [False] * 5, ranking)
    assert [p.commended for p in places] == [True, True, True, False, False]
    assert [p.flagged for p in places] == [False, False, False, True, True]


def test_vetoed_subject_keeps_its_rank_but_is_not_commended():
    ranking = Ranking(commend_top=2)
    places = rank([(99,), (95,), (90,)], [True, False, False], ranking)
    assert [p.rank for p in places] == [1, 2, 3]
    assert [p.commended for p in places] == [False, True, True]  # the quota passes down


def test_scheme_ranking_breaks_ties_on_components():
    scheme = shipped_scheme("branch_annual")
    subjects = {
        "a": {"key_work": [0.9] * 4, "routine_work": [0.8, 0.8]},
        "b": {"key_work": [0.8] * 4, "routine_work": [0.9, 0.9]},
        "c": {"key_work": [0.7] * 4, "routine_work": [0.7, 0.7]},
        "d": {"key_work": [0.95] * 4, "routine_work": [0.95, 0.95]},
    }
    results = score_scheme_all(scheme, subjects, vetoed={"d": True})
    assert [r.total for r in results] == [85, 85, 70, 95]
    assert [r.rank for r in results] == [2, 3, 4, 1]  # a before b on key work
    # d is vetoed, so the three commendations go to the three others.
    assert [r.commended for r in results] == [True, True, True, False]


def test_missing_subperiods_follow_the_component_policy():
    scheme = shipped_scheme("branch_annual")
    with pytest.raises(SchemeError, match="lacks 1 of 4"):
        score_scheme(scheme, "a", {"key_work": [0.9, 0.9, None, 0.9], "routine_work": [0.8, 0.8]})
    with pytest.raises(SchemeError, match="5 rates"):
        score_scheme(scheme, "a", {"key_work": [0.9] * 5, "routine_work": [0.8, 0.8]})
    with pytest.raises(SchemeError, match="unknown components"):
        score_scheme(scheme, "a", {"key": [0.9] * 4})
