#!/usr/bin/env bash
# Runs every test: unit, the single executable end to end, and integration tests against real daemons and a
# private containerd started by the test harness. Ends with the plain line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build
mkdir -p .tmp
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@"
status=$?
# Types, lint rules and formatting (npm run lint): a failure fails the run, after the tests have all run.
npm run -s lint || status=1
node -e '
const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
// Every test must run here: a skipped one (a missing dependency, a skipIf) fails the run.
if (skipped > 0) {
  const names = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status !== "passed" && a.status !== "failed").map((a) => `${f.name}: ${a.fullName}`));
  console.error(`${skipped} test(s) did not run:\n${names.join("\n")}`);
  process.exit(2);
}
'
summary=$?
set -e
if [ "$summary" -eq 2 ]; then status=1; elif [ "$summary" -ne 0 ]; then echo "0 passed, 1 failed"; status=1; fi
exit "$status"
