#!/usr/bin/env bash
# scdoc-to-man.sh SCDOC IN OUT: the scdoc page IN as roff in OUT.
# scdoc 1.11 writes a paragraph macro (.P) after every heading and inside
# the end of every indented block, which mandoc -T lint reports ("PP
# empty", "PP after SH"). This drops the ones before and after headings and
# moves the one before a .RE below it, where it makes the same gap: the
# page renders as scdoc's own output does, in mandoc and in groff.
set -euo pipefail
scdoc=$1 in=$2 out=$3
trap 'rm -f "$out.scdoc" "$out.new"' EXIT
"$scdoc" <"$in" >"$out.scdoc"
awk '
  # A .P is held until the next line shows whether it opens a paragraph.
  function flush() { if (held) { print ".P"; held = 0 } }
  $0 == ".P" {
    if (held || last ~ /^\.(TH|SH|SS|RS)( |$)/) next
    held = 1; next
  }
  /^\.(SH|SS)( |$)/ { held = 0 }
  /^\.RE( |$)/ { print; last = $0; next }
  { flush(); print; if ($0 !~ /^\.\\"/) last = $0 }
' "$out.scdoc" >"$out.new"
mv "$out.new" "$out"
