"""Many calls: concatenated tables with call_id, and a Parquet dataset pandas/DuckDB read."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from rtwidgets.analysis._many import Many, load_many, to_parquet
from rtwidgets.analysis._summary import summary
from rtwidgets.analysis._synth import SyntheticCall
from rtwidgets.analysis._tables import events_frame, responses_frame

from .conftest import USAGE, build_standard


def three_calls(folder: Path) -> list[SyntheticCall]:
    calls = []
    for seed, day in ((1, 0), (2, 0), (3, 86400)):
        c = SyntheticCall(seed=seed, created_at=1764170000.0 + day)
        c.session(0.0)
        for k in range(seed):
            base = 1.0 + 5 * k
            c.audio_turn(speech_start=base, speech_stop=base + 1, created=base + 1.25,
                         first_text=base + 1.5, audio=base + 1.6, done=base + 3,
                         transcript=f"q{k}", reply=f"answer {k}", usage=USAGE)
        c.write(folder / f"{c.call_id}.jsonl")
        calls.append(c)
    return calls


def test_load_many_glob_adds_call_id(tmp_path: Path) -> None:
    calls = three_calls(tmp_path)
    many = load_many(str(tmp_path / "*.jsonl"))
    assert isinstance(many, Many)
    assert len(many) == 3
    assert sorted(many.call_ids) == sorted(c.call_id for c in calls)
    turns = many.turns
    assert list(turns.columns[:2]) == ["call_id", "turn"]
    assert turns.groupby("call_id", observed=True).size().to_dict() == {
        c.call_id: i + 1 for i, c in enumerate(calls)}
    assert turns["latency_response_s"].tolist() == pytest.approx([0.25] * 6)
    ev = many.events
    assert len(ev) == sum(len(c.lines) - 1 for c in calls)
    assert ev["call_id"].dtype == "category"
    assert many.usage["total_tokens"].sum() == 6 * 360
    assert many.cost()["total_usd"].sum() == pytest.approx(6 * 0.014572)
    summ = many.summaries()
    assert list(summ["call_id"]) == many.call_ids
    turns_by_call = dict(zip(summ["call_id"], summ["turns"], strict=True))
    assert turns_by_call == {c.call_id: i + 1 for i, c in enumerate(calls)}
    assert "latency_response_median_s" in summ.columns


def test_single_call_functions_refuse_a_many_and_point_to_its_tables(tmp_path: Path) -> None:
    """The refusal is found through the base ``ManySources``: the tables no longer import
    ``Many`` (that import made ``_tables`` and ``_many`` a circle)."""
    three_calls(tmp_path)
    many = load_many(tmp_path)
    for table in (events_frame, responses_frame):
        with pytest.raises(TypeError, match=r"takes one call.*many\.events"):
            table(many)
    with pytest.raises(TypeError, match="takes one call"):
        summary(many)


def test_load_many_accepts_lists_folders_and_names_a_bad_pattern(tmp_path: Path) -> None:
    three_calls(tmp_path)
    assert len(load_many(tmp_path)) == 3
    assert len(load_many(sorted(tmp_path.glob("*.jsonl"))[:2])) == 2
    with pytest.raises(FileNotFoundError, match=r"matches no file\. Fix"):
        load_many(str(tmp_path / "nothing-*.jsonl"))
    with pytest.raises(ValueError, match=r"table 'nope' is unknown\. Fix"):
        load_many(tmp_path).table("nope")
    with pytest.raises(TypeError, match=r"many\.events"):
        events_frame(load_many(tmp_path))


def test_to_parquet_hive_layout_read_by_pandas_and_duckdb(tmp_path: Path) -> None:
    src = tmp_path / "captures"
    src.mkdir()
    calls = three_calls(src)
    out = tmp_path / "dataset"
    written = to_parquet(load_many(src), out)
    assert len(written) == 3
    rel = sorted(str(p.relative_to(out)) for p in written)
    assert rel == sorted(
        f"api=realtime/date={'2025-11-27' if c.created_at > 1764200000 else '2025-11-26'}/"
        f"call_id={c.call_id}/part-0.parquet" for c in calls)
    # pandas / pyarrow read the folder as it is, partitions become columns.
    df = pd.read_parquet(out)
    assert len(df) == sum(len(c.lines) - 1 for c in calls)
    assert set(df["call_id"].astype(str)) == {c.call_id for c in calls}
    assert {"date", "payload", "type", "elapsed_s"} <= set(df.columns)
    table = ds.dataset(out, partitioning="hive").to_table()
    assert table.num_rows == len(df)
    # DuckDB with hive partitioning: the query from the docs.
    rows = duckdb.sql(
        f"SELECT call_id, count(*) AS n FROM read_parquet('{out}/**/*.parquet', "
        "hive_partitioning=true) GROUP BY ALL ORDER BY call_id").fetchall()
    assert rows == sorted((c.call_id, len(c.lines) - 1) for c in calls)
    first = duckdb.sql(
        f"SELECT payload FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true) "
        "WHERE type = 'session.created' LIMIT 1").fetchall()
    assert json.loads(first[0][0])["type"] == "session.created"
    # Writing again replaces each call's file: the dataset does not double.
    to_parquet(load_many(src), out)
    assert len(pd.read_parquet(out)) == len(df)


def test_to_parquet_other_tables_and_a_single_call(tmp_path: Path) -> None:
    call, _ = build_standard()
    path = call.write(tmp_path / "c.jsonl")
    (written,) = to_parquet(path, tmp_path / "tools", table="tool_calls")
    back = pd.read_parquet(written)
    assert json.loads(back["arguments"].iloc[0]) == {"order": 42}
    (turns_file,) = to_parquet(path, tmp_path / "turns", table="turns")
    assert duckdb.sql(f"SELECT count(*) FROM '{turns_file}'").fetchall() == [(3,)]
    with pytest.raises(ValueError, match="table 'x' is unknown"):
        to_parquet(path, tmp_path / "x", table="x")
