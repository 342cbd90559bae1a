"""Cost arithmetic checked by hand on a small case, overrides, snapshots, unknown models."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from rtwidgets.analysis._cost import PRICE_FIELDS, cost_frame, load_prices, price_for
from rtwidgets.analysis._synth import SyntheticCall, usage_block

USAGE = usage_block(text_in=100, audio_in=50, cached_text=20, cached_audio=10, text_out=10,
                    audio_out=200)


def one_response(tmp_path: Path, *, model: str = "gpt-realtime",
                 usage: dict[str, object] | None = None, session: bool = True) -> Path:
    c = SyntheticCall(model=model)
    if session:
        c.session(0.0)
    c.audio_turn(speech_start=1.0, speech_stop=2.0, created=2.2, first_text=2.4, audio=None,
                 done=3.0, transcript="hi", reply="hello", usage=usage or USAGE)
    return c.write(tmp_path / "c.jsonl")


def test_packaged_table_is_dated_and_sourced() -> None:
    prices = load_prices()
    assert prices["taken"] == "2026-11-26"
    assert prices["source"].startswith("https://")
    assert prices["unit"] == "per 1M tokens"
    for model, row in prices["models"].items():
        assert set(PRICE_FIELDS) <= set(row), model
        assert isinstance(row["confirmed"], bool)


def test_cost_by_hand(tmp_path: Path) -> None:
    cost = cost_frame(one_response(tmp_path))
    row = cost.iloc[0]
    # gpt-realtime: text 4 / cached 0.4 / out 16; audio 32 / cached 0.4 / out 64 (per 1M).
    assert row["input_text_usd"] == pytest.approx((100 - 20) * 4 / 1e6)      # 0.00032
    assert row["input_audio_usd"] == pytest.approx((50 - 10) * 32 / 1e6)     # 0.00128
    assert row["cached_input_usd"] == pytest.approx((20 + 10) * 0.4 / 1e6)   # 0.000012
    assert row["output_text_usd"] == pytest.approx(10 * 16 / 1e6)            # 0.00016
    assert row["output_audio_usd"] == pytest.approx(200 * 64 / 1e6)          # 0.0128
    assert row["input_image_usd"] == 0.0
    assert row["total_usd"] == pytest.approx(0.014572)
    assert row["priced"]
    total = cost.iloc[-1]
    assert total["response_id"] == "total"
    assert total["total_usd"] == pytest.approx(0.014572)


def test_overrides_as_mapping_and_dataframe(tmp_path: Path) -> None:
    path = one_response(tmp_path)
    bumped = cost_frame(path, prices={"gpt-realtime": {"audio_output": 100.0}})
    assert bumped["output_audio_usd"].iloc[0] == pytest.approx(200 * 100 / 1e6)
    assert bumped["input_audio_usd"].iloc[0] == pytest.approx(40 * 32 / 1e6)   # unchanged
    table = pd.DataFrame({"text_input": [1.0], "text_cached_input": [0.0],
                          "text_output": [0.0], "audio_input": [0.0],
                          "audio_cached_input": [0.0], "audio_output": [0.0]},
                         index=["gpt-realtime"])
    only_text = cost_frame(path, prices=table)
    assert only_text["total_usd"].iloc[0] == pytest.approx(80 * 1.0 / 1e6)


def test_snapshot_ids_use_their_base_price_and_unknown_models_stay_nan(tmp_path: Path) -> None:
    snap = cost_frame(one_response(tmp_path, model="gpt-realtime-2025-08-28"))
    assert snap["total_usd"].iloc[0] == pytest.approx(0.014572)
    # A newer id must not borrow gpt-realtime's price by prefix.
    assert price_for("gpt-realtime-2.1", {"gpt-realtime": {"text_input": 4.0}}) == {}
    (tmp_path / "u").mkdir()
    unknown = cost_frame(one_response(tmp_path / "u", model="gpt-realtime-2.1"))
    assert not unknown["priced"].iloc[0]
    assert math.isnan(unknown["total_usd"].iloc[0])
    assert math.isnan(unknown["total_usd"].iloc[-1])


def test_model_fallback_when_the_sideband_saw_no_session(tmp_path: Path) -> None:
    path = one_response(tmp_path, session=False)
    assert math.isnan(cost_frame(path)["total_usd"].iloc[0])
    cost = cost_frame(path, model="gpt-realtime")
    assert cost["model"].iloc[0] == "gpt-realtime"
    assert cost["total_usd"].iloc[0] == pytest.approx(0.014572)


def test_cached_tokens_without_details_count_as_text(tmp_path: Path) -> None:
    usage = {"total_tokens": 160, "input_tokens": 150, "output_tokens": 10,
             "input_token_details": {"text_tokens": 100, "audio_tokens": 50,
                                     "cached_tokens": 30},
             "output_token_details": {"text_tokens": 10, "audio_tokens": 0}}
    cost = cost_frame(one_response(tmp_path, usage=usage))
    row = cost.iloc[0]
    assert row["input_text_usd"] == pytest.approx(70 * 4 / 1e6)
    assert row["cached_input_usd"] == pytest.approx(30 * 0.4 / 1e6)
    assert row["input_audio_usd"] == pytest.approx(50 * 32 / 1e6)


@pytest.mark.parametrize(("prices", "message"), [
    ({"gpt-realtime": {"audio_out": 1.0}}, r"prices\['gpt-realtime'\]\.audio_out: unknown"),
    ({"gpt-realtime": {"audio_output": -1}}, r"audio_output: -1 is not a price\. Fix"),
    ({"gpt-realtime": {"audio_output": "64"}}, r"audio_output: '64' is not a price"),
])
def test_bad_overrides_name_the_field(tmp_path: Path, prices: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cost_frame(one_response(tmp_path), prices=prices)  # type: ignore[arg-type]


def test_prices_of_the_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="prices must be a mapping or a DataFrame"):
        cost_frame(one_response(tmp_path), prices=[1, 2])  # type: ignore[arg-type]


# ------------------------------------------------------------- input transcription (issue 10)

# The usage of conversation.item.input_audio_transcription.completed, both SDK variants
# (openai.types.realtime.ConversationItemInputAudioTranscriptionCompletedEvent.usage).
TOKENS_24 = {"type": "tokens", "total_tokens": 24, "input_tokens": 16,
             "input_token_details": {"text_tokens": 0, "audio_tokens": 16}, "output_tokens": 8}
DURATION = {"type": "duration", "seconds": 2.3}


def transcribed(tmp_path: Path, tmodel: str | None, usage: dict[str, object]) -> Path:
    c = SyntheticCall()
    audio_input: dict[str, object] = {"transcription": {"model": tmodel} if tmodel else None}
    c.frame(0.0, {"type": "session.created", "session": {
        "type": "realtime", "id": "sess_T1", "model": "gpt-realtime",
        "audio": {"input": audio_input, "output": {"voice": "marin"}}}})
    c.audio_turn(speech_start=1.0, speech_stop=2.0, created=2.2, first_text=2.4, audio=None,
                 done=3.0, transcript="hi", reply="hello", usage=USAGE)
    c.frame(3.5, {"type": "conversation.item.input_audio_transcription.completed",
                  "event_id": "event_T2", "item_id": "item_T2", "content_index": 0,
                  "transcript": "where is my order", "usage": usage})
    return c.write(tmp_path / "t.jsonl")


def test_a_24_token_transcription_is_in_usage_cost_and_summary(tmp_path: Path) -> None:
    from rtwidgets.analysis import summary, usage_frame

    path = transcribed(tmp_path, "gpt-4o-transcribe", TOKENS_24)
    usage = usage_frame(path)
    row = usage.loc[usage["item_id"] == "item_T2"].iloc[0]
    assert row["kind"] == "transcription"
    assert row["model"] == "gpt-4o-transcribe"
    assert (row["input_tokens"], row["input_audio_tokens"], row["output_tokens"],
            row["total_tokens"]) == (16, 16, 8, 24)
    total = usage.iloc[-1]
    assert total["total_tokens"] >= 360 + 24
    cost = cost_frame(path)
    tr = cost.loc[cost["item_id"] == "item_T2"].iloc[0]
    # gpt-4o-transcribe: audio in 6, text out 10 (per 1M)
    assert tr["priced"]
    assert tr["input_audio_usd"] == pytest.approx(16 * 6 / 1e6)
    assert tr["output_text_usd"] == pytest.approx(8 * 10 / 1e6)
    assert tr["total_usd"] == pytest.approx(176 / 1e6)
    assert tr["total_usd"] > 0
    responses_only = float(cost.loc[cost["kind"] == "response", "total_usd"].sum())
    assert cost.iloc[-1]["total_usd"] == pytest.approx(responses_only + 176 / 1e6)
    s = summary(path)
    assert s.cost_usd == pytest.approx(responses_only + 176 / 1e6)
    assert s.transcription_tokens == 24
    assert "transcription  24 tokens" in repr(s)


def test_whisper_is_priced_per_minute(tmp_path: Path) -> None:
    cost = cost_frame(transcribed(tmp_path, "whisper-1", DURATION))
    tr = cost.loc[cost["kind"] == "transcription"]
    # the synthetic turn's own transcription and ours: 1.0 s and 2.3 s at $0.006 a minute
    assert list(tr["duration_usd"]) == pytest.approx([1.0 / 60 * 0.006, 2.3 / 60 * 0.006])
    assert list(tr["total_usd"]) == list(tr["duration_usd"])
    assert bool(tr["priced"].all())
    assert cost.iloc[-1]["priced"]


def test_an_unnamed_transcription_model_is_unpriced_but_keeps_the_response_cost(
        tmp_path: Path) -> None:
    path = transcribed(tmp_path, None, TOKENS_24)
    cost = cost_frame(path)
    tr = cost.loc[cost["item_id"] == "item_T2"].iloc[0]
    assert not tr["priced"]
    assert math.isnan(tr["total_usd"])
    total = cost.iloc[-1]
    assert not total["priced"]
    assert total["total_usd"] == pytest.approx(0.014572)
    named = cost_frame(path, transcription_model="gpt-4o-mini-transcribe")
    tr = named.loc[named["item_id"] == "item_T2"].iloc[0]
    assert tr["priced"]
    assert tr["total_usd"] == pytest.approx((16 * 3 + 8 * 5) / 1e6)


def test_transcription_price_rows_are_dated_and_sourced() -> None:
    models = load_prices()["models"]
    for name in ("gpt-4o-transcribe", "gpt-4o-mini-transcribe", "whisper-1"):
        assert "https://" in models[name]["as_of"]
        assert "2026-11-26" in models[name]["as_of"]
    assert models["whisper-1"]["audio_per_minute"] == 0.006
