import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { type CommandHost, examples } from '../command-kit.js';
import { render } from '../output.js';
import { writeGitHubOutputs } from '../../ci/github.js';

interface LoginOptions {
  registryIds?: string;
  public?: boolean;
  dockerConfig?: string;
  passwordStdout?: boolean;
  helper?: boolean;
  authfile?: string;
  podman?: boolean;
}

/** What `ecrctl login` reports (never a password). */
interface LoginResult {
  mode: 'auth' | 'helper';
  file?: string;
  registries: { registry: string; registryId?: string; region: string; expiresAt: string; cached: boolean }[];
}

/** Declares `ecrctl login`. */
export function defineLogin(program: Command, host: CommandHost): void {
  program
    .command('login')
    .summary('log Docker, skopeo and Podman in to ECR or ECR Public')
    .description(
      'Gets a registry token with GetAuthorizationToken (valid 12 hours) and writes it into the\n' +
        'Docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json) atomically with mode\n' +
        '0600, keeping everything else in the file. --helper registers docker-credential-ecrctl\n' +
        'instead, which fetches tokens on demand and never lets them expire. --password-stdout\n' +
        'prints only the password, like `aws ecr get-login-password`. --authfile / --podman write\n' +
        'the containers auth file that Podman, skopeo and buildah read.\n' +
        'ECR Public tokens are always issued in us-east-1. In GitHub Actions the password is masked\n' +
        'first and the step outputs of aws-actions/amazon-ecr-login are set.',
    )
    .option('--registry-ids <ids>', 'comma-separated account ids (default: your own registry)')
    .option('--public', 'log in to ECR Public (public.ecr.aws)')
    .option('--docker-config <dir>', 'Docker config directory (default: $DOCKER_CONFIG or ~/.docker)')
    .option('--password-stdout', 'print only the password on stdout, for piping into another login')
    .option('--helper', 'register docker-credential-ecrctl under credHelpers instead of storing a token')
    .option('--authfile <file>', 'write a containers auth file instead (also REGISTRY_AUTH_FILE)')
    .option('--podman', 'write the Podman auth file (default: $XDG_RUNTIME_DIR/containers/auth.json)')
    .addHelpText(
      'after',
      examples(
        'ecrctl login',
        'ecrctl login --registry-ids 123456789012,210987654321 --region eu-west-1',
        'ecrctl login --public',
        'ecrctl login --helper',
        'ecrctl login --password-stdout | helm registry login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com',
        'ecrctl login --podman',
      ),
    )
    .action(async (opts: LoginOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      if (opts.passwordStdout && opts.helper) {
        throw new UsageError('--password-stdout and --helper do not go together', {
          fix: 'use --password-stdout to pipe a password, or --helper to register the credential helper',
        });
      }
      const registryIds = (opts.registryIds ?? ctx.globals.registryId ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (opts.public && registryIds.length > 0) {
        throw new UsageError('--public logs in to public.ecr.aws and takes no registry ids', {
          fix: 'drop --registry-ids (or --public)',
        });
      }
      const [{ login }, { githubOutputs }] = await Promise.all([
        import('../../ops/login.js'),
        import('../../ecr/login.js'),
      ]);
      const done = await login(ctx, {
        registryIds,
        public: opts.public === true,
        write: opts.passwordStdout ? 'none' : opts.helper ? 'helper' : 'auth',
        dockerConfig: opts.dockerConfig,
        authfile: opts.authfile,
        podman: opts.podman,
        // Step outputs first: the secrets are already masked.
        onTokens: (tokens) => writeGitHubOutputs(ctx.env, githubOutputs(tokens)),
      });
      const { tokens } = done;

      if (opts.passwordStdout) {
        if (tokens.length > 1) {
          throw new UsageError('--password-stdout prints one password; give at most one registry id', {
            value: registryIds.join(','),
          });
        }
        // The one place a password is printed on purpose: straight to stdout, not redacted.
        ctx.stdout.write(`${tokens[0]?.password ?? ''}\n`);
        return;
      }

      const result: LoginResult = {
        mode: opts.helper ? 'helper' : 'auth',
        registries: tokens.map((t) => ({
          registry: t.host,
          ...(t.registryId ? { registryId: t.registryId } : {}),
          region: t.region,
          expiresAt: t.expiresAt.toISOString(),
          cached: t.fromCache,
        })),
        ...(done.file !== undefined ? { file: done.file } : {}),
      };
      render(ctx, result, {
        text: (r) =>
          r.registries
            .map((g) =>
              r.mode === 'helper'
                ? `Registered docker-credential-ecrctl for ${g.registry} in ${r.file}`
                : `Login Succeeded: ${g.registry} (token valid until ${g.expiresAt}) in ${r.file}`,
            )
            .join('\n'),
        env: (r) => ({
          REGISTRY: r.registries[0]?.registry ?? '',
          REGISTRIES: r.registries.map((g) => g.registry).join(','),
          CONFIG_FILE: r.file ?? '',
        }),
      });
    });
}
