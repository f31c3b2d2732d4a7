#!/usr/bin/python3
"""Reads a Prometheus text exposition (format 0.0.4) on standard input and
parses it with Prometheus's own Python client (Debian's
python3-prometheus-client). Prints one line per family,
`# family NAME TYPE`, then one per sample, `NAME{k="v",...} VALUE` with the
labels sorted. Fails (status 1, the reason on standard error) when the text
does not parse, when a family lacks its HELP or TYPE line, or when a name is
given twice.
"""

import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    seen = set()
    try:
        for family in text_string_to_metric_families(text):
            if family.type == "unknown" or not family.documentation:
                raise ValueError(f"{family.name}: no HELP or no TYPE line")
            if family.name in seen:
                raise ValueError(f"{family.name}: given twice")
            seen.add(family.name)
            print(f"# family {family.name} {family.type}")
            for s in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                value = int(s.value) if s.value == int(s.value) else s.value
                print(f"{s.name}{{{labels}}} {value}" if labels else f"{s.name} {value}")
    except Exception as e:  # the parser raises ValueError, and others on odd input
        print(f"parse_metrics: {e}", file=sys.stderr)
        return 1
    if not seen:
        print("parse_metrics: no metric families", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
