#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    from finops.embedded import ensure_environment, local_defaults

    local_defaults()  # the settings `make run` uses, unless SECRET_KEY is set (production)
    ensure_environment()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
