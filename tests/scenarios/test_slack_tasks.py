"""Tasks in Slack end to end: hot-lead alerts, NPS feedback, quote approvals, Slack outages."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from arq import Retry

from bot import jobs as slack_jobs
from bot.home import home_for
from bot.jobs import escalate_unclaimed, post_task_job, repost_snoozed
from contacts.events import NormalizedEvent
from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from journeys.library import TEMPLATES
from journeys.models import Enrollment, EnrollmentState, Task, TaskKind, TaskStatus
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from pipeline.ingest import ingest
from tests.doubles.slack_api import SlackApiDouble
from tests.scenarios.slack_support import calls, click, eventually, interact, submission
from tests.support import survey_headers

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]


def _parts(sent: Any) -> tuple[str, str]:
    """(text, html) of a received email."""
    text = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, sent.get_body(("html",)).get_content()


async def _publish(name: str) -> None:
    spec = load_spec((TEMPLATES / f"{name}.yml").read_text())
    await import_spec(spec)
    await publish(spec.key)


async def _hot_lead(client: TestClient, services: Services, drive: Drive, owner: str | None = None) -> Task:
    await _publish("hot-lead-alert")
    await Contact.create(email="wei.chen@example.com", first_name="Wei", anonymous_id="anon-5b1f2c", owner=owner)
    page = {"type": "page", "anonymous_id": "anon-5b1f2c", "url": "https://acme-audio.example/pricing",
            "title": "Pricing", "timestamp": "2026-03-10T08:59:00Z"}
    headers = {"X-Nurture-Write-Key": services.settings.tracking_write_key, "Content-Type": "application/json"}
    assert (await client.post("/track", data=json.dumps(page), headers=headers)).status == 200
    await drive()
    return await Task.get(kind=TaskKind.HOT_LEAD)


async def test_hot_lead_alert_claim(client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive,
                                    clock: ManualClock) -> None:
    task = await _hot_lead(client, services, drive)
    posted = slack.called("chat.postMessage")
    assert len(posted) == 1 and posted[0].params["channel"] == "C0SALES"  # no owner: the sales channel
    text = json.dumps(posted[0].params["blocks"])
    score = (await Contact.get(email="wei.chen@example.com")).lead_score
    assert "Wei is looking at Pricing" in text and "viewed /pricing" in text and f"lead score *{score}*" in text
    assert task.slack_channel == "C0SALES" and task.slack_ts
    await interact(client, services, click("task_claim", f"task:{task.id}", "UREP1", ts=task.slack_ts))
    update = (await eventually(calls(slack, "chat.update")))[0]
    assert update.params["ts"] == task.slack_ts and "Claimed by <@UREP1>" in json.dumps(update.params["blocks"])
    assert (await Contact.get(email="wei.chen@example.com")).owner == "UREP1"
    assert (await Task.get(id=task.id)).status == TaskStatus.CLAIMED


async def test_hot_lead_to_owner_by_dm_then_escalated(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock
) -> None:
    task = await _hot_lead(client, services, drive, owner="UREP1")
    assert slack.called("conversations.open")[0].params["users"] == "UREP1"
    assert slack.called("chat.postMessage")[0].params["channel"] == "DREP1"
    assert await escalate_unclaimed({"services": services}) == 0
    clock.advance(dt.timedelta(hours=2, minutes=1))
    assert await escalate_unclaimed({"services": services}) == 1
    escalated = await Task.get(id=task.id)
    assert escalated.escalated_at is not None and escalated.assignee == "UREP2"
    note = "escalated to <#C0SALES>, next up <@UREP2>"
    assert note in json.dumps(slack.called("chat.update")[0].params["blocks"])  # the old alert says where
    posts = slack.called("chat.postMessage")
    assert [p.params["channel"] for p in posts] == ["DREP1", "C0SALES"]  # the sales channel, not the rep's DM again
    assert note in json.dumps(posts[-1].params["blocks"]) and "task_claim" in json.dumps(posts[-1].params["blocks"])
    assert escalated.slack_channel == "C0SALES" and escalated.slack_ts
    assert await escalate_unclaimed({"services": services}) == 0  # once


async def test_not_a_lead_never_pushes_the_score_below_zero(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive
) -> None:
    task = await _hot_lead(client, services, drive)
    await Contact.filter(email="wei.chen@example.com").update(lead_score=5)
    await interact(client, services, click("task_not_lead", f"task:{task.id}", "UREP1"))
    await eventually(calls(slack, "chat.update"))
    assert (await Contact.get(email="wei.chen@example.com")).lead_score == 0
    assert (await Task.get(id=task.id)).status == TaskStatus.REJECTED


async def test_snooze_reposts_and_not_a_lead_lowers_score(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock
) -> None:
    task = await _hot_lead(client, services, drive)
    score = (await Contact.get(email="wei.chen@example.com")).lead_score
    await interact(client, services, click("task_snooze", f"task:{task.id}", "UREP1"))
    await eventually(calls(slack, "chat.update"))
    assert (await Task.get(id=task.id)).status == TaskStatus.SNOOZED
    clock.advance(dt.timedelta(days=1, minutes=1))
    assert await repost_snoozed({"services": services}) == 1
    assert len(slack.called("chat.postMessage")) == 2
    await interact(client, services, click("task_not_lead", f"task:{task.id}", "UREP1"))
    await eventually(calls(slack, "chat.update", 2))
    assert (await Contact.get(email="wei.chen@example.com")).lead_score == score - 20
    assert (await Task.get(id=task.id)).status == TaskStatus.REJECTED


async def test_nps_detractor_task_done(client: TestClient, services: Services, slack: SlackApiDouble,
                                       drive: Drive) -> None:
    await _publish("nps-follow-up")
    await Contact.create(email="hana.sato@example.com", first_name="Hana", owner="UREP2")
    body = json.dumps({"email": "hana.sato@example.com", "score": 3, "comment": "Lenses arrived late twice",
                       "survey": "nps", "answered_at": "2026-03-10T08:00:00Z", "response_id": "r1"}).encode()
    response = await client.post("/webhooks/surveys/generic", data=body,
                                 headers=survey_headers(body, services.settings.survey_secret))
    assert response.status == 200
    await drive()
    task = await Task.get(kind=TaskKind.FEEDBACK)
    posted = json.dumps(slack.called("chat.postMessage")[0].params["blocks"])
    assert "NPS *3*" in posted and "Lenses arrived late twice" in posted and "Account manager: <@UREP2>" in posted
    await interact(client, services, click("task_done", f"task:{task.id}", "UREP2"))
    await eventually(calls(slack, "chat.update"))
    assert (await Task.get(id=task.id)).status == TaskStatus.DONE


async def _quote(services: Services, drive: Drive, clock: ManualClock) -> Task:
    await _publish("quote-request")
    await Contact.create(email="maria.rossi@example.com", first_name="Maria", owner="UREP1")
    # A form that states the list price (a product page's "request a quote"): the quote is priced as it comes.
    fields = {"company": "Rossi Logistica", "product": "Studio monitor speakers (pair)", "quantity": "25",
              "unit_price": "430", "currency": "EUR", "message": "Can you deliver to Milan before June?"}
    form = NormalizedEvent(type="form.submitted", source="form", idempotency_key="quote-1", occurred_at=clock.now(),
                           email="maria.rossi@example.com", properties={"form_key": "quote-request", "fields": fields})
    await ingest(services, [form])
    await drive()
    return await Task.get(kind=TaskKind.QUOTE_APPROVAL)


async def test_quote_approved_goes_out_from_the_rep(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock, outbox: Outbox
) -> None:
    task = await _quote(services, drive, clock)
    assert task.assignee == "UREP1"
    approval = json.dumps(slack.called("chat.postMessage")[0].params["blocks"])
    assert "Subject:* Your quote from Acme Audio" in approval and "quote_approve" in approval
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP2", "DREP1", task.slack_ts or ""))
    refusal = (await eventually(calls(slack, "chat.postEphemeral")))[0]
    assert refusal.params["user"] == "UREP2" and "only the assigned rep" in refusal.params["text"]
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    await eventually(calls(slack, "chat.update"))
    await drive()
    sent = await outbox()
    assert len(sent) == 1
    assert sent[0]["From"].addresses[0].display_name == "Kenji Sato"
    assert str(sent[0]["Reply-To"]) == "kenji.sato@acme-audio.example"
    text, html = _parts(sent[0])
    assert "Studio monitor speakers (pair) | 25 | €430.00 | €10,750.00" in text and "Total | €10,750.00" in text
    assert "Can you deliver to Milan before June?" in text
    assert re.search(r"Accept this quote \(https?://\S+\)", text)  # a real (tracked) link, not "()"
    assert 'href=""' not in html
    assert "Kenji Sato\nAcme Audio\nkenji.sato@acme-audio.example" in text and "The Acme Audio team" not in text
    enrollment = await Enrollment.get(id=task.enrollment_id)
    # parked on the 3-day wait before the first follow-up
    assert enrollment.state == EnrollmentState.WAITING and enrollment.next_run_at == clock.now() + dt.timedelta(days=3)
    assert "Approved and sent by <@UREP1>" in json.dumps(slack.called("chat.update")[0].params["blocks"])


async def test_quote_edited_body_replaces_the_template_copy(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock, outbox: Outbox
) -> None:
    task = await _quote(services, drive, clock)
    await interact(client, services, click("quote_edit", f"task:{task.id}", "UREP1", "DREP1"))
    modal = (await eventually(calls(slack, "views.open")))[0].params["view"]
    prefill = modal["blocks"][1]["element"]["initial_value"]
    assert prefill.startswith("Hi Maria,") and "Thank you for your interest in Acme Audio" in prefill
    assert "Unsubscribe" not in prefill and "Total" not in prefill  # just the copy: items and footer stay put
    edited = "Hi Maria,\n\nAs discussed: EUR 430 a pair, delivered to Milan in May.\nKenji"
    form = {"subject": {"subject_input": {"type": "plain_text_input", "value": "Your speakers quote"}},
            "body": {"body_input": {"type": "plain_text_input", "value": edited}}}
    await interact(client, services, submission("quote_edit", form, "UREP1", modal["private_metadata"]))
    await eventually(calls(slack, "chat.update"))
    await drive()
    (sent,) = await outbox()
    text, _ = _parts(sent)
    assert sent["Subject"] == "Your speakers quote"
    assert "As discussed: EUR 430 a pair, delivered to Milan in May.\nKenji" in text
    assert "Thank you for your interest" not in text  # replaced, not prepended
    assert "Studio monitor speakers (pair) | 25 |" in text
    assert "Kenji Sato\nAcme Audio\nkenji.sato@acme-audio.example" in text


async def test_quote_rejected_exits(client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive,
                                    clock: ManualClock, outbox: Outbox) -> None:
    task = await _quote(services, drive, clock)
    await interact(client, services, click("quote_reject", f"task:{task.id}", "UREP1", "DREP1"))
    modal = (await eventually(calls(slack, "views.open")))[0].params["view"]
    assert modal["callback_id"] == "quote_reject"
    reason = {"reason": {"reason_input": {"type": "plain_text_input", "value": "prices changed"}}}
    await interact(client, services, submission("quote_reject", reason, "UREP1", modal["private_metadata"]))
    await eventually(calls(slack, "chat.update"))
    await drive()
    enrollment = await Enrollment.get(id=task.enrollment_id)
    assert enrollment.state == EnrollmentState.EXITED and enrollment.exit_reason == "quote rejected"
    assert await outbox() == []


async def test_rate_limited_post_is_retried_and_posted_once(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive
) -> None:
    slack.faults.append((429, {"Retry-After": "1"}))  # the conversations/post of the first attempt
    slack.faults.append((500, {}))
    task = await _hot_lead(client, services, drive)  # the worker retries after Retry-After
    assert len(slack.called("chat.postMessage")) == 1
    await Task.filter(id=task.id).update(slack_ts=None)
    slack.faults.append((429, {"Retry-After": "7"}))
    with pytest.raises(Retry) as retry:
        await post_task_job({"services": services}, task_id=task.id)
    assert retry.value.defer_score == 7000
    assert await post_task_job({"services": services}, task_id=task.id) == "posted to C0SALES"
    assert await post_task_job({"services": services}, task_id=task.id) == "already posted"
    assert len(slack.called("chat.postMessage")) == 2


async def _run_cron(services: Services, drive: Drive, name: str) -> None:
    """Crons fire on the real clock (and driven workers leave them out): the test runs one by hand."""
    cron_job = next(job for job in slack_jobs.CRONS if job.__name__ == name)
    await cron_job({"services": services})
    await drive()


async def test_quote_approval_reminds_then_times_out(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock, outbox: Outbox
) -> None:
    task = await _quote(services, drive, clock)  # remind_after 1d (default), timeout 3d (quote-request)
    clock.advance(dt.timedelta(hours=23))
    await _run_cron(services, drive, "remind_approvals")
    assert len(slack.called("chat.postMessage")) == 1  # only the approval itself so far
    clock.advance(dt.timedelta(hours=1, minutes=1))
    await _run_cron(services, drive, "remind_approvals")
    reminder = slack.called("chat.postMessage")[-1].params
    assert reminder["thread_ts"] == task.slack_ts and reminder["channel"] == task.slack_channel
    assert reminder["text"] == "<@UREP1>, this quote is still waiting for a decision."
    await _run_cron(services, drive, "remind_approvals")
    assert len(slack.called("chat.postMessage")) == 2  # reminded once
    enrollment = await Enrollment.get(id=task.enrollment_id)
    assert enrollment.state == EnrollmentState.WAITING
    clock.advance(dt.timedelta(days=2))  # 3 days and a minute after the request
    await drive()
    await enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.EXITED and enrollment.exit_reason == "nobody approved the quote"
    assert await outbox() == []
    await _run_cron(services, drive, "remind_approvals")  # closes the task: the buttons go away
    closed = slack.called("chat.update")[-1].params
    assert closed["ts"] == task.slack_ts and "quote_approve" not in json.dumps(closed["blocks"])
    assert "Closed without a decision (expired: nobody decided in time" in json.dumps(closed["blocks"])
    assert (await Task.get(id=task.id)).status == TaskStatus.DONE
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    late = (await eventually(calls(slack, "chat.postEphemeral")))[0]
    assert "already done" in late.params["text"]
    await drive()
    assert await outbox() == []


async def test_a_public_quote_form_cannot_put_links_in_the_quote_email(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, outbox: Outbox
) -> None:
    await _publish("quote-request")
    await Contact.create(email="maria.rossi@example.com", first_name="Maria", owner="UREP1")
    evil = "https://evil.example/accept"
    fields = {"email": "maria.rossi@example.com", "first_name": "Maria", "product": "Speakers", "quantity": "2",
              "price": "99",
              "quote_url": evil, "url": evil, "review_url": evil, "message": "Quote please", "website": ""}
    response = await client.post("/webhooks/forms/quote-request", data=json.dumps(fields), headers={
        "Content-Type": "application/json", "X-Nurture-Form-Secret": "form-secret-quote-request"})
    assert response.status == 200
    await drive()
    task = await Task.get(kind=TaskKind.QUOTE_APPROVAL)
    await interact(client, services, click("quote_approve", f"task:{task.id}", "UREP1", "DREP1", task.slack_ts or ""))
    await eventually(calls(slack, "chat.update"))
    await drive()
    (sent,) = await outbox()
    assert "evil.example" not in sent.as_string()
    text, _html = _parts(sent)
    link = re.search(r"Accept this quote \((https?://\S+)\)", text)
    assert link is not None
    path = link.group(1).split("://", 1)[1].split("/", 1)[1]
    followed = await client.get("/" + path, allow_redirects=False)
    assert followed.status in (302, 303)  # to our own signed accept page, never one a form named
    assert followed.headers["Location"].startswith(services.settings.public_url.rstrip("/") + "/q/")


async def test_task_buttons_check_who_presses_them_and_what_they_press(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock
) -> None:
    lead = await _hot_lead(client, services, drive, owner="UREP1")

    async def press(action: str, task: Task, user: str) -> str:
        before = len(slack.called("chat.postEphemeral"))
        await interact(client, services, click(action, f"task:{task.id}", user, "DREP1", task.slack_ts or ""))
        await eventually(lambda: len(slack.called("chat.postEphemeral")) > before or slack.called("chat.update"))
        refusals = slack.called("chat.postEphemeral")[before:]
        return refusals[0].params["text"] if refusals else ""

    # Another rep cannot act on a lead the owner holds; a stranger even less.
    assert "only the assignee, the lead's owner or an admin" in await press("task_claim", lead, "UREP2")
    assert "only the assignee" in await press("task_not_lead", lead, "USTRANGER")
    assert (await Task.get(id=lead.id)).status == TaskStatus.OPEN
    # A button of another kind of task does nothing to this one.
    assert "does not apply to a hot lead task" in await press("task_done", lead, "UREP1")
    quote = await _quote(services, drive, clock)
    assert "does not apply to a quote approval task" in await press("task_snooze", quote, "UADMIN")
    assert (await Task.get(id=quote.id)).status == TaskStatus.OPEN
    # The owner claims; a later claim by someone else is not a takeover.
    assert await press("task_claim", lead, "UREP1") == ""
    assert "already claimed by UREP1" in await press("task_claim", lead, "UADMIN")
    claimed = await Task.get(id=lead.id)
    assert claimed.status == TaskStatus.CLAIMED and claimed.assignee == "UREP1"
    assert (await Contact.get(email="wei.chen@example.com")).owner == "UREP1"


async def test_a_refused_alert_is_kept_shown_to_admins_and_posted_once_fixed(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive, clock: ManualClock
) -> None:
    slack.refusals["chat.postMessage"] = "not_in_channel"  # the bot was never invited to #sales
    task = await _hot_lead(client, services, drive)
    task = await Task.get(id=task.id)
    assert task.slack_ts is None and task.payload["post_error"]["error"] == "not_in_channel"
    assert "invite the bot" in task.payload["post_error"]["fix"]
    home = await home_for(services, "UADMIN")
    shown = json.dumps(home["blocks"])
    assert "Tasks Slack refused to post" in shown and "not_in_channel" in shown and "wei.chen@example.com" in shown
    assert "refused" not in json.dumps((await home_for(services, "UREP1"))["blocks"])  # admins only
    assert await slack_jobs.repost_refused({"services": services}) == 0  # still refused: kept, not lost
    del slack.refusals["chat.postMessage"]  # someone invited the bot
    assert await slack_jobs.repost_refused({"services": services}) == 1
    task = await Task.get(id=task.id)
    assert task.slack_ts and "post_error" not in task.payload
    assert "Tasks Slack refused" not in json.dumps((await home_for(services, "UADMIN"))["blocks"])


async def test_a_claimed_lead_changes_hands_only_by_an_explicit_reassign(
    client: TestClient, services: Services, slack: SlackApiDouble, drive: Drive
) -> None:
    lead = await _hot_lead(client, services, drive, owner="UREP1")
    await interact(client, services, click("task_claim", f"task:{lead.id}", "UREP1", "DREP1", lead.slack_ts or ""))
    update = (await eventually(calls(slack, "chat.update")))[-1]
    assert "task_reassign" in json.dumps(update.params["blocks"])  # the way to hand it on
    await interact(client, services, click("task_reassign", f"task:{lead.id}", "UREP2", "DREP1"))
    refusal = (await eventually(calls(slack, "chat.postEphemeral")))[0]
    assert refusal.params["user"] == "UREP2" and "only the lead's owner or an admin" in refusal.params["text"]
    assert slack.called("views.open") == []
    await interact(client, services, click("task_reassign", f"task:{lead.id}", "UREP1", "DREP1"))
    modal = (await eventually(calls(slack, "views.open")))[0].params["view"]
    assert modal["callback_id"] == "task_reassign"
    picked = {"owner": {"owner_select": {"type": "users_select", "selected_user": "UREP2"}}}
    forged = await interact(client, services, submission("task_reassign", picked, "USTRANGER", str(lead.id)))
    assert "only the lead's owner or an admin" in json.dumps(await forged.json())
    assert (await Task.get(id=lead.id)).assignee == "UREP1"
    done = await interact(client, services, submission("task_reassign", picked, "UREP1", str(lead.id)))
    assert done.status == 200
    await eventually(lambda: len(slack.called("chat.update")) >= 2)
    handed = await Task.get(id=lead.id)
    assert handed.assignee == "UREP2" and handed.decided_by == "UREP1"
    assert (await Contact.get(email="wei.chen@example.com")).owner == "UREP2"
