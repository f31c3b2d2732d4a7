#!/usr/bin/python3
"""Holds the generated manual pages (build/man/*.N, roff) to the programs.

  check_pages.py lint MANDOC PAGE...
      mandoc -T lint -W warning on each page reports nothing.
  check_pages.py options PROGRAM PAGE
      The long flags PROGRAM --help prints (and, for a program with
      subcommands, each `PROGRAM MODE --help`) are the flags PAGE's OPTIONS
      section documents; for a program with modes, the OPTIONS subsections
      document a mode's flags when their heading names it. Where --help
      shows a default (`=X`, or "(default: X)" in the text), the page's
      entry says "Default: X"; where it says REQUIRED, the entry says
      "Required".
  check_pages.py config NATTERD PAGE
      The keys of natterd.conf(5)'s KEYS section are natterd's long flags
      without --config, --check-config, --help and --version, and their
      defaults are the flags' defaults.
  check_pages.py protocol SPEC REPLIES PAGE
      natter(7)'s REPLY CODES table is spec/replies.tsv (code, name, text),
      and its THE SPECIFICATION table lists the numbered sections of
      spec/natter.md with their titles.

Every difference is printed, one line each, naming the flag, key, code or
section; the exit status is 1 when there is one, 0 otherwise. Standard
library only.
"""

import re
import subprocess
import sys

NOT_KEYS = {"--config", "--check-config", "--help", "--version"}
LONG_FLAG = re.compile(r"(?<![\w-])--[a-z0-9][a-z0-9-]*")


# ---- the programs' --help (CLI11's layout) ----

class Help:
    """What one `--help` says: flags with their defaults, and subcommands."""

    def __init__(self, text):
        self.flags = {}  # flag -> {"default": str or None, "required": bool}
        self.subcommands = []
        section = None
        current = None
        for line in text.splitlines():
            if re.match(r"^\S.*:$", line):
                section = line[:-1]
                current = None
                continue
            if section == "Subcommands":
                m = re.match(r"^  (\S+)", line)
                if m:
                    self.subcommands.append(m.group(1))
                continue
            if section != "Options":
                continue
            m = re.match(r"^  (?:-\w,)?(--[a-z0-9][a-z0-9-]*)(.*)$", line)
            if m:
                # "--max-line UINT:UINT in [32 - 16777216]=1024  line limit ...":
                # the type and default, then two spaces or more, then the text.
                parts = re.split(r" {2,}", m.group(2), maxsplit=1) + [""]
                current = {"spec": parts[0].strip(), "text": parts[1].strip()}
                self.flags[m.group(1)] = current
            elif current is not None and line.startswith("   ") and line.strip():
                current["text"] += " " + line.strip()
        for entry in self.flags.values():
            spec, text = entry.pop("spec"), entry.pop("text")
            said = re.search(r"default: ([^)]*)\)", text)
            if said:
                entry["default"] = said.group(1).strip()
            elif "=" in spec:
                entry["default"] = spec.rsplit("=", 1)[1].strip()
            else:
                entry["default"] = None
            entry["required"] = "REQUIRED" in spec.split()


def run_help(argv):
    done = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} --help exited {done.returncode}: {done.stderr.strip()}")
    return Help(done.stdout)


# ---- the pages (roff as scdoc writes it) ----

def plain(roff):
    """Text of a roff line without font changes and escapes."""
    roff = re.sub(r"\\f[BIRP]", "", roff)
    for escape, text in (("\\&", ""), ("\\(aq", "'"), ("\\*(Aq", "'"), ("\\-", "-"),
                         ("\\(bu", "*"), ("\\e", "\\")):
        roff = roff.replace(escape, text)
    return roff


class Page:
    """Sections of a page: for each .SH, its .SS subsections, each with its
    entries (a term paragraph followed by an indented block: term, body)
    and its tables (rows of cells)."""

    def __init__(self, path):
        self.path = path
        self.sections = {}  # SH title -> list of (SS title or "", entries, tables)
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        sub = None
        text = []      # text lines since the last macro
        depth = 0      # .RS nesting
        entry = None   # the entry whose body is being read
        table = None
        cell = None
        row = []
        for line in lines:
            if table is not None:
                if line == ".TE":
                    sub[2].append(table)
                    table = None
                elif cell is None and line.startswith("T{"):
                    cell = []
                elif cell is not None and line.startswith("T}"):
                    row.append(" ".join(cell).strip())
                    cell = None
                    if line == "T}":
                        table.append(row)
                        row = []
                    elif line.startswith("T}\tT{"):
                        cell = []
                elif cell is not None:
                    cell.append(plain(line))
                continue
            if line.startswith(".SH "):
                sub = ("", [], [])
                self.sections[plain(line[4:]).strip('"')] = [sub]
                text, depth, entry = [], 0, None
            elif line.startswith(".SS "):
                sub = (plain(line[4:]).strip('"'), [], [])
                self.sections[list(self.sections)[-1]].append(sub)
                text, depth, entry = [], 0, None
            elif line.startswith(".RS"):
                if depth == 0 and text and sub is not None:
                    entry = [" ".join(text), []]
                    sub[1].append(entry)
                depth += 1
                text = []
            elif line.startswith(".RE"):
                depth = max(0, depth - 1)
                if depth == 0:
                    entry = None
                text = []
            elif line == ".TS":
                table, row, cell = [], [], None
            elif line.startswith(".") or line.startswith("'"):
                if depth == 0:
                    text = []
            elif entry is not None:
                entry[1].append(plain(line))
            elif depth == 0:
                text.append(plain(line))

    def subsections(self, section):
        if section not in self.sections:
            sys.exit(f"{self.path}: no {section} section")
        return [(title, [(term, " ".join(" ".join(body).split())) for term, body in entries],
                 tables) for title, entries, tables in self.sections[section]]


def default_problems(what, help_entry, body, page):
    """How `body`, the page's entry for `what`, disagrees with --help."""
    problems = []
    if help_entry["required"] and "Required" not in body:
        problems.append(f"{what}: --help says REQUIRED, {page} does not say Required")
    want = help_entry["default"]
    if want is not None and not re.search(r"Default: " + re.escape(want) + r"(?![\w])", body):
        found = re.search(r"Default: ([^.;]*)", body)
        problems.append(f"{what}: --help shows the default \"{want}\", {page} says "
                        + (f"\"Default: {found.group(1)}\"" if found else "no default"))
    return problems


# ---- the checks ----

def check_lint(mandoc, pages):
    problems = []
    for page in pages:
        done = subprocess.run([mandoc, "-T", "lint", "-W", "warning", page],
                              capture_output=True, text=True, timeout=30)
        out = (done.stdout + done.stderr).strip()
        if done.returncode != 0 or out:
            problems.append(f"{page}: mandoc -T lint -W warning exited {done.returncode}"
                            + (":\n" + out if out else ""))
    return problems


def check_options(program, page_path):
    page = Page(page_path)
    name = page_path.rsplit("/", 1)[-1]
    top = run_help([program])
    subs = page.subsections("OPTIONS")
    problems = []

    def compare(label, helped, entries):
        documented = {}
        for term, body in entries:
            for flag in LONG_FLAG.findall(term):
                documented[flag] = body
        for flag in sorted(set(helped.flags) - set(documented)):
            problems.append(f"{label}: {flag} is in --help but not in {name}'s OPTIONS")
        for flag in sorted(set(documented) - set(helped.flags)):
            problems.append(f"{label}: {flag} is in {name}'s OPTIONS but not in --help")
        for flag in sorted(set(helped.flags) & set(documented)):
            problems.extend(default_problems(f"{label} {flag}", helped.flags[flag],
                                             documented[flag], name))

    prog = program.rsplit("/", 1)[-1]
    if not top.subcommands:
        compare(prog, top, [e for _, entries, _ in subs for e in entries])
        return problems
    # A program with modes: each mode's flags are those of the subsections
    # whose heading names the mode; the program's own (--help) are in every
    # mode's set too.
    everything = set(top.flags)
    documented_anywhere = set()
    for mode in top.subcommands:
        helped = run_help([program, mode])
        everything |= set(helped.flags)
        entries = [e for title, es, _ in subs if mode in re.findall(r"[\w-]+", title)
                   for e in es]
        if not entries:
            problems.append(f"{prog} {mode}: no OPTIONS subsection of {name} names the mode")
        compare(f"{prog} {mode}", helped, entries)
    for _, entries, _ in subs:
        for term, _ in entries:
            documented_anywhere |= set(LONG_FLAG.findall(term))
    for flag in sorted(set(top.flags) - documented_anywhere):
        problems.append(f"{prog}: {flag} is in --help but not in {name}'s OPTIONS")
    for flag in sorted(documented_anywhere - everything):
        problems.append(f"{prog}: {flag} is in {name}'s OPTIONS but in no mode's --help")
    return problems


def check_config(natterd, page_path):
    page = Page(page_path)
    name = page_path.rsplit("/", 1)[-1]
    helped = run_help([natterd])
    want = {flag[2:]: entry for flag, entry in helped.flags.items() if flag not in NOT_KEYS}
    keys = {}
    for _, entries, _ in page.subsections("KEYS"):
        for term, body in entries:
            m = re.match(r"([a-z][a-z0-9-]*)", term)
            if m:
                keys[m.group(1)] = body
    problems = []
    for key in sorted(set(want) - set(keys)):
        problems.append(f"key {key}: natterd has --{key}, {name}'s KEYS does not list it")
    for key in sorted(set(keys) - set(want)):
        problems.append(f"key {key}: in {name}'s KEYS, but natterd has no --{key}")
    for key in sorted(set(want) & set(keys)):
        problems.extend(default_problems(f"key {key}", want[key], keys[key], name))
    return problems


def check_protocol(spec, replies, page_path):
    page = Page(page_path)
    name = page_path.rsplit("/", 1)[-1]
    problems = []

    def table(section):
        tables = [t for _, _, ts in page.subsections(section) for t in ts]
        if len(tables) != 1:
            sys.exit(f"{name}: {section} holds {len(tables)} tables, not 1")
        return tables[0][1:]  # without the heading row

    with open(replies, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f
                if line.strip() and not line.startswith("#")][1:]
    want = {r[0]: (r[1], r[2]) for r in rows}
    have = {r[0]: tuple(r[1:3]) for r in table("REPLY CODES")}
    for code in sorted(set(want) | set(have)):
        if code not in have:
            problems.append(f"reply {code}: in {replies}, not in {name}")
        elif code not in want:
            problems.append(f"reply {code}: in {name}, not in {replies}")
        elif have[code] != want[code]:
            problems.append(f"reply {code}: {name} has {have[code]}, {replies} {want[code]}")

    with open(spec, encoding="utf-8") as f:
        want = dict(re.findall(r"^## (\d+)\. (.+)$", f.read(), re.M))
    have = {r[0]: r[1] for r in table("THE SPECIFICATION")}
    for number in sorted(set(want) | set(have), key=int):
        if number not in have:
            problems.append(f"section {number} ({want[number]}): in {spec}, not in {name}")
        elif number not in want:
            problems.append(f"section {number}: in {name}, not in {spec}")
        elif have[number] != want[number]:
            problems.append(f"section {number}: {name} says \"{have[number]}\", "
                            f"{spec} \"{want[number]}\"")
    return problems


def main(argv):
    checks = {"lint": (check_lint, None), "options": (check_options, 2),
              "config": (check_config, 2), "protocol": (check_protocol, 3)}
    if len(argv) < 2 or argv[1] not in checks:
        sys.exit(__doc__)
    check, arity = checks[argv[1]]
    args = argv[2:]
    if (arity is None and len(args) < 2) or (arity is not None and len(args) != arity):
        sys.exit(__doc__)
    problems = check(args[0], args[1:]) if arity is None else check(*args)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} difference(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
