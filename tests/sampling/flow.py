"""Independent oracle for the workload rule: is max - min <= 1 achievable?

A feasible circulation with lower bounds (Dinic's max flow), written from the textbook,
sharing no code with ``sampling.assignment``.
"""

from __future__ import annotations

from collections import deque


class _MaxFlow:
    def __init__(self, n: int) -> None:
        self.graph: list[list[list]] = [[] for _ in range(n)]

    def edge(self, u: int, v: int, cap: int) -> None:
        forward, backward = [v, cap, None], [u, 0, None]
        forward[2], backward[2] = backward, forward
        self.graph[u].append(forward)
        self.graph[v].append(backward)

    def run(self, s: int, t: int) -> int:
        total = 0
        while True:
            level = [-1] * len(self.graph)
            level[s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                for v, cap, _ in self.graph[u]:
                    if cap > 0 and level[v] < 0:
                        level[v] = level[u] + 1
                        queue.append(v)
            if level[t] < 0:
                return total
            pointer = [0] * len(self.graph)

            def push(u: int, flow: int) -> int:
                if u == t:
                    return flow
                while pointer[u] < len(self.graph[u]):
                    e = self.graph[u][pointer[u]]
                    if e[1] > 0 and level[e[0]] == level[u] + 1:
                        sent = push(e[0], min(flow, e[1]))
                        if sent:
                            e[1] -= sent
                            e[2][1] += sent
                            return sent
                    pointer[u] += 1
                return 0

            while (sent := push(s, 1 << 30)):
                total += sent


def balanced_assignment_exists(eligible: list[set[str]], team: int, workers: list[str]) -> bool:
    """True if every task can get ``team`` distinct eligible workers with all loads of
    ``workers`` within [floor, ceil] of the average (every eligible worker is in ``workers``)."""
    slots = team * len(eligible)
    low, high = slots // len(workers), -(-slots // len(workers))
    index = {w: k for k, w in enumerate(workers)}
    source, sink = 0, 1
    task0, worker0 = 2, 2 + len(eligible)
    super_source, super_sink = worker0 + len(workers), worker0 + len(workers) + 1
    flow = _MaxFlow(super_sink + 1)
    excess = [0] * (super_sink + 1)
    for k, members in enumerate(eligible):
        excess[task0 + k] += team  # source -> task carries exactly `team`
        excess[source] -= team
        for w in members:
            flow.edge(task0 + k, worker0 + index[w], 1)
    for w, k in index.items():
        flow.edge(worker0 + k, sink, high - low)
        excess[sink] += low
        excess[worker0 + k] -= low
    flow.edge(sink, source, 1 << 30)
    need = 0
    for node, value in enumerate(excess):
        if value > 0:
            flow.edge(super_source, node, value)
            need += value
        elif value < 0:
            flow.edge(node, super_sink, -value)
    return flow.run(super_source, super_sink) == need
