// The layer rules of DESIGN.md, checked on the sources: no import cycles; nothing below the
// CLI imports it; oci and policy know nothing of the AWS SDK; the emulator imports neither
// ecr nor cli; commander and process.stdout only in the CLI and the bin entries;
// version.ts imports nothing. The checks themselves are proven on synthetic graphs first.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkArchitecture,
  findCycles,
  formatViolations,
  parseSource,
  resolveSources,
  type SourceInfo,
  scanTree,
  type Violation,
} from './helpers/import-graph.js';

const root = path.resolve(import.meta.dirname, '..');

/** Builds resolved sources from { file: text }. */
function synthetic(files: Record<string, string>): SourceInfo[] {
  return resolveSources(Object.entries(files).map(([file, text]) => parseSource(file, text)));
}

const rulesOf = (violations: Violation[]) => violations.map((v) => v.rule);

describe('the checks (synthetic sources)', () => {
  it('reports a cycle with its path, through static, re-export and dynamic imports alike', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(findCycles(graph)).toEqual([
      ['a', 'b', 'c', 'a'],
      ['e', 'e'],
    ]);
    expect(
      findCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);

    const sources = synthetic({
      'src/oci/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/oci/b.ts': "export * from './c.js';\nexport const b = 1;\n",
      'src/oci/c.ts': "export async function c() { return import('./a.js'); }\n",
    });
    const violations = checkArchitecture(sources);
    expect(violations).toEqual([
      {
        rule: 'cycle',
        file: 'src/oci/a.ts',
        message: 'import cycle: src/oci/a.ts -> src/oci/b.ts -> src/oci/c.ts -> src/oci/a.ts',
      },
    ]);
    expect(formatViolations(violations)).toContain('src/oci/a.ts -> src/oci/b.ts -> src/oci/c.ts -> src/oci/a.ts');
  });

  it('counts `import type` as an edge, and says which edges of a cycle are type-only', () => {
    const violations = checkArchitecture(
      synthetic({
        'src/ops/a.ts': "import type { B } from './b.js';\nexport type A = B;\n",
        'src/ops/b.ts': "import { a } from './a.js';\n",
      }),
    );
    expect(violations.map((v) => v.message)).toEqual([
      'import cycle: src/ops/a.ts -> src/ops/b.ts -> src/ops/a.ts (type-only: src/ops/a.ts -> src/ops/b.ts)',
    ]);
  });

  it('reports every file on a tangle of cycles, each cycle once', () => {
    const graph = new Map([
      ['hub', ['x', 'y']],
      ['x', ['hub']],
      ['y', ['hub']],
    ]);
    expect(findCycles(graph)).toEqual([
      ['hub', 'x', 'hub'],
      ['y', 'hub', 'y'],
    ]);
  });

  it('reports layers importing the CLI, the SDK in pure layers, and the emulator importing ecr', () => {
    const violations = checkArchitecture(
      synthetic({
        'src/cli/output.ts': 'export const render = 1;\n',
        'src/ecr/hosts.ts': 'export const parse = 1;\n',
        'src/ops/push.ts': "import { render } from '../cli/output.js';\n",
        'src/oci/registry.ts': "import type { ECRClient } from '@aws-sdk/client-ecr';\n",
        'src/policy/naming.ts': "import { x } from '@aws-sdk/client-ecr-public/dist-types/models';\n",
        'src/local/server.ts': "import { parse } from '../ecr/hosts.js';\nimport './helper.js';\n",
        'src/local/helper.ts': "export const y = await import('../shared.js');\n",
        'src/shared.ts': "import { render } from './cli/output.js';\n",
      }),
    );
    expect(violations.map((v) => `${v.rule} ${v.message}`)).toEqual([
      'layer-imports-cli src/ops/push.ts:1 imports src/cli/output.ts (src/cli)',
      'sdk-in-pure-layer src/oci/registry.ts:1 imports @aws-sdk/client-ecr',
      'sdk-in-pure-layer src/policy/naming.ts:1 imports @aws-sdk/client-ecr-public',
      'local-imports-ecr-or-cli src/local/server.ts:1 imports src/ecr/hosts.ts',
      'local-imports-ecr-or-cli src/local/helper.ts:1 imports src/shared.ts, which reaches src/cli/output.ts: src/local/helper.ts -> src/shared.ts -> src/cli/output.ts',
    ]);
  });

  it('reports commander and process.stdout outside the CLI, but not in comments or strings', () => {
    const violations = checkArchitecture(
      synthetic({
        'src/cli/main.ts': "import { Command } from 'commander';\nprocess.stdout.write('ok');\n",
        'src/credential-helper-bin.ts': "process.stdout.write('ok');\n",
        'src/ops/a.ts': "import type { Command } from 'commander';\n",
        'src/ops/b.ts':
          "// process.stdout is not ours\nconst s = 'process.stdout';\nglobalThis.process.stdout.write(s);\n",
        'src/ops/c.ts': "const { stdout } = process;\nprocess['stdout'].write('x');\n",
      }),
    );
    expect(violations.map((v) => v.message)).toEqual([
      'src/ops/a.ts:1 imports commander',
      'src/ops/b.ts:3 uses process.stdout (only src/cli/** and the bin entries write to the terminal)',
      'src/ops/c.ts:1 uses process.stdout (only src/cli/** and the bin entries write to the terminal)',
      'src/ops/c.ts:2 uses process.stdout (only src/cli/** and the bin entries write to the terminal)',
    ]);
  });

  it('reports version.ts importing anything, and imports that resolve to no file', () => {
    const violations = checkArchitecture(
      synthetic({
        'src/version.ts': "import { readFileSync } from 'node:fs';\n",
        'src/index.ts': "export * from './gone.js';\nexport * from './version.js';\n",
      }),
    );
    expect(rulesOf(violations)).toEqual(['version-imports', 'unresolved']);
  });
});

describe('the source tree', () => {
  const sources = scanTree(root, 'src');

  it('finds the sources and their imports', () => {
    expect(sources.length).toBeGreaterThan(50);
    const images = sources.find((s) => s.file === 'src/local/images.ts');
    expect(images?.imports.map((e) => e.target ?? e.packageName)).toContain('src/local/manifest.ts');
  });

  it('keeps the layer rules of DESIGN.md', () => {
    const violations = checkArchitecture(sources);
    // Each line names the rule, the file (and line) and the edge or cycle that breaks it.
    expect(formatViolations(violations), 'architecture rules broken (DESIGN.md, Layers)').toBe('');
  });
});
