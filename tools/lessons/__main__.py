"""python -m tools.lessons {check,sync,import} [lesson ...]: see tools/lessons/__init__.py."""

from __future__ import annotations

import argparse
import sys

from tools import lessons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lessons", description=lessons.__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check", "sync", "import"],
                        help="check: notebooks equal their sources and are clean; sync: notebooks from sources; "
                             "import: sources from notebooks edited without jupytext")
    parser.add_argument("lesson", nargs="*", help="numbers (05) or names (05_occlusion); default: every lesson")
    args = parser.parse_args(argv)
    try:
        names = lessons.select(args.lesson)
    except ValueError as err:
        parser.error(str(err))
    if args.command == "check":
        problems = lessons.check(names)
        for p in problems:
            print(p)
        print(f"{len(names)} lessons checked: " + (f"{len(problems)} problems" if problems else "in sync and clean"))
        return 1 if problems else 0
    changed = lessons.sync(names) if args.command == "sync" else lessons.import_notebooks(names)
    what = "notebooks" if args.command == "sync" else "sources"
    print(f"{len(changed)} of {len(names)} {what} rewritten" + (f": {', '.join(changed)}" if changed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
