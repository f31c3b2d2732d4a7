// Holds the grammar of spec/natter.md to the abnf package (RFC 5234 ABNF with
// RFC 7405's %s"..." and %i"..."), and the spec's examples to that grammar:
//
//   a. the block of "Collected ABNF" (Section 18) parses; every rule it
//      refers to is defined there or is an RFC 5234 core rule; every rule it
//      defines is reachable from one of ROOTS;
//   b. every ```abnf fragment elsewhere defines only rules that Section 18
//      defines, with the same text (whitespace runs count as one space;
//      comments are compared too, so an excerpt is an excerpt);
//   c. every transcript line parses: `name> line` by line-content, and also
//      by command when its verb is in COMMAND_VERBS (or, when the server
//      answers it on the next line with a code in REFUSAL_CODES, must not);
//      `name< line` by server-line, with its CRLF put back;
//   d. FRAMING_VECTORS parse by client-line in exactly one way, and the
//      last element of client-line's alternative (the terminator) matches
//      what follows the content the spec's prose gives, the elements before
//      it the content (so that no content CR goes into the terminator).
//
//   node grammar_test.mjs [SPEC]      SPEC defaults to spec/natter.md
//
// Exits 0 when every check passes, 1 when one fails (each failure names the
// spec line), 2 when the node modules are missing or not as locked.
//
// Matching goes through the Peggy parser the abnf package generates from the
// grammar (Rules.toFormat), the way its abnf_test program does. That parser
// is a PEG: alternatives are tried in order and repetitions never give back
// what they took, so it finds at most one parse. A match is therefore a real
// ABNF derivation, but the parser says nothing of ambiguity, and a grammar
// that only matches by backtracking would fail here although ABNF allows it.
// Check d finds ambiguity all the same, one level down: it matches each
// element of client-line's alternatives on its own, at every split point.
//
// The grammar is over octets; Peggy matches UTF-16 code units, and the abnf
// package turns %xC3 into the code unit U+00C3. So every input is turned
// into one code unit per octet (UTF-8, then latin1) before it is matched.

import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { moduleMismatches } from "./modules_match.mjs";

/// Every rule of Section 18 must be reachable from one of these.
const ROOTS = [
  "client-line",
  "line-content",
  "command",
  "telnet-seq",
  "server-stream",
];

/// Verbs whose transcript lines must also parse by the command rule.
const COMMAND_VERBS = ["NICK", "MSG", "ECHO", "PING", "WHO", "HELP", "QUIT", "TELL", "HISTORY", "IDS"];

/// "a command line whose verb names a command but whose argument does not
/// match that command's rule is answered with the command's error replies"
/// (Section 7.1): 400 bad_argument, 432 invalid_nick. A transcript line so
/// answered on the next line is an example of a refusal, and must not parse
/// by command.
const REFUSAL_CODES = ["400", "432"];

/// Octets sent by a client, the content the spec's prose gives them (null:
/// not one line), whether that content is text (parses by line-content; a
/// control octet makes it a 415), and the requirement.
const FRAMING_VECTORS = [
  ["ECHO a\r\n", "ECHO a", true, "N-FRAME-2"],
  ["ECHO a\n", "ECHO a", true, "N-FRAME-1"],
  ["ECHO a\r\0", "ECHO a", true, "N-FRAME-3"],
  ["ECHO a\r\r\n", "ECHO a\r", false, "N-FRAME-4"],
  ["ECHO a\r\r\0", "ECHO a\r", false, "N-FRAME-4"],
  ["\r\r\n", "\r", false, "N-FRAME-4"],
  ["ECHO a\rb\n", "ECHO a\rb", false, "N-FRAME-4"],
  ["ECHO \0\n", "ECHO \0", false, "N-ENC-2"],
  ["\n", "", true, "N-CMD-1"],
  ["\r\n", "", true, "N-CMD-1"],
  ["ECHO a\r", null, false, "N-FRAME-6"],
  ["ECHO a", null, false, "N-FRAME-6"],
  ["ECHO a\n\n", null, false, "N-FRAME-1"],
];

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..", "..");
const specPath = path.resolve(process.argv[2] ?? path.join(repoRoot, "spec", "natter.md"));
const shown = path.relative(repoRoot, specPath);

const mismatches = moduleMismatches();
if (mismatches.length > 0) {
  console.error(`spec_grammar: ${path.relative(repoRoot, here)}/node_modules ` +
    "is not as package-lock.json pins it:");
  for (const m of mismatches) {
    console.error(`  ${m}`);
  }
  console.error("spec_grammar: run scripts/install-deps.sh (it runs npm ci there)");
  process.exit(2);
}
const abnf = await import("abnf");
const peggy = (await import("peggy")).default;
const require = createRequire(import.meta.url);

let failures = 0;

/// Reports one failure; `where` is a spec line number or null.
function fail(check, where, message) {
  failures++;
  const at = where === null ? shown : `${shown}:${where}`;
  console.log(`FAIL ${check} ${at}: ${message}`);
}

/// The octets of a string as one code unit each, as the parser needs them.
function octetsOf(text) {
  return Buffer.from(text, "utf8").toString("latin1");
}

/// A string of octets in the spec's notation for octets it cannot show.
function show(octets) {
  return Buffer.from(octets, "latin1").toString("utf8").replace(
    /[\x00-\x1f\x7f]/g,
    c => ({ "\r": "<CR>", "\n": "<LF>", "\0": "<NUL>" })[c] ??
      `<0x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}>`);
}

/// The fenced blocks of a Markdown text: language, level-2 section, 1-based
/// line number of the first line inside the fence, and the lines.
function fencedBlocks(lines) {
  const blocks = [];
  let section = "";
  let open = null;
  lines.forEach((line, i) => {
    if (open) {
      if (line.trimEnd() === open.fence) {
        blocks.push(open.block);
        open = null;
      } else {
        open.block.lines.push(line);
      }
      return;
    }
    const heading = /^## (.*)$/.exec(line);
    if (heading) {
      section = heading[1].trim();
    }
    const fence = /^(`{3,})\s*([\w-]*)/.exec(line);
    if (fence) {
      open = { fence: fence[1], block: { lang: fence[2], section, first: i + 2, lines: [] } };
    }
  });
  if (open) {
    fail("syntax", open.block.first - 1, "code fence never closed");
  }
  return blocks;
}

/// Parses an ABNF block with the abnf package. The text is preceded by
/// empty lines, so that every line the package reports is a line of the
/// spec. Returns { text, rules }, or null after reporting a syntax error.
function parseBlock(block) {
  const text = "\n".repeat(block.first - 1) + block.lines.join("\n") + "\n";
  try {
    return { text, rules: abnf.parseString(text, shown) };
  } catch (er) {
    fail("syntax", er.location?.start.line ?? block.first, er.message);
    return null;
  }
}

/// Calls fn on every node of an abnf package syntax tree.
function eachNode(node, fn) {
  if (Array.isArray(node)) {
    node.forEach(n => eachNode(n, fn));
  } else if (node && typeof node === "object") {
    if (typeof node.type === "string") {
      fn(node);
    }
    for (const [key, value] of Object.entries(node)) {
      if (key !== "loc") {
        eachNode(value, fn);
      }
    }
  }
}

/// The rules a rule refers to, as RuleRef nodes.
function refsOf(rule) {
  const refs = [];
  eachNode(rule.def, n => {
    if (n.type === "ruleref") {
      refs.push(n);
    }
  });
  return refs;
}

/// A rule's own text in the spec, comments included, whitespace normalised.
function ruleText(parsed, rule) {
  return parsed.text.slice(rule.loc.start.offset, rule.loc.end.offset)
    .replace(/\s+/g, " ").trim();
}

/// Reports what the abnf package accepts but RFC 5234 does not: "#" lists
/// (RFC 7230), and ":=" or "::=" for "=".
function checkStrictSyntax(parsed) {
  for (const rule of Object.values(parsed.rules.defs)) {
    if (/^\s*[A-Za-z][A-Za-z0-9-]*\s*:/.test(ruleText(parsed, rule))) {
      fail("syntax", rule.loc.start.line,
        `rule "${rule.name}" is defined with ":=" or "::=", not RFC 5234's "="`);
    }
    eachNode(rule.def, n => {
      if (n.type === "hash_repeat") {
        fail("syntax", n.loc.start.line, `rule "${rule.name}" uses a "#" list (RFC 7230), not RFC 5234`);
      }
    });
  }
}

const specLines = fs.readFileSync(specPath, "utf8").split("\n");
const blocks = fencedBlocks(specLines);
const isCollected = b => /^\d+\. Collected ABNF$/.test(b.section);
const collectedBlocks = blocks.filter(b => b.lang === "abnf" && isCollected(b));
const fragments = blocks.filter(b => b.lang === "abnf" && !isCollected(b));
const transcripts = blocks.filter(b => b.lang === "transcript");

const corePath = path.join(path.dirname(require.resolve("abnf/package.json")), "examples", "core.abnf");
const coreText = fs.readFileSync(corePath, "utf8");
const core = abnf.parseString(coreText, "RFC 5234 core rules");

// ---- a. Section 18 ----
let collected = null;
if (collectedBlocks.length !== 1) {
  fail("collected", null,
    `expected one abnf block in the section "Collected ABNF", found ${collectedBlocks.length}`);
} else {
  collected = parseBlock(collectedBlocks[0]);
}
const defs = collected?.rules.defs ?? {};

if (collected) {
  checkStrictSyntax(collected);
  for (const [key, rule] of Object.entries(defs)) {
    if (core.defs[key]) {
      fail("defined", rule.loc.start.line,
        `rule "${rule.name}" redefines the RFC 5234 core rule ${core.defs[key].name}`);
    }
    for (const ref of refsOf(rule)) {
      const target = defs[ref.name.toUpperCase()] ?? core.defs[ref.name.toUpperCase()];
      if (!target) {
        fail("defined", ref.loc.start.line, `rule "${rule.name}" refers to "${ref.name}", ` +
          "which neither Section 18 nor RFC 5234's core rules define");
      } else if (target.name !== ref.name) {
        // ABNF names are case-insensitive, but the parser the package
        // generates is not: it would not find the rule.
        fail("defined", ref.loc.start.line, `rule "${rule.name}" spells "${target.name}" as "${ref.name}"`);
      }
    }
  }

  const reached = new Set();
  const queue = [];
  for (const root of ROOTS) {
    if (!defs[root.toUpperCase()]) {
      fail("reachable", null, `root "${root}" is not defined in Section 18`);
    } else if (!reached.has(root.toUpperCase())) {
      reached.add(root.toUpperCase());
      queue.push(root.toUpperCase());
    }
  }
  while (queue.length > 0) {
    for (const ref of refsOf(defs[queue.shift()])) {
      const key = ref.name.toUpperCase();
      if (defs[key] && !reached.has(key)) {
        reached.add(key);
        queue.push(key);
      }
    }
  }
  for (const [key, rule] of Object.entries(defs)) {
    if (!reached.has(key)) {
      const referrers = Object.values(defs)
        .filter(r => refsOf(r).some(ref => ref.name.toUpperCase() === key))
        .map(r => r.name);
      const one = referrers.length === 1;
      const why = referrers.length === 0
        ? "no rule refers to it"
        : `only ${referrers.join(", ")} refer${one ? "s" : ""} to it, ` +
          `and ${one ? "that is" : "those are"} unreachable too`;
      fail("reachable", rule.loc.start.line, `rule "${rule.name}" is reachable from no root: ${why}`);
    }
  }
}

// ---- b. fragments ----
if (collected) {
  for (const block of fragments) {
    const parsed = parseBlock(block);
    if (!parsed) {
      continue;
    }
    checkStrictSyntax(parsed);
    for (const [key, rule] of Object.entries(parsed.rules.defs)) {
      const whole = defs[key];
      if (!whole) {
        fail("fragment", rule.loc.start.line, `rule "${rule.name}" is not defined in Section 18`);
        continue;
      }
      const mine = ruleText(parsed, rule);
      const theirs = ruleText(collected, whole);
      if (mine !== theirs) {
        fail("fragment", rule.loc.start.line,
          `rule "${rule.name}" differs from Section 18 (line ${whole.loc.start.line}):\n` +
          `    here:       ${mine}\n    Section 18: ${theirs}`);
      }
    }
  }
}

// ---- the parser for c and d ----
const slug = name => name.replace(/-/g, "_"); // as the package names Peggy rules

/// client-line one level down: for each alternative of its definition, its
/// elements, each with a Peggy start rule of its own and its spec text.
/// Check d reads the last element as the terminator, the others as content.
function clientLinePieces() {
  const def = defs["CLIENT-LINE"].def;
  const alts = def.type === "alternation" ? def.alts : [def];
  return alts.map((alt, a) =>
    (alt.type === "concatenation" ? alt.elements : [alt]).map((element, e) => ({
      // ABNF names start with a letter, so no rule of the spec is called this.
      start: `_piece_${a}_${e}`,
      peggy: element.toFormat({ format: "peggy" }, []),
      label: collected.text.slice(element.loc.start.offset, element.loc.end.offset)
        .replace(/\s+/g, " ").trim(),
    })));
}

let parser = null;
let pieces = null;
if (collected) {
  const starts = ["client-line", "line-content", "command", "server-line"]
    .filter(name => defs[name.toUpperCase()])
    .map(name => defs[name.toUpperCase()].name);
  // Section 18, then the core rules it does not define itself.
  const grammar = collected.text + Object.entries(core.defs)
    .filter(([key]) => !defs[key])
    .map(([, rule]) => coreText.slice(rule.loc.start.offset, rule.loc.end.offset).trim())
    .join("\n") + "\n";
  try {
    const rules = abnf.parseString(grammar, shown);
    let peg = rules.toFormat({ format: "peggy", startRule: starts });
    if (defs["CLIENT-LINE"]) {
      pieces = clientLinePieces();
      peg += pieces.flat().map(p => `${p.start}\n  = ${p.peggy}\n\n`).join("");
    }
    parser = peggy.generate(peg, {
      allowedStartRules: [...starts.map(slug), ...(pieces ?? []).flat().map(p => p.start)],
    });
  } catch (er) {
    fail("parser", null, `no parser can be made of Section 18, so checks c and d did not run: ${er.message}`);
  }
}

/// Matches octets against a Peggy start rule: null when they match, else
/// why not.
function mismatchAt(start, octets) {
  try {
    parser.parse(octets, { startRule: start });
    return null;
  } catch (er) {
    if (!(er instanceof parser.SyntaxError)) {
      throw er;
    }
    return `at octet ${er.location.start.offset + 1}: ${er.message}`;
  }
}

/// Matches octets against a rule of Section 18: null when they match, else
/// why not.
function mismatch(rule, octets) {
  const def = defs[rule.toUpperCase()];
  return def ? mismatchAt(slug(def.name), octets) : `rule "${rule}" is not defined`;
}

// ---- c. transcripts ----
let transcriptLines = 0;
if (parser) {
  for (const block of transcripts) {
    const entries = block.lines.map(line => /^([^\s<>]+)([<>])(?: (.*))?$/.exec(line));
    entries.forEach((m, i) => {
      const where = block.first + i;
      const line = block.lines[i];
      transcriptLines++;
      if (!m) {
        fail("transcript", where, `"${line}" is neither "name> line" nor "name< line"`);
        return;
      }
      const [, name, direction, text = ""] = m;
      const octets = octetsOf(text);
      if (direction === "<") {
        const why = mismatch("server-line", octets + "\r\n");
        if (why) {
          fail("transcript", where, `${line}: not a server-line: ${why}`);
        }
        return;
      }
      const why = mismatch("line-content", octets);
      if (why) {
        fail("transcript", where, `${line}: not a line-content: ${why}`);
      }
      const verb = octets.split(" ")[0].replace(/[a-z]/g, c => c.toUpperCase());
      if (!COMMAND_VERBS.includes(verb)) {
        return;
      }
      const next = entries[i + 1];
      const answer = next && next[1] === name && next[2] === "<"
        ? /^(\d{3})[ -]/.exec(next[3] ?? "")
        : null;
      const refused = answer && REFUSAL_CODES.includes(answer[1]);
      const notCommand = mismatch("command", octets);
      if (refused && !notCommand) {
        fail("transcript", where,
          `${line}: parses by command, but the server refuses it with ${answer[1]} on the next line`);
      } else if (!refused && notCommand) {
        fail("transcript", where, `${line}: not a command: ${notCommand}`);
      }
    });
  }
}

// ---- d. framing ----
/// Every way the octets derive from client-line one level down: the
/// alternative, and where each of its elements starts and ends. Each element
/// is matched on its own, so this sees every split that the one-parse PEG
/// would not.
function derivations(octets) {
  const found = [];
  pieces.forEach((alt, a) => {
    const walk = (e, cuts) => {
      const from = cuts[cuts.length - 1];
      if (e === alt.length) {
        if (from === octets.length) {
          found.push({ alt: a, cuts });
        }
        return;
      }
      const last = e === alt.length - 1;
      for (let to = last ? octets.length : from; to <= octets.length; to++) {
        if (!mismatchAt(alt[e].start, octets.slice(from, to))) {
          walk(e + 1, [...cuts, to]);
        }
      }
    };
    walk(0, [0]);
  });
  return found;
}

if (parser && pieces) {
  const at = defs["CLIENT-LINE"].loc.start.line;
  const describe = (octets, d) => pieces[d.alt]
    .map((p, e) => `${p.label} "${show(octets.slice(d.cuts[e], d.cuts[e + 1]))}"`)
    .join(" + ");
  for (const [octets, content, isText, requirement] of FRAMING_VECTORS) {
    const label = `framing vector "${show(octets)}" (${requirement})`;
    const found = derivations(octets);
    const all = found.map(d => describe(octets, d)).join("; or ");
    if (content === null) {
      if (found.length > 0) {
        fail("framing", at, `${label}: is not one line, but parses by client-line as ${all}`);
      }
      continue;
    }
    if (found.length === 0) {
      fail("framing", at, `${label}: not a client-line: ${mismatch("client-line", octets)}`);
    } else if (found.length > 1) {
      fail("framing", at, `${label}: ambiguous, ${found.length} ways: ${all}`);
    } else if (octets.slice(0, found[0].cuts[found[0].cuts.length - 2]) !== content) {
      fail("framing", at, `${label}: parses as ${all}, but its content is "${show(content)}" ` +
        "(the last element of client-line's alternative is the terminator, the rest content)");
    }
    const notText = mismatch("line-content", content);
    if (isText && notText) {
      fail("framing", at, `${label}: the content "${show(content)}" is not a line-content: ${notText}`);
    } else if (!isText && !notText) {
      fail("framing", at,
        `${label}: the content "${show(content)}" parses by line-content, but is refused with 415`);
    }
  }
}

console.log(`spec_grammar: ${shown}: ${Object.keys(defs).length} rules in Section 18, ` +
  `${fragments.length} fragments, ${transcriptLines} transcript lines, ` +
  `${FRAMING_VECTORS.length} framing vectors: ${failures} failure${failures === 1 ? "" : "s"}`);
process.exitCode = failures === 0 ? 0 : 1;
