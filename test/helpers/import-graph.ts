// The import graph of src/ and the layer rules of DESIGN.md, as plain functions: scan the
// sources (TypeScript's own parser, so comments and strings never count as code), build the
// graph, then check it. test/architecture.test.ts runs the checks on the real tree and on
// small synthetic graphs that prove each check fails when it should.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import of a source file. */
export interface ImportEdge {
  /** The specifier as written: './store.js', 'node:fs', '@aws-sdk/client-ecr'. */
  specifier: string;
  /** `import … from`, `export … from`, side-effect `import '…'`, or `import('…')`. */
  kind: 'import' | 'export' | 'dynamic';
  /** `import type` / `export type`: erased when compiled (still knowledge of the module). */
  typeOnly: boolean;
  /** Relative specifiers: the file they resolve to (relative to the root, '/'-separated); absent when unresolved. */
  target?: string;
  /** Package specifiers: the package name ('@aws-sdk/client-ecr', 'commander', 'node:fs'). */
  packageName?: string;
  /** 1-based line of the import. */
  line: number;
}

/** One scanned source file. */
export interface SourceInfo {
  /** Path relative to the root, '/'-separated: 'src/local/images.ts'. */
  file: string;
  imports: ImportEdge[];
  /** 1-based lines where `process.stdout` is used in code (not in comments or strings). */
  stdoutUses: number[];
}

/** Returns every .ts file under dir (recursively), sorted, as absolute paths. */
export function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listTsFiles(full));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Returns the package name of a bare specifier ('@scope/pkg/sub' → '@scope/pkg', 'pkg/sub' → 'pkg'). */
export function packageNameOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/**
 * Resolves a relative specifier of `fromFile` the way NodeNext does for TypeScript sources
 * ('./x.js' → './x.ts', a directory → its index.ts). Returns the root-relative path, or
 * undefined when no such file exists among `known`.
 */
export function resolveRelative(fromFile: string, specifier: string, known: ReadonlySet<string>): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  const candidates = [base];
  const ext = path.posix.extname(base);
  const stem = ext ? base.slice(0, -ext.length) : base;
  if (ext === '.js') candidates.push(`${stem}.ts`, `${stem}.tsx`);
  else if (ext === '.mjs') candidates.push(`${stem}.mts`);
  else if (ext === '.cjs') candidates.push(`${stem}.cts`);
  else if (ext === '') candidates.push(`${base}.ts`, `${base}/index.ts`);
  return candidates.find((c) => known.has(c));
}

/** Parses one file's text: its imports (unresolved) and its uses of process.stdout. */
export function parseSource(file: string, text: string): SourceInfo {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const imports: ImportEdge[] = [];
  const stdoutUses: number[] = [];
  const lineOf = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const isProcess = (e: ts.Expression): boolean =>
    (ts.isIdentifier(e) && e.text === 'process') ||
    (ts.isPropertyAccessExpression(e) &&
      e.name.text === 'process' &&
      ts.isIdentifier(e.expression) &&
      e.expression.text === 'globalThis');

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      imports.push({
        specifier: node.moduleSpecifier.text,
        kind: 'import',
        typeOnly: node.importClause?.isTypeOnly ?? false,
        line: lineOf(node),
      });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      imports.push({
        specifier: node.moduleSpecifier.text,
        kind: 'export',
        typeOnly: node.isTypeOnly,
        line: lineOf(node),
      });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      imports.push({ specifier: node.arguments[0].text, kind: 'dynamic', typeOnly: false, line: lineOf(node) });
    } else if (ts.isPropertyAccessExpression(node) && node.name.text === 'stdout' && isProcess(node.expression)) {
      stdoutUses.push(lineOf(node));
    } else if (
      ts.isElementAccessExpression(node) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === 'stdout' &&
      isProcess(node.expression)
    ) {
      stdoutUses.push(lineOf(node));
    } else if (
      ts.isVariableDeclaration(node) &&
      node.initializer &&
      isProcess(node.initializer) &&
      ts.isObjectBindingPattern(node.name) &&
      node.name.elements.some((el) => ((el.propertyName ?? el.name) as ts.Node).getText(sf) === 'stdout')
    ) {
      stdoutUses.push(lineOf(node));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { file, imports, stdoutUses };
}

/** Scans every .ts file under root/dir ('src'): parsed and with relative imports resolved. */
export function scanTree(root: string, dir = 'src'): SourceInfo[] {
  const files = listTsFiles(path.join(root, dir)).map((f) => path.relative(root, f).split(path.sep).join('/'));
  return resolveSources(files.map((f) => parseSource(f, readFileSync(path.join(root, f), 'utf8'))));
}

/** Fills in `target` (relative specifiers) and `packageName` (bare specifiers) of every edge. */
export function resolveSources(sources: SourceInfo[]): SourceInfo[] {
  const known = new Set(sources.map((s) => s.file));
  for (const s of sources) {
    for (const edge of s.imports) {
      if (edge.specifier.startsWith('.') || edge.specifier.startsWith('/')) {
        const target = resolveRelative(s.file, edge.specifier, known);
        if (target !== undefined) edge.target = target;
      } else {
        edge.packageName = packageNameOf(edge.specifier);
      }
    }
  }
  return sources;
}

/** A directed graph: file → the files it imports. */
export type Graph = ReadonlyMap<string, readonly string[]>;

/** Returns the file graph of the sources (static, re-export and dynamic imports; type-only ones too unless excluded). */
export function graphOf(
  sources: readonly SourceInfo[],
  opts: { includeTypeOnly?: boolean } = {},
): Map<string, string[]> {
  const includeTypeOnly = opts.includeTypeOnly ?? true;
  const graph = new Map<string, string[]>();
  for (const s of sources) {
    const targets = new Set<string>();
    for (const e of s.imports) if (e.target !== undefined && (includeTypeOnly || !e.typeOnly)) targets.add(e.target);
    graph.set(s.file, [...targets].sort());
  }
  return graph;
}

/** Returns the strongly connected components of graph (Tarjan), each sorted; nodes outside cycles come alone. */
export function stronglyConnected(graph: Graph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const nodes = new Set<string>([...graph.keys(), ...[...graph.values()].flat()]);
  // Iterative, so a deep import chain cannot overflow the call stack.
  for (const start of [...nodes].sort()) {
    if (indices.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    indices.set(start, index);
    low.set(start, index);
    index++;
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const succ = graph.get(frame.node) ?? [];
      if (frame.next < succ.length) {
        const w = succ[frame.next++]!;
        if (!indices.has(w)) {
          indices.set(w, index);
          low.set(w, index);
          index++;
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, indices.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === indices.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        components.push(component.sort());
      }
    }
  }
  return components;
}

/** Returns the shortest path from `from` to `to` inside `within` (BFS), both ends included. */
function shortestPath(graph: Graph, from: string, to: string, within: ReadonlySet<string>): string[] | undefined {
  const prev = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!within.has(next)) continue;
      if (next === to) {
        const pathBack = [to];
        let cur: string | undefined = node;
        while (cur !== undefined) {
          pathBack.push(cur);
          cur = cur === from ? undefined : prev.get(cur);
        }
        return pathBack.reverse();
      }
      if (seen.has(next)) continue;
      seen.add(next);
      prev.set(next, node);
      queue.push(next);
    }
  }
  return undefined;
}

/**
 * Returns the import cycles of graph as paths that start and end at the same file
 * ([a, b, a]): for every file on a cycle, the shortest cycle through it, without repeats.
 * Every file that is part of any cycle appears in at least one reported path.
 */
export function findCycles(graph: Graph): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  for (const component of stronglyConnected(graph)) {
    const members = new Set(component);
    const only = component[0]!;
    if (component.length === 1 && !(graph.get(only) ?? []).includes(only)) continue;
    for (const node of component) {
      const cycle = shortestPath(graph, node, node, members);
      if (!cycle) continue;
      // The same cycle found from another of its files is reported once: key it by its smallest rotation.
      const ring = cycle.slice(0, -1);
      const start = ring.indexOf([...ring].sort()[0]!);
      const key = [...ring.slice(start), ...ring.slice(0, start)].join(' -> ');
      if (seen.has(key)) continue;
      seen.add(key);
      cycles.push(cycle);
    }
  }
  return cycles;
}

/** One broken rule: which rule, which file (and line), what it did. */
export interface Violation {
  rule:
    | 'cycle'
    | 'layer-imports-cli'
    | 'sdk-in-pure-layer'
    | 'local-imports-ecr-or-cli'
    | 'terminal-outside-cli'
    | 'version-imports'
    | 'unresolved';
  file: string;
  message: string;
}

const inDir = (file: string, dir: string) => file.startsWith(`src/${dir}/`);
/** The layers below the CLI that must never import it. */
export const LAYERS_BELOW_CLI = ['oci', 'ecr', 'policy', 'config', 'ci', 'ops', 'local'] as const;
/** Files that belong to the emulator layer besides src/local/**: its library entry. */
export const LOCAL_ENTRY_FILES = ['src/local-entry.ts'];
/** Where commander and process.stdout are allowed: the CLI and the bin entry files. */
export function isCliOrBin(file: string): boolean {
  return inDir(file, 'cli') || file === 'src/credential-helper-bin.ts';
}
function isLocalLayer(file: string): boolean {
  return inDir(file, 'local') || LOCAL_ENTRY_FILES.includes(file);
}

/** Checks the layer rules of DESIGN.md on scanned (and resolved) sources; returns every violation. */
export function checkArchitecture(sources: readonly SourceInfo[]): Violation[] {
  const violations: Violation[] = [];
  const at = (s: SourceInfo, e: ImportEdge) => `${s.file}:${e.line}`;
  for (const s of sources) {
    for (const e of s.imports) {
      const what = `${e.kind === 'dynamic' ? "import('" : "'"}${e.specifier}${e.kind === 'dynamic' ? "')" : "'"}`;
      if (e.specifier.startsWith('.') && e.target === undefined) {
        violations.push({
          rule: 'unresolved',
          file: s.file,
          message: `${at(s, e)} imports ${what}, which is no file under src/ (the graph would miss its edges)`,
        });
      }
      const target = e.target;
      // (b) nothing below the CLI imports the CLI.
      if (target && inDir(target, 'cli') && (LAYERS_BELOW_CLI.some((d) => inDir(s.file, d)) || isLocalLayer(s.file))) {
        violations.push({
          rule: 'layer-imports-cli',
          file: s.file,
          message: `${at(s, e)} imports ${target} (src/cli)`,
        });
      }
      // (c) oci and policy know nothing of the AWS SDK.
      if ((inDir(s.file, 'oci') || inDir(s.file, 'policy')) && e.packageName?.startsWith('@aws-sdk/')) {
        violations.push({ rule: 'sdk-in-pure-layer', file: s.file, message: `${at(s, e)} imports ${e.packageName}` });
      }
      // (d) the emulator stands alone: no src/ecr, no src/cli.
      if (isLocalLayer(s.file) && target && (inDir(target, 'ecr') || inDir(target, 'cli'))) {
        violations.push({ rule: 'local-imports-ecr-or-cli', file: s.file, message: `${at(s, e)} imports ${target}` });
      }
      // (e) commander only in the CLI.
      if (e.packageName === 'commander' && !isCliOrBin(s.file)) {
        violations.push({ rule: 'terminal-outside-cli', file: s.file, message: `${at(s, e)} imports commander` });
      }
      // (f) version.ts is a leaf.
      if (s.file === 'src/version.ts') {
        violations.push({ rule: 'version-imports', file: s.file, message: `${at(s, e)} imports ${what}` });
      }
    }
    if (!isCliOrBin(s.file)) {
      for (const line of s.stdoutUses) {
        violations.push({
          rule: 'terminal-outside-cli',
          file: s.file,
          message: `${s.file}:${line} uses process.stdout (only src/cli/** and the bin entries write to the terminal)`,
        });
      }
    }
  }
  // (d), transitively: what src/local pulls in from other layers must not reach src/ecr or src/cli either.
  const graph = graphOf(sources);
  const ecrOrCli = (f: string) => inDir(f, 'ecr') || inDir(f, 'cli');
  for (const s of sources) {
    if (!isLocalLayer(s.file)) continue;
    for (const e of s.imports) {
      const t = e.target;
      if (t === undefined || isLocalLayer(t) || ecrOrCli(t)) continue;
      const reach = forbiddenReach(graph, t, ecrOrCli, isLocalLayer);
      if (reach) {
        violations.push({
          rule: 'local-imports-ecr-or-cli',
          file: s.file,
          message: `${at(s, e)} imports ${t}, which reaches ${reach[reach.length - 1]}: ${[s.file, ...reach].join(' -> ')}`,
        });
      }
    }
  }
  // (a) no cycles.
  const runtime = graphOf(sources, { includeTypeOnly: false });
  for (const cycle of findCycles(graph)) {
    // Name the edges that are `import type` only: the cheapest place to cut (types can move down a layer).
    const typeOnly = cycle
      .slice(0, -1)
      .map((from, i) => [from, cycle[i + 1]!] as const)
      .filter(([from, to]) => !(runtime.get(from) ?? []).includes(to))
      .map(([from, to]) => `${from} -> ${to}`);
    const note = typeOnly.length > 0 ? ` (type-only: ${typeOnly.join(', ')})` : '';
    violations.push({ rule: 'cycle', file: cycle[0]!, message: `import cycle: ${cycle.join(' -> ')}${note}` });
  }
  return violations;
}

/** Returns the shortest import path from `from` to a file `forbidden` accepts (not walking through `skip`), or undefined. */
function forbiddenReach(
  graph: Graph,
  from: string,
  forbidden: (f: string) => boolean,
  skip: (f: string) => boolean,
): string[] | undefined {
  const prev = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      prev.set(next, node);
      if (forbidden(next)) {
        const out = [next];
        for (let cur = prev.get(next); cur !== undefined; cur = prev.get(cur)) out.push(cur);
        return out.reverse();
      }
      if (!skip(next)) queue.push(next);
    }
  }
  return undefined;
}

/** Formats violations for a failing assertion: grouped by rule, one per line. */
export function formatViolations(violations: readonly Violation[]): string {
  const byRule = new Map<string, string[]>();
  for (const v of violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v.message]);
  return [...byRule].map(([rule, lines]) => `${rule} (${lines.length}):\n  ${lines.join('\n  ')}`).join('\n');
}
