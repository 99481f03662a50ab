"""Reference implementations in plain Python (standard library only).

docs/sampling.md quotes each block between ``# [begin NAME]`` and ``# [end NAME]``
verbatim, so a third party can copy and run them; the tests check that the blocks in the
docs are these blocks and that the fast paths of ``sampling`` agree with them. Written
for clarity, not speed. Inputs are canonical strings (NFC, no control characters).
"""

# [begin common]
import hashlib
import math
from collections import Counter
from fractions import Fraction


def derive_seed(seed, purpose, *context):
    """Seed for one purpose of a draw: "units", "case-files" or "inspectors"."""
    text = "\n".join(["spotcheck-seed/1", purpose, seed, *context])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def target(n, size=None, rate=None, min=None, max=None):
    """How many of n to take: a size, or ceil(rate * n) with rate as written in decimal."""
    base = size if size is not None else math.ceil(Fraction(repr(rate)) * n)
    if min is not None and base < min:
        base = min
    if max is not None and base > max:
        base = max
    return base if base < n else n
# [end common]

# [begin consistent-sha256]
def trim(ticket, digits=9):
    """consistent_sampler.trim: keep `digits` digits after the leading run of 9s."""
    padded = ticket + "0"
    first = next(i for i in range(2, len(padded)) if padded[i] < "9")
    return ticket[: first + digits]


def consistent_sha256_tickets(ids, seed):
    """[(ticket, id)] in draw order; equals consistent_sampler.sampler(ids, seed=seed)."""
    seed_hash = hashlib.sha256(seed.encode("utf-8")).hexdigest()
    tickets = []
    for unit_id in ids:
        h = int(hashlib.sha256((seed_hash + unit_id).encode("utf-8")).hexdigest(), 16)
        tickets.append(("0." + f"{h:064d}"[::-1], unit_id))  # decimal digits reversed
    tickets.sort()  # by ticket string, then by id
    return [(trim(ticket), unit_id) for ticket, unit_id in tickets]
# [end consistent-sha256]

# [begin philox-keyed]
M0, M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157  # Philox4x64 multipliers
W0, W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B  # Weyl key increments
MASK = (1 << 64) - 1


def philox4x64_10(counter, key):
    """Philox4x64-10 (Random123); equals numpy.random.Philox's block function."""
    x0, x1, x2, x3 = counter
    k0, k1 = key
    for _ in range(10):
        p0, p1 = M0 * x0, M1 * x2
        x0, x1, x2, x3 = (p1 >> 64) ^ x1 ^ k0, p1 & MASK, (p0 >> 64) ^ x3 ^ k1, p0 & MASK
        k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
    return x0, x1, x2, x3


def philox_key(seed):
    d = hashlib.sha256(b"spotcheck/philox-keyed/1\n" + seed.encode("utf-8")).digest()
    return int.from_bytes(d[0:8], "little"), int.from_bytes(d[8:16], "little")


def philox_counter(unit_id):
    b = unit_id.encode("utf-8")
    if len(b) <= 31:
        raw = b.ljust(31, b"\0") + bytes([len(b)])
    else:
        raw = hashlib.sha256(b).digest()[:31] + b"\xff"
    return tuple(int.from_bytes(raw[i : i + 8], "little") for i in range(0, 32, 8))


def philox_keyed_tickets(ids, seed):
    """[(ticket, id)] in draw order: by the four output words, then by the id's bytes."""
    key = philox_key(seed)
    rows = sorted((philox4x64_10(philox_counter(i), key), i.encode("utf-8"), i) for i in ids)
    return [(f"0.{(words[0] * 10**20) >> 64:020d}", i) for words, _, i in rows]
# [end philox-keyed]

# [begin stratified]
def draw_units(units, seed, tickets, stratify_by, quota_of, allowed=None):
    """units: {id: {field: value}}; tickets: one of the ticket functions above;
    quota_of(stratum values) -> dict for target(); allowed: {field: set of values}.
    Returns [(ticket, id, stratum values)] in draw order."""
    kept = {i: a for i, a in units.items() if all(a[f] in v for f, v in (allowed or {}).items())}
    stratum = {i: tuple(a[f] for f in stratify_by) for i, a in kept.items()}
    sizes = Counter(stratum.values())
    wanted = {s: target(n, **quota_of(s)) for s, n in sizes.items()}
    taken, drawn = Counter(), []
    for ticket, i in tickets(list(kept), derive_seed(seed, "units")):
        if taken[stratum[i]] < wanted[stratum[i]]:  # the k smallest tickets per stratum
            taken[stratum[i]] += 1
            drawn.append((ticket, i, stratum[i]))
    return drawn


def draw_case_files(files, seed, unit_id, tickets, quota_of):
    """files: {file_id: file_type} of one unit; quota_of(file_type) -> dict for target()
    or None (type not drawn). For one quota over all files, ignore the type."""
    sizes = Counter(files.values())
    wanted = {t: target(n, **quota_of(t)) if quota_of(t) else 0 for t, n in sizes.items()}
    taken, drawn = Counter(), []
    for ticket, f in tickets(list(files), derive_seed(seed, "case-files", unit_id)):
        if taken[files[f]] < wanted[files[f]]:
            taken[files[f]] += 1
            drawn.append((ticket, f))
    return drawn
# [end stratified]

# [begin population-digest]
def population_digest(units, fields):
    """units: {id: {field: value}}; fields: the fields the draw reads."""
    enc = lambda s: s.encode("utf-8")  # noqa: E731
    ids, fields = sorted(units, key=enc), sorted(fields, key=enc)
    h = hashlib.sha256(b"spotcheck-population/1\n")
    h.update(b"records %d\nfields " % len(ids) + enc("\t".join(fields)) + b"\n")
    width = max((len(enc(i)) for i in ids), default=0)
    h.update(b"width %d\n" % width)
    for i in ids:
        h.update(enc(i).ljust(width, b"\0"))  # ids never contain NUL
    for f in fields:
        levels = sorted({units[i][f] for i in ids}, key=enc)
        h.update(b"levels %d\n" % len(levels) + b"".join(enc(v) + b"\n" for v in levels))
        index = {v: k for k, v in enumerate(levels)}
        h.update(b"".join(index[units[i][f]].to_bytes(4, "little") for i in ids))
    return h.hexdigest()
# [end population-digest]
