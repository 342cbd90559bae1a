"""What a call cost: token usage of each response times the model's price per 1M tokens.

Why: Realtime bills per response, per modality, with cached input cheaper — the usage block
of ``response.done`` has every number needed, but nobody wants to do the arithmetic by
hand. Prices ship in ``prices.json`` (with the date they were taken and the source); they
change, so every function takes ``prices=`` to override them.

Arithmetic (all per 1M tokens, USD). Cached tokens are a *part* of the input tokens, so:

    text   = (input_text − cached_text)   × text_input   + cached_text  × text_cached_input
    audio  = (input_audio − cached_audio) × audio_input  + cached_audio × audio_cached_input
    image  = (input_image − cached_image) × image_input  + cached_image × image_cached_input
    output = output_text × text_output + output_audio × audio_output

When ``cached_tokens_details`` is missing but ``cached_tokens`` is given, the cached tokens
are counted as text. A model with no price gives ``NaN`` costs and ``priced=False``;
it never raises and never guesses another model's price.

Input transcription (``kind == "transcription"`` rows of ``usage_frame``) is billed by the
transcription model named in the session (``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``:
tokens, with the same text/audio/output arithmetic and no cache; ``whisper-1``: per minute,
``duration_usd = audio_seconds / 60 × audio_per_minute``). Token usage without the
text/audio split is priced as audio input (what a transcription reads). Pass
``transcription_model=`` when the capture never names it (a sideband that saw no session).
An unpriced transcription shows ``NaN`` on its row and makes the total row's ``priced``
False, but does not turn ``total_usd`` into ``NaN``: captures that never said which
transcription model ran are common, and the responses' cost is still known. An unpriced
*response* does make the total ``NaN``, as before.

Never: fetch prices from the network.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ._tables import USAGE_COLUMNS, usage_frame

__all__ = ["PRICE_FIELDS", "cost_frame", "load_prices", "price_for"]

PRICE_FIELDS: tuple[str, ...] = (
    "text_input", "text_cached_input", "text_output", "audio_input", "audio_cached_input",
    "audio_output", "image_input", "image_cached_input", "audio_per_minute",
)
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")

PricesArg = Mapping[str, Mapping[str, Any]] | pd.DataFrame | None


def load_prices() -> dict[str, Any]:
    """The packaged price table (``prices.json``) with its ``taken`` date and ``source``."""
    text = resources.files("rtwidgets.analysis").joinpath("prices.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _table(prices: PricesArg) -> dict[str, dict[str, Any]]:
    base: dict[str, dict[str, Any]] = {k: dict(v) for k, v in load_prices()["models"].items()}
    if prices is None:
        return base
    if isinstance(prices, pd.DataFrame):
        override = {str(k): {str(f): x for f, x in v.items()}
                    for k, v in prices.to_dict(orient="index").items()}
    elif isinstance(prices, Mapping):
        override = {str(k): dict(v) for k, v in prices.items()}
    else:
        raise TypeError(
            f"prices must be a mapping or a DataFrame, not {type(prices).__name__}. Fix: "
            "pass prices={'gpt-realtime': {'audio_input': 32.0, ...}} (USD per 1M tokens)"
        )
    for model, fields in override.items():
        for key, value in fields.items():
            if key not in PRICE_FIELDS and key not in ("confirmed", "as_of"):
                raise ValueError(
                    f"prices[{model!r}].{key}: unknown price field. Fix: use one of "
                    f"{', '.join(PRICE_FIELDS)}"
                )
            if key in PRICE_FIELDS and value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
                or math.isnan(value)
            ):
                raise ValueError(
                    f"prices[{model!r}].{key}: {value!r} is not a price. Fix: give a "
                    "number ≥ 0 (USD per 1M tokens) or None"
                )
        base.setdefault(model, {}).update(fields)
    return base


def price_for(model: str | None, table: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    """The price row of ``model``: exact id, else its base id without a date snapshot."""
    if not isinstance(model, str) or not model:
        return {}
    if model in table:
        return table[model]
    return table.get(_SNAPSHOT.sub("", model), {})


def _p(row: Mapping[str, Any], key: str) -> float:
    v = row.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def cost_frame(src: object, prices: PricesArg = None, *, totals: bool = True,
               model: str | None = None, transcription_model: str | None = None
               ) -> pd.DataFrame:
    """Cost per response and per input transcription in USD (see the module docstring for
    the arithmetic), plus a total.

    Args:
        src: any analysis source (path, Call, Recording, FrameSource).
        prices: overrides merged over the packaged table, per model:
            ``{"gpt-realtime": {"audio_input": 32.0, …}}`` or a DataFrame indexed by model
            with the price fields as columns.
        totals: append a ``total`` row (sums; ``NaN`` if any response is unpriced).
        model: the model to price responses whose model the capture does not show (a
            sideband that saw no ``session.created``/``session.updated``).
        transcription_model: likewise for input transcriptions.
    """
    table = _table(prices)
    usage = usage_frame(src, totals=False)
    is_tr = (usage["kind"].astype(object) == "transcription").to_numpy(dtype=bool)
    models = [m if isinstance(m, str) and m else (transcription_model if tr else model)
              for m, tr in zip(usage["model"].astype(object), is_tr, strict=True)]
    out = pd.DataFrame({"response_id": usage["response_id"].astype(object),
                        "model": pd.Series(models, dtype=object),
                        "kind": usage["kind"].astype(object),
                        "item_id": usage["item_id"].astype(object)})
    tok = {c: usage[c].astype("float64").fillna(0.0).to_numpy() for c in USAGE_COLUMNS}
    seconds = usage["audio_seconds"].astype("float64").to_numpy()
    by_minute = is_tr & ~pd.isna(seconds)
    rows = [price_for(m, table) for m in out["model"]]
    priced = [
        bool(r) and not math.isnan(_p(r, "audio_per_minute" if minute else "audio_input"))
        for r, minute in zip(rows, by_minute, strict=True)
    ]
    # A transcription's input without the text/audio split is audio (what it transcribes).
    no_split = is_tr & ((tok["input_text_tokens"] + tok["input_audio_tokens"]) == 0)
    tok["input_audio_tokens"] = tok["input_audio_tokens"] + tok["input_tokens"] * no_split

    def rate(key: str) -> Any:
        return pd.Series([_p(r, key) for r in rows], dtype="float64").to_numpy()

    cached_total = tok["input_cached_tokens"]
    cached_text = tok["input_cached_text_tokens"]
    cached_audio = tok["input_cached_audio_tokens"]
    cached_image = tok["input_cached_image_tokens"]
    no_detail = (cached_text + cached_audio + cached_image) == 0
    cached_text = cached_text + cached_total * no_detail
    m = 1_000_000.0
    out["priced"] = priced

    def times(tokens: Any, key: str) -> Any:
        # No tokens cost nothing, even at a rate the model does not have (a transcription
        # model has no cached or audio-output price).
        return np.where(tokens == 0, 0.0, tokens * rate(key))

    out["input_text_usd"] = times(tok["input_text_tokens"] - cached_text, "text_input") / m
    out["input_audio_usd"] = times(tok["input_audio_tokens"] - cached_audio, "audio_input") / m
    img_rate = rate("image_input")
    img_cached_rate = rate("image_cached_input")
    has_image = (tok["input_image_tokens"] > 0)
    out["input_image_usd"] = [
        (t - c) * r / m if h else 0.0
        for t, c, r, h in zip(tok["input_image_tokens"], cached_image, img_rate, has_image,
                              strict=True)
    ]
    out["cached_input_usd"] = (
        times(cached_text, "text_cached_input") + times(cached_audio, "audio_cached_input")
    ) / m + pd.Series([c * r / m if c else 0.0 for c, r in
                       zip(cached_image, img_cached_rate, strict=True)]).to_numpy()
    out["output_text_usd"] = times(tok["output_text_tokens"], "text_output") / m
    out["output_audio_usd"] = times(tok["output_audio_tokens"], "audio_output") / m
    # Per-minute transcription: only its own price; the token columns stay 0 (no tokens).
    minute_rate = rate("audio_per_minute")
    out["duration_usd"] = [s / 60.0 * r if minute else 0.0
                           for s, r, minute in zip(seconds, minute_rate, by_minute, strict=True)]
    cost_cols = ["input_text_usd", "input_audio_usd", "input_image_usd", "cached_input_usd",
                 "output_text_usd", "output_audio_usd", "duration_usd"]
    for col in cost_cols[:-1]:
        out.loc[by_minute, col] = 0.0
    out.loc[~pd.Series(priced, dtype=bool).to_numpy(), cost_cols] = math.nan
    out["total_usd"] = out[cost_cols].sum(axis=1, skipna=False)
    if totals:
        resp_rows, tr_rows = out.loc[~is_tr], out.loc[is_tr]
        sums = {c: float(resp_rows[c].sum(skipna=False)) + float(tr_rows[c].sum())
                for c in [*cost_cols, "total_usd"]}
        total = pd.DataFrame([{"response_id": "total", "model": None, "kind": "total",
                               "item_id": None, "priced": bool(all(priced)), **sums}])
        out = pd.concat([out, total], ignore_index=True) if len(out) else total
    return out
