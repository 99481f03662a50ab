"""The console's pages do what the API does, through the same services: review decisions
(one, bulk, four eyes, validation), a unit told of its deductions and appealing, a second
chief answering, scores following, the draw page; and every interface text in both languages."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api.console.i18n import TEXT, Translator
from api.console.render import NAV
from api.models_review import Appeal, Decision, Notice
from api.models_scoring import Deduction
from api.notices import NOTICE_WORKING_DAYS
from api.workdays import add_working_days, china_date
from evidence.flags import FlagCode
from sampling import seed_commitment
from tests.support.api import insert_users, login
from tests.support.console import flash, load_console_demo, post_form, sign_in

CONSOLE = Path(__file__).resolve().parents[2] / "api" / "console"


async def _deduction(db, deduction_id):
    async with db() as session:
        return await session.get(Deduction, deduction_id)


async def _decide(client, deduction_id, **fields):
    """Post a decision form; answer the page the browser lands on."""
    return await post_form(client, f"/console/review/{deduction_id}/decision", {"back": "/console/review", **fields},
                           follow=True)


@pytest.mark.db
async def test_review_decisions_one_by_one_and_in_bulk(client, db, settings):
    demo = await load_console_demo(db, settings)
    await sign_in(client, db, "chief")
    # What is at stake, explained: items against their maximum, down to the photos.
    page = (await client.get("/console/units/DG-HUMEN?period=2026-H2&basis=provisional")).text
    assert page.count('class="max"') == 6 and '<svg class="chart"' in page  # the six scored items
    score = (await client.get("/api/v1/units/DG-HUMEN/scores?period=2026-H2&basis=provisional",
                              headers=await login(client, "chief"))).json()
    assert f'data-total="{score["total"]}"' in page
    item = page[page.index(f'data-deduction="{demo.flagged}"'):]
    assert f"/console/evidence/{demo.reused}/thumbnail" in item[:item.index("</li>")]
    queue = (await client.get("/console/review")).text
    # Flagged first; the reused photo beside the earlier one it repeats; the distance to the unit.
    assert queue.index(f'id="d-{demo.flagged}"') < min(queue.index(f'id="d-{d}"') for d in demo.proposed)
    item = queue[queue.index(f'id="d-{demo.flagged}"'):]
    item = item[:item.index("</article>")]
    assert f"/console/evidence/{demo.reused}/thumbnail" in item and f"/console/evidence/{demo.original}/thumbnail" in item
    assert "照片重复使用（文件完全相同）" in item and "与此前照片相同" in item and "东莞市厚街镇" in item
    assert re.search(r'class="bad">9\d{3} m<', item), "distance to the visited unit, highlighted"
    one = (await client.get(f"/console/review/{demo.flagged}")).text
    assert f"/console/evidence/{demo.original}/thumbnail?size=1024" in one and f"/console/evidence/{demo.reused}/original" in one
    assert (await client.get(f"/console/evidence/{demo.original}/thumbnail?size=1024")).headers["content-type"] == "image/jpeg"

    # The API's validation: an adjustment needs points and a reason.
    page = await _decide(client, demo.flagged, action="adjust", reason="证据不足")
    assert flash(page)[0] == "error" and "输入有误" in flash(page)[1] and "points" in flash(page)[1]
    assert (await _deduction(db, demo.flagged)).status == "proposed"
    # Four eyes: a chief never decides a finding they logged (insp12 logged this one).
    await insert_users(db, [("insp12", "chief", None)])
    await sign_in(client, db, "insp12")
    page = await _decide(client, demo.flagged, action="confirm")
    assert flash(page)[0] == "error" and "无权操作" in flash(page)[1]
    assert (await _deduction(db, demo.flagged)).status == "proposed"

    await sign_in(client, db, "unit-humen")
    own = (await client.get("/console/units/DG-HUMEN")).text  # confirmed basis: nothing decided yet
    assert f'data-deduction="{demo.flagged}"' not in own and "/console/evidence/" not in own
    await sign_in(client, db, "chief")
    page = await _decide(client, demo.flagged, action="adjust", points="0.5", reason="照片系重复使用，酌情减半")
    assert flash(page) == ("ok", "已调整扣分。")
    row = await _deduction(db, demo.flagged)
    assert (row.status, row.adjusted_points) == ("adjusted", 0.5)
    async with db() as session:
        decision = (await session.execute(select(Decision).where(Decision.deduction_id == demo.flagged))).scalar_one()
    assert (decision.decided_by, decision.reason, decision.ledger_seq is not None) == ("chief", "照片系重复使用，酌情减半", True)
    assert f'id="d-{demo.flagged}"' not in page.text
    again = await _decide(client, demo.flagged, action="confirm")
    assert flash(again)[0] == "error" and "已处理过" in flash(again)[1]
    # Sent twice from its own page: back to the queue with the refusal, not to a 404.
    twice = await post_form(client, f"/console/review/{demo.flagged}/decision",
                            {"back": f"/console/review/{demo.flagged}", "action": "confirm"}, follow=True)
    assert twice.status_code == 200 and twice.url.path == "/console/review" and "已处理过" in flash(twice)[1]

    # In bulk: each applied or refused on its own, as POST /deductions/decisions.
    first, second, third, fourth = demo.proposed[:4]
    bulk = {"back": "/console/review", "action": "confirm", "deduction_ids": [str(first), str(second)]}
    page = await post_form(client, "/console/review/bulk", bulk, follow=True)
    assert flash(page) == ("ok", "已处理 2 条，0 条未处理。")
    refused = {"back": "/console/review", "action": "reject", "deduction_ids": [str(third), str(uuid.uuid4())], "reason": "重复扣分"}
    page = await post_form(client, "/console/review/bulk", refused, follow=True)
    assert flash(page)[0] == "error" and "已处理 1 条，1 条未处理" in flash(page)[1]
    nothing = await post_form(client, "/console/review/bulk", {"back": "/console/review", "action": "confirm"}, follow=True)
    assert flash(nothing) == ("error", "未勾选任何扣分。")
    too_many = {"back": "/console/review", "action": "confirm",
                "deduction_ids": [str(fourth)] + [str(uuid.uuid4()) for _ in range(200)]}
    page = await post_form(client, "/console/review/bulk", too_many, follow=True)
    assert flash(page) == ("error", "一次最多处理 200 条，请分批提交。")  # as the API's limit; none decided
    assert [(await _deduction(db, d)).status for d in (first, second, third, fourth)] == ["confirmed", "confirmed", "rejected", "proposed"]
    api = (await client.get("/api/v1/reviews", headers=await login(client, "chief"))).json()
    assert {i["deduction_id"] for i in api["items"]} == {str(d) for d in demo.proposed[3:]} | {
        str(d) for d in await _field_deductions(db) if d != demo.flagged}


async def _field_deductions(db):
    async with db() as session:
        return set((await session.execute(select(Deduction.id).where(Deduction.finding_id.is_not(None)))).scalars())


@pytest.mark.db
async def test_a_unit_is_told_appeals_and_another_chief_answers(client, db, settings):
    demo = await load_console_demo(db, settings)
    chief = await login(client, "chief")
    before = await _humen_total(client, chief)
    await sign_in(client, db, "chief")
    await _decide(client, demo.flagged, action="adjust", points="0.5", reason="照片系重复使用，酌情减半")
    after_review = await _humen_total(client, chief)
    assert after_review == before - 0.5  # the confirmed leaderboard counts the adjusted points
    # Its photos open to its unit now, not to another.
    await sign_in(client, db, "unit-changan")
    assert (await client.get(f"/console/evidence/{demo.reused}/thumbnail")).status_code == 404
    await sign_in(client, db, "unit-humen")
    assert (await client.get(f"/console/evidence/{demo.reused}/thumbnail")).status_code == 200
    # The unit sees that its photo is flagged as reused, not which other visit's photo it repeats.
    flags = {role: (await client.get(f"/api/v1/evidence/{demo.reused}", headers=await login(client, name))).json()["flags"]
             for role, name in (("chief", "chief"), ("unit", "unit-humen"))}
    reused = [f for f in flags["chief"] if f["code"] == "reused_exact"]
    assert reused and reused[0]["evidence_ids"] == [str(demo.original)]
    assert [f["code"] for f in flags["unit"]] == [f["code"] for f in flags["chief"]]
    assert all(f["evidence_ids"] == [] for f in flags["unit"])

    mine = (await client.get("/console/my")).text
    card = mine[mine.index(f'data-deduction="{demo.flagged}"'):]
    assert "照片系重复使用，酌情减半" in card and 'data-points="0.5"' in card and "巡查发现问题未处理" in card
    async with db() as session:
        notice = await session.get(Notice, demo.flagged)
    assert notice.notified_by == "unit-humen" and notice.notified_at is not None  # reading it is the notice
    due = add_working_days(china_date(notice.decided_at), NOTICE_WORKING_DAYS, settings.holiday_dates)
    assert f"<dd data-notify-by>{due.isoformat()}</dd>" in card
    # The appeal, with a photo the unit may cite; once only; never by another unit.
    body = {"text": "该店已整改，分局巡查记录属实。", "evidence_ids": str(demo.reused)}
    page = await post_form(client, f"/console/my/deductions/{demo.flagged}/appeal", body, follow=True)
    assert flash(page) == ("ok", "复议申请已提交。") and 'data-appeal-status="open"' in page.text
    twice = await post_form(client, f"/console/my/deductions/{demo.flagged}/appeal", body, follow=True)
    assert flash(twice)[0] == "error" and "已存在" in flash(twice)[1]
    await sign_in(client, db, "unit-changan")
    other = await post_form(client, f"/console/my/deductions/{demo.flagged}/appeal", {"text": "代为申请"}, follow=True)
    assert flash(other)[0] == "error" and "不存在" in flash(other)[1]
    async with db() as session:
        appeal = (await session.execute(select(Appeal))).scalar_one()
    assert (appeal.filed_by, appeal.evidence_ids) == ("unit-humen", [str(demo.reused)])

    # The chief who decided may not answer; another chief does, and the scores follow.
    answer = {"outcome": "partial", "points": "0.25", "reason": "整改属实，但巡查记录有误"}
    await sign_in(client, db, "chief")
    page = await post_form(client, f"/console/appeals/{appeal.id}/decision", answer, follow=True)
    assert flash(page)[0] == "error" and "无权操作" in flash(page)[1]
    await sign_in(client, db, "chief2")
    listed = (await client.get("/console/appeals")).text
    assert "该店已整改，分局巡查记录属实。" in listed and f"/console/evidence/{demo.original}/thumbnail" in listed
    page = await post_form(client, f"/console/appeals/{appeal.id}/decision", answer, follow=True)
    assert flash(page) == ("ok", "已答复复议。")
    assert (await _deduction(db, demo.flagged)).adjusted_points == 0.25
    assert await _humen_total(client, chief) == before - 0.25
    board = (await client.get("/console/leaderboard")).text
    assert f'data-total="{before - 0.25}"' in board[board.index('data-unit="DG-HUMEN"'):]
    # A grade reads as its band's name, as on the exported leaderboard, not as its code.
    api_board = (await client.get("/api/v1/leaderboard?period=2026-H2&limit=100", headers=chief)).json()
    codes = {r["grade"] for r in api_board["items"] if r["grade"]}
    assert codes and not any(f"<td>{code}</td>" in board for code in codes)
    humen = (await client.get("/console/units/DG-HUMEN")).text
    assert "<dd>passed</dd>" not in humen and "<dd>not_passed</dd>" not in humen
    await sign_in(client, db, "unit-humen")
    mine = (await client.get("/console/lang/en?next=/console/my", follow_redirects=True)).text
    assert "Deductions standing against us" in mine and "partially overturned" in mine and "整改属实，但巡查记录有误" in mine


async def _humen_total(client, headers):
    board = (await client.get("/api/v1/leaderboard?period=2026-H2&limit=100", headers=headers)).json()
    return next(r["total"] for r in board["items"] if r["unit_code"] == "DG-HUMEN")


@pytest.mark.db
async def test_overdue_appeals_come_first(client, db, settings):
    demo = await load_console_demo(db, settings)
    chief = await login(client, "chief")
    async with db() as session:
        changan = (await session.execute(select(Deduction.id).where(Deduction.unit_code == "DG-CHANGAN",
                                                                    Deduction.finding_id.is_not(None)))).scalar_one()
    for deduction in (demo.flagged, changan):
        r = await client.post(f"/api/v1/deductions/{deduction}/decision", json={"action": "confirm"}, headers=chief)
        assert r.status_code == 200
    for unit, deduction in (("unit-humen", demo.flagged), ("unit-changan", changan)):
        await sign_in(client, db, unit)
        await client.get("/console/my")
        page = await post_form(client, f"/console/my/deductions/{deduction}/appeal", {"text": "申请复议"}, follow=True)
        assert flash(page)[0] == "ok"
    async with db() as session:  # the later appeal's answer date passes (as if days went by)
        earlier = (await session.execute(select(Appeal).where(Appeal.deduction_id == demo.flagged))).scalar_one()
        later = (await session.execute(select(Appeal).where(Appeal.deduction_id == changan))).scalar_one()
        later.answer_by = china_date(later.filed_at) - timedelta(days=1)
        await session.commit()
    await sign_in(client, db, "chief2")
    page = (await client.get("/console/appeals")).text
    assert earlier.filed_at < later.filed_at
    assert page.index(f'id="a-{later.id}"') < page.index(f'id="a-{earlier.id}"')
    overdue = page[page.index(f'id="a-{later.id}"'):page.index(f'id="a-{earlier.id}"')]
    assert "已逾期" in overdue and 'class="card appeal overdue"' in page


@pytest.mark.db
async def test_draw_page_runs_and_verifies_a_committed_draw(client, db, settings):
    await load_console_demo(db, settings)
    chief = await login(client, "chief")
    commitment = seed_commitment("467913")
    params = {"units": {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 3}]},
              "case_files": {"per_unit": {"size": 2}}, "assignment": {"task_kinds": ["file_review"], "team_size": 2}}
    plan = (await client.post("/api/v1/plans", json={"name": "案卷评查（测试）", "params": params, "due_from": "2026-12-01",
                                                     "due_to": "2026-12-20", "seed_commitment": commitment},
                              headers=chief)).json()
    await sign_in(client, db, "admin")
    page = (await client.get(f"/console/plans/{plan['id']}")).text
    assert commitment in page and "尚未抽取" in page and 'name="seed"' in page
    wrong = await post_form(client, f"/console/plans/{plan['id']}/draw", {"seed": "111111"}, follow=True)
    assert flash(wrong)[0] == "error" and "种子与公布的承诺不符" in flash(wrong)[1]
    drawn = await post_form(client, f"/console/plans/{plan['id']}/draw", {"seed": "467913"}, follow=True)
    assert flash(drawn) == ("ok", "已完成抽取，生成 3 项任务。")
    tasks = (await client.get(f"/api/v1/tasks?plan_id={plan['id']}", headers=chief)).json()["items"]
    for task in tasks:  # the task list with its teams (names from the roster) and case files
        assert task["unit_name"] in drawn.text and all(f"<span class=\"muted\">{u}</span>" in drawn.text for u in task["team"])
        assert all(f in drawn.text for f in task["case_files"])
    assert "@media print" in (await client.get("/console/static/console.css")).text
    verified = await post_form(client, f"/console/plans/{plan['id']}/verify", {}, follow=True)
    assert flash(verified) == ("ok", "复核通过：按记录的输入重算结果一致。")
    again = await post_form(client, f"/console/plans/{plan['id']}/draw", {"seed": "467913"}, follow=True)
    assert flash(again)[0] == "error" and "计划已抽取" in flash(again)[1]


def test_every_interface_text_is_in_both_languages():
    used = set()
    for path in CONSOLE.glob("templates/*.html"):
        used |= set(re.findall(r"""\bt\(\s*['"]([a-z_]+\.[a-z_.0-9]+)['"]""", path.read_text(encoding="utf-8")))
    prefixes = {key.split(".")[0] for key in TEXT}
    for path in CONSOLE.glob("*.py"):  # keys handed to t() or to the message helpers
        found = re.findall(r"""['"]([a-z_]+\.[a-z_.0-9]+)['"]""", path.read_text(encoding="utf-8"))
        used |= {k for k in found if k.split(".")[0] in prefixes and not k.endswith(".html")}
    used |= {label for label, _, _ in NAV}
    dynamic = {
        "role": ["admin", "chief", "inspector", "unit"], "flag": [f.value for f in FlagCode],
        "status": ["proposed", "confirmed", "adjusted", "rejected", "open", "upheld", "overturned", "partial",
                   "assigned", "in_progress", "submitted", "reviewed", "draft", "drawn"],
        "period": ["open", "locked", "published"], "effect": ["deduct", "add", "veto"],
        "kind": ["field_visit", "file_review", "callback"], "warning": ["watch", "warning", "serious_warning"],
        "action": ["confirm", "adjust", "reject"], "basis": ["confirmed", "provisional"], "score": ["bonus", "penalty"],
        "review.done": ["confirmed", "adjusted", "rejected"], "outcome": ["uphold", "overturn", "partial"],
        "error": ["403", "404"],
    }
    used |= {f"{prefix}.{value}" for prefix, values in dynamic.items() for value in values}
    missing = sorted(k for k in used if k not in TEXT)
    assert not missing, missing
    assert all(zh.strip() and en.strip() for zh, en in TEXT.values())
    assert Translator("fr").language == "zh-CN" and Translator("en")("review.count", n=3) == "3 waiting"


@pytest.mark.db
async def test_a_plan_of_a_locked_period_is_not_drawn_in_the_console_either(client, db, settings):
    await load_console_demo(db, settings)
    chief = await login(client, "chief")
    period = (await client.get("/api/v1/periods", headers=chief)).json()["items"][0]["code"]
    params = {"units": {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 1}]},
              "assignment": {"task_kinds": ["file_review"], "team_size": 2}}
    plan = (await client.post("/api/v1/plans", json={"name": "锁定后抽取", "params": params, "period": period,
                                                     "due_from": "2026-12-01", "due_to": "2026-12-20"}, headers=chief)).json()
    locked = await client.post(f"/api/v1/periods/{period}/lock", headers=chief)
    assert locked.status_code == 200, locked.text
    await sign_in(client, db, "admin")
    refused = await post_form(client, f"/console/plans/{plan['id']}/draw", {"seed": "2718"}, follow=True)
    assert flash(refused)[0] == "error"
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=chief)).json()["status"] == "draft"
