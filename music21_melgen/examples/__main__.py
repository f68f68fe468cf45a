"""``python -m music21_melgen.examples [TARGET]``: copy the README's example score here (or to TARGET)."""

import sys

from music21_melgen.errors import MelgenError
from music21_melgen.examples import copy_example


def main(argv: list[str] | None = None) -> int:
    """Copy the example to the one optional argument (a file or folder); print where it went."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print("usage: python -m music21_melgen.examples [TARGET]", file=sys.stderr)
        return 2
    try:
        written = copy_example(args[0] if args else None)
    except MelgenError as error:
        print(f"melgen: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {written}: try  melgen generate {written} -o out.musicxml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
