"""The evidence ledger: signed checkpoints, proofs, entries and a full re-check (docs/ledger.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import FromQuery, PathParameter, QueryParameter
from sqlalchemy import select

from api.deps import DB, Runtime
from api.errors import NotFound
from api.ledger import checkpoint_note, consistency, inclusion
from api.ledger_verify import LedgerVerification, verify_ledger
from api.models_evidence import LedgerEntryRow
from api.schemas.evidence import ConsistencyProofOut, InclusionProofOut
from api.security import Principal, requires

__all__ = ["LedgerController", "TEXT_OPERATIONS"]

Req = Request[Principal, Any, Any]
MAX_SIZE = 2**62
Size = Annotated[int, QueryParameter(ge=0, le=MAX_SIZE, description="A tree size (number of leaves)")]
Index = Annotated[int, QueryParameter(ge=0, le=MAX_SIZE, description="A leaf's position (0-based)")]
TEXT = "text/plain"
# Operations whose 200 is text, not JSON (api.openapi documents them so).
TEXT_OPERATIONS = {"getLedgerCheckpoint": TEXT, "getLedgerKey": TEXT}


class LedgerController(Controller):
    path = "/api/v1/ledger"
    tags = ["ledger"]

    @get("/checkpoint", operation_id="getLedgerCheckpoint", media_type=TEXT,
         summary="The newest signed checkpoint (C2SP signed note), signed now if the log grew")
    async def checkpoint(self, db: DB, evidence_runtime: Runtime) -> str:
        return (await checkpoint_note(db, evidence_runtime.signer)).note

    @get("/key", operation_id="getLedgerKey", media_type=TEXT,
         summary="The verifier key of the checkpoints (name+id+base64 Ed25519 key)")
    async def key(self, evidence_runtime: Runtime) -> str:
        return evidence_runtime.signer.verifier_key + "\n"

    @get("/proofs/inclusion", operation_id="getInclusionProof", summary="Proof that entry `index` is in the tree of `tree_size`")
    async def inclusion_proof(self, db: DB, index: Index, tree_size: Size) -> InclusionProofOut:
        return InclusionProofOut(**await inclusion(db, index, tree_size))

    @get("/proofs/consistency", operation_id="getConsistencyProof",
         summary="Proof that the tree of `old_size` is a prefix of the tree of `new_size`")
    async def consistency_proof(self, db: DB, old_size: Size, new_size: Size) -> ConsistencyProofOut:
        return ConsistencyProofOut(**await consistency(db, old_size, new_size))

    @get("/entries/{seq:int}", operation_id="getLedgerEntry", guards=[requires("admin", "chief")],
         summary="An entry as logged (its canonical bytes are its JSON with sorted keys: docs/ledger.md)")
    async def entry(self, seq: Annotated[int, PathParameter(ge=0, le=MAX_SIZE)], db: DB) -> dict[str, Any]:
        row = (await db.execute(select(LedgerEntryRow.entry).where(LedgerEntryRow.seq == seq))).scalar_one_or_none()
        if row is None:
            raise NotFound("No such ledger entry.", details={"seq": seq})
        return json.loads(row)

    @get("/verify", operation_id="verifyLedger", guards=[requires("admin", "chief")],
         summary="Replay the whole log against stored bytes and signed checkpoints; name the first broken entry")
    async def verify(self, db: DB, evidence_runtime: Runtime, blobs: FromQuery[bool] = True) -> LedgerVerification:
        store = evidence_runtime.store if blobs else None
        return await verify_ledger(db, evidence_runtime.signer.verifier(), store, origin=evidence_runtime.signer.name)
