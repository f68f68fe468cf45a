"""The POP909 reader: a synthetic song folder the test writes, and the real corpus when it is present."""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import pytest
from conftest import SHARED
from music21 import midi
from music21_melgen.corpus_adapters.pop909 import (
    harte_pitch_classes,
    iter_pop909,
    read_pop909_song,
    verify_pop909,
)

from music21_melgen.cli import main
from music21_melgen.errors import CorpusFormatError

POP909 = SHARED / "pop909"
DIVISION = 480  # ticks per quarter; tempo 120: one quarter = 0.5 s


def _event(kind, **attrs) -> midi.MidiEvent:
    event = midi.MidiEvent(None, type=kind, channel=attrs.pop("channel", None))
    for key, value in attrs.items():
        setattr(event, key, value)
    return event


def _track(index: int, events: list[tuple[int, midi.MidiEvent]]) -> midi.MidiTrack:
    """A track from (absolute tick, event) pairs, with delta times and an end-of-track."""
    track = midi.MidiTrack(index)
    tick = 0
    for at, event in sorted(events, key=lambda pair: pair[0]) + [(None, None)]:
        if event is None:
            at, event = tick, _event(midi.MetaEvents.END_OF_TRACK, data=b"")
        delta = midi.DeltaTime(track, time=at - tick)
        tick = at
        event.track = track
        track.events += [delta, event]
    return track


def _write_midi(path: Path, notes: list[tuple[int, int, int]]) -> None:
    """A POP909-like file: a conductor track at 120 bpm with a wrong 1/4 meter, and MELODY (tick, ticks, pitch)."""
    mf = midi.MidiFile()
    mf.ticksPerQuarterNote = DIVISION
    tempo = _event(midi.MetaEvents.SET_TEMPO, data=(500000).to_bytes(3, "big"))
    meter = _event(midi.MetaEvents.TIME_SIGNATURE, data=b"\x01\x02\x18\x08")
    conductor = _track(0, [(0, tempo), (0, meter)])
    name = _event(midi.MetaEvents.SEQUENCE_TRACK_NAME, data=b"MELODY")
    events: list[tuple[int, midi.MidiEvent]] = [(0, name)]
    for start, length, pitch in notes:
        on = _event(midi.ChannelVoiceMessages.NOTE_ON, channel=1, pitch=pitch, velocity=90)
        off = _event(midi.ChannelVoiceMessages.NOTE_OFF, channel=1, pitch=pitch, velocity=0)
        events += [(start, on), (start + length, off)]
    mf.tracks = [conductor, _track(1, events)]
    mf.open(str(path), "wb")
    mf.write()
    mf.close()


def write_song(root: Path, name: str, notes: list[tuple[int, int, int]], chords: str | None = None) -> Path:
    """A song folder: beats every 0.5 s from 0.5 s (nine beats, a one-beat pickup), two chords, a minor key."""
    folder = root / name
    folder.mkdir(parents=True)
    _write_midi(folder / f"{name}.mid", notes)
    beats = [f"{0.5 + 0.5 * i} {float(i % 2 == 1)} {float(i in (1, 5))}" for i in range(9)]
    (folder / "beat_midi.txt").write_text("\n".join(beats) + "\n")
    chords = chords or "0.5\t2.5\tA:min\n2.5\t5.0\tE:7/3\n"
    (folder / "chord_midi.txt").write_text(chords)
    (folder / "key_audio.txt").write_text("0.5\t5.0\tA:min\n")
    return folder


# Beat 0 is tick 480 (0.5 s). Offsets below in 16ths of the beat axis.
GOOD = [(480, 480, 69), (960, 240, 72), (1200, 240, 71), (1440, 960, 76), (2400, 480, 68), (2880, 1440, 64)]


def test_harte_labels() -> None:
    assert harte_pitch_classes("C:maj") == (0, frozenset({0, 4, 7}))
    assert harte_pitch_classes("Eb:min/b3") == (3, frozenset({3, 6, 10}))
    assert harte_pitch_classes("G:sus4(b7)") == (7, frozenset({7, 0, 2, 5}))
    assert harte_pitch_classes("B:hdim7") == (11, frozenset({11, 2, 5, 9}))
    with pytest.raises(ValueError, match="unknown chord label"):
        harte_pitch_classes("H:maj")


def test_synthetic_song_timeline_and_notes(tmp_path) -> None:
    song = read_pop909_song(write_song(tmp_path, "001", GOOD))
    assert song.name == "001"
    timeline = song.timeline
    assert [(m.number, m.offset, m.length, m.time_signature) for m in timeline.measures] == [
        (0, F(0), F(1), "4/4"), (1, F(1), F(4), "4/4"), (2, F(5), F(4), "4/4"),
    ]
    assert [(c.offset, c.length, c.root, c.pitch_classes, c.key_tonic, c.mode, c.measure, c.label)
            for c in timeline.chords] == [
        (F(0), F(4), 9, frozenset({9, 0, 4}), 9, "minor", 0, "A:min"),
        (F(4), F(5), 4, frozenset({4, 8, 11, 2}), 9, "minor", 1, "E:7/3"),
    ]
    assert [(n.offset, n.length, n.midi) for n in song.notes] == [
        (F(0), F(1), 69), (F(1), F(1, 2), 72), (F(3, 2), F(1, 2), 71),
        (F(2), F(2), 76), (F(4), F(1), 68), (F(5), F(3), 64),
    ]


def test_a_gap_of_a_sixteenth_is_articulation_a_longer_one_a_rest(tmp_path) -> None:
    # 480 ticks a beat: a note a 16th (120 ticks) short of the next, then one an eighth short.
    notes = [(480, 360, 69), (960, 240, 72), (1440, 480, 71)]
    song = read_pop909_song(write_song(tmp_path, "002", notes))
    assert [(n.offset, n.length) for n in song.notes] == [(F(0), F(1)), (F(1), F(1, 2)), (F(2), F(1))]


def test_off_grid_melody_is_skipped_with_the_file(tmp_path) -> None:
    triplets = [(480 + 160 * i, 160, 69 + i % 3) for i in range(12)]
    folder = write_song(tmp_path, "002", triplets)
    with pytest.raises(CorpusFormatError, match=r"002\.mid: melody off the 16th grid: 8 of 12 onsets"):
        read_pop909_song(folder)


def test_uncovered_melody_is_skipped_with_file_and_line(tmp_path) -> None:
    folder = write_song(tmp_path, "003", GOOD, chords="0.5\t1.5\tN\n1.5\t2.5\tA:min\n2.5\t5.0\tN\n")
    with pytest.raises(CorpusFormatError, match=r"chord_midi\.txt:1: chords do not cover the melody"):
        read_pop909_song(folder)


def test_iter_verify_and_command(tmp_path, capsys) -> None:
    write_song(tmp_path, "001", GOOD)
    write_song(tmp_path, "002", [(480 + 160 * i, 160, 69) for i in range(12)])
    results = dict(iter_pop909(tmp_path))
    assert not isinstance(results["001"], str) and "off the 16th grid" in results["002"]
    summary = verify_pop909(tmp_path)
    assert [s.name for s in summary.songs] == ["001"] and summary.songs[0].bars == 3
    assert summary.songs[0].coverage == 1.0
    assert summary.songs[0].chord_tones == pytest.approx(5 / 6)
    assert dict(summary.reasons) == {"melody off the 16th grid": 1}
    assert main(["corpus", "pop909", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1/2 songs read cleanly, 1 skipped"
    assert out[1] == "skipped 1: melody off the 16th grid"
    assert "meters: 4/4 1" in out
    assert out[-1].startswith("001 notes 6 bars 3 meter 4/4 coverage 1.000")


def test_beat_audio_in_three_bars_the_song_in_three(tmp_path) -> None:
    """beat_midi.txt flags every fourth beat; beat_audio.txt hears 3/4: its downbeats make the bars."""
    folder = write_song(tmp_path, "001", GOOD)
    # Audio beats slightly off the MIDI beats (0.5 s apart from 0.5 s), positions 1 2 3 from beat 1.
    audio = [f"{0.52 + 0.5 * i:.2f}\t{float((i - 1) % 3 + 1)}" for i in range(1, 9)]
    (folder / "beat_audio.txt").write_text("\n".join(audio) + "\n")
    song = read_pop909_song(folder)
    measures = song.timeline.measures
    assert [(m.number, m.offset, m.time_signature) for m in measures] == [
        (0, 0, "3/4"), (1, 1, "3/4"), (2, 4, "3/4"), (3, 7, "2/4"),
    ]
    assert summary_meter(tmp_path) == "3/4"
    # A four-beat audio reading keeps the MIDI's bars.
    audio = [f"{0.52 + 0.5 * i:.2f}\t{float((i - 1) % 4 + 1)}" for i in range(1, 9)]
    (folder / "beat_audio.txt").write_text("\n".join(audio) + "\n")
    assert [m.offset for m in read_pop909_song(folder).timeline.measures] == [0, 1, 5]


def test_bad_beat_audio_names_its_line(tmp_path) -> None:
    folder = write_song(tmp_path, "001", GOOD)
    (folder / "beat_audio.txt").write_text("0.5\t1.0\n1.0\tthree\n")
    with pytest.raises(CorpusFormatError, match=r"beat_audio\.txt:2: not a number: 'three'"):
        read_pop909_song(folder)


def summary_meter(root: Path) -> str:
    return verify_pop909(root).songs[0].meter


def test_missing_folder_is_one_line(tmp_path, capsys) -> None:
    assert main(["corpus", "pop909", str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().out.startswith("error: ")


def test_real_corpus_first_twenty() -> None:
    if not POP909.is_dir():
        pytest.skip(f"POP909 not found at {POP909} (set MELGEN_SHARED to ../shared)")
    summary = verify_pop909(POP909, limit=20)
    assert len(summary.songs) >= 16, summary.skipped  # at least 80 % read cleanly
    mean = sum(check.chord_tones for check in summary.songs) / len(summary.songs)
    assert mean > 0.5


def test_broken_midi_is_one_line(tmp_path) -> None:
    folder = write_song(tmp_path, "004", GOOD)
    (folder / "004.mid").write_bytes(b"garbage")
    with pytest.raises(CorpusFormatError, match=r"004\.mid: unreadable MIDI") as err:
        read_pop909_song(folder)
    assert "\n" not in str(err.value)


def test_the_data_hash_covers_every_file_the_reader_opens(tmp_path) -> None:
    """beat_audio.txt decides the bars, so a training run's data hash must change with it."""
    from music21_melgen.corpus_adapters.pop909 import song_files
    from music21_melgen.training.sources import read_source
    from music21_melgen.training.dataset import files_hash

    folder = write_song(tmp_path, "001", GOOD)
    assert [p.name for p in song_files(folder)] == ["001.mid", "beat_midi.txt", "chord_midi.txt", "key_audio.txt"]
    before = files_hash(tmp_path, read_source(tmp_path).files)
    (folder / "beat_audio.txt").write_text("0.52\t1.0\n1.02\t2.0\n1.52\t3.0\n")
    assert "beat_audio.txt" in [p.name for p in read_source(tmp_path).files]
    assert files_hash(tmp_path, read_source(tmp_path).files) != before
    (folder / "key_audio.txt").unlink()  # a song that cannot be read is skipped, and hashed without the file
    read = read_source(tmp_path)
    assert not read.songs and "key_audio.txt" in read.skipped[0][1]
    assert files_hash(tmp_path, read.files)
