"""Every module's doctests, found by walking the installed ``music21_melgen`` namespace.

The repository keeps ``corpus_adapters/`` and ``training/`` at the top, but
they are installed as ``music21_melgen.corpus_adapters`` and
``music21_melgen.training``; pytest's own ``--doctest-modules`` would import
them under their folder names, so the doctests are collected here by module
name instead.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import music21_melgen


# Installed elsewhere than the package's own folder (setuptools package-dir), so
# pkgutil does not find them under music21_melgen.__path__.
MAPPED = ("music21_melgen.corpus_adapters", "music21_melgen.training")


def _module_names() -> list[str]:
    names = {music21_melgen.__name__, *MAPPED}
    roots = [(music21_melgen.__path__, "music21_melgen.")]
    roots += [(importlib.import_module(name).__path__, name + ".") for name in MAPPED]
    for path, prefix in roots:
        names.update(info.name for info in pkgutil.walk_packages(path, prefix=prefix))
    return sorted(name for name in names if not name.endswith(".__main__"))


MODULES = _module_names()


def test_the_walk_reaches_every_package() -> None:
    for package in ("music21_melgen.corpus_adapters", "music21_melgen.training", "music21_melgen.commands"):
        assert package in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"
