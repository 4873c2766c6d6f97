"""Email benchmark: per-recipient render cost and SMTP send rate, each against a peer.

Render: our cached path (MJML compiled once per template version, then Jinja + signed links
+ headers per recipient) vs compiling MJML with mjml-python for every recipient vs warm node
`mjml` (one node process; installed into bench/.node when npm exists, skipped otherwise).
Whole message (render, signed links, pixel, headers, the MIME bytes) vs warm node mjml
compiling alone. Send: emails/s into a local aiosmtpd sink through our pooled SmtpTransport
(4 connections) vs a bare aiosmtplib loop on 4 connections sending the same bytes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosmtplib

from bench.common import REPO, clean_env, faster, free_port, python, row, server_process
from core.services import OutgoingEmail
from emails.compiler import mjml_compiler
from emails.drafts import Draft, Sender, personalise
from emails.render import TemplateLibrary
from emails.samples import sample_context
from emails.transport import SmtpTarget, SmtpTransport

TEMPLATES = REPO / "emails" / "templates"
NODE_DIR = REPO / "bench" / ".node"
NAMES = ("cart-reminder", "welcome-1", "quote", "order-thanks-coupon")
SENDER = Sender(public_url="https://mail.bench.example", secret_key="b" * 40,
                mail_from="Bench <hello@bench.example>", brand={"name": "Bench"})
NODE_SCRIPT = """
const mjml = require('mjml');
const sources = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const rounds = Number(process.argv[3]);
for (const s of sources) mjml(s, {validationLevel: 'skip'});  // warm up
const start = process.hrtime.bigint();
for (let i = 0; i < rounds; i++) for (const s of sources) mjml(s, {validationLevel: 'skip'});
console.log(JSON.stringify({ms: Number(process.hrtime.bigint() - start) / 1e6 / (rounds * sources.length)}));
"""


def _per_call_ms(work: Callable[[int], Any], seconds: float) -> float:
    """Mean milliseconds per call of work(i), run for about `seconds`."""
    work(0)
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        work(calls)
        calls += 1
    return (time.perf_counter() - started) / calls * 1000


def _draft(i: int) -> Draft:
    name = NAMES[i % len(NAMES)]
    contact = {"first_name": f"Reader{i}", "last_name": "Bench", "email": f"r{i}@bench.example"}
    return Draft(id=i, message_id=f"<{i}@bench.example>", to=f"r{i}@bench.example", template=name,
                 context=sample_context(), contact=contact, contact_id=i)


def measure_render(seconds: float) -> tuple[float, float, float, float, float | None]:
    """(our cached render, full compile + render, MJML compile alone, whole message, node mjml) in ms."""
    library = TemplateLibrary(TEMPLATES, auto_reload=False)
    context = sample_context()
    ours = _per_call_ms(lambda i: library.compiled(NAMES[i % len(NAMES)]).render(context), seconds)
    files = [library.source(name + ".mjml.j2") for name in NAMES]
    # The naive path: build stage, MJML compile and Jinja parse again for every recipient.
    naive = _per_call_ms(lambda i: library.compile_source(files[i % len(files)]).render(context), seconds)
    sources = [library.compiled(name).mjml for name in NAMES]
    compile_only = _per_call_ms(lambda i: mjml_compiler(sources[i % len(sources)]), seconds)
    whole = _per_call_ms(lambda i: personalise(library, _draft(i), SENDER), seconds)
    return ours, naive, compile_only, whole, _node_mjml_ms(sources)


def _node_mjml_ms(sources: list[str]) -> float | None:
    if shutil.which("node") is None:
        print("node not found: skipping the node mjml peer")
        return None
    if not (NODE_DIR / "node_modules" / "mjml").exists():
        if shutil.which("npm") is None:
            print("npm not found: skipping the node mjml peer")
            return None
        subprocess.run(["npm", "install", "--prefix", str(NODE_DIR), "mjml@4", "--no-audit", "--no-fund"],
                       check=True, capture_output=True, timeout=300)
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "sources.json", NODE_DIR / "render.js"
        data.write_text(json.dumps(sources))
        script.write_text(NODE_SCRIPT)
        done = subprocess.run(["node", str(script), str(data), "50"], cwd=NODE_DIR, capture_output=True,
                              text=True, timeout=120, check=True)
    return float(json.loads(done.stdout)["ms"])


# The sink runs in its own process, as a relay would: in ours, it would compete for the loop.
SINK_SCRIPT = """
import asyncio, sys
from aiosmtpd.smtp import SMTP

class Accept:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

async def main():
    loop = asyncio.get_running_loop()
    await loop.create_server(lambda: SMTP(Accept(), hostname="bench"), host="127.0.0.1", port=int(sys.argv[1]))
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _messages(count: int) -> list[OutgoingEmail]:
    library = TemplateLibrary(TEMPLATES, auto_reload=False)
    return [personalise(library, _draft(i), SENDER)[0] for i in range(count)]


CONNECTIONS = 4


async def _ours(port: int, messages: list[OutgoingEmail]) -> float:
    transport = SmtpTransport(SmtpTarget(host="127.0.0.1", port=port), pool_size=CONNECTIONS)
    started = time.perf_counter()
    await asyncio.gather(*(transport.send(m) for m in messages))
    elapsed = time.perf_counter() - started
    await transport.close()
    return len(messages) / elapsed


async def _bare(port: int, messages: list[OutgoingEmail]) -> float:
    """The peer: 4 plain aiosmtplib connections, each sending its share of the same bytes in a loop."""
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) for _ in range(CONNECTIONS)]
    await asyncio.gather(*(client.connect() for client in clients))

    async def loop(client: aiosmtplib.SMTP, share: list[OutgoingEmail]) -> None:
        for message in share:
            await client.sendmail(message.mail_from, list(message.recipients), message.data)

    started = time.perf_counter()
    await asyncio.gather(*(loop(client, messages[n::CONNECTIONS]) for n, client in enumerate(clients)))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(client.quit() for client in clients))
    return len(messages) / elapsed


async def measure_send(count: int) -> tuple[float, float]:
    messages = _messages(count)
    port = free_port()
    with server_process([python(), "-c", SINK_SCRIPT, str(port)], clean_env(), port):
        await _bare(port, messages[:40])  # warm both paths
        await _ours(port, messages[:40])
        bare, ours = [], []
        for _ in range(3):  # alternating rounds: the sink's own speed drifts
            bare.append(await _bare(port, messages))
            ours.append(await _ours(port, messages))
    return statistics.median(ours), statistics.median(bare)


async def main(seconds: float = 2.0, messages: int = 600) -> list[str]:
    ours, naive, compile_only, whole, node = measure_render(seconds)
    send_ours, send_bare = await measure_send(messages)
    us = 1000.0  # per-recipient figures in microseconds; lower is better
    rows = [
        row("email render per recipient (cached compile, Jinja only)", ours * us,
            "mjml-python compile + Jinja per recipient", naive * us, "us"),
        row("email render per recipient (cached compile, Jinja only)", ours * us,
            "mjml-python MJML compile alone", compile_only * us, "us"),
        row("whole personalised message (render, signed links, pixel, headers, MIME bytes)", whole * us,
            "mjml-python compile + Jinja per recipient", naive * us, "us"),
    ]
    if node is not None:
        rows.append(row("email render per recipient (cached compile, Jinja only)", ours * us,
                        "warm node mjml 4, MJML compile only", node * us, "us"))
        rows.append(faster("whole personalised message (render, signed links, pixel, headers, MIME bytes)",
                           whole * us, "warm node mjml 4, MJML compile only", node * us, "us"))
    rows.append(row("emails/s into a local SMTP sink (pool of 4)", send_ours,
                    "bare aiosmtplib, 4 connections, same bytes", send_bare, "emails/s"))
    return rows


if __name__ == "__main__":
    for line in asyncio.run(main()):
        print(line)
