"""Deterministic synthetic demo data for one bureau: 东莞市市场监督管理局.

``generate(seed)`` returns a ``DemoRegistry`` with three lists of plain, JSON-compatible dicts:

- ``units``: the bureau root ``DG``, its 33 branch offices (分局, one per street/town and
  Songshan Lake) and about 600 regulated entities (市场主体) under them;
- ``case_files``: about 3,600 closed case files (案卷) of the branch offices, the registry a
  case-file spot check samples from;
- ``inspectors``: the 40-person inspector roster (检查人员名录库).

Codes are ASCII and stable: offices are ``DG-<TOWN PINYIN>`` (``DG-HUMEN``), entities
``<office code>-<nnn>`` (``DG-HUMEN-007``), grids ``G01``..``G73`` (the brief's 73-grid city),
inspectors ``insp01``..``insp40``. Case-file codes are Chinese document numbers such as
``虎门市监罚〔2025〕12号``, unique across the registry.

Only ``random.Random(seed)`` and exact float arithmetic (+, -, *, /, ``round``) are used, never
trigonometry from the platform's libm nor iteration over sets of strings, so the output is
bit-identical on every machine, Python 3.11+ and any ``PYTHONHASHSEED``.

The supervised-entity counts behind office tiers are illustrative, scaled so the seed's tier
thresholds (tier 1 >= 30,000 ... tier 5 < 5,000) give a spread; they are not official figures.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import msgspec

__all__ = [
    "CASE_TYPES",
    "CREDIT_LEVELS",
    "DEFAULT_SEED",
    "DEMO_UNIT_ACCOUNT_UNIT",
    "QUALIFICATIONS",
    "RISK_CLASSES",
    "DemoRegistry",
    "generate",
]

DEFAULT_SEED = 20101  # Dongguan 2010 catalog: the year the seeds' figures come from.
ROOT_CODE = "DG"
DEMO_UNIT_ACCOUNT_UNIT = "DG-HUMEN"  # 虎门分局: big, tier 1, many files -> a lively demo.

RISK_CLASSES = ("I", "II", "III")  # key monitoring / pre-approval / general
CREDIT_LEVELS = ("A", "B", "C", "D")  # trustworthy ... seriously untrustworthy
CASE_TYPES = ("registration", "enforcement", "complaint", "other")
QUALIFICATIONS = ("field_visit", "file_review")

# (town, code suffix, 片区, supervised entities, grids owned, lat, lon of the town centre).
# Grid counts sum to 73 and grow with office size, so big towns own several grids.
_OFFICES: tuple[tuple[str, str, str, int, int, float, float], ...] = (
    ("莞城", "GUANCHENG", "城区片区", 15200, 2, 23.043400, 113.751300),
    ("南城", "NANCHENG", "城区片区", 34800, 4, 23.018900, 113.745000),
    ("东城", "DONGCHENG", "城区片区", 38600, 4, 23.030000, 113.785000),
    ("万江", "WANJIANG", "城区片区", 18300, 2, 23.043100, 113.716300),
    ("石碣", "SHIJIE", "水乡片区", 13100, 2, 23.098500, 113.782700),
    ("石龙", "SHILONG", "松山湖片区", 9200, 1, 23.107400, 113.876700),
    ("茶山", "CHASHAN", "松山湖片区", 11400, 2, 23.068000, 113.870000),
    ("石排", "SHIPAI", "埔田片区", 8100, 1, 23.086000, 113.923000),
    ("企石", "QISHI", "埔田片区", 7600, 1, 23.069000, 114.027000),
    ("横沥", "HENGLI", "埔田片区", 12200, 2, 23.025000, 113.968000),
    ("桥头", "QIAOTOU", "埔田片区", 8600, 1, 23.015000, 114.095000),
    ("谢岗", "XIEGANG", "埔田片区", 6100, 1, 22.960000, 114.140000),
    ("东坑", "DONGKENG", "埔田片区", 9600, 1, 22.995000, 113.940000),
    ("常平", "CHANGPING", "埔田片区", 36200, 4, 22.975000, 114.030000),
    ("寮步", "LIAOBU", "松山湖片区", 26300, 3, 22.996000, 113.858000),
    ("樟木头", "ZHANGMUTOU", "东南临深片区", 14100, 2, 22.914000, 114.066000),
    ("大朗", "DALANG", "松山湖片区", 27400, 3, 22.942000, 113.923000),
    ("黄江", "HUANGJIANG", "东南临深片区", 16500, 2, 22.882000, 113.996000),
    ("清溪", "QINGXI", "东南临深片区", 21200, 3, 22.845000, 114.165000),
    ("塘厦", "TANGXIA", "东南临深片区", 30600, 4, 22.800000, 114.075000),
    ("凤岗", "FENGGANG", "东南临深片区", 24100, 3, 22.744000, 114.141000),
    ("大岭山", "DALINGSHAN", "松山湖片区", 19400, 2, 22.899000, 113.842000),
    ("长安", "CHANGAN", "滨海片区", 48300, 5, 22.816000, 113.805000),
    ("虎门", "HUMEN", "滨海片区", 52600, 5, 22.815000, 113.673500),
    ("厚街", "HOUJIE", "滨海片区", 31400, 4, 22.940000, 113.673000),
    ("沙田", "SHATIAN", "滨海片区", 8000, 1, 22.918000, 113.613000),
    ("道滘", "DAOJIAO", "水乡片区", 6600, 1, 23.005000, 113.672000),
    ("洪梅", "HONGMEI", "水乡片区", 3200, 1, 23.001000, 113.614000),
    ("麻涌", "MACHONG", "水乡片区", 7100, 1, 23.045000, 113.585000),
    ("望牛墩", "WANGNIUDUN", "水乡片区", 4200, 1, 23.055000, 113.656000),
    ("中堂", "ZHONGTANG", "水乡片区", 8800, 1, 23.093000, 113.655000),
    ("高埗", "GAOBU", "水乡片区", 10500, 2, 23.078000, 113.734000),
    ("松山湖", "SONGSHANHU", "松山湖片区", 4800, 1, 22.932000, 113.892000),
)
_STREETS = ("莞城", "南城", "东城", "万江")  # 街道, not 镇: shows in shop names.

# Degree lengths at 22.9 N, Dongguan's mid-latitude. A fixed factor instead of cos(lat) keeps
# libm out of the output; across the city's 0.5 degree span it errs by under 0.4 %.
_KM_PER_DEG_LAT = 110.76
_KM_PER_DEG_LON = 102.61
_JITTER_KM = 2.9  # entities lie within ~3 km of their office; margin for the fixed factor.

_N_ENTITIES = 600
_N_CASE_FILES = 3600
_N_INSPECTORS = 40
_CASE_PERIOD = (dt.date(2025, 1, 1), dt.date(2026, 10, 31))

# Industries: (name suffix, is a company, risk class, weight). Food, drugs and hazardous
# chemicals are class I, licensed trades class II, the rest class III; weights give roughly
# 40 / 15 / 45 % so every stratum has enough units to sample from.
_INDUSTRIES: tuple[tuple[str, bool, str, float], ...] = (
    ("食品店", False, "I", 6.0),
    ("餐饮店", False, "I", 4.0),
    ("酒家", False, "I", 2.0),
    ("茶餐厅", False, "I", 2.0),
    ("大药房", False, "I", 3.0),
    ("药店", False, "I", 1.0),
    ("超市", False, "I", 4.0),
    ("便利店", False, "I", 2.0),
    ("食品有限公司", True, "I", 3.0),
    ("化工有限公司", True, "I", 2.0),
    ("加油站", False, "I", 1.5),
    ("燃气有限公司", True, "I", 1.0),
    ("诊所", False, "II", 2.5),
    ("眼镜店", False, "II", 2.0),
    ("医疗器械有限公司", True, "II", 1.5),
    ("电梯工程有限公司", True, "II", 1.0),
    ("检测技术有限公司", True, "II", 1.0),
    ("烟酒商行", False, "II", 2.0),
    ("五金店", False, "III", 4.0),
    ("服装店", False, "III", 4.0),
    ("电子有限公司", True, "III", 4.0),
    ("贸易有限公司", True, "III", 5.0),
    ("家具有限公司", True, "III", 3.0),
    ("鞋业有限公司", True, "III", 2.0),
    ("手机店", False, "III", 2.0),
    ("文具店", False, "III", 1.5),
    ("装饰工程有限公司", True, "III", 2.0),
    ("物流有限公司", True, "III", 2.0),
    ("模具有限公司", True, "III", 2.0),
    ("塑胶制品有限公司", True, "III", 2.0),
)
_TRADE_CHARS = "金华盛鑫兴隆福瑞宏达源顺泰安康嘉信和利丰永恒德佳美新荣昌祥富海粤联益众汇明伟创宝"
_ENTITY_CREDIT_WEIGHTS = (55, 30, 11, 4)  # most entities trustworthy, a tail to target
_OFFICE_CREDIT_WEIGHTS = (70, 30, 0, 0)

# Registration files dominate a branch registry, then enforcement and complaints.
_CASE_TYPE_WEIGHTS = (45, 25, 22, 8)
_CASE_TYPE_MARK = {"registration": "登", "enforcement": "罚", "complaint": "诉", "other": "综"}

# Surnames weighted towards Guangdong (陈, 黄, 梁 ...), incl. local compound 欧阳 and 司徒.
_SURNAMES: tuple[tuple[str, int], ...] = (
    ("陈", 10), ("李", 7), ("黄", 7), ("张", 5), ("梁", 4), ("刘", 4), ("林", 4), ("何", 3),
    ("王", 3), ("罗", 3), ("吴", 3), ("郑", 2), ("钟", 2), ("谢", 2), ("叶", 2), ("邓", 2),
    ("冯", 2), ("杨", 2), ("周", 2), ("卢", 2), ("曾", 2), ("蔡", 2), ("朱", 2), ("麦", 1),
    ("莫", 1), ("袁", 1), ("彭", 1), ("赖", 1), ("邱", 1), ("苏", 1), ("温", 1), ("方", 1),
    ("黎", 1), ("胡", 1), ("徐", 1), ("郭", 1), ("潘", 1), ("欧阳", 1), ("司徒", 1),
)
# Given-name characters by customary gender, so no name mixes 伟 with 婷.
_GIVEN_CHARS = (
    "伟强磊军洋勇杰涛明超刚辉健俊斌峰志永建国海浩宇彬泽铭伦坤晖文华荣锦家乐",
    "芳娜敏静丽艳娟秀霞英婷玲燕红雪晓嘉颖思欣慧雯琳梓华文",
)


class DemoRegistry(msgspec.Struct, frozen=True):
    """Units, case files and inspectors of one demo bureau, as plain JSON-ready dicts."""

    units: list[dict[str, Any]]
    case_files: list[dict[str, Any]]
    inspectors: list[dict[str, Any]]


def _tier(supervised: int) -> int:
    # Only tier 1 (>= 30,000) and tier 5 (< 5,000) are fixed by the seeds; 20k/10k/5k between.
    for tier, floor in ((1, 30000), (2, 20000), (3, 10000), (4, 5000)):
        if supervised >= floor:
            return tier
    return 5


def _person_names(rng: random.Random, count: int, seen: set[str]) -> list[str]:
    """``count`` new realistic names, none in ``seen`` (updated): one person, one name, so
    conflict checks between inspectors and case handlers are never ambiguous."""
    surnames = [s for s, _ in _SURNAMES]
    weights = [w for _, w in _SURNAMES]
    names: list[str] = []
    while len(names) < count:
        surname = rng.choices(surnames, weights)[0]
        given_len = 1 if rng.random() < 0.3 else 2
        name = surname + "".join(rng.sample(rng.choice(_GIVEN_CHARS), given_len))
        if name not in seen:
            seen.add(name)  # membership only: output order comes from the list
            names.append(name)
    return names


def _jitter(rng: random.Random, lat: float, lon: float) -> tuple[float, float]:
    # Uniform point in a disc by rejection: no sqrt/cos, so results never depend on libm.
    while True:
        x, y = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
        if x * x + y * y <= 1.0:
            break
    return (
        round(lat + y * _JITTER_KM / _KM_PER_DEG_LAT, 6),
        round(lon + x * _JITTER_KM / _KM_PER_DEG_LON, 6),
    )


def _workday(rng: random.Random) -> dt.date:
    # Files are closed on working days; weekends are redrawn (public holidays are ignored).
    start, end = _CASE_PERIOD
    span = (end - start).days
    while True:
        day = start + dt.timedelta(days=rng.randint(0, span))
        if day.weekday() < 5:
            return day


def _offices(rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    root = {
        "code": ROOT_CODE,
        "name": "东莞市市场监督管理局",
        "kind": "office",
        "district": None,  # the bureau spans every 片区 and grid
        "grid": None,
        "lat": 23.020600,
        "lon": 113.751800,
        "risk_class": "III",
        "credit": "A",
        "tier": _tier(sum(o[3] for o in _OFFICES)),
        "parent_code": None,
    }
    units = [root]
    grids: dict[str, list[str]] = {}
    next_grid = 1
    for town, pinyin, district, supervised, n_grids, lat, lon in _OFFICES:
        code = f"{ROOT_CODE}-{pinyin}"
        grids[code] = [f"G{next_grid + i:02d}" for i in range(n_grids)]
        next_grid += n_grids
        units.append({
            "code": code,
            "name": f"{town}分局",
            "kind": "office",
            "district": district,
            "grid": grids[code][0],  # the office's seat; it may own more grids
            "lat": lat,
            "lon": lon,
            # Offices are assessed, not risk-stratified: general class, credit A or B.
            "risk_class": "III",
            "credit": rng.choices(CREDIT_LEVELS, _OFFICE_CREDIT_WEIGHTS)[0],
            "tier": _tier(supervised),
            "parent_code": ROOT_CODE,
        })
    return units, grids


def _entities(rng: random.Random, grids: dict[str, list[str]]) -> list[dict[str, Any]]:
    total = sum(o[3] for o in _OFFICES)
    weights = [i[3] for i in _INDUSTRIES]
    taken: set[str] = set()
    entities: list[dict[str, Any]] = []
    for town, pinyin, district, supervised, _n, lat, lon in _OFFICES:
        office = f"{ROOT_CODE}-{pinyin}"
        own_grids = grids[office]
        # Proportional to size, but at least one entity per grid so every grid is in use.
        count = max(len(own_grids), 3, round(_N_ENTITIES * supervised / total))
        place = town + ("街道" if town in _STREETS else "" if town == "松山湖" else "镇")
        for i in range(count):
            suffix, is_company, risk_class, _ = rng.choices(_INDUSTRIES, weights)[0]
            while True:  # redraw the trade name (字号) until the business name is unique
                trade = "".join(rng.sample(_TRADE_CHARS, 2))
                # Companies register city-wide, shops (个体工商户) carry their town.
                name = f"东莞市{trade}{suffix}" if is_company else f"东莞市{place}{trade}{suffix}"
                if name not in taken:
                    taken.add(name)
                    break
            e_lat, e_lon = _jitter(rng, lat, lon)
            entities.append({
                "code": f"{office}-{i + 1:03d}",
                "name": name,
                "kind": "entity",
                "district": district,
                "grid": own_grids[i] if i < len(own_grids) else rng.choice(own_grids),
                "lat": e_lat,
                "lon": e_lon,
                "risk_class": risk_class,
                "credit": rng.choices(CREDIT_LEVELS, _ENTITY_CREDIT_WEIGHTS)[0],
                # Tiers scale office bonuses by workload; they mean nothing for an entity.
                "tier": None,
                "parent_code": office,
            })
    return entities


def _case_files(rng: random.Random, people: set[str]) -> list[dict[str, Any]]:
    total = sum(o[3] for o in _OFFICES)
    files: list[dict[str, Any]] = []
    for town, pinyin, _d, supervised, _n, _lat, _lon in _OFFICES:
        office = f"{ROOT_CODE}-{pinyin}"
        # Each office keeps a small fixed staff of handlers, so the same names recur in its
        # files as they would in a real registry; bigger offices have more staff.
        staff = _person_names(rng, 2 + 2 * (6 - _tier(supervised)), people)
        # A floor of ~30 keeps small offices sampleable; +-10 % so sizes are not exact ratios.
        count = round(max(30, _N_CASE_FILES * supervised / total) * rng.uniform(0.9, 1.1))
        drawn = []
        for _ in range(count):
            case_type = rng.choices(CASE_TYPES, _CASE_TYPE_WEIGHTS)[0]
            # Enforcement needs two officers by law (行政处罚法); others often have one.
            n_handlers = 2 if case_type == "enforcement" else rng.choice((1, 1, 2))
            drawn.append((_workday(rng), case_type, rng.sample(staff, n_handlers)))
        # Numbers run per office, type mark and year in order of closing, like a real register.
        drawn.sort(key=lambda d: (d[0], CASE_TYPES.index(d[1])))
        seq: dict[tuple[str, int], int] = {}
        for closed_on, case_type, handlers in drawn:
            key = (case_type, closed_on.year)
            seq[key] = seq.get(key, 0) + 1
            files.append({
                "code": f"{town}市监{_CASE_TYPE_MARK[case_type]}〔{closed_on.year}〕{seq[key]}号",
                "unit_code": office,
                "type": case_type,
                "closed_on": closed_on.isoformat(),
                "handlers": handlers,
            })
    return files


def _inspectors(
    rng: random.Random, grids: dict[str, list[str]], people: set[str]
) -> list[dict[str, Any]]:
    offices = list(grids)
    # Every office contributes one inspector (two-roster practice), big offices the surplus.
    big = [f"{ROOT_CODE}-{o[1]}" for o in _OFFICES if _tier(o[3]) == 1]
    homes = offices + rng.sample(big, _N_INSPECTORS - len(offices))
    rng.shuffle(homes)
    names = _person_names(rng, _N_INSPECTORS, people)
    inactive = rng.sample(range(_N_INSPECTORS), rng.choice((2, 3)))  # retired or on leave
    inspectors = []
    for i, (home, name) in enumerate(zip(homes, names, strict=True)):
        # Most inspectors do both; a few only visit sites or only review files.
        roll = rng.random()
        if roll < 0.8:
            quals = list(QUALIFICATIONS)
        else:
            quals = ["field_visit"] if roll < 0.92 else ["file_review"]
        inspectors.append({
            "username": f"insp{i + 1:02d}",
            "name": name,
            "home_unit": home,
            "home_grid": rng.choice(grids[home]),
            "qualifications": quals,
            "active": i not in inactive,
        })
    return inspectors


def generate(seed: int = DEFAULT_SEED) -> DemoRegistry:
    """Build the demo registry; the same ``seed`` always yields the same data."""
    rng = random.Random(seed)
    offices, grids = _offices(rng)
    units = offices + _entities(rng, grids)
    people: set[str] = set()  # handlers and inspectors share one name space
    case_files = _case_files(rng, people)
    inspectors = _inspectors(rng, grids, people)
    return DemoRegistry(units=units, case_files=case_files, inspectors=inspectors)
