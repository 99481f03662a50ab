import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.errors import InvalidProof, LedgerError
from evidence.merkle import (
    EMPTY_ROOT,
    TreeState,
    append,
    append_many,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    root,
    root_at,
    verify_consistency,
    verify_inclusion,
)

# RFC 6962 reference data, as used by the Certificate Transparency test suites.
CT_LEAVES = [bytes.fromhex(h) for h in
             ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [  # (index, size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [  # (old, new, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def reference_mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH written straight from the definition."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(reference_mth(leaves[:k]), reference_mth(leaves[k:]))


class Log:
    """A tree kept the way api/ keeps it: a frontier plus a table of nodes."""

    def __init__(self, n: int) -> None:
        self.leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.fetched: list[tuple[int, int]] = []
        self.state = TreeState()
        self.roots = [EMPTY_ROOT]
        for leaf in self.leaves:
            self.state, completed = append(self.state, leaf)
            self.nodes.update({(n.level, n.index): n.hash for n in completed})
            self.roots.append(root(self.state))

    def get(self, level: int, index: int) -> bytes:
        self.fetched.append((level, index))
        return self.nodes[(level, index)]


LOG = Log(70)


def test_rfc6962_reference_roots_and_proofs():
    hashes = [leaf_hash(d) for d in CT_LEAVES]
    state, stored = append_many(TreeState(), [])
    assert root(state) == bytes.fromhex(CT_ROOTS[0])
    nodes = {}
    for size, leaf in enumerate(hashes, start=1):
        state, completed = append(state, leaf)
        nodes.update({(n.level, n.index): n.hash for n in completed})
        assert root(state).hex() == CT_ROOTS[size]
    get = lambda level, index: nodes[(level, index)]  # noqa: E731
    for index, size, proof in CT_INCLUSION:
        assert [p.hex() for p in inclusion_proof(index, size, get)] == proof
        verify_inclusion(hashes[index], index, size, [bytes.fromhex(p) for p in proof], bytes.fromhex(CT_ROOTS[size]))
    for old, new, proof in CT_CONSISTENCY:
        assert [p.hex() for p in consistency_proof(old, new, get)] == proof
        verify_consistency(old, new, bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new]),
                           [bytes.fromhex(p) for p in proof])


def test_incremental_root_matches_the_definition_for_every_size():
    for size in range(71):
        assert LOG.roots[size] == reference_mth(LOG.leaves[:size])
        assert root_at(size, LOG.get) == LOG.roots[size]


def test_every_inclusion_proof_verifies_and_fails_when_anything_changes():
    for size in range(1, 71):
        for index in range(size):
            LOG.fetched.clear()
            proof = inclusion_proof(index, size, LOG.get)
            assert set(LOG.fetched) <= set(inclusion_proof_nodes(index, size))
            verify_inclusion(LOG.leaves[index], index, size, proof, LOG.roots[size])
            other = (index + 1) % size
            if other != index:
                with pytest.raises(InvalidProof):
                    verify_inclusion(LOG.leaves[other], index, size, proof, LOG.roots[size])
            if proof:
                bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1])] + proof[1:]
                with pytest.raises(InvalidProof):
                    verify_inclusion(LOG.leaves[index], index, size, bent, LOG.roots[size])
                with pytest.raises(InvalidProof):
                    verify_inclusion(LOG.leaves[index], index, size, proof[:-1], LOG.roots[size])
            with pytest.raises(InvalidProof):
                verify_inclusion(LOG.leaves[index], index, size, proof + [EMPTY_ROOT], LOG.roots[size])


def test_every_consistency_proof_verifies_and_fails_against_another_history():
    for new in range(1, 50):
        for old in range(0, new + 1):
            LOG.fetched.clear()
            proof = consistency_proof(old, new, LOG.get)
            assert set(LOG.fetched) <= set(consistency_proof_nodes(old, new))
            verify_consistency(old, new, LOG.roots[old], LOG.roots[new], proof)
            if 0 < old < new:
                forged_old = hashlib.sha256(b"rewritten history").digest()
                with pytest.raises(InvalidProof):
                    verify_consistency(old, new, forged_old, LOG.roots[new], proof)
                with pytest.raises(InvalidProof):
                    verify_consistency(old, new, LOG.roots[old], LOG.roots[new - 1], proof)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, n))))
def test_proofs_round_trip_in_large_trees(args):
    size, index, old = args
    log = BIG
    verify_inclusion(log.leaves[index], index, size, inclusion_proof(index, size, log.get), log.roots[size])
    verify_consistency(old, size, log.roots[old], log.roots[size], consistency_proof(old, size, log.get))


BIG = Log(3000)


def test_proof_sizes_are_logarithmic():
    assert len(inclusion_proof(1234, 3000, BIG.get)) <= 12
    assert len(inclusion_proof_nodes(1234, 3000)) <= 2 * 12


def test_bad_arguments_are_ledger_errors():
    with pytest.raises(LedgerError):
        inclusion_proof(5, 5, LOG.get)
    with pytest.raises(LedgerError):
        consistency_proof(6, 5, LOG.get)
    with pytest.raises(LedgerError):
        TreeState(3, (EMPTY_ROOT,))
    with pytest.raises(LedgerError):
        append(TreeState(), b"short")
    with pytest.raises(InvalidProof):
        verify_consistency(3, 3, LOG.roots[3], LOG.roots[4], [])
