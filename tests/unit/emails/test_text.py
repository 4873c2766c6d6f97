from emails.text import html_to_text

HTML = """<html><head><title>T</title><style>p { color: red }</style></head><body>
<div style="display:none">preheader</div>
<h1>Big news</h1>
<p>Hello&nbsp;there &amp; welcome. <a href="https://x.example.com/a">Read more</a></p>
<ul><li>One</li><li>Two</li></ul>
<p><a href="mailto:sam@example.com">sam@example.com</a> <a href="tel:+4411">+44 11</a></p>
<table><tr><td>Mug</td><td>2</td><td>€48.00</td></tr></table>
</body></html>"""


def test_text_is_readable() -> None:
    text = html_to_text(HTML)
    assert "# Big news" in text
    assert "Read more (https://x.example.com/a)" in text
    assert "- One\n- Two" in text
    assert "sam@example.com +44 11" in text
    assert "Mug | 2 | €48.00" in text
    assert "Hello there & welcome." in text  # &nbsp; reads as a plain space


def test_head_style_and_hidden_content_are_dropped() -> None:
    text = html_to_text(HTML)
    assert "color" not in text and "preheader" not in text and "T\n" not in text


def test_product_titles_survive_in_text_without_images() -> None:
    """Shopify line items carry no image_url: the caption link must not vanish with the image."""
    from emails.library import shared_library
    from emails.render import render
    from emails.samples import sample_context

    context = sample_context()
    with_images = render(shared_library(), "cart-reminder", context).text
    assert with_images.count("Stoneware Mug, Sage (") == 1  # image and caption read once
    for item in context["cart"]["line_items"]:
        item.pop("image_url")
    without = render(shared_library(), "cart-reminder", context).text
    assert "Stoneware Mug, Sage" in without and "Cold Brew Coffee Maker" in without
