import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

import emails
from emails.compiler import mjml_compiler
from emails.render import RenderedEmail, TemplateError, TemplateLibrary, render
from emails.samples import sample_context
from emails.sandbox import render_string
from tests.support import SAMPLES

TEMPLATES = Path(emails.__file__).parent / "templates"
# Templates written for other tools, carried in tests/fixtures/real (see its PROVENANCE.md).
MJML_SAMPLES = SAMPLES / "real" / "mjml"
REAL_SAMPLES = sorted(MJML_SAMPLES.glob("*.mjml"))
EXPECTED = {
    "welcome-1", "welcome-2", "cart-reminder", "cart-discount", "order-thanks-coupon", "winback-1",
    "winback-final", "nps-promoter", "nps-passive", "nps-detractor-apology", "quote", "quote-follow-up",
    "feedback-request", "test-email", "confirm-subscription",
}


class CountingCompiler:
    """Wraps the real MJML compiler and counts calls (injected, not mocked)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, source: str) -> str:
        self.calls += 1
        return mjml_compiler(source)


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary(TEMPLATES)


@pytest.fixture
def own_dir(tmp_path: Path) -> Path:
    for path in TEMPLATES.glob("*.mjml.j2"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _parses(html: str) -> None:
    parser = HTMLParser()
    parser.feed(html)
    parser.close()


def test_library_has_every_template(library: TemplateLibrary) -> None:
    assert set(library.names()) >= EXPECTED  # the template library adds more
    assert library.validate_all() == {}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_template_renders_for_the_sample_context(library: TemplateLibrary, name: str) -> None:
    email = render(library, name, sample_context())
    assert isinstance(email, RenderedEmail)
    assert email.subject and "{" not in email.subject
    assert "{{" not in email.html and "{%" not in email.html
    assert "<mj-" not in email.html
    _parses(email.html)
    assert "Fernhill Goods" in email.text and "Unsubscribe (https://mail.example.com/u/tok123)" in email.text
    assert 'href="https://mail.example.com/u/tok123"' in email.html
    assert "12 Mill Lane" in email.html


def test_second_render_does_not_compile_again(own_dir: Path) -> None:
    compiler = CountingCompiler()
    library = TemplateLibrary(own_dir, compiler=compiler)
    render(library, "cart-reminder", sample_context())
    render(library, "cart-reminder", sample_context())
    render(library, "cart-reminder", {"contact": {"first_name": "Ana"}})
    assert compiler.calls == 1


def test_editing_the_layout_makes_a_new_version(own_dir: Path) -> None:
    compiler = CountingCompiler()
    library = TemplateLibrary(own_dir, compiler=compiler)
    before = render(library, "welcome-1", sample_context())
    layout = own_dir / "layout.mjml.j2"
    layout.write_text(layout.read_text().replace("Email preferences", "Choose your emails"))
    after = render(library, "welcome-1", sample_context())
    assert compiler.calls == 2
    assert "Choose your emails" in after.html and "Choose your emails" not in before.html


def test_without_auto_reload_files_are_not_rechecked(own_dir: Path) -> None:
    compiler = CountingCompiler()
    library = TemplateLibrary(own_dir, compiler=compiler, auto_reload=False)
    render(library, "welcome-1", sample_context())
    (own_dir / "layout.mjml.j2").write_text("broken")
    render(library, "welcome-1", sample_context())
    assert compiler.calls == 1


def test_personalisation_and_first_name_fallback(library: TemplateLibrary) -> None:
    email = render(library, "welcome-1", sample_context())
    assert email.subject == "Welcome to Fernhill Goods, Léa"
    assert "Hi Léa," in email.html and "Hi Léa," in email.text
    for contact in ({"first_name": "  "}, {"first_name": None}, {}):
        context = sample_context() | {"contact": contact}
        email = render(library, "welcome-1", context)
        assert "Hi there," in email.html and email.subject == "Welcome to Fernhill Goods, friend"


def test_missing_variables_render_empty(library: TemplateLibrary) -> None:
    email = render(library, "cart-reminder", {})
    assert email.subject == "Hi, you left something in your cart"
    assert "Hi there," in email.text
    _parses(email.html)


def test_a_missing_key_is_undefined_as_jinja_has_it() -> None:
    template = "{{ c.nick is defined }}|{{ c.nick.first | fallback('none') }}|{{ c.nick | default('d') }}|{{ c.name }}"
    for html in (False, True):
        assert render_string(template, {"c": {"name": "Ada"}}, html=html) == "False|none|d|Ada"


def test_values_are_html_escaped_but_not_in_subject_or_text(library: TemplateLibrary) -> None:
    context = sample_context()
    context["contact"]["first_name"] = "<b>Tom & Jo</b>"
    email = render(library, "welcome-1", context)
    assert "&lt;b&gt;Tom &amp; Jo&lt;/b&gt;" in email.html and "<b>Tom" not in email.html
    assert email.subject.endswith("<b>Tom & Jo</b>")
    assert "Hi <b>Tom & Jo</b>," in email.text


def test_product_grid_shows_each_line_item(library: TemplateLibrary) -> None:
    context = sample_context()
    email = render(library, "cart-reminder", context)
    for item in context["cart"]["line_items"]:
        assert item["title"] in email.html and item["title"] in email.text
        assert f'src="{item["image_url"]}"' in email.html
        assert item["url"] in email.links
    assert "2 \u00d7 €24.00" in email.html and "€32.00" in email.html and "€45.50" in email.html
    assert "Total €125.50" in email.text
    assert email.links[-1] == context["cart"]["recovery_url"]


def test_product_grid_columns_have_explicit_width_and_loop_survives(library: TemplateLibrary) -> None:
    compiled = library.compiled("cart-reminder")
    assert '<mj-column width="50%"' in compiled.mjml
    assert "<mj-raw>{% for item in row %}</mj-raw>" in compiled.mjml
    five = sample_context()
    five["cart"]["line_items"].append(
        {"title": "Walnut Serving Board", "price": "58", "url": "https://shop.example.com/p/board"})
    email = render(library, "cart-reminder", five)
    assert "Walnut Serving Board" in email.html and "€58.00" in email.html
    assert email.html.count("mj-column-per-50") >= 4


def test_coupon_code_and_expiry_present(library: TemplateLibrary) -> None:
    email = render(library, "cart-discount", sample_context())
    assert "THANKS15" in email.html and "THANKS15" in email.text
    assert "Valid until 31 March 2026" in email.text
    without = render(library, "cart-discount", sample_context() | {"coupon": {}})
    assert "Valid until" not in without.text


def test_quote_summary_and_owner_signature(library: TemplateLibrary) -> None:
    email = render(library, "quote", sample_context())
    assert "Stoneware Mug, Sage (case of 48) | 4 | €201.60 | €806.40" in email.text
    assert "Subtotal | €1,075.20" in email.text and "VAT 20% | €215.04" in email.text
    assert "Total | €1,290.24" in email.text
    assert "28 February 2026" in email.text
    assert "Sam Patel" in email.text and "Trade Accounts Manager, Fernhill Goods" in email.text
    assert 'href="mailto:sam@shop.example.com"' in email.html
    assert 'href="tel:+441174960123"' in email.html


def test_links_are_recorded_in_order_and_mailto_is_not(library: TemplateLibrary) -> None:
    email = render(library, "quote", sample_context())
    assert email.links == ["https://shop.example.com", "https://shop.example.com/quotes/Q-2291"]


def test_marketer_subject_override_is_rendered_in_the_sandbox(library: TemplateLibrary) -> None:
    email = render(library, "welcome-1", sample_context(), subject="{{ contact.first_name }}, 20% off today")
    assert email.subject == "Léa, 20% off today"


def test_marketer_custom_block_is_rendered(library: TemplateLibrary) -> None:
    context = sample_context() | {"custom": {"intro": "<p>Hi {{ contact.first_name }}, our sale starts now.</p>"}}
    email = render(library, "winback-1", context)
    assert "<p>Hi Léa, our sale starts now.</p>" in email.html
    assert "Hi Léa, our sale starts now." in email.text


UNSAFE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ contact['__class__'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ (''|attr('__cla' ~ 'ss__')).mro() }}",
]


@pytest.mark.parametrize("expression", UNSAFE)
def test_sandbox_refuses_unsafe_subject_lines(library: TemplateLibrary, expression: str) -> None:
    with pytest.raises(TemplateError, match="unsafe"):
        render(library, "welcome-1", sample_context(), subject=f"Hello {expression}")


@pytest.mark.parametrize("expression", UNSAFE)
def test_sandbox_refuses_unsafe_templates(own_dir: Path, expression: str) -> None:
    body = f"<mj-section><mj-column><mj-text>{expression}</mj-text></mj-column></mj-section>"
    (own_dir / "evil.mjml.j2").write_text(
        '{%@ extends "layout.mjml.j2" %}{%@ block subject %}Hi{%@ endblock %}'
        f"{{%@ block body %}}{body}{{%@ endblock %}}"
    )
    library = TemplateLibrary(own_dir)
    # Literal names are refused when compiling; computed ones (attr filter) when rendering.
    with pytest.raises(TemplateError, match="unsafe"):
        library.validate("evil")
        render(library, "evil", sample_context())


def test_sandbox_refuses_unsafe_custom_block(library: TemplateLibrary) -> None:
    context = sample_context() | {"custom": {"intro": "{{ ''.__class__.__mro__ }}"}}
    with pytest.raises(TemplateError, match="unsafe"):
        render(library, "welcome-1", context)


def _write(directory: Path, name: str, body: str) -> TemplateLibrary:
    (directory / f"{name}.mjml.j2").write_text(
        '{%@ extends "layout.mjml.j2" %}\n{%@ block subject %}Hi{%@ endblock %}\n'
        f"{{%@ block body %}}\n{body}\n{{%@ endblock %}}\n"
    )
    return TemplateLibrary(directory)


def test_broken_mjml_names_the_element_and_line(own_dir: Path) -> None:
    library = _write(own_dir, "broken", "<mj-section>\n<mj-column>\n<mj-text>Hi\n</mj-column>\n</mj-section>")
    with pytest.raises(TemplateError) as caught:
        library.validate("broken")
    error = caught.value
    assert error.template == "broken" and error.line is not None
    assert "</mj-column>" in str(error) and "<mj-text>" in str(error)
    assert f"line {error.line}" in str(error)


def test_unknown_element_is_reported(own_dir: Path) -> None:
    library = _write(own_dir, "typo", "<mj-section><mj-colum><mj-text>Hi</mj-text></mj-colum></mj-section>")
    with pytest.raises(TemplateError, match="unknown MJML element <mj-colum>"):
        library.validate("typo")


def test_mjml_compiler_error_is_wrapped_with_its_message(own_dir: Path) -> None:
    library = _write(own_dir, "lt", "<mj-section><mj-column><mj-text>a < b</mj-text></mj-column></mj-section>")
    with pytest.raises(TemplateError, match="MJML error: unable to parse"):
        library.validate("lt")


def test_missing_subject_and_missing_template_are_reported(own_dir: Path) -> None:
    (own_dir / "nosubject.mjml.j2").write_text('{%@ extends "layout.mjml.j2" %}')
    library = TemplateLibrary(own_dir)
    with pytest.raises(TemplateError, match="no subject"):
        library.validate("nosubject")
    with pytest.raises(TemplateError, match="not found"):
        render(library, "nope", {})
    with pytest.raises(TemplateError, match="invalid template name"):
        render(library, "../secrets", {})
    assert "nosubject" in library.validate_all()


def test_real_mjml_samples_are_there() -> None:
    # Without this, a missing fixtures folder would make the parametrized test below vanish silently.
    assert REAL_SAMPLES, f"no MJML samples in {MJML_SAMPLES}"


@pytest.mark.parametrize("path", REAL_SAMPLES, ids=lambda p: p.name)
def test_real_world_mjml_compiles_with_foreign_placeholders(library: TemplateLibrary, path: Path) -> None:
    compiled = library.compile_source(path.read_text(encoding="utf-8"), path.name)
    email = compiled.render(sample_context())
    _parses(email.html)
    assert email.text.strip()
    assert "<mj-" not in email.html
    if "[[FirstName]]" in compiled.mjml:
        assert "[[FirstName]]" in email.html  # other tools' placeholders are left as written
