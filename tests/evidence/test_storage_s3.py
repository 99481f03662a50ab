"""The S3 backend over real HTTP against moto's standalone server on 127.0.0.1."""

import hashlib
import os
import uuid
from datetime import datetime, timezone

import pytest

from evidence.audit import blob_checker
from evidence.errors import BlobNotFound, BlobTooLarge, ChecksumMismatch
from evidence.leaf import evidence_entry
from evidence.storage import BlobStore, hash_stored, put_bytes, put_chunks
from evidence.storage_s3 import S3BlobStore
from tests.support.s3 import moto_server
from tests.support.server import free_port

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture
def client(endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def store(client) -> S3BlobStore:
    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3BlobStore(bucket, prefix="blobs", client=client, max_bytes=12 * MIB, part_size=5 * MIB)


def all_keys(store: S3BlobStore) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(o["Key"] for o in listed.get("Contents", ()))


def test_small_blob_round_trip_and_dedup(store):
    assert isinstance(store, BlobStore)
    first = put_bytes(store, b"photo bytes")
    second = put_bytes(store, b"photo bytes")
    digest = hashlib.sha256(b"photo bytes").hexdigest()
    assert (first.sha256, first.created, second.created) == (digest, True, False)
    assert all_keys(store) == [f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"]
    assert store.read(digest) == b"photo bytes" and store.size(digest) == 11 and store.exists(digest)
    assert list(store) == [digest]


def test_multipart_blob_is_copied_to_its_address_and_the_temporary_is_gone(store):
    data = os.urandom(11 * MIB + 123)
    chunks = (data[i : i + 256 * 1024] for i in range(0, len(data), 256 * 1024))
    stored = put_chunks(store, chunks, expected_sha256=hashlib.sha256(data).hexdigest())
    assert stored.created and stored.size == len(data)
    assert hash_stored(store, stored.sha256) == (stored.sha256, len(data))
    assert store.temporary_keys() == [] and all_keys(store) == [store.key(stored.sha256)]
    again = put_chunks(store, (data[: 6 * MIB], data[6 * MIB :]))
    assert not again.created and store.temporary_keys() == []


def test_mismatch_after_multipart_keeps_nothing(store):
    data = os.urandom(7 * MIB)
    with pytest.raises(ChecksumMismatch):
        put_bytes(store, data, expected_sha256="f" * 64)
    assert all_keys(store) == [] and store.temporary_keys() == []


def test_abort_mid_upload_and_oversize_keep_nothing(store):
    writer = store.writer()
    writer.write(os.urandom(6 * MIB))
    assert store.temporary_keys() != []  # a part is already on the server
    writer.abort()
    assert store.temporary_keys() == [] and all_keys(store) == []
    writer = store.writer()
    writer.write(os.urandom(10 * MIB))
    with pytest.raises(BlobTooLarge):
        writer.write(os.urandom(3 * MIB))
    assert store.temporary_keys() == [] and all_keys(store) == []


def test_delete_and_missing(store):
    stored = put_bytes(store, b"gone soon")
    assert store.delete(stored.sha256) and not store.delete(stored.sha256)
    with pytest.raises(BlobNotFound):
        store.read(stored.sha256)
    assert not store.exists(stored.sha256)


def test_an_object_gone_from_the_bucket_is_blob_not_found_naming_the_blob(store):
    stored = put_bytes(store, b"deleted in the bucket")
    store.client.delete_object(Bucket=store.bucket, Key=store.key(stored.sha256))
    for read in (store.open, store.read, store.size, store.stored_at, lambda sha: hash_stored(store, sha)):
        with pytest.raises(BlobNotFound) as caught:
            read(stored.sha256)
        assert caught.value.sha256 == stored.sha256


def test_object_changed_in_the_bucket_is_caught_by_the_blob_check(store):
    stored = put_bytes(store, b"evidence as received")
    entry = evidence_entry(
        0, evidence_id="e1", sha256=stored.sha256, size=stored.size, task_id="t1",
        inspector_id="i1", metadata_sha256="0" * 64,
        received_at=datetime(2024, 5, 1, tzinfo=timezone.utc),
    )
    check = blob_checker(store)
    assert check(entry) is None
    store.client.put_object(Bucket=store.bucket, Key=store.key(stored.sha256), Body=b"evidence as receivEd")
    assert "now hash to" in check(entry)


def test_an_unreachable_endpoint_is_a_storage_error_not_a_botocore_one(monkeypatch):
    import boto3
    from botocore.config import Config

    from evidence.errors import StorageError

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    store = S3BlobStore("nowhere", client=client)
    with pytest.raises(StorageError):
        put_bytes(store, b"lost in transit")
    with pytest.raises(StorageError):
        store.exists("a" * 64)


def test_stored_at_comes_from_the_object(store):
    before = datetime.now(timezone.utc).timestamp()
    stored = put_bytes(store, b"when, in the bucket")
    # S3 keeps whole seconds.
    assert before - 2 <= store.stored_at(stored.sha256) <= datetime.now(timezone.utc).timestamp() + 2
    with pytest.raises(BlobNotFound):
        store.stored_at("0" * 64)
