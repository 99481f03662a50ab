"""Append-only Merkle tree of RFC 6962 / RFC 9162 (Certificate Transparency).

The tree is kept incrementally with only its *frontier*: the roots of the
perfect subtrees along its right edge (one per set bit of the size). Each
append returns the perfect-subtree nodes it completed, addressed by
``(level, index)`` (level 0 = leaves; node ``(l, i)`` covers leaves
``[i * 2**l, (i + 1) * 2**l)``). Nodes never change once complete, so api/ can
store them in a table keyed by ``(level, index)`` and every proof below is
built from them through a ``get_node(level, index)`` callable;
``*_proof_nodes`` list the keys first so they can be fetched in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import msgspec

from evidence.errors import InvalidProof, LedgerError

__all__ = [
    "EMPTY_ROOT",
    "leaf_hash",
    "node_hash",
    "Node",
    "TreeState",
    "append",
    "append_many",
    "root",
    "range_nodes",
    "subtree_hash",
    "root_at",
    "inclusion_proof_nodes",
    "inclusion_proof",
    "consistency_proof_nodes",
    "consistency_proof",
    "verify_inclusion",
    "verify_consistency",
    "NodeGetter",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root hash of the empty tree (RFC 9162 section 2.1.1)."""

NodeGetter = Callable[[int, int], bytes]
"""``get_node(level, index) -> 32-byte hash`` of a stored perfect-subtree node."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of a leaf's canonical bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class Node(msgspec.Struct, frozen=True, array_like=True):
    """A completed perfect-subtree node to persist."""

    level: int
    index: int
    hash: bytes


class TreeState(msgspec.Struct, frozen=True):
    """Size and frontier of a tree; all an appender needs to keep."""

    size: int = 0
    frontier: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.frontier) != self.size.bit_count():
            raise LedgerError("frontier must hold one hash per set bit of the size")
        if any(len(h) != 32 for h in self.frontier):
            raise LedgerError("frontier hashes must be 32 bytes")


def append(state: TreeState, leaf: bytes) -> tuple[TreeState, list[Node]]:
    """Append one leaf hash; return the new state and the nodes it completed
    (the leaf itself first, then each parent up the carry chain)."""
    if len(leaf) != 32:
        raise LedgerError("a leaf hash is 32 bytes")
    frontier = list(state.frontier)
    nodes = [Node(0, state.size, leaf)]
    current, position, level = leaf, state.size, 0
    # Like adding 1 in binary: each trailing 1-bit merges a left sibling into a parent.
    while position & 1:
        current = node_hash(frontier.pop(), current)
        position >>= 1
        level += 1
        nodes.append(Node(level, position, current))
    frontier.append(current)
    return TreeState(state.size + 1, tuple(frontier)), nodes


def append_many(state: TreeState, leaves: Iterable[bytes]) -> tuple[TreeState, list[Node]]:
    """Append several leaf hashes in order; return the final state and all nodes."""
    nodes: list[Node] = []
    for leaf in leaves:
        state, completed = append(state, leaf)
        nodes.extend(completed)
    return state, nodes


def root(state: TreeState) -> bytes:
    """The tree head hash of ``state`` (RFC 9162 MTH)."""
    if not state.frontier:
        return EMPTY_ROOT
    result = state.frontier[-1]
    for left in reversed(state.frontier[:-1]):
        result = node_hash(left, result)
    return result


def range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """Perfect-subtree keys covering leaves ``[start, end)``, left to right.

    Valid for the ranges MTH is taken of in RFC 9162 proofs, whose start is
    aligned to a power of two at least their length (and for ``[0, n)``).
    """
    if not 0 <= start < end:
        raise LedgerError(f"empty or negative range [{start}, {end})")
    keys = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length()
        while (1 << level) > end - start:
            level -= 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def subtree_hash(start: int, end: int, get_node: NodeGetter) -> bytes:
    """MTH of leaves ``[start, end)`` from stored perfect-subtree nodes."""
    hashes = [get_node(level, index) for level, index in range_nodes(start, end)]
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def root_at(size: int, get_node: NodeGetter) -> bytes:
    """The tree head hash when the tree had ``size`` leaves."""
    return EMPTY_ROOT if size == 0 else subtree_hash(0, size, get_node)


def _split(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    # RFC 9162 PATH(m, D[n]), unrolled; siblings are collected leaf-side first.
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    ranges.reverse()
    return ranges


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, new, old, True
    # RFC 9162 SUBPROOF(m, D[n], b), unrolled.
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise LedgerError(f"index {index} out of range for a tree of size {size}")


def _check_sizes(old_size: int, new_size: int) -> None:
    if not 0 <= old_size <= new_size:
        raise LedgerError(f"old size {old_size} out of range for a tree of size {new_size}")


def _keys(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted({key for start, end in ranges for key in range_nodes(start, end)})


def inclusion_proof_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """Keys of the stored nodes :func:`inclusion_proof` will ask for."""
    _check_index(index, size)
    return _keys(_inclusion_ranges(index, size))


def inclusion_proof(index: int, size: int, get_node: NodeGetter) -> list[bytes]:
    """Audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 2.1.3.1)."""
    _check_index(index, size)
    return [subtree_hash(s, e, get_node) for s, e in _inclusion_ranges(index, size)]


def consistency_proof_nodes(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Keys of the stored nodes :func:`consistency_proof` will ask for."""
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return []
    return _keys(_consistency_ranges(old_size, new_size))


def consistency_proof(old_size: int, new_size: int, get_node: NodeGetter) -> list[bytes]:
    """Proof that the tree of ``old_size`` leaves is a prefix of the tree of
    ``new_size`` leaves (RFC 9162 2.1.4.1); empty when ``old_size`` is 0 or equal."""
    _check_sizes(old_size, new_size)
    if old_size in (0, new_size):
        return []
    return [subtree_hash(s, e, get_node) for s, e in _consistency_ranges(old_size, new_size)]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], expected_root: bytes) -> None:
    """Check an inclusion proof (RFC 9162 2.1.3.2); raise :class:`InvalidProof` if it fails."""
    if not 0 <= index < size:
        raise InvalidProof(f"index {index} is outside a tree of size {size}")
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise InvalidProof("inclusion proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("inclusion proof is too short")
    if result != expected_root:
        raise InvalidProof(f"leaf {index} is not in the tree with that root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    """Check a consistency proof (RFC 9162 2.1.4.2); raise :class:`InvalidProof` if it fails."""
    if not 0 <= old_size <= new_size:
        raise InvalidProof("old size exceeds new size")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise InvalidProof("proof must be empty for these sizes")
        if old_size == new_size and old_root != new_root:
            raise InvalidProof("same size, different roots: the log forked")
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    if not path:
        raise InvalidProof("empty consistency proof")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof is too long")
        if fn & 1 or fn == sn:
            first, second = node_hash(c, first), node_hash(c, second)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("consistency proof is too short")
    if first != old_root or second != new_root:
        raise InvalidProof(f"tree of size {new_size} does not extend the tree of size {old_size}")
