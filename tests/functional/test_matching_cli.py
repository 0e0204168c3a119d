from sqlalchemy import func, select

from fundraiser.matching.models import MatchPool
from tests.factories import create_appeal


def test_demo_adds_its_match_pools_once(runner, db, client):
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(MatchPool)) == 2
    body = client.get("/api/v1/appeals/stand-with-refusers").get_json()
    assert [(p["sponsor"], p["ratio"], p["cap_minor"]) for p in body["match_pools"]] == \
        [("The Olive Grove Fund", "1:1", 500_000)]
    assert client.get("/appeals/stand-with-refusers/matching").status_code == 200
    assert "The Olive Grove Fund" in client.get("/appeals/stand-with-refusers").data.decode()


def test_create_pool_from_the_command_line(runner, db):
    create_appeal(db.session, slug="jpy-appeal", currency="JPY")
    db.session.commit()
    ok = runner.invoke(args=["create-pool", "jpy-appeal", "--cap", "50000", "--ratio", "2:1",
                             "--sponsor", "Sakura Fund", "--ends", "2030-01-01",
                             "--per-gift-limit", "10000", "--min-gift", "500",
                             "--first-time-only"])
    assert ok.exit_code == 0, ok.output
    assert "2:1 up to ¥50,000" in ok.output
    pool = db.session.scalar(select(MatchPool))
    assert (pool.cap_minor, pool.remaining_minor, pool.ratio_match, pool.ratio_gift,
            pool.per_gift_limit_minor, pool.min_gift_minor, pool.first_time_only) == \
        (50_000, 50_000, 2, 1, 10_000, 500, True)
    for args, message in [
        (["create-pool", "nope", "--cap", "1", "--sponsor", "x"], "no appeal"),
        (["create-pool", "jpy-appeal", "--cap", "10.5", "--sponsor", "x"], "decimal"),
        (["create-pool", "jpy-appeal", "--cap", "100", "--ratio", "1:0", "--sponsor", "x"],
         "ratio"),
        (["create-pool", "jpy-appeal", "--cap", "100"], "sponsor"),
        (["create-pool", "jpy-appeal", "--cap", "100", "--anonymous", "--ends", "soon"],
         "date"),
    ]:
        bad = runner.invoke(args=args)
        assert bad.exit_code != 0 and message in bad.output, (args, bad.output)
    anon = runner.invoke(args=["create-pool", "jpy-appeal", "--cap", "100", "--anonymous"])
    assert anon.exit_code == 0, anon.output
    assert db.session.scalar(select(func.count()).select_from(MatchPool)) == 2
