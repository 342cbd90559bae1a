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
