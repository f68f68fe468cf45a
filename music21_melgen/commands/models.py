"""``melgen models``: the bundled models, each with its kind, weights and recommended sampling."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Attach ``models`` to the ``melgen`` subcommands."""
    parser = subparsers.add_parser("models", help="list the bundled models", description=__doc__)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print one block per bundled model (reads config.json only: no torch)."""
    from music21_melgen.checkpoint import BUNDLED_MODELS, CONFIG_FILE, recommended_sampling, resolve_model
    from music21_melgen.controls import controls_to_json
    from music21_melgen.kinds import kind_of

    for name in BUNDLED_MODELS:
        folder, _ = resolve_model(name)
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        kind = kind_of(config.get("kind"))
        sampling = controls_to_json(recommended_sampling(name))
        print(f"{name}: {kind.name} ({kind.summary})")
        print(f"  weights sha256 {str(config.get('weights_sha256', ''))[:12]}, test loss "
              f"{config.get('metrics', {}).get('test_bits_per_step')} bits per step")
        print("  recommended sampling: " + ", ".join(f"{key} {json.dumps(value)}" for key, value in sampling.items()))
    return 0
