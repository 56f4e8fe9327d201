"""The rules of state graphs, as properties over random graphs and as examples."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portevoix.worker.graph import GraphError, State, StateGraph


def noop(row: object) -> None:
    return None


@dataclass(frozen=True)
class Spec:
    kind: str  # "auto", "external", "terminal"
    initial: bool
    failure: bool
    try_interval: float | None
    edges: tuple[int, ...]


@st.composite
def graph_specs(draw: st.DrawFn) -> list[Spec]:
    n = draw(st.integers(min_value=1, max_value=6))
    specs = []
    for _ in range(n):
        kind = draw(st.sampled_from(["auto", "external", "terminal"]))
        specs.append(
            Spec(
                kind=kind,
                initial=draw(st.booleans()),
                failure=draw(st.booleans()),
                try_interval=draw(st.sampled_from([None, 0.0, 5.0])),
                edges=tuple(
                    sorted(draw(st.sets(st.integers(min_value=0, max_value=n - 1), max_size=3)))
                ),
            )
        )
    return specs


def build(specs: list[Spec]) -> type[StateGraph]:
    states = [
        State(
            handler=noop if s.kind == "auto" else None,
            try_interval=s.try_interval,
            initial=s.initial,
            terminal=s.kind == "terminal",
            failure=s.failure,
        )
        for s in specs
    ]
    for state, spec in zip(states, specs, strict=True):
        state.transitions_to(*(states[i] for i in spec.edges))
    namespace = {f"s{i}": state for i, state in enumerate(states)}
    return type("RandomGraph", (StateGraph,), namespace)


def expected_valid(specs: list[Spec]) -> bool:
    """The rules, written again independently of the engine."""
    initials = [i for i, s in enumerate(specs) if s.initial]
    failures = [i for i, s in enumerate(specs) if s.failure]
    has_auto = any(s.kind == "auto" for s in specs)
    if len(initials) != 1 or len(failures) > 1 or (has_auto and not failures):
        return False
    for s in specs:
        if s.kind == "terminal" and (s.edges or s.try_interval is not None):
            return False
        if s.kind == "auto" and (not s.try_interval or not s.edges):
            return False
        if s.kind == "external" and (s.try_interval is not None or not s.edges):
            return False
        if s.failure and (s.kind == "auto" or s.initial):
            return False
        if s.initial and s.kind == "terminal":
            return False
    seen, todo = set(), [initials[0]]
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        todo.extend(specs[i].edges)
        if specs[i].kind == "auto":
            todo.extend(failures)
    return len(seen) == len(specs)


@settings(max_examples=400, deadline=None)
@given(graph_specs())
def test_graph_is_accepted_exactly_when_it_follows_the_rules(specs: list[Spec]) -> None:
    if expected_valid(specs):
        graph = build(specs)
        assert graph.initial.name == f"s{[s.initial for s in specs].index(True)}"
    else:
        with pytest.raises(GraphError):
            build(specs)


@settings(max_examples=300, deadline=None)
@given(graph_specs())
def test_an_accepted_graph_allows_exactly_its_declared_edges(specs: list[Spec]) -> None:
    if not expected_valid(specs):
        return
    graph = build(specs)
    failure = next((f"s{i}" for i, s in enumerate(specs) if s.failure), None)
    for i, spec in enumerate(specs):
        declared = {f"s{j}" for j in spec.edges}
        if spec.kind == "auto" and failure:
            declared.add(failure)
        for j in range(len(specs)):
            assert graph.allows(f"s{i}", f"s{j}") == (f"s{j}" in declared)
    for state in graph.states.values():
        if state.terminal:
            assert state.handler is None and not state.children
        if state.automatic:
            assert state.try_interval and state.try_interval > 0


def test_examples_of_each_rule() -> None:
    class Publication(StateGraph):
        queued = State(initial=True, handler=noop, try_interval=30)
        published = State(terminal=True)
        failed = State(failure=True, terminal=True)
        queued.transitions_to(published)

    assert Publication.initial is Publication.queued
    assert Publication.failure is Publication.failed
    assert Publication.allows("queued", "failed")
    assert not Publication.allows("published", "queued")

    with pytest.raises(GraphError, match="exactly one initial"):

        class TwoInitials(StateGraph):
            a = State(initial=True)
            b = State(initial=True, terminal=True)
            a.transitions_to(b)

    with pytest.raises(GraphError, match="try_interval"):

        class NoInterval(StateGraph):
            a = State(initial=True, handler=noop)
            b = State(terminal=True, failure=True)
            a.transitions_to(b)

    with pytest.raises(GraphError, match="needs a failure state"):

        class NoFailure(StateGraph):
            a = State(initial=True, handler=noop, try_interval=1)
            b = State(terminal=True)
            a.transitions_to(b)

    with pytest.raises(GraphError, match="terminal, so it has no outgoing"):

        class TerminalWithWayOut(StateGraph):
            a = State(initial=True)
            b = State(terminal=True)
            a.transitions_to(b)
            b.transitions_to(a)

    with pytest.raises(GraphError, match="cannot be reached"):

        class Orphan(StateGraph):
            a = State(initial=True)
            b = State(terminal=True)
            c = State(terminal=True)
            a.transitions_to(b)

    with pytest.raises(GraphError, match="leads nowhere"):

        class DeadEnd(StateGraph):
            a = State(initial=True)
            b = State()
            a.transitions_to(b)
