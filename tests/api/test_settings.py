from __future__ import annotations

import asyncio
import os
import stat

import pytest

from api.settings import Settings, SettingsError


def test_production_needs_an_explicit_long_secret(tmp_path):
    with pytest.raises(SettingsError, match="SPOTCHECK_SECRET_KEY is required"):
        Settings.from_env({"SPOTCHECK_ENV": "production", "SPOTCHECK_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"SPOTCHECK_ENV": "production", "SPOTCHECK_SECRET_KEY": "short"})
    assert not (tmp_path / "secret_key").exists()


def test_development_secret_is_created_once_and_shared(tmp_path):
    first = Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_values_are_typed_and_bad_ones_name_the_variable(tmp_path):
    s = Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path), "SPOTCHECK_TOKEN_TTL_SECONDS": "60"})
    assert s.token_ttl_seconds == 60
    assert s.effective_database_url.startswith("sqlite+aiosqlite:///") and s.effective_database_url.endswith("spotcheck.db")
    with pytest.raises(SettingsError, match="SPOTCHECK_TOKEN_TTL_SECONDS"):
        Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path), "SPOTCHECK_TOKEN_TTL_SECONDS": "soon"})
    with pytest.raises(SettingsError, match="SPOTCHECK_ENV"):
        Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path), "SPOTCHECK_ENV": "staging"})


def test_evidence_settings_have_defaults_and_bad_ones_name_the_variable(tmp_path):
    s = Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path)})
    assert (s.evidence_max_bytes, s.evidence_workers, s.evidence_near_distance) == (25 * 1024 * 1024, 2, 6)
    assert s.evidence_path == tmp_path / "evidence" and s.ledger_key_path == tmp_path / "ledger.key"
    custom = Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path), "SPOTCHECK_EVIDENCE_DIR": str(tmp_path / "photos"),
                                "SPOTCHECK_EVIDENCE_UNIT_RADIUS_M": "150.5", "SPOTCHECK_LEDGER_KEY_FILE": "/etc/spotcheck/key"})
    assert custom.evidence_path == tmp_path / "photos" and custom.evidence_unit_radius_m == 150.5
    assert str(custom.ledger_key_path) == "/etc/spotcheck/key"
    for name, value in (("EVIDENCE_WORKERS", "0"), ("EVIDENCE_NEAR_DISTANCE", "40"), ("LEDGER_ORIGIN", "a b"),
                        ("EVIDENCE_MAX_BYTES", "lots")):
        with pytest.raises(SettingsError, match=f"SPOTCHECK_{name}"):
            Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path), f"SPOTCHECK_{name}": value})


def test_appeal_committee_size_is_odd_from_one_to_nine(tmp_path):
    assert Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path)}).appeal_committee_size == 1
    assert Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path), "SPOTCHECK_APPEAL_COMMITTEE_SIZE": "5"}).appeal_committee_size == 5
    for value, message in (("2", "must be odd"), ("0", ">= 1"), ("11", "<= 9"), ("three", "int")):
        with pytest.raises(SettingsError, match=f"SPOTCHECK_APPEAL_COMMITTEE_SIZE: .*{message}"):
            Settings.from_env({"SPOTCHECK_DATA_DIR": str(tmp_path), "SPOTCHECK_APPEAL_COMMITTEE_SIZE": value})


async def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    from api.db import make_engine
    from api.migrate import upgrade

    path = tmp_path / "new.db"
    url = f"sqlite+aiosqlite:///{path}"
    umask = os.umask(0o022)  # the usual one, under which SQLite alone would create 0644
    try:
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:  # a write: the -wal and -shm files exist now
                await connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
                modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        finally:
            await engine.dispose()
    finally:
        os.umask(umask)
    assert modes == {"new.db": 0o600, "new.db-wal": 0o600, "new.db-shm": 0o600}
