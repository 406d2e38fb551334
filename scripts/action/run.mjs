#!/usr/bin/env node
// The steps of the ecrctl GitHub Action (action.yml at the repository root): `setup` puts
// ecrctl on PATH, `login` logs Docker in to ECR and sets the step outputs, `command` runs one
// ecrctl command, `logout` takes out what login wrote. Plain Node (no dependencies, nothing
// to compile), so it runs as soon as `npm ci && npm run build` has built ecrctl.
//
// Secrets: ecrctl itself announces every token with `::add-mask::` on stderr the moment it
// is known (GITHUB_ACTIONS=true), before anything else is printed; this script passes its
// stderr straight through and prints nothing of its own until ecrctl has exited. Tokens
// never go to argv: ecrctl fetches them, and outputs are written to $GITHUB_OUTPUT files.
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const env = process.env;
/** The action's own directory: $GITHUB_ACTION_PATH in a composite action, else this repository. */
const actionPath = env.GITHUB_ACTION_PATH || path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ecrctlEntry = path.join(actionPath, 'bin', 'ecrctl.js');

/** Returns an input as the composite action passes it (INPUT_<NAME> in the step's env). */
function input(name) {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** Returns true for the YAML 1.2 core schema's true (what `with:` gives as text). */
function truthy(value) {
  return /^(true|1|yes)$/i.test(value);
}

/** Appends name=value lines to one of the runner's files ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_PATH). */
function appendRunnerFile(variable, pairs) {
  const file = env[variable];
  if (!file) throw new Error(`${variable} is not set: this step runs inside GitHub Actions`);
  let text = '';
  for (const [k, v] of pairs) {
    if (k === undefined) text += `${v}\n`;
    else if (String(v).includes('\n')) {
      const marker = `ecrctl_${Math.random().toString(36).slice(2)}`;
      text += `${k}<<${marker}\n${v}\n${marker}\n`;
    } else text += `${k}=${v}\n`;
  }
  appendFileSync(file, text);
}

/** Returns name → value of a $GITHUB_OUTPUT-format file (both the one-line and the heredoc form). */
function readOutputs(file) {
  const out = {};
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, key, marker] = heredoc;
      const value = [];
      for (i++; i < lines.length && lines[i] !== marker; i++) value.push(lines[i]);
      out[key] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** Runs ecrctl with args; stderr (masks first) is passed through; resolves with the exit code and stdout. */
function ecrctl(args, extraEnv = {}, stdout = 'pipe') {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ecrctlEntry, ...args], {
      env: { ...env, ...extraEnv },
      stdio: ['ignore', stdout, 'inherit'],
    });
    let text = '';
    child.stdout?.on('data', (d) => {
      text += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: text }));
  });
}

/**
 * Splits a command line into words as a shell would for plain words, 'single' and "double"
 * quotes and backslash escapes — but expands nothing ($VAR, globs, `cmd`): the command is
 * ecrctl's arguments, not a script.
 */
export function splitWords(line) {
  const words = [];
  let word;
  let quote;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word ??= '';
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\' && i + 1 < line.length) word += line[++i];
      else word += c;
    }
  }
  if (quote) throw new Error(`the command has an unclosed ${quote} quote: ${line}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** setup: ecrctl and docker-credential-ecrctl on PATH for the rest of the job. */
function setup() {
  const dir = path.join(env.RUNNER_TEMP || os.tmpdir(), 'ecrctl-action-bin');
  mkdirSync(dir, { recursive: true });
  for (const [name, entry] of [
    ['ecrctl', ecrctlEntry],
    ['docker-credential-ecrctl', path.join(actionPath, 'bin', 'docker-credential-ecrctl.js')],
  ]) {
    const shim = path.join(dir, name);
    writeFileSync(shim, `#!/bin/sh\nexec '${process.execPath}' '${entry}' "$@"\n`);
    chmodSync(shim, 0o755);
  }
  appendRunnerFile('GITHUB_PATH', [[undefined, dir]]);
  console.log(`ecrctl from ${actionPath} is on PATH (${dir})`);
  return 0;
}

/** login: tokens into the Docker config; outputs registry (+ credentials when asked). */
async function login() {
  const args = ['login', '--output', 'json'];
  const registries = input('registries')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const ids = registries.filter((r) => /^[0-9]{12}$/.test(r));
  const hosts = registries.filter((r) => !/^[0-9]{12}$/.test(r));
  const type = input('registry-type') || 'private';
  if (type !== 'private' && type !== 'public') {
    console.error(`::error::registry-type is private or public, not ${type}`);
    return 2;
  }
  if (type === 'public') args.push('--public');
  if (ids.length > 0) args.push('--registry-ids', ids.join(','));
  if (truthy(input('dual-stack'))) args.push('--dual-stack');
  args.push(...hosts);

  // ecrctl writes its own step outputs (every credential); this step keeps only what was asked.
  const scratch = mkdtempSync(path.join(env.RUNNER_TEMP || os.tmpdir(), 'ecrctl-login-'));
  try {
    const outputs = path.join(scratch, 'outputs');
    writeFileSync(outputs, '');
    const r = await ecrctl(args, { GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: outputs });
    if (r.code !== 0) return r.code;
    const result = JSON.parse(r.stdout);
    const written = readOutputs(outputs);
    const hostsIn = result.registries.map((g) => g.registry);
    const pairs = [];
    if (written.registry) pairs.push(['registry', written.registry]);
    if (truthy(input('docker-credentials'))) {
      for (const host of hostsIn) {
        const suffix = host.replace(/[^A-Za-z0-9]/g, '_');
        for (const kind of ['username', 'password']) {
          const value = written[`docker_${kind}_${suffix}`];
          if (value === undefined) continue;
          pairs.push([`docker_${kind}_${suffix}`, value]);
          // A composite action declares its outputs by name: one registry's get fixed names.
          if (hostsIn.length === 1) pairs.push([`docker_${kind}`, value]);
        }
      }
    }
    appendRunnerFile('GITHUB_OUTPUT', pairs);
    // For the logout step, which runs at the end of the job.
    appendRunnerFile('GITHUB_ENV', [['ECRCTL_ACTION_REGISTRIES', hostsIn.join(',')]]);
    for (const g of result.registries) console.log(`Logged in to ${g.registry} (token valid until ${g.expiresAt})`);
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** command: one ecrctl command; its own step outputs (image-uri, image-digest, image-tags) go straight to $GITHUB_OUTPUT. */
async function command() {
  const words = splitWords(input('command'));
  if (words[0] === 'ecrctl') words.shift();
  if (words.length === 0) {
    console.error('::error::the command input is empty: give one ecrctl command, e.g. tag-push oci:./image app -s branch-sha');
    return 2;
  }
  const r = await ecrctl(words, { GITHUB_ACTIONS: 'true' }, 'inherit');
  return r.code;
}

/** logout: removes what login wrote, for the registries it logged in to. */
async function logout() {
  const hosts = (env.ECRCTL_ACTION_REGISTRIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const r = await ecrctl(['logout', ...hosts], { GITHUB_ACTIONS: 'true' }, 'inherit');
  return r.code;
}

const steps = { setup, login, command, logout };
const step = process.argv[2];
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('run.mjs')) {
  const run = steps[step];
  if (!run) {
    console.error(`usage: run.mjs ${Object.keys(steps).join('|')}`);
    process.exitCode = 2;
  } else {
    try {
      process.exitCode = await run();
    } catch (err) {
      console.error(`::error::${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  }
}
