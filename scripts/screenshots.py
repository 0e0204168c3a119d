"""Screenshots of the public pages, desktop and phone, English and Hebrew.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:5000 /tmp/shots

Needs a running `make run` (it makes one real test-mode gift for the card and
thank-you pages) and Debian's Chromium at /usr/bin/chromium."""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:5000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "screenshots")
OUT.mkdir(parents=True, exist_ok=True)
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
PAGES = {"index": "/", "appeal": "/appeals/stand-with-refusers",
         "coalition": "/appeals/ceasefire-now-statement", "hebrew": "/appeals/shutafut-petition"}

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                args=["--headless", "--no-sandbox", "--disable-gpu"])
    for lang in ("en", "he"):
        for size, (w, h) in SIZES.items():
            page = browser.new_page(viewport={"width": w, "height": h})
            page.goto(f"{BASE}/lang/{lang}?next=/")
            for name, path in PAGES.items():
                page.goto(BASE + path)
                page.screenshot(path=OUT / f"{name}-{lang}-{size}.png", full_page=True)
            # the form with errors, the card step and the thank-you page
            page.goto(BASE + PAGES["appeal"])
            page.locator("label[for=amount-other]").click()
            page.locator("#other_amount").fill("0")
            page.locator("#give form button[type=submit]").click()
            page.locator("#give").screenshot(path=OUT / f"errors-{lang}-{size}.png")
            page.locator("label[for=amount-2]").click()
            page.locator("#name").fill("Dana Levi")
            page.locator("#email").fill("dana@example.org")
            page.locator("#give form button[type=submit]").click()
            page.wait_for_selector("#card-element input")
            page.screenshot(path=OUT / f"pay-{lang}-{size}.png", full_page=True)
            page.fill('#card-element input[placeholder="number"]', "4242424242424242")
            page.fill('#card-element input[placeholder="exp_month"]', "12")
            page.fill('#card-element input[placeholder="exp_year"]', "34")
            page.fill('#card-element input[placeholder="cvc"]', "123")
            page.locator("#pay-button").click()
            page.wait_for_selector("#thanks")
            page.screenshot(path=OUT / f"thanks-{lang}-{size}.png", full_page=True)
            page.close()
    browser.close()
print(f"screenshots in {OUT}/")
