"""Synthetic captures with known timings, for tests, docs and the benchmark.

Why: the analysis must be checked against calls whose every arrival time is known. This
writes capture files in the format of ``docs/internals.md`` ("capture") from the GA event
sequences of realtime-protocol.md §7.1–7.4, with ids in the server's shapes. It is not a
server (the emulator is): it only lays down frames at the times it is told.

Never: claim to be a recording of a real call (the header says ``"source": "synthetic"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtwidgets.protocol.ids import IdFactory

__all__ = ["SyntheticCall", "TurnIds", "usage_block"]


def usage_block(*, text_in: int, audio_in: int, cached_text: int = 0, cached_audio: int = 0,
                text_out: int, audio_out: int, image_in: int = 0) -> dict[str, Any]:
    """A ``response.done`` usage object with consistent totals."""
    inp = text_in + audio_in + image_in
    out = text_out + audio_out
    return {
        "total_tokens": inp + out, "input_tokens": inp, "output_tokens": out,
        "input_token_details": {
            "text_tokens": text_in, "audio_tokens": audio_in, "image_tokens": image_in,
            "cached_tokens": cached_text + cached_audio,
            "cached_tokens_details": {"text_tokens": cached_text, "audio_tokens": cached_audio,
                                      "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }


@dataclass
class TurnIds:
    user_item: str | None
    response: str
    agent_item: str | None
    call_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SyntheticCall:
    """Builds a capture frame by frame; times are the capture's ``m`` (seconds)."""

    def __init__(self, *, seed: int = 7, created_at: float = 1764170000.0,
                 transport: str = "webrtc", model: str = "gpt-realtime") -> None:
        self.ids = IdFactory(seed)
        self.call_id = self.ids.webrtc_call_id()
        self.created_at = created_at
        self.model = model
        self.header = json.dumps({
            "format": "rtwidgets.capture", "version": 1, "call_id": self.call_id,
            "created_at": created_at, "transport": transport, "source": "synthetic",
            "options": {"audio": "dropped", "redact_transcripts": False},
            "rtwidgets": "0.1.0",
        }, separators=(",", ":"))
        # (m, order added, head fields, frame text or None): rendered sorted by m, so a
        # test can lay down overlapping sequences (a barge-in) in any order.
        self.records: list[tuple[float, int, dict[str, Any], str | None]] = []
        self.last_item: str | None = None
        self.conv = self.ids.conversation_id()

    # -- raw frames ------------------------------------------------------------------------

    def frame(self, m: float, frame: dict[str, Any], *, direction: str = "in",
              dropped: dict[str, int] | None = None) -> None:
        """One frame line; ``frame`` is serialised as the wire would carry it."""
        if direction == "in" and "event_id" not in frame and frame.get("type") != (
            "input_audio_buffer.dtmf_event_received"
        ):
            frame = {"type": frame.get("type"), "event_id": self.ids.event_id(),
                     **{k: v for k, v in frame.items() if k != "type"}}
        head: dict[str, Any] = {"dir": direction}
        if dropped:
            head["dropped"] = dropped
        self.records.append((m, len(self.records), head, json.dumps(frame,
                                                                     separators=(",", ":"))))

    def bad(self, m: float, raw: str, error: str = "Expecting value: line 1 column 1") -> None:
        self.records.append((m, len(self.records), {"dir": "in", "bad": raw, "error": error},
                             None))

    def meta(self, m: float, type_: str, **fields: Any) -> None:
        self.frame(m, {"type": type_, **fields}, direction="meta")

    # -- protocol sequences ------------------------------------------------------------------

    def session(self, m: float, *, created: bool = True) -> None:
        sess = {"type": "realtime", "object": "realtime.session", "id": self.ids.session_id(),
                "model": self.model, "output_modalities": ["audio"], "tools": [],
                "audio": {"output": {"voice": "marin", "speed": 1.0}}}
        self.frame(m, {"type": "session.created" if created else "session.updated",
                       "session": sess})

    def _response(self, *, created: float, first_text: float, audio: float | None,
                  done: float, reply: str, usage: dict[str, Any] | None,
                  status: str = "completed", reason: str | None = None,
                  modality: str = "audio", audio_stop: float | None = None,
                  audio_cleared: float | None = None, deltas: int = 3,
                  rate_limits: bool = True) -> tuple[str, str]:
        rid, item = self.ids.response_id(), self.ids.item_id()
        resp = {"object": "realtime.response", "id": rid, "status": "in_progress",
                "status_details": None, "output": [], "conversation_id": self.conv,
                "output_modalities": [modality], "usage": None}
        self.frame(created, {"type": "response.created", "response": resp})
        a_item = {"id": item, "type": "message", "status": "in_progress",
                  "role": "assistant", "content": []}
        step = (first_text - created) / 3
        self.frame(created + step, {"type": "response.output_item.added", "response_id": rid,
                                    "output_index": 0, "item": a_item})
        self.frame(created + 2 * step, {"type": "conversation.item.added",
                                        "previous_item_id": self.last_item, "item": a_item})
        self.last_item = item
        part_type = "audio" if modality == "audio" else "text"
        key = "transcript" if modality == "audio" else "text"
        self.frame(created + 2.5 * step, {
            "type": "response.content_part.added", "response_id": rid, "item_id": item,
            "output_index": 0, "content_index": 0, "part": {"type": part_type, key: ""}})
        if audio is not None:
            self.frame(audio, {"type": "output_audio_buffer.started", "response_id": rid})
        dtype = ("response.output_audio_transcript.delta" if modality == "audio"
                 else "response.output_text.delta")
        n = max(1, deltas)
        size = max(1, -(-len(reply) // n))
        chunks = [reply[i:i + size] for i in range(0, len(reply), size)] or [""]
        span = (done - first_text) * 0.5
        for k, chunk in enumerate(chunks):
            self.frame(first_text + span * k / len(chunks), {
                "type": dtype, "response_id": rid, "item_id": item, "output_index": 0,
                "content_index": 0, "delta": chunk, "obfuscation": "x7Qp"})
            if modality == "audio":
                self.frame(first_text + span * k / len(chunks) + 0.001, {
                    "type": "response.output_audio.delta", "response_id": rid,
                    "item_id": item, "output_index": 0, "content_index": 0, "delta": ""},
                    dropped={"delta": 6400})
        t = first_text + span
        inc = (done - t) / 8
        final_status = "completed" if status == "completed" else "incomplete"
        if modality == "audio":
            self.frame(t + inc, {"type": "response.output_audio.done", "response_id": rid,
                                 "item_id": item, "output_index": 0, "content_index": 0})
            self.frame(t + 2 * inc, {"type": "response.output_audio_transcript.done",
                                     "response_id": rid, "item_id": item, "output_index": 0,
                                     "content_index": 0, "transcript": reply})
        else:
            self.frame(t + 2 * inc, {"type": "response.output_text.done", "response_id": rid,
                                     "item_id": item, "output_index": 0, "content_index": 0,
                                     "text": reply})
        self.frame(t + 3 * inc, {"type": "response.content_part.done", "response_id": rid,
                                 "item_id": item, "output_index": 0, "content_index": 0,
                                 "part": {"type": part_type, key: reply}})
        done_item = {**a_item, "status": final_status,
                     "content": [{"type": f"output_{part_type}", key: reply}]}
        # Real traffic: the conversation's item.done precedes the response's output_item.done.
        self.frame(t + 4 * inc, {"type": "conversation.item.done", "item": done_item})
        self.frame(t + 5 * inc, {"type": "response.output_item.done", "response_id": rid,
                                 "output_index": 0, "item": done_item})
        if audio_cleared is not None:
            self.frame(audio_cleared, {"type": "output_audio_buffer.cleared",
                                       "response_id": rid})
        details = None if status == "completed" else {
            "type": status, "reason": reason or "turn_detected"}
        self.frame(done, {"type": "response.done", "response": {
            **resp, "status": status, "status_details": details, "output": [done_item],
            "usage": usage}})
        if rate_limits:
            # Real traffic: rate_limits.updated (tokens only) follows response.done.
            self.frame(done, {"type": "rate_limits.updated", "rate_limits": [
                {"name": "tokens", "limit": 40000, "remaining": 38490, "reset_seconds": 2.3}]})
        if audio_stop is not None:
            self.frame(audio_stop, {"type": "output_audio_buffer.stopped", "response_id": rid})
        return rid, item

    def audio_turn(self, *, speech_start: float, speech_stop: float, created: float,
                   first_text: float, audio: float | None, done: float, transcript: str,
                   reply: str, usage: dict[str, Any] | None, audio_stop: float | None = None,
                   status: str = "completed", reason: str | None = None,
                   audio_cleared: float | None = None, deltas: int = 3) -> TurnIds:
        """§7.1: caller speech, commit, user item, transcription, then the response."""
        x = self.ids.item_id()
        self.frame(speech_start, {"type": "input_audio_buffer.speech_started",
                                  "audio_start_ms": int(speech_start * 1000), "item_id": x})
        self.frame(speech_stop, {"type": "input_audio_buffer.speech_stopped",
                                 "audio_end_ms": int(speech_stop * 1000), "item_id": x})
        gap = (created - speech_stop) / 5
        self.frame(speech_stop + gap, {"type": "input_audio_buffer.committed",
                                       "previous_item_id": self.last_item, "item_id": x})
        user = {"id": x, "type": "message", "status": "completed",
                "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
        self.frame(speech_stop + 2 * gap, {"type": "conversation.item.added",
                                           "previous_item_id": self.last_item, "item": user})
        self.frame(speech_stop + 3 * gap, {"type": "conversation.item.done", "item": user})
        self.last_item = x
        rid, item = self._response(created=created, first_text=first_text, audio=audio,
                                   done=done, reply=reply, usage=usage, status=status,
                                   reason=reason, audio_stop=audio_stop,
                                   audio_cleared=audio_cleared, deltas=deltas)
        self.frame(created + (first_text - created) / 2, {
            "type": "conversation.item.input_audio_transcription.completed", "item_id": x,
            "content_index": 0, "transcript": transcript,
            "usage": {"type": "duration", "seconds": round(speech_stop - speech_start, 2)}})
        return TurnIds(x, rid, item)

    def text_turn(self, *, sent: float, added: float, created: float, first_text: float,
                  done: float, text: str, reply: str, usage: dict[str, Any] | None) -> TurnIds:
        """§7.2: we send a user text item and ``response.create``; a text response follows."""
        x = self.ids.item_id()
        user = {"id": x, "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": text}]}
        self.frame(sent, {"type": "conversation.item.create", "event_id": self.ids.event_id(),
                          "item": user}, direction="out")
        server_item = {**user, "status": "completed"}
        self.frame(added, {"type": "conversation.item.added",
                           "previous_item_id": self.last_item, "item": server_item})
        self.frame(added + 0.001, {"type": "conversation.item.done", "item": server_item})
        self.last_item = x
        self.frame(added + 0.002, {"type": "response.create",
                                   "event_id": self.ids.event_id()}, direction="out")
        rid, item = self._response(created=created, first_text=first_text, audio=None,
                                   done=done, reply=reply, usage=usage, modality="text")
        return TurnIds(x, rid, item)

    def tool_turn(self, *, speech_start: float, speech_stop: float, created: float,
                  requested: float, done: float, name: str, arguments: dict[str, Any],
                  answered: float | None, output: str, by: str | None = "handler",
                  peer: bool = False, usage: dict[str, Any] | None = None) -> TurnIds:
        """§7.3: a caller turn whose response is a function call, answered at ``answered``.

        ``peer=True``: the output arrives only from the server (another socket answered).
        """
        x = self.ids.item_id()
        self.frame(speech_start, {"type": "input_audio_buffer.speech_started",
                                  "audio_start_ms": int(speech_start * 1000), "item_id": x})
        self.frame(speech_stop, {"type": "input_audio_buffer.speech_stopped",
                                 "audio_end_ms": int(speech_stop * 1000), "item_id": x})
        self.frame(speech_stop + 0.01, {"type": "input_audio_buffer.committed", "item_id": x})
        user = {"id": x, "type": "message", "status": "completed", "role": "user",
                "content": [{"type": "input_audio", "transcript": None}]}
        self.frame(speech_stop + 0.02, {"type": "conversation.item.added", "item": user})
        self.last_item = x
        rid, item, call_id = self.ids.response_id(), self.ids.item_id(), \
            self.ids.function_call_id()
        resp = {"object": "realtime.response", "id": rid, "status": "in_progress",
                "output": [], "usage": None, "output_modalities": ["audio"]}
        self.frame(created, {"type": "response.created", "response": resp})
        fc = {"id": item, "type": "function_call", "status": "in_progress", "name": name,
              "call_id": call_id, "arguments": ""}
        self.frame(created + 0.01, {"type": "response.output_item.added", "response_id": rid,
                                    "output_index": 0, "item": fc})
        self.frame(created + 0.02, {"type": "conversation.item.added", "item": fc})
        args = json.dumps(arguments)
        self.frame(created + 0.03, {"type": "response.function_call_arguments.delta",
                                    "response_id": rid, "item_id": item, "output_index": 0,
                                    "call_id": call_id, "delta": args})
        self.frame(requested, {"type": "response.function_call_arguments.done",
                               "response_id": rid, "item_id": item, "output_index": 0,
                               "call_id": call_id, "name": name, "arguments": args})
        fc_done = {**fc, "status": "completed", "arguments": args}
        self.frame(requested + 0.001, {"type": "conversation.item.done", "item": fc_done})
        self.frame(requested + 0.002, {"type": "response.output_item.done", "response_id": rid,
                                       "output_index": 0, "item": fc_done})
        self.frame(done, {"type": "response.done", "response": {
            **resp, "status": "completed", "output": [fc_done], "usage": usage}})
        if answered is not None:
            out_item = {"type": "function_call_output", "call_id": call_id, "output": output}
            if not peer:
                self.frame(answered, {"type": "conversation.item.create",
                                      "event_id": self.ids.event_id(), "item": out_item},
                           direction="out")
                if by is not None:
                    self.meta(answered + 0.0005, "rtwidgets.tool_answered", call_id=call_id,
                              by=by)
            oid = self.ids.item_id()
            self.frame(answered + 0.03, {"type": "conversation.item.added",
                                         "item": {"id": oid, **out_item}})
        return TurnIds(x, rid, item, call_id)

    # -- output ----------------------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """The capture's lines: header, then frames in arrival (``m``) order, seq renumbered."""
        out = [self.header]
        for seq, (m, _, head, frame) in enumerate(sorted(self.records, key=lambda r: r[:2])):
            rec: dict[str, Any] = {"seq": seq, "dir": head["dir"],
                                   "t": round(self.created_at + m, 6), "m": round(m, 6)}
            rec.update({k: v for k, v in head.items() if k != "dir"})
            text = json.dumps(rec, separators=(",", ":"))
            out.append(text if frame is None else f'{text[:-1]},"frame":{frame}}}')
        return out

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def write(self, path: str | Path, *, cut_last: int = 0) -> Path:
        """Write the capture; ``cut_last`` chops that many bytes off the end (a dead kernel)."""
        data = self.text().encode()
        if cut_last:
            data = data[:-cut_last]
        p = Path(path)
        p.write_bytes(data)
        return p
