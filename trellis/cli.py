"""The `trellis` console command: every operator job, plus every Django management command.

`trellis serve`, `worker`, `clock`, `demo`, `audit verify`, `keys rotate` and the rest
are management commands of the Trellis apps. `trellis check` is the deployment
self-check: it runs Django's system checks with the deployment and database checks
(Trellis's own among them) and prints them for an operator. Django's `check` command
stays reachable as `trellis django-check`.
"""

from __future__ import annotations

import os
import sys

ALIASES = {"check": "deploycheck", "django-check": "check"}

# What the demo would send is written to files under Trellis's var directory instead
# (README, "Trying the demo"), unless the environment already says where mail goes.
DEMO_OUTBOX = {"EMAIL_URL": "file://outbox/email", "TRELLIS_SMS_OUTBOX": "outbox/sms"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    args = list(sys.argv if argv is None else argv)
    args[0] = "trellis"
    if len(args) > 1 and args[1] in ALIASES:
        args[1] = ALIASES[args[1]]
    if len(args) > 1 and args[1] == "demo":
        for name, value in DEMO_OUTBOX.items():
            os.environ.setdefault(name, value)
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
