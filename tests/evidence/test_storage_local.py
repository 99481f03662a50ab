import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from pathlib import Path

import pytest

from evidence.errors import BlobNotFound, BlobTooLarge, ChecksumMismatch, InvalidDigest, StorageError
from evidence.storage import BlobStore, hash_stored, put_bytes, put_chunks, shard_path
from evidence.storage_local import LocalBlobStore

REPO = Path(__file__).resolve().parents[2]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs", max_bytes=1 << 20)


def test_store_implements_the_interface(store):
    assert isinstance(store, BlobStore)


def test_blob_is_stored_byte_exact_under_its_sharded_sha256(store):
    data = os.urandom(300_000)
    digest = hashlib.sha256(data).hexdigest()
    stored = put_chunks(store, (data[i : i + 4096] for i in range(0, len(data), 4096)))
    assert (stored.sha256, stored.size, stored.created) == (digest, len(data), True)
    path = store.root / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == data and store.path(digest) == path
    assert shard_path(digest) == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert store.exists(digest) and store.size(digest) == len(data) and store.read(digest) == data
    assert store.temporary_files() == []


def test_identical_bytes_are_stored_once(store):
    first = put_bytes(store, b"same photo")
    second = put_bytes(store, b"same photo")
    assert first.sha256 == second.sha256 and first.created and not second.created
    assert len(files_under(store.root)) == 1 and list(store) == [first.sha256]


def test_declared_checksum_is_accepted_in_any_case(store):
    data = b"checked in transit"
    stored = put_bytes(store, data, expected_sha256=hashlib.sha256(data).hexdigest().upper())
    assert stored.created


def test_checksum_mismatch_keeps_nothing(store):
    with pytest.raises(ChecksumMismatch) as error:
        put_bytes(store, b"corrupted in transit", expected_sha256="0" * 64)
    assert error.value.actual == hashlib.sha256(b"corrupted in transit").hexdigest()
    assert files_under(store.root) == []


def test_malformed_declared_checksum_keeps_nothing(store):
    with pytest.raises(InvalidDigest):
        put_bytes(store, b"x", expected_sha256="not-a-digest")
    assert files_under(store.root) == []


def test_abort_keeps_nothing_and_nothing_is_visible_before_commit(store):
    data = b"half an upload"
    writer = store.writer()
    writer.write(data)
    assert len(store.temporary_files()) == 1
    assert not store.exists(hashlib.sha256(data).hexdigest()) and list(store) == []
    writer.abort()
    writer.abort()
    assert files_under(store.root) == []


def test_leaving_the_with_block_without_commit_aborts(store):
    with pytest.raises(RuntimeError), store.writer() as writer:
        writer.write(b"client went away")
        raise RuntimeError("connection reset")
    assert files_under(store.root) == []


def test_oversize_blob_is_refused_and_nothing_is_kept(store):
    writer = store.writer()
    writer.write(b"a" * (1 << 20))
    with pytest.raises(BlobTooLarge) as error:
        writer.write(b"one byte too many")
    assert error.value.limit == 1 << 20
    assert files_under(store.root) == []
    with pytest.raises(StorageError):
        writer.write(b"more")


def test_memory_stays_flat_while_streaming(tmp_path):
    big = LocalBlobStore(tmp_path / "big", max_bytes=64 << 20)
    chunk = os.urandom(64 << 10)
    tracemalloc.start()
    try:
        with big.writer() as writer:
            for _ in range(512):  # 32 MiB
                writer.write(chunk)
            stored = writer.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == 32 << 20
    assert peak < 1 << 20, f"peak {peak} bytes while streaming 32 MiB"


def test_stored_blob_tampering_is_detected_by_rehashing(store):
    stored = put_bytes(store, b"original evidence bytes")
    path = store.path(stored.sha256)
    os.chmod(path, 0o644)
    raw = bytearray(path.read_bytes())
    raw[5] ^= 0x01
    path.write_bytes(bytes(raw))
    actual, size = hash_stored(store, stored.sha256)
    assert actual != stored.sha256 and size == stored.size


def test_a_damaged_copy_of_other_size_is_healed_by_a_fresh_upload(store):
    stored = put_bytes(store, b"evidence")
    path = store.path(stored.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b"evid")
    again = put_bytes(store, b"evidence")
    assert again.created and store.read(stored.sha256) == b"evidence"


def test_delete_open_missing_and_hostile_keys(store):
    stored = put_bytes(store, b"to be deleted")
    assert store.delete(stored.sha256) and not store.delete(stored.sha256)
    with pytest.raises(BlobNotFound):
        store.open(stored.sha256)
    with pytest.raises(BlobNotFound):
        store.size(stored.sha256)
    for hostile in ["../../etc/passwd", "A" * 64, "a" * 63, ""]:
        with pytest.raises(InvalidDigest):
            store.exists(hostile)


def test_concurrent_writers_of_the_same_bytes_leave_one_blob(store):
    data = os.urandom(200_000)
    results = []

    def upload():
        results.append(put_bytes(store, data))

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.sha256 for r in results} == {hashlib.sha256(data).hexdigest()}
    assert len(files_under(store.root)) == 1 and store.read(results[0].sha256) == data


def test_iteration_lists_every_blob_and_ignores_strays(store):
    digests = {put_bytes(store, bytes([i]) * (i + 1)).sha256 for i in range(20)}
    (store.root / "README").write_text("not a blob")
    assert set(store) == digests


def test_purge_removes_the_leftovers_of_dead_writers_only(store, tmp_path):
    # A writer in another process, killed mid-write: its temporary file stays, unlocked.
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        from evidence.storage_local import LocalBlobStore
        writer = LocalBlobStore({str(store.root)!r}).writer()
        writer.write(b"crashed upload")
        os.kill(os.getpid(), 9)
        """
    )
    subprocess.run([sys.executable, "-c", script], timeout=60)
    assert len(store.temporary_files()) == 1
    live = store.writer()  # a write in progress in this process: never touched
    live.write(b"live upload")
    assert store.purge_temporary() == 1
    assert len(store.temporary_files()) == 1
    live.write(b" goes on")
    blob = live.commit()
    assert store.read(blob.sha256) == b"live upload goes on" and store.temporary_files() == []


def test_disk_full_surfaces_as_storage_full_and_keeps_nothing(tmp_path):
    # A real ENOSPC: a 1 MiB tmpfs mounted in a private mount namespace.
    script = textwrap.dedent(
        f"""
        import os, subprocess, sys
        sys.path.insert(0, {str(REPO)!r})
        mount = {str(tmp_path / "mnt")!r}
        os.makedirs(mount)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount], check=True)
        from evidence.errors import StorageFull
        from evidence.storage_local import LocalBlobStore
        store = LocalBlobStore(mount, max_bytes=8 << 20)
        writer = store.writer()
        try:
            for _ in range(64):
                writer.write(os.urandom(64 << 10))
        except StorageFull as exc:
            left = [os.path.join(d, f) for d, _, fs in os.walk(mount) for f in fs]
            print("FULL", len(left), exc)
        else:
            print("NOT FULL")
        """
    )
    result = subprocess.run(
        ["unshare", "--map-root-user", "--mount", sys.executable, "-c", script],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("FULL 0 "), result.stdout


def test_head_bytes_allow_sniffing_and_refusing_before_commit(store):
    from evidence.errors import UnsupportedFormat
    from evidence.formats import ImageFormat, sniff_format
    from tests.evidence.images import encode, scene

    jpeg = encode(scene(1, (200, 150)), "JPEG")
    with store.writer() as writer:
        for i in range(0, len(jpeg), 100):
            writer.write(jpeg[i : i + 100])
        assert writer.head == jpeg[:512] and sniff_format(writer.head) is ImageFormat.JPEG
        writer.commit()
    with store.writer() as writer:
        writer.write(b"<html>not a photo</html>")
        with pytest.raises(UnsupportedFormat):
            sniff_format(writer.head)
    assert len(files_under(store.root)) == 1


def test_a_file_gone_from_disk_is_blob_not_found_naming_the_blob(store):
    stored = put_bytes(store, b"deleted by hand")
    store.path(stored.sha256).unlink()
    for read in (store.open, store.read, store.size, store.stored_at, lambda sha: hash_stored(store, sha)):
        with pytest.raises(BlobNotFound) as caught:
            read(stored.sha256)
        assert caught.value.sha256 == stored.sha256 and stored.sha256 in str(caught.value)
    # A shard folder replaced by a file (ENOTDIR) means the blob is not there either.
    folder = store.path(stored.sha256).parent
    folder.rmdir()
    folder.write_bytes(b"")
    with pytest.raises(BlobNotFound):
        store.open(stored.sha256)


def test_a_file_that_cannot_be_read_is_a_storage_error_without_its_path(store):
    # Root reads any file whatever its mode: a folder in the file's place fails for everyone.
    stored = put_bytes(store, b"unreadable")
    path = store.path(stored.sha256)
    path.unlink()
    path.mkdir()
    for read in (store.open, store.read, lambda sha: hash_stored(store, sha)):
        with pytest.raises(StorageError) as caught:
            read(stored.sha256)
        assert not isinstance(caught.value, BlobNotFound)
        assert stored.sha256 in str(caught.value) and str(store.root) not in str(caught.value)


def test_stored_at_is_when_the_blob_was_written(store):
    stored = put_bytes(store, b"when")
    assert store.stored_at(stored.sha256) == store.path(stored.sha256).stat().st_mtime
    os.utime(store.path(stored.sha256), (1_700_000_000, 1_700_000_000))
    assert store.stored_at(stored.sha256) == 1_700_000_000
    with pytest.raises(BlobNotFound):
        store.stored_at("0" * 64)


def test_a_blob_written_out_early_in_pieces_is_stored_byte_exact(tmp_path):
    from evidence import storage_local

    store = LocalBlobStore(tmp_path / "big", max_bytes=8 << 20)
    data = os.urandom(3 * storage_local.WRITEBACK_BYTES + 12345)  # past several writeback hints
    stored = put_chunks(store, (data[i:i + 65536] for i in range(0, len(data), 65536)))
    assert store.read(stored.sha256) == data and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.temporary_files() == []
    if sys.platform == "linux":
        assert storage_local._start_writeback is not None
