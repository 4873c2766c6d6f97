"""Importing MJML: placeholders in other tools' styles, Jinja escaped, the footer, clear refusals."""

from __future__ import annotations

import pytest

from emails.importer import ImportError_, import_mjml

DOC = """<mjml><mj-head><mj-title>{title}</mj-title><mj-style>.a {{ color: red; }} .b{{x:1}}</mj-style></mj-head>
<mj-body><mj-section><mj-column><mj-text>{text}</mj-text></mj-column></mj-section></mj-body></mjml>"""


def doc(text: str, title: str = "Hi") -> str:
    return DOC.format(title=title, text=text)


@pytest.mark.parametrize("written", ["{{FirstName}}", "{{ first_name }}", "*|FNAME|*", "[[first_name]]",
                                     "{first_name}", "{{contact.first_name}}"])
def test_every_style_of_first_name_becomes_the_contact_field(written: str) -> None:
    imported = import_mjml(doc(f"Hello {written}!"))
    assert "Hello {{ contact.first_name | fallback('there') }}!" in imported.source
    assert imported.mapped == {written: "contact.first_name | fallback('there')"} and not imported.unmapped


def test_anything_else_jinja_would_read_is_escaped_and_css_is_untouched() -> None:
    imported = import_mjml(doc("{{ config.items() }} {% for x in y %} {# c #} {{unknown_thing}}"))
    assert "{{ '{{' }} config.items() }}" in imported.source and "{{ '{%' }} for x in y %}" in imported.source
    assert "{{ '{#' }} c #}" in imported.source and imported.unmapped == ["{{unknown_thing}}"]  # code: no placeholder
    assert ".a { color: red; } .b{x:1}" in imported.source


def test_marketing_gets_the_footer_unless_it_has_an_unsubscribe_link() -> None:
    plain = import_mjml(doc("No footer here"))
    assert plain.footer_added and 'href="{{ unsubscribe_url }}" data-untracked="unsubscribe"' in plain.source
    own = import_mjml(doc('<a href="*|UNSUB|*">Leave</a>'))
    assert not own.footer_added and '<a data-untracked="unsubscribe" href="{{ unsubscribe_url }}">' in own.source
    assert not import_mjml(doc("Receipt"), marketing=False).footer_added


def test_the_subject_comes_from_the_title_or_the_option() -> None:
    assert import_mjml(doc("x", title="Hi *|FNAME|*")).subject == "Hi {{ contact.first_name | fallback('there') }}"
    assert import_mjml(doc("x"), subject="Our news").subject == "Our news"
    with pytest.raises(ImportError_, match="no subject"):
        import_mjml(doc("x", title=""))
    with pytest.raises(ImportError_, match="not an MJML document"):
        import_mjml("<html><body>x</body></html>")
