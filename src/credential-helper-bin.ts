// The docker-credential-ecrctl process entry (bin/docker-credential-ecrctl.js imports the
// compiled form). Kept apart from the ecrctl CLI so a cached `get` loads only what it needs.
import { runHelper } from './credential-helper.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// @aws-sdk/core warns under Node < 22 unless this is set before it loads (see cli/main.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const result = await runHelper(process.argv.slice(2), { env: process.env, readStdin, cwd: process.cwd() });
process.stdout.write(result.stdout);
if (result.stderr) process.stderr.write(result.stderr);
// Exit once the output is flushed rather than wait for kept-alive SDK sockets.
process.exitCode = result.code;
process.stdout.end(() => process.exit(result.code));
