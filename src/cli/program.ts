// Builds the commander tree. Each verb lives in its own file under commands/ and declares
// its options there; the heavy code behind a verb is imported only when that verb runs, so
// `ecrctl --help` and `--version` start fast.
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { helpConfiguration } from './help-format.js';
import { checkQuery } from './query.js';
import { VERSION } from '../version.js';
import { type CommandHost, type DefineCommand, examples } from './command-kit.js';
import type { CliContext, GlobalOptions, OutputFormat } from './context.js';
import { defineAccountSetting } from './commands/account-setting.js';
import { defineArtifact } from './commands/artifact.js';
import { defineAttach } from './commands/attach.js';
import { defineBuild } from './commands/build.js';
import { defineDiscover } from './commands/discover.js';
import { defineHelm } from './commands/helm.js';
import { defineCacheRule } from './commands/cache-rule.js';
import { defineCheckBase } from './commands/check-base.js';
import { defineArchive, defineRestore } from './commands/archive.js';
import { defineCompletion } from './commands/completion.js';
import { defineCopy } from './commands/copy.js';
import { defineCost } from './commands/cost.js';
import { defineInventory } from './commands/inventory.js';
import { definePrune } from './commands/prune.js';
import { defineCreateRepo } from './commands/create-repo.js';
import { defineDelete } from './commands/delete.js';
import { defineDeleteRepo } from './commands/delete-repo.js';
import { defineHelp } from './commands/help-topics.js';
import { defineIamPolicy } from './commands/iam-policy.js';
import { defineImages } from './commands/images.js';
import { defineInspect } from './commands/inspect.js';
import { defineLifecycle } from './commands/lifecycle.js';
import { defineLocal } from './commands/local.js';
import { defineLogin } from './commands/login.js';
import { defineLogout } from './commands/logout.js';
import { definePolicy } from './commands/policy.js';
import { definePromote } from './commands/promote.js';
import { definePull } from './commands/pull.js';
import { definePullTimeExclusion } from './commands/pull-time-exclusion.js';
import { defineRebase } from './commands/rebase.js';
import { defineReplicate } from './commands/replicate.js';
import { defineRepo } from './commands/repo.js';
import { defineRepos } from './commands/repos.js';
import { defineScan } from './commands/scan.js';
import { defineSigning } from './commands/signing.js';
import { defineVerify } from './commands/verify.js';
import { defineSync } from './commands/sync.js';
import { defineTagPush } from './commands/tag-push.js';
import { defineTags } from './commands/tags.js';
import { defineTemplate } from './commands/template.js';

export interface ProgramHost {
  /** Builds the CliContext for a command from the parsed global options. */
  context(globals: GlobalOptions): CliContext;
  write: { out(s: string): void; err(s: string): void };
  env: NodeJS.ProcessEnv;
}

// One line per verb, in the order `--help` lists them.
const COMMANDS: DefineCommand[] = [
  defineLogin,
  defineLogout,
  defineCreateRepo,
  defineTagPush,
  definePull,
  defineCopy,
  defineSync,
  definePromote,
  defineBuild,
  defineRebase,
  defineCheckBase,
  defineRepos,
  defineRepo,
  defineImages,
  defineInspect,
  defineTags,
  defineDelete,
  defineDeleteRepo,
  defineLifecycle,
  definePolicy,
  defineIamPolicy,
  defineArchive,
  defineRestore,
  defineScan,
  defineSigning,
  defineVerify,
  defineArtifact,
  defineHelm,
  defineAttach,
  defineDiscover,
  defineReplicate,
  defineCacheRule,
  defineTemplate,
  defineCost,
  defineInventory,
  definePrune,
  definePullTimeExclusion,
  defineAccountSetting,
  defineLocal,
  defineCompletion,
  defineHelp,
];

/** Returns the root command with every verb declared. */
export function buildProgram(host: ProgramHost): Command {
  const program = new Command('ecrctl');
  program
    .summary('Amazon ECR and ECR Public from the command line, no Docker daemon needed')
    .description(
      'ecrctl creates repositories that follow the naming rules, logs in, pushes images with the\n' +
        'right tags, pulls and copies them, keeps repositories clean with lifecycle rules, scans\n' +
        'images and replicates them. Images move through a built-in OCI distribution client.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .addOption(new Option('--region <region>', 'AWS region').env('ECRCTL_REGION'))
    .addOption(new Option('--profile <name>', 'AWS shared-config profile').env('ECRCTL_PROFILE'))
    .addOption(
      new Option('--endpoint-url <url>', 'ECR API endpoint (e.g. the one `ecrctl local serve` prints)').env(
        'ECRCTL_ENDPOINT_URL',
      ),
    )
    .addOption(new Option('--registry-id <id>', 'registry (account) id, 12 digits').env('ECRCTL_REGISTRY_ID'))
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json', 'env'])
        .default('text')
        .env('ECRCTL_OUTPUT'),
    )
    .addOption(
      new Option('--query <expr>', "JMESPath applied to the JSON result, as the AWS CLI's --query").env('ECRCTL_QUERY'),
    )
    .addOption(new Option('-q, --quiet', 'print only results and errors').env('ECRCTL_QUIET'))
    .addOption(new Option('-v, --verbose', 'explain each step on stderr').env('ECRCTL_VERBOSE'))
    .addOption(new Option('--debug', 'trace HTTP requests on stderr, secrets redacted').env('ECRCTL_DEBUG'))
    .addOption(new Option('--no-color', 'no colour (also NO_COLOR, or when stderr is not a terminal)'))
    .addOption(
      new Option('--insecure', 'allow plain HTTP and unverified TLS to non-loopback registries').env('ECRCTL_INSECURE'),
    )
    .addOption(
      new Option('--ca-file <file>', 'PEM file of extra CAs to trust for AWS and registries').env('AWS_CA_BUNDLE'),
    )
    .addOption(
      // [file]: `inspect REF --config` (no file) asks for the image configuration instead.
      new Option('--config [file]', 'project config file (default: .ecrctl.yaml found upward)').env('ECRCTL_CONFIG'),
    )
    .configureHelp(helpConfiguration)
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: host.write.out, writeErr: host.write.err })
    .addHelpText(
      'after',
      examples(
        'ecrctl tag-push oci:./build/image:latest 127.0.0.1:5000/team/app:v1 --tag main-abc1234',
        'ecrctl pull 127.0.0.1:5000/team/app:v1 oci:./out:v1',
        'ecrctl <command> --help',
      ),
    );

  const commandHost: CommandHost = {
    context(cmd) {
      return host.context(globalsFrom(globalsWithEnv(cmd, host.env), host.env));
    },
  };
  for (const define of COMMANDS) {
    define(program, commandHost);
  }
  // Every subcommand reports errors the same way as the root.
  for (const cmd of program.commands) applyErrorBehaviour(cmd, host);
  program.description(reflow(program.description()));
  return program;
}

function applyErrorBehaviour(cmd: Command, host: ProgramHost): void {
  cmd
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: host.write.out, writeErr: host.write.err });
  cmd.description(reflow(cmd.description()));
  for (const sub of cmd.commands) applyErrorBehaviour(sub, host);
}

/**
 * Returns a description with its source line breaks inside paragraphs removed, so that
 * commander wraps it to the terminal (it keeps every line break it is given, and a source
 * line of 88 characters left a 9-character stub on each line of an 80-column terminal).
 * Kept as breaks: blank lines, lines that start with indentation, a `- ` bullet or a label
 * such as `SOURCE:`, and what follows an indented or bulleted line or starts a sentence after
 * a label line.
 */
export function reflow(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const prev = out[out.length - 1];
    const structural = line === '' || /^\s/.test(line) || /^- /.test(line) || /^[A-Z][A-Z_ ]*:/.test(line);
    // A label line (`SOURCE: …`) takes its own continuation, not the next sentence; an
    // indented or bulleted line keeps its layout.
    const afterLabel = prev !== undefined && /^[A-Z][A-Z_ ]*:/.test(prev) && /^[A-Z]/.test(line);
    const afterList = prev !== undefined && (/^\s/.test(prev) || /^- /.test(prev));
    if (prev !== undefined && prev !== '' && !structural && !afterLabel && !afterList)
      out[out.length - 1] = `${prev} ${line}`;
    else out.push(line);
  }
  return out.join('\n');
}

/**
 * Returns the options of cmd and its ancestors with every ECRCTL_* value taken from env, the
 * run's environment. commander reads Option.env() variables from process.env; a run given
 * another environment (main(argv, { env }), an in-process test) must obey its own. A value
 * typed on the command line still wins.
 */
function globalsWithEnv(cmd: Command, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const o = { ...cmd.optsWithGlobals<Record<string, unknown>>() };
  let root = cmd;
  while (root.parent) root = root.parent;
  for (const opt of root.options) {
    if (!opt.envVar) continue;
    const key = opt.attributeName();
    const source = root.getOptionValueSource(key);
    if (source === 'cli') continue;
    const value = env[opt.envVar];
    if (value !== undefined) {
      if (opt.required || opt.optional) {
        if (opt.argChoices && !opt.argChoices.includes(value)) {
          throw new UsageError(`${opt.envVar} must be one of ${opt.argChoices.join(', ')}`, { value });
        }
        o[key] = value;
      } else {
        o[key] = !opt.negate;
      }
    } else if (source === 'env') {
      o[key] = opt.defaultValue;
    }
  }
  return o;
}

function globalsFrom(o: Record<string, unknown>, env: NodeJS.ProcessEnv): GlobalOptions {
  const output = (o.output as OutputFormat | undefined) ?? 'text';
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const registryId = str(o.registryId);
  if (registryId !== undefined && !/^[0-9]{12}$/.test(registryId)) {
    throw new UsageError('--registry-id must be a 12-digit AWS account id', {
      value: registryId,
      fix: 'pass the account id that owns the registry, e.g. --registry-id 123456789012',
    });
  }
  const globals: GlobalOptions = {
    output,
    quiet: o.quiet === true || o.quiet === '1' || o.quiet === 'true',
    verbose: o.verbose === true || o.verbose === '1' || o.verbose === 'true',
    debug: o.debug === true || o.debug === '1' || o.debug === 'true',
    color: o.color !== false && !env.NO_COLOR,
    insecure: o.insecure === true || o.insecure === '1' || o.insecure === 'true',
  };
  const region = str(o.region);
  const profile = str(o.profile);
  const endpointUrl = str(o.endpointUrl);
  if (endpointUrl !== undefined && !/^https?:$/.test(URL.parse(endpointUrl)?.protocol ?? '')) {
    throw new UsageError('--endpoint-url must be a URL with a scheme, http:// or https://', {
      value: endpointUrl,
      fix: `write the scheme, e.g. --endpoint-url http://${endpointUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')}`,
    });
  }
  if (o.config === true) {
    throw new UsageError('--config needs a file', {
      fix: 'write --config FILE (the project config); `inspect REF --config` shows an image configuration',
    });
  }
  const config = str(o.config);
  const query = str(o.query);
  if (query !== undefined) {
    if (output === 'env') {
      throw new UsageError('--query works with --output json or text, not env', {
        value: query,
        fix: 'drop --output env, or name the fields with --output env alone',
      });
    }
    checkQuery(query);
    globals.query = query;
  }
  if (region) globals.region = region;
  if (profile) globals.profile = profile;
  if (endpointUrl) globals.endpointUrl = endpointUrl;
  if (registryId) globals.registryId = registryId;
  if (config) globals.config = config;
  const caFile = str(o.caFile);
  if (caFile) globals.caFile = caFile;
  return globals;
}
