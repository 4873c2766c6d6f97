"""A local double of Slack's Web API: implements the methods we call and records every request.

Tests point NURTURE_SLACK_API_URL at it, and `nurture demo` uses it (printing each message
readably) so the whole product runs without a Slack workspace.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

# users.info profiles (real name, email) of the people the tests use; others get a bare profile.
PEOPLE: dict[str, dict[str, str]] = {
    "UREP1": {"real_name": "Kenji Sato", "email": "kenji.sato@acme-audio.example"},
    "UREP2": {"real_name": "Ana Lima", "email": "ana.lima@acme-audio.example"},
    "UADMIN": {"real_name": "Yuki Admin", "email": "yuki@acme-audio.example"},
}


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]


@dataclass
class SlackApiDouble:
    calls: list[SlackCall] = field(default_factory=list)
    # Queue of (status, headers) answers to give before answering normally (429, 500...).
    faults: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    people: dict[str, dict[str, str]] = field(default_factory=lambda: dict(PEOPLE))
    # usergroups.users.list: members of each user group id; an unknown group is `no_such_subteam`.
    groups: dict[str, list[str]] = field(default_factory=dict)
    # files.uploadV2: the bytes uploaded, by file id
    uploads: dict[str, bytes] = field(default_factory=dict)
    # method -> Slack error code answered (HTTP 200, ok false) until removed: not_in_channel...
    refusals: dict[str, str] = field(default_factory=dict)
    on_call: Callable[[SlackCall], None] | None = None
    _ts: int = 0

    def called(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        self.calls.clear()
        self.faults.clear()
        self.groups.clear()
        self.refusals.clear()
        self.uploads.clear()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if request.content_type == "application/json":
            return json.loads(raw or b"{}")
        params: dict[str, Any] = dict(parse_qsl(raw.decode()))
        for key in ("blocks", "view", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self.faults:
            status, headers = self.faults.pop(0)
            return web.json_response({"ok": False, "error": "fault"}, status=status, headers=headers)
        # Some SDK methods (conversations.open, users.info) send their arguments in the query string.
        params = {**dict(request.query), **await self._params(request)}
        call = SlackCall(method, params)
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        if method in self.refusals:
            return web.json_response({"ok": False, "error": self.refusals[method]})
        if method == "files.getUploadURLExternal":  # files.uploadV2, step 1: where to send the bytes
            file_id = f"F{len(self.uploads) + 1:08d}"
            self.uploads[file_id] = b""
            return web.json_response({"ok": True, "file_id": file_id,
                                      "upload_url": f"{request.url.origin()}/upload/{file_id}"})
        return web.json_response(self._answer(method, params))

    async def upload(self, request: web.Request) -> web.Response:
        """files.uploadV2, step 2: the file's bytes (recorded by file id; step 3 is completeUploadExternal)."""
        file_id = request.match_info["file_id"]
        if file_id not in self.uploads:
            return web.Response(status=404, text="unknown upload")
        if request.content_type.startswith("multipart/"):
            part = next(iter((await request.post()).values()), None)
            self.uploads[file_id] = part.file.read() if isinstance(part, web.FileField) else str(part).encode()
        else:
            self.uploads[file_id] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._ts += 1
        ts = f"{int(time.time())}.{self._ts:06d}"
        channel = params.get("channel", "C0DOUBLE")
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "U0"))[1:]}}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return {"ok": True, "channel": channel, "ts": params.get("ts", ts), "message_ts": ts}
        if method.startswith("views."):
            return {"ok": True, "view": {"id": f"V{self._ts}", **(params.get("view") or {})}}
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0DOUBLE"}
        if method == "users.info":
            user = params.get("user", "U0")
            person = self.people.get(user, {})
            profile = {"email": person.get("email", ""), "real_name": person.get("real_name", "")}
            return {"ok": True, "user": {"id": user, "name": user.lower(), "real_name": profile["real_name"],
                                         "profile": profile}}
        if method == "usergroups.users.list":
            return self._group(str(params.get("usergroup", "")))
        return {"ok": True}

    def _group(self, group: str) -> dict[str, Any]:
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.groups[group])}

    async def hook(self, request: web.Request) -> web.Response:
        """A command's response_url (Slack's hooks.slack.com): recorded as method `response_url`."""
        params = {**await self._params(request), "url": str(request.url)}
        call = SlackCall("response_url", params)
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        return web.Response(text="ok")

    @staticmethod
    def response_url(base: str) -> str:
        """A response_url that reaches this double (`base`: its Web API URL)."""
        return base.removesuffix("/").removesuffix("/api") + "/hooks/commands/T0DOUBLE/1/response"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/{path:.*}", self.hook)
        app.router.add_post("/upload/{file_id}", self.upload)
        app.router.add_post("/api/{method}", self.handle)
        app.router.add_get("/api/{method}", self.handle)  # users.info and other reads
        return app


def modal_values(view: dict[str, Any], answers: dict[str, str | tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """The state.values Slack sends for a modal: each input's initial value unless `answers` names its
    block (the block id before its revision suffix); a select's answer is (value, text)."""
    values: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element, base = block["element"], block["block_id"].split(".", 1)[0]
        kind, action = element["type"], element["action_id"]
        given = answers.get(base)
        if kind in ("static_select", "external_select"):
            option = ({"text": {"type": "plain_text", "text": given[1]}, "value": given[0]}
                      if isinstance(given, tuple) else element.get("initial_option"))
            values[block["block_id"]] = {action: {"type": kind, "selected_option": option}}
        elif kind == "datepicker":
            values[block["block_id"]] = {action: {"type": kind, "selected_date": given or element.get("initial_date")}}
        else:
            value = given if isinstance(given, str) else element.get("initial_value")
            values[block["block_id"]] = {action: {"type": kind, "value": value}}
    return values
