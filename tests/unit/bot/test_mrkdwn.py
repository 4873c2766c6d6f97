"""Outside data in Slack mrkdwn: escaped as Slack documents (`&`, `<`, `>`), one function for all."""

from __future__ import annotations

from bot import blocks, task_blocks
from bot.mrkdwn import escape, escape_all, mailto, person, quote, user


def test_escape_turns_control_sequences_into_text() -> None:
    assert escape("<!channel> & <@U1> <https://e.example|x>") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://e.example|x&gt;")
    assert escape("&lt;") == "&amp;lt;"  # an entity someone typed stays what they typed


def test_escape_all_reaches_every_string_and_leaves_other_values() -> None:
    data = {"name": "<!here>", "tags": ["<a>", 3], "score": 7, "nested": {"x": ">"}, "none": None}
    assert escape_all(data) == {"name": "&lt;!here&gt;", "tags": ["&lt;a&gt;", 3], "score": 7,
                                "nested": {"x": "&gt;"}, "none": None}


def test_quote_keeps_every_line_inside() -> None:
    assert quote("one\n<!channel>\n\nfour") == "> one\n> &lt;!channel&gt;\n> \n> four"
    assert quote("") == "> "


def test_links_and_mentions_only_for_what_is_what_it_claims() -> None:
    assert mailto("maria@example.com") == "<mailto:maria@example.com|maria@example.com>"
    assert mailto("a@b.example|<https://evil.example>") == "a@b.example|&lt;https://evil.example&gt;"
    assert user("U012AB3CD") == "<@U012AB3CD>"
    assert user("!channel") == "!channel" and user("<!here>") == "&lt;!here&gt;"
    assert person("<!channel>", "m@example.com") == "&lt;!channel&gt; <mailto:m@example.com|m@example.com>"
    assert person("", "") == "anonymous visitor"


def test_builders_escape_every_outside_field() -> None:
    view = task_blocks.TaskView(id=1, kind="hot_lead", status="open", contact="<!channel>", email="x<@U1>@e.example",
                           text="safe *markup*", activity=["viewed <https://evil.example|click>"],
                           links=["https://e.example/<!here>"], owner="<!everyone>")
    text = str(task_blocks.task_message(view))
    assert "<!" not in text and "<https" not in text and "<@U1>" not in text
    assert "safe *markup*" in text  # the marketer's own text is kept as markup
    card = blocks.contact_card({"first_name": "<!here>", "email": "<@U1>", "lifecycle_stage": "lead",
                                "lead_score": 1, "consent": "unknown", "tags": ["<b>"], "events": []}, [], ["<!x>"])
    assert "<!" not in str(card) and "<@" not in str(card)


def _texts(content: dict[str, object]) -> list[str]:
    found: list[str] = []
    for block in content["blocks"]:  # type: ignore[attr-defined]
        if block["type"] == "section":
            found.append(block["text"]["text"])
        elif block["type"] == "context":
            found += [element["text"] for element in block["elements"]]
    return found


def test_a_long_journey_list_continues_in_more_sections_instead_of_being_cut() -> None:
    rows = [blocks.JourneyRow(f"journey-{n:03d}", f"Journey number {n} <with & markup> " + "x" * 40, "live", 1)
            for n in range(150)]
    content = blocks.journey_list(rows)
    texts = _texts(content)
    assert len(texts) > 1 and all(len(text) <= blocks.MAX_TEXT for text in texts)
    joined = "\n".join(texts)
    assert all(f"`journey-{n:03d}`" in joined for n in range(150))  # nothing silently dropped
    for text in texts:  # every line whole: no section ends inside an entity or a sequence
        assert text.count("&lt;") == text.count("&gt;") and not text.rstrip().endswith("&")


def test_beyond_fifty_blocks_the_message_says_how_much_is_left() -> None:
    rows = [blocks.JourneyRow(f"k{n}", "n" * 2800, "live", 1) for n in range(60)]
    content = blocks.journey_list(rows)
    assert len(content["blocks"]) == blocks.MAX_BLOCKS
    assert "more lines" in _texts(content)[-1]


def test_one_overlong_line_is_cut_outside_markup() -> None:
    line = "a" * 2890 + "<mailto:x@example.com|x@example.com> &amp; more"
    (text,) = _texts(blocks.message(line))
    assert text.endswith("…") and "<mailto" not in text and not text[:-1].endswith("&")
