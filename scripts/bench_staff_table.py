"""Time the staff donations table, donors and dashboard on N generated gifts.

    DATABASE_URL=postgresql://…/scratch_db .venv/bin/python scripts/bench_staff_table.py 100000

Destroys what is in that database: give it a scratch one. Rows are inserted
with one SQL statement per table (the point is reading them), then each page
is fetched through the app as a logged-in viewer, with its query count."""

import os
import re
import sys
import time

from sqlalchemy import text

from fundraiser import create_app
from fundraiser.extensions import db

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
URL = os.environ["DATABASE_URL"]

app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "WTF_CSRF_ENABLED": False,
                  "RATELIMIT_ENABLED": False})
with app.app_context():
    from flask_migrate import downgrade, upgrade

    if db.engine.dialect.name != "postgresql":
        sys.exit("PostgreSQL only (generate_series)")
    downgrade(revision="base")
    upgrade()
    runner = app.test_cli_runner()
    runner.invoke(args=["demo"])
    started = time.perf_counter()
    db.session.execute(text("""
        INSERT INTO payments (reference, status, amount_minor, currency, refunded_minor,
                              provider, created_at, updated_at, succeeded_at)
        SELECT md5(i::text), (ARRAY['succeeded','succeeded','succeeded','failed',
                                    'refunded','created'])[1 + i % 6],
               (ARRAY[500,1000,2500,5000,10000,25000])[1 + (i * 7) % 6],
               (ARRAY['USD','EUR','ILS'])[1 + i % 3],
               CASE WHEN i % 6 = 4 THEN (ARRAY[500,1000,2500,5000,10000,25000])[1 + (i * 7) % 6]
                    ELSE 0 END,
               'stripe', now() - (i || ' minutes')::interval, now(), now()
        FROM generate_series(1, :n) AS i"""), {"n": N})
    db.session.execute(text("""
        INSERT INTO donations (public_id, appeal_id, payment_id, amount_minor, currency,
                               donor_name, email, display_name, is_anonymous, comment,
                               consent_contact, locale, source, created_at)
        SELECT md5('d' || p.id), 1 + p.id % 3, p.id, p.amount_minor, p.currency,
               'Donor ' || (p.id % 20000), 'donor' || (p.id % 20000) || '@example.org',
               '', false, '', false, 'en', (ARRAY['','newsletter','partner'])[1 + p.id % 3],
               p.created_at
        FROM payments p"""))
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    print(f"inserted {N} gifts in {time.perf_counter() - started:.1f}s")

    client = app.test_client()
    client.post("/staff/login", data={"email": "staff@example.org",
                                      "password": "demo-staff-password"})
    pages = [
        "/staff/donations",
        "/staff/donations?page=1500",
        "/staff/donations?sort=amount&direction=asc",
        "/staff/donations?status=succeeded&currency=EUR&amount_min=20&amount_max=200",
        "/staff/donations?q=donor1234",
        "/staff/donations?q=DONOR77@&sort=name",
        "/staff/donations?date_from=2026-01-01&appeal=2&source=partner",
        "/staff/donors",
        "/staff/donors?q=donor42",
        "/staff/",
        "/staff/?appeal=1&span=hour",
        "/staff/api/recent",
        "/staff/charts/time.svg",
        "/staff/charts/source.svg",
    ]
    # Page 1501 reached by its "next" link (a cursor) rather than by OFFSET.
    for deep in ("/staff/donations?page=1500",
                 "/staff/donations?sort=amount&direction=asc&page=1500"):
        html = client.get(deep).data.decode()
        link = re.search(r'<a href="([^"]+)" rel="next">', html)
        if link:
            pages.insert(pages.index("/staff/donations?page=1500") + 1,
                         link[1].replace("&amp;", "&"))
    pages.insert(3, "/staff/donations?sort=amount&direction=asc&page=1500")
    for url in pages:
        client.get(url)  # warm
        best = 1e9
        for _ in range(3):
            t = time.perf_counter()
            r = client.get(url)
            best = min(best, time.perf_counter() - t)
        m = re.search(rb"(\d+) database queries", r.data)
        queries = m.group(1).decode() if m else "-"
        shown = url if len(url) < 90 else url[:60] + "…" + url[-25:]
        print(f"{best * 1000:7.1f} ms  {r.status_code}  queries={queries:>3}  {shown}")
