"""PEP 562 lazy public namespaces, shared by ``noise_theory`` and ``simulations``."""

import importlib

__all__ = ["lazy_namespace"]


def lazy_namespace(package, mapping, namespace):
    """Return ``(__getattr__, __dir__)`` for a package whose public names load lazily.

    `mapping` is ``public name -> module that defines it``; `namespace` is the package's
    ``globals()`` (a loaded name is cached there, so it is looked up only once).
    """
    def __getattr__(name):
        module = mapping.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(mapping))

    return __getattr__, __dir__
