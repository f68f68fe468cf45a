"""Shared fixtures: where ../shared lives, and a clean music21 converter registry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MELGEN_SHARED", REPO.parent / "shared"))
ROCK_CORPUS = SHARED / "rock_corpus"
MUSICXML_XSD = SHARED / "musicxml-schema" / "musicxml.xsd"


@pytest.fixture(scope="session")
def rock_corpus() -> Path:
    """The Rock Corpus folder of ../shared; skips the test when it is absent."""
    if not (ROCK_CORPUS / "har").is_dir():
        pytest.skip(f"Rock Corpus not found at {ROCK_CORPUS} (set MELGEN_SHARED to ../shared)")
    return ROCK_CORPUS


@pytest.fixture(scope="session")
def musicxml_xsd() -> Path:
    """The MusicXML 4.0 schema of ../shared; skips the test when it is absent."""
    if not MUSICXML_XSD.is_file():
        pytest.skip(f"MusicXML schema not found at {MUSICXML_XSD} (set MELGEN_SHARED to ../shared)")
    return MUSICXML_XSD


@pytest.fixture
def fresh_registry():
    """Reset music21's converter registry after the test, then re-register ours."""
    from music21 import converter

    import music21_melgen

    yield
    converter.resetSubConverters()
    music21_melgen.register()
