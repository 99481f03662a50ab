"""Every text a request body may carry fits the column it is stored in.

SQLite ignores VARCHAR lengths; PostgreSQL enforces them. A body limit above the column's
would pass on one backend and fail with a 500 on the other.
"""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import String

from api.models import User
from api.models_review import Appeal, Decision, PeriodTransition
from api.models_scoring import CatalogVersion, Deduction, Measurement, Period, SchemeVersion
from api.registry import RESOURCES
from api.schemas.auth import UserCreate
from api.schemas.review import AppealDecision, BulkDecision, DecisionCreate, PeriodReopen
from api.schemas.scoring import DeductionCreate, MeasurementUpsert, PeriodCreate
from scoring import Catalog, Scheme


def _max_length(type_info: msgspec.inspect.Type) -> int | None:
    if isinstance(type_info, msgspec.inspect.StrType):
        return type_info.max_length
    if isinstance(type_info, msgspec.inspect.LiteralType):
        return max(len(str(v)) for v in type_info.values)
    if isinstance(type_info, msgspec.inspect.UnionType):
        lengths = [_max_length(t) for t in type_info.types]
        return max((n for n in lengths if n is not None), default=None)
    return None


CASES = [(r.create, r.model) for r in RESOURCES.values()] + [(r.update, r.model) for r in RESOURCES.values()] + [(UserCreate, User)]
# Scoring: bodies, and the loaded documents whose code and names are stored in columns.
CASES += [(PeriodCreate, Period), (MeasurementUpsert, Measurement), (DeductionCreate, Deduction),
          (Catalog, CatalogVersion), (Scheme, SchemeVersion)]
# Review.
CASES += [(PeriodReopen, PeriodTransition), (DecisionCreate, Decision), (BulkDecision, Decision),
          (AppealDecision, Appeal)]


@pytest.mark.parametrize(("struct", "model"), CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_body_limits_fit_the_columns(struct, model):
    checked = 0
    for field in msgspec.inspect.type_info(struct).fields:
        column = model.__table__.columns.get(field.name)
        if column is None or not isinstance(column.type, String):
            continue
        limit = _max_length(field.type)
        assert limit is not None, f"{struct.__name__}.{field.name} has no max_length"
        assert column.type.length is not None and limit <= column.type.length, (
            f"{struct.__name__}.{field.name} allows {limit} characters; {model.__tablename__}.{field.name} holds {column.type.length}")
        checked += 1
    assert checked > 0
