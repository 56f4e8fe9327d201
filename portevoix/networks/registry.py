"""Which networks exist: ``register`` a ``Network`` subclass, ``get`` it by name.

The built-in modules are imported on first use, so importing this package stays cheap and a
module whose optional dependency is missing does not break the others.
"""

from __future__ import annotations

import importlib

from .base import Network
from .errors import NotFound

_BUILTIN_MODULES: dict[str, str] = {
    "bluesky": "portevoix.networks.bluesky",
    "facebook": "portevoix.networks.facebook",
    "instagram": "portevoix.networks.instagram",
    "linkedin": "portevoix.networks.linkedin",
    "manual": "portevoix.networks.manual",
    "mastodon": "portevoix.networks.mastodon",
    "sandbox": "portevoix.networks.sandbox",
    "tiktok": "portevoix.networks.tiktok",
    "x": "portevoix.networks.x",
    "youtube": "portevoix.networks.youtube",
}

_registry: dict[str, type[Network]] = {}


def register[N: type[Network]](cls: N) -> N:
    """Class decorator: make ``cls`` available as ``get(cls.name)``."""
    name = cls.name
    existing = _registry.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"network {name!r} is already registered by {existing.__qualname__}")
    _registry[name] = cls
    return cls


def unregister(name: str) -> None:
    """Forget a network (tests register throwaway networks)."""
    _registry.pop(name, None)


def _load_builtin(name: str) -> None:
    module = _BUILTIN_MODULES.get(name)
    if module is None or name in _registry:
        return
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise


def get(name: str) -> type[Network]:
    """The network class registered as ``name``; ``NotFound`` if there is none."""
    _load_builtin(name)
    try:
        return _registry[name]
    except KeyError:
        raise NotFound(
            f"Unknown network: {name!r}.", network=name, code="unknown_network"
        ) from None


def label(name: str) -> str:
    """What people call the network registered as ``name`` ("Bluesky"); the code itself for
    one that is not registered (a row older than a removed network)."""
    try:
        return str(get(name).label)
    except NotFound:
        return name


def all_networks() -> list[type[Network]]:
    """Every registered network, built-in ones included, sorted by name."""
    for name in _BUILTIN_MODULES:
        _load_builtin(name)
    return [_registry[name] for name in sorted(_registry)]


__all__ = ["all_networks", "get", "register", "unregister"]
