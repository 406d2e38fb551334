#!/usr/bin/env node
// `ecrctl --version` is answered here, before the CLI (commander and the command table) loads:
// it needs one constant. Everything else goes to the CLI.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { VERSION } = await import('../dist/version.js');
  process.stdout.write(`${VERSION}\n`);
} else {
  await import('../dist/cli/bin.js');
}
