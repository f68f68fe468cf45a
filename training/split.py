"""The fixed train / validation / test split of each corpus, by song stem.

A song goes wholly to one split, never window by window, so every validation
and test figure is on songs the model never saw. The split of a stem is a
pure function of its name: the first 8 bytes of ``sha256("melgen-split-v6:" +
stem)`` read as a big-endian integer, modulo 10: 0–7 train (80 %), 8
validation (10 %), 9 test (10 %). It does not depend on which other songs are
present, on file order or on any random seed, so it never changes. The salt
was fixed once, before any model was trained: the first of ``v1, v2, ...``
that puts at least 20 of the 200 Rock Corpus songs in validation and in test
(``v6``: 158 / 22 / 20 songs). Both
analysts' harmonisations of a song share its stem and thus its split.

Other corpora hash ``"<corpus>/<stem>"`` the same way (:func:`split_key`;
the Rock Corpus keeps the bare stem, so its split never moved). POP909, keyed
``pop909/<folder name>``: 713 / 83 / 92 of its 888 songs, and 655 / 79 / 86
of the 820 that read cleanly (the others are skipped by the reader, see
:mod:`music21_melgen.corpus_adapters.pop909`). A folder of scores is keyed
``scores/<file stem>``, a tune of an ABC book ``scores/<file stem>/<X: number>``.

>>> split_of("a_hard_days_night")
'train'
>>> split_of("003", corpus="pop909")
'test'
>>> sorted(split_stems(["a", "b", "c"]))
['test', 'train', 'validation']
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["SPLITS", "SALT", "split_key", "split_of", "split_stems"]

SPLITS = ("train", "validation", "test")
SALT = "melgen-split-v6:"  # changing it reshuffles every song: never do it silently


def split_key(stem: str, corpus: str = "rock") -> str:
    """The text hashed for a song: its stem in the Rock Corpus, ``"<corpus>/<stem>"`` elsewhere.

    >>> split_key("hey_jude"), split_key("001", corpus="pop909")
    ('hey_jude', 'pop909/001')
    """
    return stem if corpus == "rock" else f"{corpus}/{stem}"


def split_of(stem: str, corpus: str = "rock") -> str:
    """``'train'``, ``'validation'`` or ``'test'`` for a song stem of ``corpus``."""
    key = split_key(stem, corpus)
    bucket = int.from_bytes(hashlib.sha256((SALT + key).encode("utf-8")).digest()[:8], "big") % 10
    if bucket < 8:
        return "train"
    return "validation" if bucket == 8 else "test"


def split_stems(stems: Iterable[str], corpus: str = "rock") -> dict[str, list[str]]:
    """Stems of ``corpus`` grouped by split (each list sorted; every split present, maybe empty)."""
    groups: dict[str, list[str]] = {name: [] for name in SPLITS}
    for stem in sorted(set(stems)):
        groups[split_of(stem, corpus)].append(stem)
    return groups
