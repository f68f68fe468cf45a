"""``melgen corpus``: check and list a Rolling Stone Rock Corpus folder.

``melgen corpus verify DIR`` compares every ``.har`` and ``.mel`` with the
corpus authors' reference outputs (:func:`music21_melgen.corpus_adapters.verify.verify_corpus`),
prints the match counts and every mismatch, and exits 1 on any mismatch
that is not a documented error of the reference. ``melgen corpus list DIR``
prints one line per song: stem, analysts, melody transcriber, timing.
``melgen corpus pop909 DIR`` reads every POP909 song folder of DIR and prints
how many read cleanly, the skip reasons counted, then one line per song.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Attach ``corpus`` (with ``verify`` and ``list``) to the ``melgen`` subcommands."""
    parser = subparsers.add_parser(
        "corpus",
        help="verify the Rock Corpus readers against the reference outputs, or list the songs",
        description="Work with a Rolling Stone Rock Corpus folder (har/, mel/, tim/, reference/, exp/, clt/).",
    )
    actions = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="compare every file with the authors' reference outputs; exit 1 on a mismatch",
        description=(
            "Read every .har and .mel of DIR and compare the chord tables, Chords: lines, flat "
            "progressions (exp/), note lists and, unless --no-clt, the seconds of clt/ with the "
            "reference outputs, character for character."
        ),
    )
    verify.add_argument("folder", metavar="DIR", help="the corpus folder")
    verify.add_argument("--no-clt", action="store_true", help="skip the clt/ comparison (needs tim/)")
    verify.set_defaults(handler=_verify)
    listing = actions.add_parser(
        "list", help="list the songs: stem, analysts, melody transcriber, timing",
        description="One line per song of DIR, sorted by stem.",
    )
    listing.add_argument("folder", metavar="DIR", help="the corpus folder (layout or one flat folder)")
    listing.set_defaults(handler=_list)
    pop = actions.add_parser(
        "pop909", help="read every POP909 song: counts, skip reasons, sanity figures per song",
        description="Read every song folder of a POP909 copy; print the counts and skip reasons, then one line per song.",
    )
    pop.add_argument("folder", metavar="DIR", help="the POP909 folder (one NNN/ folder per song)")
    pop.add_argument("--limit", type=int, default=None, help="read only the first N songs")
    pop.set_defaults(handler=_pop909)
    return parser


def _pop909(args: argparse.Namespace) -> int:
    from music21_melgen.corpus_adapters.pop909 import verify_pop909
    from music21_melgen.errors import MelgenError

    try:
        summary = verify_pop909(args.folder, limit=args.limit)
    except MelgenError as err:
        print(f"error: {err}")
        return 2
    print("\n".join(summary.lines()))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from music21_melgen.corpus_adapters.verify import verify_corpus

    report = verify_corpus(args.folder, clt=not args.no_clt)
    for mismatch in report.mismatches():
        note = f" [known reference error: {mismatch.known}]" if mismatch.known else ""
        print(f"mismatch {mismatch.file}: {mismatch.detail}{note}")
    print(report.summary())
    return 0 if report.ok else 1


def _list(args: argparse.Namespace) -> int:
    from music21_melgen.corpus_adapters.corpus import iter_songs

    count = 0
    for song in iter_songs(args.folder):
        melody = song.melody_analyst or "-"
        timing = "tim" if song.timing else "-"
        print(f"{song.stem}\t{','.join(song.analysts)}\tmelody:{melody}\t{timing}")
        count += 1
    print(f"{count} songs")
    return 0
