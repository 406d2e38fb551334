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
  k8sSecret?: string;
  dualStack?: boolean;
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
        'first and the step outputs of aws-actions/amazon-ecr-login are set.\n' +
        'Registries named by host may also be hosts that the registries: entries of .ecrctl.yaml\n' +
        'map to an ECR registry (a custom domain, a docker.io mirror): they get its token.\n' +
        '--k8s-secret NS/NAME prints a kubernetes.io/dockerconfigjson Secret (YAML; JSON with\n' +
        '-o json) for `kubectl apply -f -`, annotated with ecrctl/expires-at; nothing is written.',
    )
    .argument('[registry...]', 'registry hosts: ECR hosts, or hosts .ecrctl.yaml maps (default: your own)')
    .option('--registry-ids <ids>', 'comma-separated account ids (default: your own registry)')
    .option('--public', 'log in to ECR Public (public.ecr.aws)')
    .option('--docker-config <dir>', 'Docker config directory (default: $DOCKER_CONFIG or ~/.docker)')
    .option('--password-stdout', 'print only the password on stdout, for piping into another login')
    .option('--helper', 'register docker-credential-ecrctl under credHelpers instead of storing a token')
    .option('--authfile <file>', 'write a containers auth file instead (also REGISTRY_AUTH_FILE)')
    .option('--podman', 'write the Podman auth file (default: $XDG_RUNTIME_DIR/containers/auth.json)')
    .option('--dual-stack', 'use the IPv4+IPv6 registry names (also ECRCTL_DUAL_STACK=1)')
    .option('--k8s-secret <namespace/name>', 'print a Kubernetes pull Secret manifest instead of writing')
    .addHelpText(
      'after',
      examples(
        'ecrctl login',
        'ecrctl login --registry-ids 123456789012,210987654321 --region eu-west-1',
        'ecrctl login --public',
        'ecrctl login --helper',
        'ecrctl login --password-stdout | helm registry login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com',
        'ecrctl login --podman',
        'ecrctl login registry.example.com docker.io   # mapped by registries: in .ecrctl.yaml',
        'ecrctl login --k8s-secret default/ecr-pull | kubectl apply -f -',
      ),
    )
    .action(async (registries: string[], opts: LoginOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      const modes = [
        opts.passwordStdout && '--password-stdout',
        opts.helper && '--helper',
        opts.k8sSecret && '--k8s-secret',
      ];
      const chosen = modes.filter((m): m is string => typeof m === 'string');
      if (chosen.length > 1) {
        throw new UsageError(`${chosen.join(' and ')} do not go together`, {
          fix: 'use --password-stdout to pipe a password, --helper to register the credential helper, or --k8s-secret to print a pull Secret',
        });
      }
      if (registries.length > 0 && (opts.public || opts.registryIds)) {
        throw new UsageError('registry hosts do not go with --public or --registry-ids', {
          value: registries.join(' '),
          fix: 'name the registries either by host or by --registry-ids / --public',
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
      const target = opts.k8sSecret
        ? (await import('../../ops/login.js')).parsePullSecretTarget(opts.k8sSecret)
        : undefined;
      if (target && ctx.globals.output === 'env') {
        throw new UsageError('--k8s-secret prints a manifest: YAML (-o text) or JSON (-o json), not env', {
          fix: 'drop --output env',
        });
      }
      const [{ login }, { githubOutputs }] = await Promise.all([
        import('../../ops/login.js'),
        import('../../ecr/login.js'),
      ]);
      const done = await login(ctx, {
        registryIds,
        registries,
        ...(opts.dualStack ? { dualStack: true } : {}),
        public: opts.public === true,
        write: opts.passwordStdout || target ? 'none' : opts.helper ? 'helper' : 'auth',
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

      if (target) {
        const { pullSecretManifest } = await import('../../ops/login.js');
        const manifest = pullSecretManifest(ctx, tokens, target);
        // The manifest carries the tokens on purpose: straight to stdout, not redacted.
        const text =
          ctx.globals.output === 'json'
            ? `${JSON.stringify(manifest, null, 2)}\n`
            : (await import('yaml')).stringify(manifest, { lineWidth: 0 });
        ctx.stdout.write(text);
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
