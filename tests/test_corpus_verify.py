"""``melgen corpus verify`` and ``verify_corpus``: exact on the corpus, non-zero on a mismatch."""

from __future__ import annotations

import shutil

import pytest

from music21_melgen.corpus_adapters.verify import verify_corpus
from music21_melgen.cli import main
from music21_melgen.errors import CorpusFormatError


@pytest.fixture(scope="module")
def small_corpus(rock_corpus, tmp_path_factory):
    """A copy of the corpus layout holding three songs, to alter freely."""
    root = tmp_path_factory.mktemp("corpus")
    stems = ("hey_jude", "one", "billie_jean")
    for sub in ("har", "mel", "tim", "exp", "clt", "reference/chords", "reference/notes"):
        (root / sub).mkdir(parents=True)
        for path in (rock_corpus / sub).iterdir():
            song = path.stem if sub == "tim" else path.stem.rsplit("_", 1)[0]
            if song in stems:
                shutil.copy(path, root / sub / path.name)
    return root


def test_whole_corpus_is_exact(rock_corpus) -> None:
    report = verify_corpus(rock_corpus)
    counts = {check.name: (check.exact, check.checked) for check in report.checks}
    assert counts == {
        "harmony": (400, 400), "melody": (193, 193), "chords-line": (200, 200),
        "exp": (400, 400), "clt": (398, 400),
    }
    assert {m.file for m in report.mismatches()} == {"clt/billie_jean_dt.clt", "clt/billie_jean_tdc.clt"}
    assert all(m.known for m in report.mismatches())
    assert report.ok


def test_command_exits_zero_and_prints_counts(small_corpus, capsys) -> None:
    assert main(["corpus", "verify", str(small_corpus)]) == 0
    out = capsys.readouterr().out
    assert "harmony 6/6 exact, melody 3/3 exact" in out
    assert "known reference error" in out


def test_altered_reference_fails(small_corpus, tmp_path, capsys) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(small_corpus, copy)
    table = copy / "reference" / "chords" / "one_dt.txt"
    table.write_text(table.read_text().replace(" 1.00  2.00    IV   5   4   9   2", " 1.00  2.00    IV   5   4   9   3"))
    notes = copy / "reference" / "notes" / "hey_jude_dt.txt"
    notes.write_text(notes.read_text().replace("0.750 60 7", "0.750 61 7", 1))
    assert main(["corpus", "verify", str(copy), "--no-clt"]) == 1
    out = capsys.readouterr().out
    assert "mismatch reference/chords/one_dt.txt: line 2" in out
    assert "mismatch reference/notes/hey_jude_dt.txt: line 1" in out
    assert "harmony 5/6 exact, melody 2/3 exact" in out


def test_unreadable_analysis_counts_as_mismatch(small_corpus, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(small_corpus, copy)
    (copy / "har" / "one_tdc.har").write_text("S: [C] $Missing |\n")
    report = verify_corpus(copy, clt=False)
    assert not report.ok
    assert any("never defined" in m.detail for m in report.mismatches())


def test_not_a_corpus_folder(tmp_path, capsys) -> None:
    with pytest.raises(CorpusFormatError, match="har/"):
        verify_corpus(tmp_path)
    assert main(["corpus", "verify", str(tmp_path)]) == 2
    assert "melgen: error:" in capsys.readouterr().err


def test_list_command(small_corpus, capsys) -> None:
    assert main(["corpus", "list", str(small_corpus)]) == 0
    out = capsys.readouterr().out
    assert "hey_jude\tdt,tdc\tmelody:dt\ttim" in out
    assert out.rstrip().endswith("3 songs")
