"""Templates compiled with their tracking (emails/tracked.py): a message reads exactly as the generic
path writes it (render, rewrite links, add the pixel, encode), for every template and language."""

from __future__ import annotations

import binascii
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emails
from emails import mime
from emails.drafts import Draft, Sender, personalise
from emails.errors import TemplateError
from emails.render import TemplateLibrary
from emails.samples import sample_context
from emails.tokens import click_signer, sign
from emails.tracked import compile_tracked
from tests.support import parse_strictly

BUILT_IN = Path(emails.__file__).parent / "templates"
SENDER = Sender(public_url="https://mail.acme.example", secret_key="t" * 40,
                mail_from="Acme Audio <hello@acme.example>", brand={"name": "Acme Audio"})
HEAD = '{%@ extends "layout.mjml.j2" %}\n{%@ block subject %}Hi {{ contact.first_name }}{%@ endblock %}\n'
STRESS = HEAD + """{%@ block body %}<mj-section><mj-column><mj-text>
{{ contact.first_name }} | {{ custom.long }} | {{ custom.equals }} | {{ custom.lines }} | {{ custom.none }}
| {{ custom.number }} | {{ missing.deep.value }} | {{ custom.specials }}
<a href="{{ custom.url }}">one</a> <a href='{{ custom.url }}&amp;y={{ custom.number }}'>two</a>
<a href="mailto:{{ contact.email }}">mail</a> <a href="{{ custom.mailto }}">mail too</a> <a href="#top">top</a>
<a href="https://static.example/fixed">fixed</a> <a href="{{ custom.spaced }}">spaced</a>
<a href="{{ brand.url }}/pages/help" data-untracked="help">help</a> <area href="{{ custom.url }}" />
{% for item in custom.links %}<a href="{{ item }}">{{ loop.index }}</a> {% endfor %}
{% set greeting %}Hello <b>{{ contact.first_name }}</b>{% endset %}{{ greeting }}
</mj-text></mj-column></mj-section>{%@ endblock %}
"""
VALUES = {
    "long": "Ünïcödé çok uzun bir değer, 山田様 " * 12,
    "equals": "a=b==c =",
    "lines": "one\ntwo\r\nthree\rfour  \n\ttab\t\nend ",
    "none": None,
    "number": 42,
    "specials": "<b>\"quoted\" & 'single'</b>",
    "url": "https://shop.example/p?a=1&b=2",
    "mailto": "mailto:sales@acme.example",
    "spaced": "  https://shop.example/spaced  ",
    "links": ["https://shop.example/1", "https://shop.example/" + "x" * 120, "https://shop.example/1"],
    "intro": '<p>Read <a href="https://blog.example/post">this</a>, <A HREF="https://blog.example/two">two</A>'
             ' and <a href="https://blog.example/x" data-untracked>not this</a>.</p>',
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> TemplateLibrary:
    own = tmp_path_factory.mktemp("templates")
    (own / "stress.mjml.j2").write_text(STRESS, encoding="utf-8")
    (own / "filtered.mjml.j2").write_text(HEAD + "{%@ block body %}<mj-section><mj-column><mj-text>"
                                          "{% filter upper %}<a href='{{ custom.url }}'>x</a>{% endfilter %}"
                                          "</mj-text></mj-column></mj-section>{%@ endblock %}", encoding="utf-8")
    (own / "built-link.mjml.j2").write_text(HEAD + "{%@ block body %}<mj-section><mj-column><mj-text>"
                                            "<a href='{{ custom.url }}' title='{% if custom.url %}go{% endif %}'>x</a>"
                                            "</mj-text></mj-column></mj-section>{%@ endblock %}", encoding="utf-8")
    return TemplateLibrary([own, BUILT_IN], auto_reload=False)


def _draft(name: str, locale: str = "en", index: int = 7, **context: Any) -> Draft:
    return Draft(id=index, message_id=f"<{index}@acme.example>", to="lea@example.com", template=name,
                 context={**sample_context(), **context}, contact={"first_name": "Léa", "last_name": "Çelik"},
                 contact_id=index, locale=locale)


def _reads(message: EmailMessage) -> tuple[str, ...]:
    return (str(message["Subject"]), str(message["List-Unsubscribe"]), message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def _same_as_generic(library: TemplateLibrary, draft: Draft) -> list[str]:
    compiled, compiled_targets = personalise(library, draft, SENDER)
    generic, generic_targets = personalise(library, draft, SENDER, generic=True)
    assert _reads(parse_strictly(compiled)) == _reads(parse_strictly(generic)), (draft.template, draft.locale)
    assert compiled_targets == generic_targets
    body = compiled.data.split(b"\r\n\r\n", 1)[1]
    assert max(map(len, body.split(b"\r\n"))) <= mime.MAX_QP_LINE, "quoted-printable lines of at most 76"
    return compiled_targets


def test_every_library_template_in_every_language_reads_as_the_generic_path_writes_it(
        library: TemplateLibrary) -> None:
    names = [name for name in library.names() if name not in ("stress", "filtered", "built-link")]
    assert len(names) >= 30 and len(library.languages()) >= 4
    for locale in library.languages():
        for index, name in enumerate(names):
            assert library.compiled(name, locale).tracked is not None, f"{name} ({locale}) takes the generic path"
            _same_as_generic(library, _draft(name, locale, index))


def test_values_that_need_escaping_links_built_from_values_and_a_snippet_s_links(library: TemplateLibrary) -> None:
    assert library.compiled("stress").tracked is not None
    draft = _draft("stress", custom=VALUES)
    targets = _same_as_generic(library, draft)
    # The layout's logo, the intro snippet above the body (its links in the markup value), then the body's.
    assert targets == ["https://shop.example.com", "https://blog.example/post", "https://blog.example/two",
                       "https://shop.example/p?a=1&b=2", "https://shop.example/p?a=1&b=2&y=42",
                       "https://static.example/fixed", "https://shop.example/spaced", "https://shop.example/p?a=1&b=2",
                       *VALUES["links"]]
    html = parse_strictly(personalise(library, draft, SENDER)[0]).get_body(("html",)).get_content()
    assert html.count("https://mail.acme.example/c/") == len(targets)
    assert VALUES["long"] in html and 'href="mailto:sales@acme.example"' in html
    assert html.count("https://mail.acme.example/o/") == 1, "one open pixel"


@pytest.mark.parametrize("name", ["filtered", "built-link"])
def test_a_template_the_compiler_does_not_follow_takes_the_generic_path(library: TemplateLibrary, name: str) -> None:
    assert library.compiled(name).tracked is None
    targets = _same_as_generic(library, _draft(name, custom=VALUES))
    assert {VALUES["url"], VALUES["url"].upper()} & set(targets)


NOT_FOLLOWED = ["<a href='{{ url ~ '&z=1' }}'>quote cut</a>", '<a href="{{ url }}" {% if x %}x{% endif %}>',
                "<p>{{ '<a href=x>' }}</p>", '<a href="{{- url }}">', "{% filter upper %}x{% endfilter %}",
                '{% set card %}<a href="{{ url }}">in a set block</a>{% endset %}{{ card }}',
                '{% macro card() %}<a href="https://shop.example/">in a macro</a>{% endmacro %}{{ card() }}']


@pytest.mark.parametrize("html", NOT_FOLLOWED)
def test_html_the_compiler_does_not_follow_is_left_to_the_generic_path(html: str) -> None:
    # (MJML refuses some of these already: the compiler does not count on it.)
    assert compile_tracked(f'<html><body><a href="{{{{ url }}}}">x</a>{html}</body></html>', "t") is None
    assert compile_tracked('<html><body><a href="{{ url }}">x</a></body></html>', "t") is not None


@pytest.mark.parametrize("expression", ["{{ _nurture_message.urls }}", "{{ 'x' | _nurture_out(1) }}"])
def test_a_template_cannot_reach_the_compiled_tracking(tmp_path: Path, expression: str) -> None:
    (tmp_path / "probe.mjml.j2").write_text(HEAD + "{%@ block body %}<mj-section><mj-column><mj-text>"
                                            + expression + "</mj-text></mj-column></mj-section>{%@ endblock %}")
    with pytest.raises(TemplateError, match="_nurture_"):
        TemplateLibrary([tmp_path, BUILT_IN]).compiled("probe")


PIECE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(PIECE, max_size=8))
def test_pieces_encoded_apart_decode_to_their_text_joined(pieces: list[str]) -> None:
    encoded = "".join(mime.quoted_printable_piece(piece) for piece in pieces).encode("ascii")
    lines = encoded.split(b"\r\n")
    assert max(map(len, lines)) <= mime.MAX_QP_LINE
    assert not any(line.endswith((b" ", b"\t")) for line in lines)
    for line in lines:  # each line decodes on its own: no character is cut by a line break
        binascii.a2b_qp(line).decode("utf-8")
    wanted = "".join(piece.replace("\r\n", "\n").replace("\r", "\n") for piece in pieces)
    assert binascii.a2b_qp(encoded).decode("utf-8").replace("\r\n", "\n") == wanted


def test_a_message_s_click_signer_signs_as_sign_does() -> None:
    for key in ("k" * 40, "k" * 100, b"raw-bytes-key"):
        for message in (0, 17, 123456789):
            token = click_signer(key, message)
            assert [token(i) for i in (0, 1, 12, 300)] == [sign(key, "click", {"i": i, "m": message})
                                                          for i in (0, 1, 12, 300)]
