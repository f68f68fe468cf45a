"""Readers of corpus formats: the Rolling Stone Rock Corpus (``.har``, ``.mel``, ``.tim``).

They import nothing from the melody engine; their output is plain data
(chord events, notes, downbeat times) and music21 Scores.
"""
