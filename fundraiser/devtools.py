"""localstripe, bound to 127.0.0.1, without its on-disk pickle.

The localstripe CLI listens on every interface and pickles its whole store to
/tmp on every write; we run its aiohttp app ourselves instead. Used by
`flask --app fundraiser localstripe`, `make run` and the test suite:

    python -m fundraiser.devtools --port 8420 [--webhook URL --secret S] [--log-webhooks]

`--log-webhooks` writes a line to stderr for each webhook delivered or
refused (the test suite keeps them, to show when a delivery went missing).
"""

from __future__ import annotations

import argparse
import logging


def run_localstripe(port: int, webhook_url: str | None = None,
                    webhook_secret: str | None = None, host: str = "127.0.0.1",
                    log_webhooks: bool = False) -> None:
    import localstripe.resources as resources
    from aiohttp import web

    resources.Store.dump_to_disk = lambda self: None  # keep state in memory only
    from localstripe.server import app
    from localstripe.webhooks import register_webhook

    if webhook_url:
        register_webhook("fundraiser", webhook_url, webhook_secret, None)
    # localstripe logs each delivery on this logger; the requests themselves
    # are not logged (access_log=None).
    if log_webhooks:
        logging.basicConfig(format="%(asctime)s localstripe: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if log_webhooks else logging.WARNING)
    web.run_app(app, host=host, port=port, print=None, access_log=None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook")
    parser.add_argument("--secret")
    parser.add_argument("--log-webhooks", action="store_true")
    args = parser.parse_args(argv)
    run_localstripe(args.port, args.webhook, args.secret, log_webhooks=args.log_webhooks)


if __name__ == "__main__":
    main()
