// An ECR API endpoint that answers a 5xx with a body that is not JSON (a proxy's HTML error
// page, an endpoint that lacks the operation): ecrctl says so, names the operation, exits 1,
// and gives up after one retry instead of six.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../local/helpers.js';
import { type ScriptedServer, scriptedServer } from '../oci/transport/scripted-server.js';

let tmp: { dir: string; remove: () => void };
let home: string;
let html: ScriptedServer;

const PAGE =
  '<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head><body><h1>Oops</h1></body></html>\n';

beforeAll(async () => {
  tmp = tempDir('ecrctl-non-json-');
  home = path.join(tmp.dir, 'home');
  mkdirSync(home, { recursive: true });
  html = await scriptedServer((req, res) => {
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'text/html' }).end(PAGE);
    });
  });
});
afterAll(async () => {
  await html?.stop();
  tmp?.remove();
});

describe('a non-JSON 5xx from the ECR API', () => {
  it('says the endpoint answered HTTP 500 with a non-JSON body, names the operation, exits 1', async () => {
    const r = await runCli(['repos', '--endpoint-url', html.url], {
      cwd: tmp.dir,
      env: {
        AWS_ACCESS_KEY_ID: 'AKIDHTML',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        HOME: home,
        XDG_CACHE_HOME: path.join(home, '.cache'),
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'the endpoint answered HTTP 500 with a non-JSON body (it may not implement DescribeRepositories)',
    );
    expect(r.stderr).not.toMatch(/SyntaxError|Unexpected token|\$response|hidden field/);
    // One retry at most: an HTML page is rarely fixed by asking five more times.
    expect(html.requests.length).toBeLessThanOrEqual(2);
  });
});
