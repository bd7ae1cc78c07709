"""The emulator's own endpoints under ``/_emulator/``: knobs, reset, stats and result media.

None of these need the vendor key (the server only ever listens on loopback). Admin replies are
plain JSON, not the vendor envelope; bad admin input is HTTP 400 with ``{"error": ...}``.
"""

from __future__ import annotations

import json
import re

from reconciler.emulator.faults import Controls, KnobError
from reconciler.emulator.lifecycle import phase
from reconciler.emulator.media import FORBIDDEN_XML, MEDIA_PREFIX, build_mp4
from reconciler.emulator.service import Reply, Service, json_reply
from reconciler.emulator.store import Store

_MEDIA_RE = re.compile(r"^([A-Za-z0-9_\-]+)\.mp4$")


def _forbidden() -> Reply:
    return Reply(403, FORBIDDEN_XML, "application/xml")


class Admin:
    def __init__(self, store: Store, controls: Controls, service: Service) -> None:
        self._store = store
        self._controls = controls
        self._service = service
        self._initial = controls.knobs

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> Reply:
        if path.startswith(MEDIA_PREFIX) and method == "GET":
            return self._media(path[len(MEDIA_PREFIX) :], query)
        if path == "/_emulator/admin":
            if method == "GET":
                return json_reply(self._knob_view())
            if method == "POST":
                return self._set(body)
        if path == "/_emulator/reset" and method == "POST":
            self._store.reset()
            self._controls.replace(self._initial)
            return json_reply({"ok": True})
        if path == "/_emulator/stats" and method == "GET":
            stats = self._store.stats()
            stats["faults_injected"] = self._controls.injected()
            stats["peak_connections"] = self._controls.peak_connections()
            return json_reply(stats)
        if path == "/_emulator/health" and method == "GET":
            return json_reply({"ok": True})
        return json_reply({"error": f"no such admin endpoint: {method} {path}"}, 404)

    def _knob_view(self) -> dict[str, object]:
        view: dict[str, object] = dict(self._controls.knobs.model_dump())
        view["balance"] = self._store.balance().available
        return view

    def _set(self, body: bytes | None) -> Reply:
        try:
            changes = json.loads(body or b"{}")
        except ValueError:
            return json_reply({"error": "body is not JSON"}, 400)
        if not isinstance(changes, dict):
            return json_reply({"error": "body must be a JSON object of knob: value"}, 400)
        balance = changes.pop("balance", None)
        if balance is not None and (
            isinstance(balance, bool) or not isinstance(balance, int | float) or balance < 0
        ):
            return json_reply({"error": "balance must be a non-negative number"}, 400)
        try:
            self._controls.update(changes)
        except KnobError as err:
            return json_reply({"error": str(err)}, 400)
        if balance is not None:
            self._store.set_balance(float(balance))
        return json_reply(self._knob_view())

    def _media(self, name: str, query: dict[str, list[str]]) -> Reply:
        match = _MEDIA_RE.match(name)
        expires_raw = query.get("expires", [""])[0]
        sig = query.get("sig", [""])[0]
        if match is None or not expires_raw.isdigit() or not sig:
            return _forbidden()
        task_id = match.group(1)
        now = self._service.clock()
        if not self._service.signer.check(task_id, int(expires_raw), sig, now):
            return _forbidden()
        task = self._store.task(task_id)
        if task is None or phase(task, now).status != "completed":
            return Reply(404, b"<Error><Code>NoSuchKey</Code></Error>\n", "application/xml")
        return Reply(200, build_mp4(task_id, task.duration), "video/mp4")
