"""Baselines for `make bench`: the least a Flask app can do, under the same
gunicorn settings as Fundraiser, so each figure is read as a ratio."""

from flask import Flask, jsonify, render_template_string

app = Flask(__name__)

ROWS = [{"name": f"Supporter number {i}", "note": "A line of text for the page " * 2}
        for i in range(300)]
PAGE = """<!doctype html><html><head><title>bare</title></head><body><ul>
{% for r in rows %}<li><strong>{{ r.name }}</strong> {{ r.note }}</li>{% endfor %}
</ul></body></html>"""


@app.get("/bare-json")
def bare_json():
    return jsonify(ok=True, slug="bare-appeal", raised_minor=123456, n=7)  # ~60 bytes


_BYTES: dict[int, bytes] = {}


@app.get("/bare-bytes/<int:n>")
def bare_bytes(n):
    # The ceiling for a cached page: as many bytes as the appeal page, from memory.
    body = _BYTES.get(n)
    if body is None:
        body = _BYTES[n] = (b"<!doctype html>" + b"x" * n)[:n]
    return body, 200, {"Content-Type": "text/html; charset=utf-8"}


@app.get("/bare-page")
def bare_page():
    return render_template_string(PAGE, rows=ROWS)  # ~30 KB
