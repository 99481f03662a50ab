"""Blob storage in an S3-compatible bucket (MinIO, Ceph, cloud object stores).

Needs ``boto3`` (the ``s3`` extra). Keys are ``<prefix><ab>/<cd>/<sha256>``;
writes in progress live under ``<prefix>tmp/``.

Why it is atomic: an S3 object becomes visible only when its PUT, multipart
completion or server-side copy finishes. Small blobs (under one part) are
buffered, hashed, and PUT straight to their content address with the SHA-256
checksum header, so the server re-verifies them. Larger blobs go up as a
multipart upload to a temporary key, because the content address is unknown
until the last byte; on commit the temporary object is copied server-side to
its address and deleted. Memory stays at one part whatever the size.

Deployments should add a bucket lifecycle rule that aborts incomplete multipart
uploads and expires ``<prefix>tmp/`` after a day: a process killed mid-upload
cannot clean up after itself.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

from evidence.errors import BlobNotFound, InvalidDigest, StorageError, StorageFull
from evidence.storage import DEFAULT_MAX_BYTES, HashingWriter, shard_path

__all__ = ["S3BlobStore", "DEFAULT_PART_SIZE"]

DEFAULT_PART_SIZE = 8 * 1024 * 1024
"""Multipart part size; S3 requires at least 5 MiB for every part but the last."""

_FULL_CODES = {"QuotaExceeded", "InsufficientStorage", "XMinioStorageFull", "StorageFull"}
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def _botocore() -> Any:
    try:
        import botocore.exceptions
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "S3BlobStore requires `boto3` to be installed: pip install 'spotcheck[s3]'"
        ) from exc
    return botocore.exceptions


def _boto_errors() -> tuple[type[Exception], ...]:
    # ClientError: the service answered no; BotoCoreError: it did not answer at all.
    return (_botocore().ClientError, _botocore().BotoCoreError)


def _make_client(endpoint_url: str | None, region_name: str | None) -> Any:
    _botocore()
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _storage_error(exc: BaseException, action: str) -> StorageError:
    if _error_code(exc) in _FULL_CODES:
        return StorageFull(f"object store full while {action}: {exc}")
    return StorageError(f"object store failed while {action}: {exc}")


class _S3Writer(HashingWriter):
    """Writer of one blob into an :class:`S3BlobStore`."""

    def __init__(self, store: S3BlobStore) -> None:
        super().__init__(store.max_bytes)
        self._store = store
        self._buffer = bytearray()
        self._tmp_key = f"{store.prefix}tmp/{uuid.uuid4().hex}"
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._tmp_exists = False

    def _call(self, action: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._store.client, method)(Bucket=self._store.bucket, **kwargs)
        except _boto_errors() as exc:
            raise _storage_error(exc, action) from exc

    def _flush_part(self, data: bytes) -> None:
        if self._upload_id is None:
            started = self._call("starting an upload", "create_multipart_upload", Key=self._tmp_key)
            self._upload_id = started["UploadId"]
        number = len(self._parts) + 1
        result = self._call(
            "uploading a part",
            "upload_part",
            Key=self._tmp_key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append({"ETag": result["ETag"], "PartNumber": number})

    def _put(self, view: memoryview) -> None:
        self._buffer += view
        part = self._store.part_size
        while len(self._buffer) >= part:
            self._flush_part(bytes(self._buffer[:part]))
            del self._buffer[:part]

    def _exists_with_size(self, key: str) -> bool:
        try:
            head = self._store.client.head_object(Bucket=self._store.bucket, Key=key)
        except _boto_errors() as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise _storage_error(exc, "checking for an existing blob") from exc
        return int(head["ContentLength"]) == self._size

    def _finish(self, sha256: str) -> bool:
        final = self._store.key(sha256)
        if self._upload_id is not None:
            if self._buffer:
                self._flush_part(bytes(self._buffer))
                self._buffer.clear()
            self._call(
                "completing an upload",
                "complete_multipart_upload",
                Key=self._tmp_key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
            self._upload_id = None
            self._tmp_exists = True
        if self._exists_with_size(final):
            self._discard()  # identical bytes already stored: keep one copy
            return False
        if self._tmp_exists:
            source = {"Bucket": self._store.bucket, "Key": self._tmp_key}
            self._call("copying to the content address", "copy_object", Key=final, CopySource=source)
        else:
            checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
            self._call("storing", "put_object", Key=final, Body=bytes(self._buffer), ChecksumSHA256=checksum)
        self._discard()  # drops the buffer and the temporary object, never the blob
        return True

    def _discard(self) -> None:
        self._buffer = bytearray()
        # Best effort: the original error matters more than a failed clean-up, and
        # the bucket lifecycle rule collects whatever is left.
        client, bucket = self._store.client, self._store.bucket
        try:
            if self._upload_id is not None:
                client.abort_multipart_upload(Bucket=bucket, Key=self._tmp_key, UploadId=self._upload_id)
                self._upload_id = None
            if self._tmp_exists:
                client.delete_object(Bucket=bucket, Key=self._tmp_key)
                self._tmp_exists = False
        except _boto_errors():
            pass


class S3BlobStore:
    """Content-addressed blobs in an S3 bucket; implements :class:`evidence.storage.BlobStore`.

    Pass a ready ``client`` (``boto3.client("s3", ...)``) or an ``endpoint_url``
    and ``region_name`` to build one from the usual AWS environment variables.
    The bucket must exist.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        self.client = client if client is not None else _make_client(endpoint_url, region_name)
        self.max_bytes = max_bytes
        self.part_size = part_size

    def key(self, sha256: str) -> str:
        """Object key of a digest."""
        return self.prefix + shard_path(sha256)

    def writer(self) -> _S3Writer:
        """Start a new blob; see :class:`evidence.storage.BlobWriter`."""
        return _S3Writer(self)

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except _boto_errors() as exc:
            if _error_code(exc) in _MISSING_CODES:
                return None
            raise _storage_error(exc, "reading metadata") from exc

    def open(self, sha256: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except _boto_errors() as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise BlobNotFound(f"no blob {sha256}", sha256=sha256) from None
            raise _storage_error(exc, "reading") from exc
        return response["Body"]

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as body:
            return body.read()

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise BlobNotFound(f"no blob {sha256}", sha256=sha256)
        return int(head["ContentLength"])

    def stored_at(self, sha256: str) -> float:
        head = self._head(sha256)
        if head is None:
            raise BlobNotFound(f"no blob {sha256}", sha256=sha256)
        return float(head["LastModified"].timestamp())

    def delete(self, sha256: str) -> bool:
        if self._head(sha256) is None:
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        except _boto_errors() as exc:
            raise _storage_error(exc, "deleting") from exc
        return True

    def __iter__(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", ()):
                relative = obj["Key"][len(self.prefix) :]
                name = relative.rsplit("/", 1)[-1]
                try:
                    if shard_path(name) == relative:
                        yield name
                except InvalidDigest:
                    continue

    def temporary_keys(self) -> list[str]:
        """Temporary objects and unfinished multipart uploads (should be none
        outside a write in progress)."""
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "tmp/"):
            keys.extend(obj["Key"] for obj in page.get("Contents", ()))
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix + "tmp/")
        keys.extend(u["Key"] for u in uploads.get("Uploads", ()))
        return sorted(keys)
