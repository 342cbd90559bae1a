"""The emulator's ``GET /v1/models`` and ``/v1/models/{id}``: the read-only request
``rtwidgets doctor`` checks a key with, in OpenAI's shapes, driven by the official SDK."""

from __future__ import annotations

import aiohttp
import openai
import pytest
from openai.types import Model

from rtwidgets.emulator import Emulator

from .conftest import API_KEY, AUTH


async def test_the_sdk_lists_the_realtime_models(emu: Emulator) -> None:
    async with emu.client(API_KEY) as client:
        page = await client.models.list()
    ids = [m.id for m in page.data]
    assert "gpt-realtime" in ids
    assert emu.options.model in ids
    assert len(ids) == len(set(ids))
    assert all("realtime" in i for i in ids)
    for model in page.data:
        assert Model.model_validate(model.model_dump()).owned_by == "openai"
        assert model.object == "model"
        assert model.created > 0


async def test_the_list_has_the_openai_shape(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{emu.base_url}/models", headers=AUTH) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert set(body) == {"object", "data"}
    assert body["object"] == "list"
    assert {tuple(sorted(m)) for m in body["data"]} == {("created", "id", "object", "owned_by")}


async def test_a_model_is_retrieved_by_id(emu: Emulator) -> None:
    async with emu.client(API_KEY) as client:
        model = await client.models.retrieve("gpt-realtime-2")
        assert (model.id, model.object, model.owned_by) == ("gpt-realtime-2", "model", "openai")
        with pytest.raises(openai.NotFoundError) as exc:
            await client.models.retrieve("sk-proj-pastedKEY12345")
    assert exc.value.code == "model_not_found"
    assert "pastedKEY" not in str(exc.value.body)


@pytest.mark.parametrize("path", ["/models", "/models/gpt-realtime"])
async def test_no_key_gets_401_with_the_error_envelope(emu: Emulator, path: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(emu.base_url + path) as resp:
        assert resp.status == 401
        body = await resp.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "API key" in body["error"]["message"]
    assert body["error"]["type"] == "invalid_request_error"
