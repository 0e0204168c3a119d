"""`make run`: migrate SQLite, load the demo, start localstripe and the app,
print where to go, and stop both on Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PORT = int(os.environ.get("PORT", "5000"))
STRIPE_PORT = int(os.environ.get("LOCALSTRIPE_PORT", "8420"))


def port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main():
    for port, what in ((APP_PORT, "PORT"), (STRIPE_PORT, "LOCALSTRIPE_PORT")):
        if not port_free(port):
            sys.exit(f"Port {port} on 127.0.0.1 is taken. Stop what uses it, or run "
                     f"`{what}=<another port> make run`.")
    env = dict(os.environ, FLASK_APP="fundraiser", FUNDRAISER_CONFIG="default",
               APP_URL=f"http://127.0.0.1:{APP_PORT}",
               STRIPE_API_BASE=f"http://127.0.0.1:{STRIPE_PORT}")
    flask = [sys.executable, "-m", "flask"]
    subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True)
    subprocess.run(flask + ["demo"], cwd=ROOT, env=env, check=True)
    procs = [
        subprocess.Popen(flask + ["localstripe", "--port", str(STRIPE_PORT)], cwd=ROOT,
                         env=env),
        subprocess.Popen(flask + ["run", "--host", "127.0.0.1", "--port", str(APP_PORT),
                                  "--no-debugger", "--no-reload"], cwd=ROOT, env=env),
    ]
    time.sleep(1.5)
    base = env["APP_URL"]
    print(f"""
  Fundraiser is running (stop with Ctrl-C).

  Donors:   {base}/
            {base}/appeals/stand-with-refusers
            test cards: 4242 4242 4242 4242 (succeeds), 4000 0027 6000 3184 (3-D Secure),
                        4000 0000 0000 0002 (declined); any future date, any CVC
  Matching: {base}/appeals/stand-with-refusers/matching  (the public match ledger)
  Hebrew:   {base}/lang/he
  API:      {base}/api/v1/appeals
  Staff:    {base}/staff/  log in as staff@example.org, password demo-staff-password
            (more demo gifts for the dashboard: .venv/bin/flask --app fundraiser demo-gifts 300)
  Stripe:   localstripe at {env['STRIPE_API_BASE']}, webhooks to {base}/webhooks/stripe
""", flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs if p.returncode not in (None, -2))


if __name__ == "__main__":
    sys.exit(main() or 0)
