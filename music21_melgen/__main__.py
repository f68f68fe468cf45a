"""``python -m music21_melgen`` runs the ``melgen`` command line."""

import sys

from music21_melgen.cli import main

sys.exit(main())
