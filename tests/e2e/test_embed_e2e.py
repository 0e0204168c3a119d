"""The widget in a co-signer's page: a plain HTML page served from another
loopback port frames /embed/<slug>; Chromium shows the goal figures inside
the iframe, and refuses to show any other page of the app in one."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations

SLUG = "stand-with-refusers"


@pytest.fixture
def partner_site(tmp_path, site):
    """A co-signer's site on another port of 127.0.0.1 (another origin)."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner</title>'
        '</head><body><h1>Our partner page</h1>'
        f'<iframe id="widget" title="Appeal progress" src="{site.url}/embed/{SLUG}" '
        'width="380" height="260" style="border:0"></iframe>'
        f'<iframe id="widget-he" title="התקדמות" src="{site.url}/embed/{SLUG}?lang=he" '
        'width="380" height="260" style="border:0"></iframe>'
        f'<iframe id="appeal" title="Appeal" src="{site.url}/appeals/{SLUG}" '
        'width="380" height="260"></iframe>'
        '</body></html>', encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_the_widget_renders_inside_another_sites_iframe(page, site, partner_site, axe):
    assert site.url.rsplit(":", 1)[1] not in partner_site  # really another origin
    page.goto(partner_site)
    widget = page.frame_locator("#widget")
    expect(widget.locator('[data-field="total"]')).to_have_text("$0")
    expect(widget.locator(".widget-total")).to_contain_text("of $")
    expect(widget.locator(".widget-total")).to_contain_text("goal")
    expect(widget.locator('[data-field="donors"]')).to_have_text("0")
    button = widget.get_by_role("link", name="Give now")
    expect(button).to_have_attribute("target", "_blank")
    expect(button).to_have_attribute("rel", "noopener")

    hebrew = page.frame_locator("#widget-he")
    expect(hebrew.locator("html")).to_have_attribute("dir", "rtl")
    expect(hebrew.get_by_role("link", name="לתרומה")).to_be_visible()

    # Any other page of the app stays blank when framed (frame-ancestors 'none').
    refused = page.locator("#appeal").element_handle().content_frame()
    assert not refused.url.startswith(site.url), refused.url
    expect(page.frame_locator("#appeal").locator(".appeal-header")).to_have_count(0)

    # The button opens the appeal itself in a new tab.
    with page.context.expect_page() as opened:
        button.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.startswith(f"{site.url}/appeals/{SLUG}")
    expect(tab.locator("h1")).to_be_visible()


def test_the_widget_has_no_serious_accessibility_problem(page, site, axe):
    for query in ("", "?lang=he"):
        page.goto(f"{site.url}/embed/{SLUG}{query}")
        assert serious_violations(axe, page) == [], query
