// Whether node_modules/ beside this file holds exactly the versions that
// package-lock.json pins, judged from the installed package.json files alone
// (no network, no npm). scripts/install-deps.sh runs it to decide whether
// `npm ci` is needed; grammar_test.mjs runs it before loading the modules.
//
//   node modules_match.mjs      exit 0 when they match; else 1, with the
//                               differences on stderr

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/// The differences between package-lock.json and node_modules/, one line
/// each; empty when every locked package is installed at its locked version.
export function moduleMismatches() {
  const lock = JSON.parse(
    fs.readFileSync(path.join(here, "package-lock.json"), "utf8"));
  const problems = [];
  for (const [where, locked] of Object.entries(lock.packages)) {
    if (where === "") {
      continue; // the project itself
    }
    const manifest = path.join(here, where, "package.json");
    if (!fs.existsSync(manifest)) {
      problems.push(`${where}: missing (locked at ${locked.version})`);
      continue;
    }
    const installed = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
    if (installed !== locked.version) {
      problems.push(`${where}: ${installed} installed, ${locked.version} locked`);
    }
  }
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = moduleMismatches();
  for (const p of problems) {
    console.error(`modules_match: ${p}`);
  }
  process.exit(problems.length === 0 ? 0 : 1);
}
