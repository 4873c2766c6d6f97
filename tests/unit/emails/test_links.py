from emails.links import find_links, open_pixel, rewrite_links

HTML = """<html><body>
<a href="https://shop.example.com/a?x=1&amp;y=2" style="color:red">A</a>
<a class="btn" href='http://shop.example.com/b'>B</a>
<a href="mailto:help@example.com">Mail</a>
<a href="tel:+44123">Call</a>
<a href="#top">Top</a>
<a href="https://mail.example.com/u/tok" data-untracked="unsubscribe">Unsubscribe</a>
<a href="https://shop.example.com/a?x=1&amp;y=2">A again</a>
<img src="https://shop.example.com/img.png">
</body></html>"""


def click(index: int, target: str) -> str:
    return f"https://t.example.com/c/{index}?sig=a&b"


def test_http_links_are_rewritten_and_targets_recorded_in_order() -> None:
    html, targets = rewrite_links(HTML, click)
    assert targets == [
        "https://shop.example.com/a?x=1&y=2",
        "http://shop.example.com/b",
        "https://shop.example.com/a?x=1&y=2",
    ]
    assert 'href="https://t.example.com/c/0?sig=a&amp;b" style="color:red"' in html
    assert 'href="https://t.example.com/c/1?sig=a&amp;b">B' in html
    assert 'href="https://t.example.com/c/2?sig=a&amp;b">A again' in html


def test_mailto_tel_anchors_unsubscribe_and_images_are_untouched() -> None:
    html, _ = rewrite_links(HTML, click)
    for kept in ('href="mailto:help@example.com"', 'href="tel:+44123"', 'href="#top"',
                 'href="https://mail.example.com/u/tok" data-untracked', 'src="https://shop.example.com/img.png"'):
        assert kept in html


def test_find_links_matches_rewrite_targets() -> None:
    assert find_links(HTML) == rewrite_links(HTML, click)[1]


def test_open_pixel_goes_before_body_end() -> None:
    html = open_pixel(HTML, "https://t.example.com/o/tok?a=1&b=2")
    pixel = '<img src="https://t.example.com/o/tok?a=1&amp;b=2" width="1" height="1"'
    assert pixel in html
    assert html.index(pixel) < html.index("</body>")
    assert html.count("<img") == 2


def test_open_pixel_without_body_is_appended() -> None:
    assert open_pixel("<p>hi</p>", "https://t/o").startswith("<p>hi</p><img")
