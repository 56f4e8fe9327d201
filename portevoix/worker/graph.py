"""State graphs: what can happen to a row of background work, checked when the code loads.

Adapted from Takahē's ``stator/graph.py``. A graph is a class whose attributes are
:class:`State` objects; the edges are declared with :meth:`State.transitions_to` in the class
body. The class is validated as soon as Python creates it, so a graph that could strand a row
(no handler, no way out, a state nothing leads to) never reaches a worker::

    class PublicationStates(StateGraph):
        queued = State(initial=True, handler="handle_queued", try_interval=30)
        published = State(terminal=True)
        failed = State(failure=True, terminal=True)
        queued.transitions_to(published)

Kinds of state:

* **automatic**: has a ``handler`` (a callable taking the row, or the name of a method of the
  model) and a ``try_interval``; workers run the handler when the row is due;
* **external**: no handler; an action (a person, the API) moves the row on;
* **terminal**: no handler and no way out.

One state is ``initial``. A graph with an automatic state has exactly one ``failure`` state:
where a row lands, with its reason, once its handler has failed ``max_attempts`` times. Every
automatic state implicitly transitions to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

Handler = Callable[[Any], Any] | str


class GraphError(TypeError):
    """A state graph breaks one of the rules; raised when its class is created."""


class State:
    """One state of a :class:`StateGraph`. ``name`` is set from the attribute name."""

    def __init__(
        self,
        *,
        handler: Handler | None = None,
        try_interval: float | None = None,
        max_attempts: int = 5,
        initial: bool = False,
        terminal: bool = False,
        failure: bool = False,
    ) -> None:
        self.handler = handler
        self.try_interval = try_interval
        self.max_attempts = max_attempts
        self.initial = initial
        self.terminal = terminal
        self.failure = failure
        self.name = ""
        self.graph: type[StateGraph] | None = None
        self.children: list[State] = []

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<State {self.name or '?'}>"

    def transitions_to(self, *others: State) -> State:
        """Declare that a row in this state may move to each of ``others``."""
        for other in others:
            if not isinstance(other, State):
                raise GraphError(
                    f"{self.name}: transitions_to() takes State objects, not {other!r}"
                )
            if other not in self.children:
                self.children.append(other)
        return self

    @property
    def automatic(self) -> bool:
        """Workers run this state's handler; the row needs no person to move on."""
        return self.handler is not None

    @property
    def external(self) -> bool:
        return not self.automatic and not self.terminal


class StateGraph:
    """Base class of state graphs. Subclasses are validated on creation (:func:`validate`)."""

    states: ClassVar[dict[str, State]] = {}
    initial: ClassVar[State]
    failure: ClassVar[State | None] = None
    # How long a claimed row stays leased to a worker. A running worker's heartbeat renews it
    # every third of it while the handler runs; after a crash (no more heartbeat) the row is
    # taken again once this has passed. Inline runs (tests) have no heartbeat: a handler that
    # can take longer calls ``row.extend_lease()``.
    lease_seconds: ClassVar[float] = 30.0
    # Ceiling of the retry back-off after errors, in seconds.
    max_backoff: ClassVar[float] = 6 * 3600.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        states: dict[str, State] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, State):
                    states[name] = value
        cls.states = states
        for state in states.values():
            if (
                state.graph is not None
                and state.graph is not cls
                and state.graph not in cls.__mro__
            ):
                raise GraphError(f"{cls.__name__}.{state.name}: a State belongs to one graph only")
            state.graph = state.graph or cls
        validate(cls)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(name, name.replace("_", " ")) for name in cls.states]

    @classmethod
    def automatic_states(cls) -> list[State]:
        return [s for s in cls.states.values() if s.automatic]

    @classmethod
    def get(cls, name: str | State) -> State:
        if isinstance(name, State):
            name = name.name
        try:
            return cls.states[name]
        except KeyError:
            raise KeyError(f"{cls.__name__} has no state {name!r}") from None

    @classmethod
    def allows(cls, source: str | State, target: str | State) -> bool:
        """Whether the graph declares ``source -> target`` (the failure edge included)."""
        src, dst = cls.get(source), cls.get(target)
        return dst in _edges(src, cls.failure)


def _edges(state: State, failure: State | None) -> list[State]:
    edges = list(state.children)
    if state.automatic and failure is not None and failure not in edges:
        edges.append(failure)
    return edges


def _reachable(start: State, failure: State | None) -> Iterator[State]:
    seen: set[int] = set()
    stack = [start]
    while stack:
        state = stack.pop()
        if id(state) in seen:
            continue
        seen.add(id(state))
        yield state
        stack.extend(_edges(state, failure))


def problems(graph: type[StateGraph]) -> list[str]:
    """Every rule ``graph`` breaks, as sentences; empty when the graph is sound."""
    name = graph.__name__
    states = graph.states
    found: list[str] = []
    if not states:
        return [f"{name} declares no state"]
    members = {id(s) for s in states.values()}
    for state in states.values():
        for child in state.children:
            if id(child) not in members:
                found.append(f"{name}.{state.name} transitions to a state of another graph")
    initials = [s for s in states.values() if s.initial]
    if len(initials) != 1:
        found.append(f"{name} must have exactly one initial state, not {len(initials)}")
    failures = [s for s in states.values() if s.failure]
    if len(failures) > 1:
        found.append(f"{name} has {len(failures)} failure states; one is enough")
    if any(s.automatic for s in states.values()) and not failures:
        found.append(f"{name} has automatic states, so it needs a failure state")
    for state in states.values():
        where = f"{name}.{state.name}"
        if state.terminal:
            if state.handler is not None or state.try_interval is not None:
                found.append(f"{where} is terminal, so it has no handler or retry interval")
            if state.children:
                found.append(f"{where} is terminal, so it has no outgoing transitions")
        elif state.automatic:
            if state.try_interval is None or state.try_interval <= 0:
                found.append(f"{where} has a handler, so it needs a positive try_interval")
            if not state.children:
                found.append(f"{where} is automatic but leads nowhere")
            if state.max_attempts < 1:
                found.append(f"{where} needs max_attempts of at least 1")
        else:
            if state.try_interval is not None:
                found.append(f"{where} has a try_interval but no handler")
            if not state.children:
                found.append(f"{where} leads nowhere: declare it terminal or give it a way out")
        if state.failure and state.automatic:
            found.append(f"{where} is the failure state, so it cannot have a handler")
        if state.failure and state.initial:
            found.append(f"{where} cannot be both initial and the failure state")
        if state.initial and state.terminal:
            found.append(f"{where} cannot be both initial and terminal")
    if len(initials) == 1 and len(failures) <= 1 and not found:
        failure = failures[0] if failures else None
        reached = {id(s) for s in _reachable(initials[0], failure)}
        for state in states.values():
            if id(state) not in reached:
                found.append(f"{name}.{state.name} cannot be reached from {initials[0].name}")
    return found


def validate(graph: type[StateGraph]) -> None:
    """Raise :class:`GraphError` listing every rule ``graph`` breaks."""
    found = problems(graph)
    if found:
        raise GraphError("; ".join(found))
    graph.initial = next(s for s in graph.states.values() if s.initial)
    graph.failure = next((s for s in graph.states.values() if s.failure), None)
