from fundraiser.appeals.services import render_markdown


def test_story_markdown_is_rendered():
    html = render_markdown("**Bold** and a [link](https://example.org)\n\n- one\n- two")
    assert "<strong>Bold</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">link</a>' in html
    assert "<li>one</li>" in html


def test_hostile_story_markup_never_reaches_the_page():
    html = render_markdown(
        '<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n'
        '<img src=x onerror=alert(1)>\n\n<iframe src="https://evil.example"></iframe>'
    )
    # Raw HTML is shown as text, never as markup.
    assert "<script" not in html and "<iframe" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html


def test_hebrew_and_long_text_survive(seed_texts):
    for text in seed_texts:
        html = render_markdown(text)
        # every word of the seed is still there (escaped quotes aside)
        assert text.split()[0] in html
