"""Synthetic captures with known timings for the analysis tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtwidgets.analysis._synth import SyntheticCall, TurnIds, usage_block

USAGE = usage_block(text_in=100, audio_in=50, cached_text=20, cached_audio=10, text_out=10,
                    audio_out=200)


def build_standard() -> tuple[SyntheticCall, dict[str, TurnIds]]:
    """Three turns of known timing: audio (§7.1), tool call (§7.3), text (§7.2).

    Audio turn: speech 1.0→2.0, response.created 2.3, first transcript delta 2.5,
    output_audio_buffer.started 2.6, response.done 4.0, playback stops 6.0.
    Tool turn: speech 7.0→8.0, created 8.2, arguments done 8.5, answered by a handler at 9.1.
    Text turn: sent 10.0, server added 10.05, created 10.1, first text 10.4, done 11.0.
    """
    c = SyntheticCall()
    c.session(0.05)
    ids = {
        "audio": c.audio_turn(speech_start=1.0, speech_stop=2.0, created=2.3, first_text=2.5,
                              audio=2.6, done=4.0, transcript="What time is it?",
                              reply="It is noon.", usage=USAGE, audio_stop=6.0),
        "tool": c.tool_turn(speech_start=7.0, speech_stop=8.0, created=8.2, requested=8.5,
                            done=8.6, name="lookup", arguments={"order": 42}, answered=9.1,
                            output='{"status":"shipped"}', by="handler", usage=USAGE),
        "text": c.text_turn(sent=10.0, added=10.05, created=10.1, first_text=10.4, done=11.0,
                            text="typed question", reply="Typed reply", usage=USAGE),
    }
    return c, ids


@pytest.fixture
def standard(tmp_path: Path) -> tuple[Path, SyntheticCall, dict[str, TurnIds]]:
    call, ids = build_standard()
    return call.write(tmp_path / "call.jsonl"), call, ids
