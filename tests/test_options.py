"""The sampling options shared by melgen generate, batch and evaluate."""

from __future__ import annotations

import pytest

from music21_melgen.cli import build_parser
from music21_melgen.commands.options import SAMPLING_CONTROLS, parse_reduction, sampling_controls
from music21_melgen.sampling import SamplingControls

COMMANDS = {
    "generate": ["generate", "in.musicxml", "-o", "out.musicxml"],
    "batch": ["batch", "in.musicxml", "-o", "out"],
    "evaluate": ["evaluate", "--corpus", "corpus"],
}


def test_every_control_is_a_sampling_controls_field():
    assert set(SAMPLING_CONTROLS) <= set(SamplingControls.__dataclass_fields__)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unset_options_leave_the_choice_to_the_model(command):
    args = build_parser().parse_args(COMMANDS[command])
    assert sampling_controls(args) == {}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_given_options_parse_alike_in_every_command(command):
    argv = COMMANDS[command] + [
        "--temperature", "0.8", "--top-p", "0.9", "--chord-tone-weight", "1.2",
        "--continuation-reduction", "1.3,1.4", "--candidates", "3", "--range", "G3-G5",
        "--longest-note", "2", "--longest-rest", "4", "--repetition", "0.5", "--silent-sections", "Intro,Solo",
        "--echo-harmony", "roots",
    ]
    controls = sampling_controls(build_parser().parse_args(argv))
    assert controls["temperature"] == 0.8 and controls["top_p"] == 0.9
    assert controls["continuation_reduction"] == (1.3, 1.4)
    assert controls["candidates"] == 3 and controls["pitch_range"] == (55, 79)
    assert controls["repetition"] == 0.5 and controls["silent_sections"] == ("Intro", "Solo")
    assert controls["echo_harmony"] == "roots"
    assert set(controls) == set(SAMPLING_CONTROLS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_continuation_reduction_can_be_switched_off_either_way(command):
    parser = build_parser()
    flag = sampling_controls(parser.parse_args(COMMANDS[command] + ["--no-continuation-reduction"]))
    word = sampling_controls(parser.parse_args(COMMANDS[command] + ["--continuation-reduction", "off"]))
    assert flag == word == {"continuation_reduction": None}


def test_bad_reduction_is_an_argparse_error():
    with pytest.raises(Exception, match="START,GROWTH"):
        parse_reduction("fast")
