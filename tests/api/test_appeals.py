"""Appeals: filed by the unit within the window, answered by another chief or voted on by a
committee of chiefs, the deduction and the scores follow the outcome, unanswered ones are
overdue, every step is in the ledger."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.models_review import Appeal, AppealVote, Notice
from api.models_scoring import Deduction
from api.settings import Settings
from tests.support.api import add_user, assert_error, login
from tests.support.console import flash, load_console_demo, post_form, sign_in
from tests.support.evidence import evidence_settings, photo, upload
from tests.support.field import DEMO_PERIOD, field_setup, finding_body, submit
from tests.support.scoring import insert_deduction

VISIT_RULE = "inspection.window_conduct"


@pytest.fixture
def committee_size() -> int:
    return 1


@pytest.fixture
def settings(database_url: str, tmp_path: Path, committee_size: int) -> Settings:
    return evidence_settings(database_url, tmp_path, appeal_window_days=5, appeal_answer_days=10,
                             appeal_committee_size=committee_size)


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


async def _standing(db, client, field, count=1):
    """``count`` confirmed deductions (with a photo) against an office, and that office's account."""
    task = field.task("field_visit")
    filed = await upload(client, field.member(task), photo(5), task_id=task["id"])
    ids = []
    for _ in range(count):
        body = finding_body(task, VISIT_RULE, evidence_ids=[filed.json()["id"]])
        ids.append((await client.post("/api/v1/findings", json=body, headers=field.member(task))).json()["deduction_id"])
    await submit(client, field, task)
    for deduction_id in ids:
        r = await client.post(f"/api/v1/deductions/{deduction_id}/decision", json={"action": "confirm"}, headers=field.chief)
        assert r.status_code == 200, r.text
    await add_user(db, "own", "unit", task["unit_code"])
    await add_user(db, "chief2", "chief")
    return task, ids, filed.json()["id"], await login(client, "own"), await login(client, "chief2")


async def test_appeal_is_answered_and_the_deduction_follows(db, client, field):
    task, (overturn, partial, uphold), photo_id, unit, chief2 = await _standing(db, client, field, 3)
    appeals = {}
    for deduction_id in (overturn, partial, uphold):
        r = await client.post(f"/api/v1/deductions/{deduction_id}/appeals",
                              json={"text": "当日窗口有人值守，见照片", "evidence_ids": [photo_id]}, headers=unit)
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["filed_by"], r.json()["evidence_ids"]) == ("open", "own", [photo_id])
        appeals[deduction_id] = r.json()["id"]
    assert_error(await client.post(f"/api/v1/deductions/{uphold}/appeals", json={"text": "再次"}, headers=unit),
                 409, "ALREADY_EXISTS")
    decide = lambda appeal_id, headers, **body: client.post(f"/api/v1/appeals/{appeal_id}/decision", json=body, headers=headers)  # noqa: E731
    # The chief who confirmed the deductions may not judge the appeals against them.
    assert_error(await decide(appeals[uphold], field.chief, outcome="uphold", reason="维持"), 403, "FORBIDDEN")
    assert_error(await decide(appeals[uphold], chief2, outcome="uphold"), 422, "VALIDATION_ERROR")
    assert_error(await decide(appeals[partial], chief2, outcome="partial", reason="部分"), 422, "VALIDATION_ERROR")
    assert_error(await decide(appeals[uphold], chief2, outcome="uphold", points=1, reason="x"), 422, "VALIDATION_ERROR")
    assert_error(await decide(uuid.uuid4(), chief2, outcome="uphold", reason="x"), 404, "NOT_FOUND")
    results = {
        overturn: await decide(appeals[overturn], chief2, outcome="overturn", reason="照片证明有人值守"),
        partial: await decide(appeals[partial], chief2, outcome="partial", points=0.5, reason="情节较轻"),
        uphold: await decide(appeals[uphold], chief2, outcome="uphold", reason="证据充分"),
    }
    assert {k: (r.status_code, r.json()["status"]) for k, r in results.items()} == {
        overturn: (200, "overturned"), partial: (200, "partial"), uphold: (200, "upheld")}
    assert results[partial].json()["decided_by"] == "chief2" and results[partial].json()["points"] == 0.5
    assert_error(await decide(appeals[uphold], chief2, outcome="overturn", reason="改"), 409, "ALREADY_DECIDED")
    async with db() as session:
        rows = {str(d.id): (d.status, d.adjusted_points) for d in (await session.execute(select(Deduction))).scalars()}
    assert (rows[overturn], rows[partial], rows[uphold]) == (("rejected", None), ("adjusted", 0.5), ("confirmed", None))
    # The unit sees each answer where it saw the deduction, the overturned one included (0 points).
    mine = {i["deduction_id"]: (i["status"], i["rule_points"], i["points"], i["appeal"]["status"], i["appeal"]["reason"],
                                i["appeal"]["points"], i["appeal"]["appeal_id"])
            for i in (await client.get("/api/v1/me/deductions", headers=unit)).json()["items"]}
    assert mine == {overturn: ("rejected", 1, 0, "overturned", "照片证明有人值守", None, appeals[overturn]),
                    partial: ("adjusted", 1, 0.5, "partial", "情节较轻", 0.5, appeals[partial]),
                    uphold: ("confirmed", 1, 1, "upheld", "证据充分", None, appeals[uphold])}
    # The ledger holds each filing and each answer, and still verifies.
    entries = [(await client.get(f"/api/v1/ledger/entries/{seq}", headers=field.chief)).json() for seq in range(0, 40)]
    types = [e.get("type") for e in entries if "type" in e]
    assert types.count("appeal.filed") == 3 and types.count("appeal.decided") == 3
    assert (await client.get("/api/v1/ledger/verify", headers=field.chief)).json()["ok"] is True
    listed = (await client.get("/api/v1/appeals?status=partial", headers=unit)).json()
    assert [a["deduction_id"] for a in listed["items"]] == [partial]


async def test_window_overdue_and_who_may_do_what(db, client, field):
    task, (first, second), photo_id, unit, chief2 = await _standing(db, client, field, 2)
    other_code = next(t["unit_code"] for t in field.tasks if t["unit_code"] != task["unit_code"])
    await add_user(db, "other", "unit", other_code)
    other = await login(client, "other")
    assert_error(await client.post(f"/api/v1/deductions/{first}/appeals", json={"text": "不服"}, headers=other), 404)
    for headers in (field.chief, field.member(task)):
        assert_error(await client.post(f"/api/v1/deductions/{first}/appeals", json={"text": "不服"}, headers=headers), 403)
    bad = [{"text": ""}, {"text": "x" * 2001}, {"text": "a\x00"}, {"text": "x", "evidence_ids": [str(uuid.uuid4())]}, {"x": 1}]
    for body in bad:
        assert_error(await client.post(f"/api/v1/deductions/{first}/appeals", json=body, headers=unit), 422)
    # The window: 5 working days from the decision.
    async with db() as session:
        await session.execute(update(Notice).where(Notice.deduction_id == uuid.UUID(second))
                              .values(decided_at=datetime.now(timezone.utc) - timedelta(days=14)))
        await session.commit()
    assert_error(await client.post(f"/api/v1/deductions/{second}/appeals", json={"text": "迟了"}, headers=unit),
                 409, "APPEAL_WINDOW_CLOSED")
    filed = await client.post(f"/api/v1/deductions/{first}/appeals", json={"text": "不服"}, headers=unit)
    assert filed.status_code == 201, filed.text
    appeal_id = filed.json()["id"]
    assert (await client.get("/api/v1/appeals?overdue=true", headers=field.chief)).json()["total"] == 0
    async with db() as session:
        await session.execute(update(Appeal).values(answer_by=date.today() - timedelta(days=1)))
        await session.commit()
    overdue = (await client.get("/api/v1/appeals?overdue=true", headers=field.chief)).json()
    assert [a["id"] for a in overdue["items"]] == [appeal_id]
    assert (await client.get("/api/v1/appeals", headers=other)).json()["total"] == 0
    assert (await client.get("/api/v1/appeals", headers=unit)).json()["total"] == 1
    assert_error(await client.get("/api/v1/appeals", headers=field.member(task)), 403)
    for headers in (unit, field.member(task)):
        r = await client.post(f"/api/v1/appeals/{appeal_id}/decision", json={"outcome": "uphold", "reason": "x"}, headers=headers)
        assert_error(r, 403, "FORBIDDEN")
    # A period does not lock while an appeal is unanswered: the answer would change its scores.
    refused = assert_error(await client.post("/api/v1/periods/2026-H2/lock", headers=field.chief), 409, "APPEALS_OPEN")
    assert refused["details"]["open_appeals"] == 1
    answered = await client.post(f"/api/v1/appeals/{appeal_id}/decision", json={"outcome": "uphold", "reason": "维持"}, headers=chief2)
    assert answered.status_code == 200, answered.text
    assert (await client.post("/api/v1/periods/2026-H2/lock", headers=field.chief)).status_code == 200
    # An appeal filed once the period is locked waits for a reopening: no answer changes a locked period.
    async with db() as session:
        await session.execute(update(Notice).where(Notice.deduction_id == uuid.UUID(second))
                              .values(decided_at=datetime.now(timezone.utc)))
        await session.commit()
    late = await client.post(f"/api/v1/deductions/{second}/appeals", json={"text": "锁定后申请复议"}, headers=unit)
    assert late.status_code == 201, late.text
    r = await client.post(f"/api/v1/appeals/{late.json()['id']}/decision", json={"outcome": "overturn", "reason": "x"}, headers=chief2)
    assert_error(r, 409, "PERIOD_LOCKED")
    assert (await client.get("/api/v1/appeals?status=open", headers=field.chief)).json()["total"] == 1


async def _ledger_entries(client, chief):
    entries = [(await client.get(f"/api/v1/ledger/entries/{seq}", headers=chief)).json() for seq in range(0, 40)]
    return [e for e in entries if "type" in e]


@pytest.mark.parametrize("committee_size", [3])
async def test_a_committee_votes_and_the_median_decides(db, client, field):
    task, (partial, overturn), photo_id, unit, chief2 = await _standing(db, client, field, 2)
    for name in ("chief3", "chief4", "chief5"):
        await add_user(db, name, "chief")
    chief3, chief4, chief5 = [await login(client, n) for n in ("chief3", "chief4", "chief5")]
    filed = {}
    for deduction_id in (partial, overturn):
        r = await client.post(f"/api/v1/deductions/{deduction_id}/appeals", json={"text": "不服"}, headers=unit)
        assert r.status_code == 201, r.text
        assert (r.json()["committee_size"], r.json()["votes"]) == (3, [])
        filed[deduction_id] = r.json()["id"]
    vote = lambda deduction_id, headers, **body: client.post(  # noqa: E731
        f"/api/v1/appeals/{filed[deduction_id]}/decision", json=body, headers=headers)

    # The first vote leaves the appeal open and shows itself; nobody votes twice.
    first = await vote(partial, chief2, outcome="uphold", reason="证据充分")
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["decided_by"], first.json()["reason"]) == ("open", None, None)
    assert [(v["voted_by"], v["outcome"], v["points"], v["reason"]) for v in first.json()["votes"]] == \
        [("chief2", "uphold", None, "证据充分")]
    assert_error(await vote(partial, chief2, outcome="overturn", reason="改主意"), 409, "ALREADY_EXISTS")
    assert_error(await vote(partial, field.chief, outcome="overturn", reason="x"), 403, "FORBIDDEN")
    assert_error(await vote(partial, chief3, outcome="partial", points=1, reason="x"), 422, "VALIDATION_ERROR")
    assert_error(await vote(partial, chief3, outcome="partial", points=3, reason="x"), 422, "VALIDATION_ERROR")
    # An appeal with votes but no decision is still open, and overdue once past its date.
    async with db() as session:
        await session.execute(update(Appeal).values(answer_by=date.today() - timedelta(days=1)))
        await session.commit()
    overdue = (await client.get("/api/v1/appeals?overdue=true", headers=field.chief)).json()
    assert {a["id"]: len(a["votes"]) for a in overdue["items"]} == {filed[partial]: 1, filed[overturn]: 0}
    # The unit does not see how the chiefs lean while they deliberate.
    assert [a["votes"] for a in (await client.get("/api/v1/appeals", headers=unit)).json()["items"]] == [[], []]

    second = await vote(partial, chief3, outcome="partial", points=0.5, reason="情节较轻")
    assert second.json()["status"] == "open" and len(second.json()["votes"]) == 2
    third = await vote(partial, chief4, outcome="overturn", reason="照片不足")
    # Resulting points 1, 0.5, 0: the median is chief3's partial overturn.
    assert third.status_code == 200, third.text
    decided = third.json()
    assert (decided["status"], decided["points"], decided["decided_by"], decided["reason"]) == \
        ("partial", 0.5, "chief3", "情节较轻")
    assert [v["voted_by"] for v in decided["votes"]] == ["chief2", "chief3", "chief4"]
    assert_error(await vote(partial, chief5, outcome="uphold", reason="迟到"), 409, "ALREADY_DECIDED")

    # A majority is not a decision until every member has voted.
    for headers in (chief2, chief3):
        assert (await vote(overturn, headers, outcome="overturn", reason="撤销")).json()["status"] == "open"
    assert (await vote(overturn, chief5, outcome="uphold", reason="维持")).json()["status"] == "overturned"

    async with db() as session:
        rows = {str(d.id): (d.status, d.adjusted_points) for d in (await session.execute(select(Deduction))).scalars()}
        assert (await session.execute(select(AppealVote))).scalars().all().__len__() == 6
    assert (rows[partial], rows[overturn]) == (("adjusted", 0.5), ("rejected", None))
    mine = (await client.get("/api/v1/appeals?status=partial", headers=unit)).json()["items"]
    assert [len(a["votes"]) for a in mine] == [3]
    # Each vote is audited; the decision goes to the ledger once, with the committee's votes.
    log = (await client.get(f"/api/v1/audit?object_id={filed[partial]}", headers=field.chief)).json()["items"]
    assert [(e["actor"], e["action"]) for e in log] == [
        ("own", "appeal.filed"), ("chief2", "appeal.vote"), ("chief3", "appeal.vote"), ("chief4", "appeal.vote"),
        ("chief4", "appeal.partial")]
    assert log[-1]["after"]["decided_by"] == "chief3" and log[2]["after"] == {
        "votes": 2, "of": 3, "outcome": "partial", "points": 0.5, "reason": "情节较轻"}
    decisions = [e for e in await _ledger_entries(client, field.chief) if e["type"] == "appeal.decided"]
    assert len(decisions) == 2
    payload = next(e["data"] for e in decisions if e["data"]["appeal_id"] == filed[partial])
    assert (payload["outcome"], payload["points"], payload["decided_by"]) == ("partial", "0.5", "chief3")
    assert [(payload[f"vote_{n}_by"], payload[f"vote_{n}_outcome"], payload[f"vote_{n}_points"], payload[f"vote_{n}_reason"])
            for n in (1, 2, 3)] == [("chief2", "uphold", None, "证据充分"), ("chief3", "partial", "0.5", "情节较轻"),
                                    ("chief4", "overturn", None, "照片不足")]
    assert payload["committee_size"] == 3 and "vote_4_by" not in payload
    assert (await client.get("/api/v1/ledger/verify", headers=field.chief)).json()["ok"] is True


@pytest.mark.parametrize("committee_size", [3])
async def test_who_may_sit_on_the_committee(db, client, field):
    """Four eyes: neither the chief who decided the deduction nor the one who proposed it votes."""
    task, _, _, unit, chief2 = await _standing(db, client, field, 1)
    await add_user(db, "chief3", "chief")
    chief3 = await login(client, "chief3")
    deduction_id = await insert_deduction(db, "2026-H2", task["unit_code"], VISIT_RULE)
    async with db() as session:
        await session.execute(update(Deduction).where(Deduction.id == uuid.UUID(deduction_id)).values(created_by="chief3"))
        await session.commit()
    r = await client.post(f"/api/v1/deductions/{deduction_id}/decision", json={"action": "confirm"}, headers=chief2)
    assert r.status_code == 200, r.text
    appeal = (await client.post(f"/api/v1/deductions/{deduction_id}/appeals", json={"text": "不服"}, headers=unit)).json()
    for headers in (chief2, chief3):
        r = await client.post(f"/api/v1/appeals/{appeal['id']}/decision", json={"outcome": "uphold", "reason": "x"},
                              headers=headers)
        assert_error(r, 403, "FORBIDDEN")
    r = await client.post(f"/api/v1/appeals/{appeal['id']}/decision", json={"outcome": "uphold", "reason": "x"},
                          headers=field.chief)
    assert r.status_code == 200 and r.json()["status"] == "open"
    for headers in (unit, field.member(task)):
        r = await client.post(f"/api/v1/appeals/{appeal['id']}/decision", json={"outcome": "uphold", "reason": "x"},
                              headers=headers)
        assert_error(r, 403, "FORBIDDEN")
    assert_error(await client.post(f"/api/v1/appeals/{appeal['id']}/decision", json={"outcome": "uphold", "reason": "x"}), 401)


@pytest.mark.parametrize("committee_size", [3])
async def test_an_appeal_filed_in_the_console_gets_the_committee_in_force(client, db, settings):
    demo = await load_console_demo(db, settings)
    await sign_in(client, db, "chief")
    decided = await post_form(client, f"/console/review/{demo.flagged}/decision",
                              {"back": "/console/review", "action": "confirm", "reason": "照片属实"}, follow=True)
    assert flash(decided)[0] == "ok"
    await sign_in(client, db, "unit-humen")
    page = await post_form(client, f"/console/my/deductions/{demo.flagged}/appeal", {"text": "申请复议"}, follow=True)
    assert flash(page)[0] == "ok"
    async with db() as session:
        appeal = (await session.execute(select(Appeal))).scalar_one()
    assert appeal.committee_size == 3  # three chiefs' votes decide it, as through the API


async def test_bonus_points_are_not_appealed(db, client, field):
    task, (deduction_id,), _photo, unit, _chief2 = await _standing(db, client, field)
    async with db() as session:  # a bonus (加分) stands for the unit: an answer could only take it away
        await session.execute(update(Deduction).where(Deduction.id == uuid.UUID(deduction_id)).values(effect="add"))
        await session.commit()
    body = assert_error(await client.post(f"/api/v1/deductions/{deduction_id}/appeals", json={"text": "加分太少"},
                                          headers=unit), 409, "NOT_APPEALABLE")
    assert body["details"] == {"deduction_id": deduction_id, "effect": "add"}
    async with db() as session:
        assert (await session.execute(select(Appeal))).first() is None


async def test_an_appeal_filed_after_the_lock_keeps_the_period_unpublished(db, client, field):
    task, (deduction_id,), _photo, unit, chief2 = await _standing(db, client, field)
    assert (await client.post(f"/api/v1/periods/{DEMO_PERIOD}/lock", headers=field.chief)).status_code == 200
    # The window is still open: the unit may appeal, and the answer must wait for a reopening.
    filed = await client.post(f"/api/v1/deductions/{deduction_id}/appeals", json={"text": "不服"}, headers=unit)
    assert filed.status_code == 201
    answer = {"outcome": "overturn", "reason": "撤销"}
    assert_error(await client.post(f"/api/v1/appeals/{filed.json()['id']}/decision", json=answer, headers=chief2),
                 409, "PERIOD_LOCKED")
    body = assert_error(await client.post(f"/api/v1/periods/{DEMO_PERIOD}/publish", headers=field.chief), 409, "APPEALS_OPEN")
    assert body["details"] == {"period": DEMO_PERIOD, "open_appeals": 1}
    period = (await client.get(f"/api/v1/periods/{DEMO_PERIOD}", headers=field.chief)).json()
    assert period["status"] == "locked"
