"""``python -m helpers.i18n extract | todo [catalog]``: the helpers' messages and what needs translating.

- ``extract``: every template found in the source, by catalog (core, nb00 … nb10), with where it is.
- ``todo [catalog]``: per catalog file ``helpers/i18n/zh/<catalog>.json``, the templates without
  a Chinese entry (printed as JSON lines to paste, ``"<English>": ""``, each under its source
  line), entries no longer used, and entries whose placeholders differ. Writes nothing; exits 1
  when anything is listed. Example: ``python -m helpers.i18n todo nb05``.
"""

from __future__ import annotations

import json
import sys

from ._extract import CATALOGS, extract, todo


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("extract", "todo") or len(argv) > 2 or (argv[0] == "extract" and len(argv) > 1):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if argv[0] == "extract":
        for name, templates in extract().items():
            print(f"== {name}.json: {len(templates)} templates")
            for template, places in templates.items():
                print(f"{json.dumps(template, ensure_ascii=False)}  # {', '.join(places)}")
        return 0
    names = CATALOGS if len(argv) == 1 else (argv[1].removesuffix(".json"),)
    if names[0] not in CATALOGS:
        print(f"unknown catalog {argv[1]!r}: one of {', '.join(CATALOGS)}", file=sys.stderr)
        return 2
    pending = 0
    for name, report in todo(names=names).items():
        counts = ", ".join(f"{len(v)} {k}" for k, v in report.items())
        print(f"== helpers/i18n/zh/{name}.json: {counts}")
        if report["missing"]:
            print("-- missing (add each with its Chinese text):")
            for line in report["missing"]:
                template, place = line.split("\t")
                print(f"  # {place}\n  {json.dumps(template, ensure_ascii=False)}: \"\",")
        if report["unused"]:
            print("-- unused (no longer in the source, or belongs to another file: remove):")
            for template in report["unused"]:
                print(f"  {json.dumps(template, ensure_ascii=False)}")
        if report["placeholders"]:
            print("-- placeholders differ from the English ({0}, {1}, … must all appear, no others):")
            for template in report["placeholders"]:
                print(f"  {json.dumps(template, ensure_ascii=False)}")
        pending += sum(map(len, report.values()))
    return 1 if pending else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
