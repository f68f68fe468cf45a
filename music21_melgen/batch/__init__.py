"""Batch generation: a melody for every score of a corpus, locally or on Dask.

A *batch* turns a set of inputs (files, folders searched recursively, glob
patterns) into one output score per input under an output folder, and keeps
a *manifest* there: ``manifest.jsonl``, one JSON object per line and per input
per run, with the keys

``input``
    absolute path of the input file;
``output``
    path of the output file, relative to the output folder (POSIX slashes);
``status``
    ``"ok"`` (written now), ``"skipped"`` (already there) or ``"failed"``;
``error``
    what went wrong (``null`` unless failed);
``seed``
    the song's own seed (see :func:`song_seed`);
``model_hash``
    SHA-256 of the model's weights (see :func:`model_hash`);
``settings``
    a short hash of the sampling controls in effect, the model's recommended
    settings filled in where none was given;
``seconds``
    time spent on the input, parse to written file;
``echoes``
    the passages of the new melody that echo earlier ones, as measure ranges
    (``"5-8<1-4;13-16<9-12"``: measures 5-8 echo 1-4), empty when none or not written.

Outputs mirror the inputs' folders and each song's seed derives from the base
seed and its path, so an output depends neither on the worker count nor on
the other inputs. Re-running resumes: outputs already there with the same
seed, model and settings are skipped. Equal seeds give byte-identical files
whatever the day, the worker or the machine (the score writer,
:mod:`music21_melgen.files`, numbers music21's random ids, leaves out the
encoding date and gives ``.mxl`` members a fixed time).

One module a job, imports pointing one way (``plan`` <- ``manifest`` <-
``workers`` <- ``schedulers`` <- ``run``):

``plan``
    the input set, output names and seeds (:func:`plan_batch`);
``manifest``
    the manifest, the model and settings fingerprints, the resume rule and
    the private folders outputs are written in;
``workers``
    a worker process: getting ready, generating one song; the local pool and
    its recovery from dead workers;
``schedulers``
    this process, the pool or a Dask cluster (``scheduler=``);
``run``
    :func:`run_batch`, which ties them together.
"""

from __future__ import annotations

from music21_melgen.batch.manifest import (
    MANIFEST_NAME,
    STATUSES,  # noqa: F401  (public, outside __all__ as before the split)
    BatchReport,
    BatchResult,
    _settings_hash,  # noqa: F401  (tests/test_sampling_defaults.py imports it from here)
    model_hash,
    read_manifest,
)
from music21_melgen.batch.plan import (
    INPUT_EXTENSIONS,
    OUTPUT_FORMATS,
    BatchItem,
    Inputs,  # noqa: F401  (the type of run_batch's inputs)
    collect_inputs,
    plan_batch,
    song_seed,
)
from music21_melgen.batch.run import run_batch

__all__ = [
    "INPUT_EXTENSIONS",
    "OUTPUT_FORMATS",
    "MANIFEST_NAME",
    "BatchItem",
    "BatchResult",
    "BatchReport",
    "collect_inputs",
    "plan_batch",
    "song_seed",
    "model_hash",
    "read_manifest",
    "run_batch",
]
