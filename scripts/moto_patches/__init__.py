"""Patches of moto 5.2.5 that the project's endpoint launcher applies before moto serves.

Stock moto lacks some failure and stop paths (see ../shared/reference/local-aws-families.md):
each module of this package patches one AWS family and exposes `apply()`. A patch is small,
documented at its top (what stock moto does, what the patch changes, which test needs it), and
only ever adds a path AWS itself has; it never changes what stock moto already does right.
These are test fixtures of the project, never part of airtask itself.
"""

import importlib
import pkgutil


def apply_all() -> list[str]:
    """Applies every patch module of this package, in name order; returns their names."""
    applied = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.apply()
        applied.append(info.name)
    return applied
