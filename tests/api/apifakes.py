"""Shared fakes for the API client tests: a recording ``httpx.MockTransport`` handler.

Imported by the test modules as ``tests.api.apifakes``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import TypeVar

import httpx

from reconciler.api import ApiKey, SeedanceClient

SECRET = "sk-test-Secret0123456789abcdef"
BASE = "https://api.test"
T = TypeVar("T")

Handler = Callable[[httpx.Request], httpx.Response]


def run(coro: Coroutine[object, object, T]) -> T:
    """Run one coroutine with a hard time bound."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout=20)

    return asyncio.run(bounded())


def envelope(
    data: object, code: object = "20000", msg: str = "ok", status: int = 200
) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg, "data": data})


class Recorder:
    """A MockTransport handler answering from a list (or a function) and keeping requests."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> object:
        return json.loads(self.last.content)


def make_client(handler: Recorder, *, key: str | None = SECRET) -> SeedanceClient:
    return SeedanceClient(
        BASE,
        ApiKey(key) if key is not None else None,
        transport=httpx.MockTransport(handler),
    )
