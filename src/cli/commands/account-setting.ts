// `ecrctl account-setting get|set NAME [VALUE]`: ECR's account settings (BLOB_MOUNTING,
// BASIC_SCAN_TYPE_VERSION, REGISTRY_POLICY_SCOPE) in the current region; the work is in
// src/ops/account-setting.ts, this file declares the commands and renders.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import { render } from '../output.js';

/** Declares `ecrctl account-setting`. */
export function defineAccountSetting(program: Command, host: CommandHost): void {
  const group = program
    .command('account-setting')
    .summary("read or change the account's ECR settings (e.g. blob mounting)")
    .description(
      'ECR keeps a few settings per account and region. BLOB_MOUNTING (ENABLED or\n' +
        'DISABLED, off by default) lets a push or copy mount a layer another repository\n' +
        'of the registry already holds instead of uploading it again; mounts need the\n' +
        'same encryption type and key and never come from pull-through cache\n' +
        'repositories. BASIC_SCAN_TYPE_VERSION (AWS_NATIVE) and REGISTRY_POLICY_SCOPE\n' +
        '(V2) are the other names.',
    )
    .addHelpText(
      'after',
      examples('ecrctl account-setting get BLOB_MOUNTING', 'ecrctl account-setting set BLOB_MOUNTING ENABLED'),
    );

  group
    .command('get')
    .summary('print the value of an account setting')
    .argument('<name>', 'BLOB_MOUNTING, BASIC_SCAN_TYPE_VERSION or REGISTRY_POLICY_SCOPE')
    .addHelpText(
      'after',
      examples('ecrctl account-setting get BLOB_MOUNTING', 'ecrctl -o json account-setting get REGISTRY_POLICY_SCOPE'),
    )
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { getAccountSetting } = await import('../../ops/account-setting.js');
      const result = await getAccountSetting(ctx, { name });
      render(ctx, result, {
        text: (r) => r.value,
        env: (r) => ({ SETTING_NAME: r.name, SETTING_VALUE: r.value, REGION: r.region }),
      });
    });

  group
    .command('set')
    .summary('change an account setting')
    .argument('<name>', 'BLOB_MOUNTING, BASIC_SCAN_TYPE_VERSION or REGISTRY_POLICY_SCOPE')
    .argument('<value>', 'ENABLED / DISABLED (BLOB_MOUNTING), AWS_NATIVE, V2')
    .addHelpText(
      'after',
      examples(
        'ecrctl account-setting set BLOB_MOUNTING ENABLED',
        'ecrctl --region eu-west-1 account-setting set BLOB_MOUNTING DISABLED',
      ),
    )
    .action(async (name: string, value: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { setAccountSetting } = await import('../../ops/account-setting.js');
      const result = await setAccountSetting(ctx, { name, value });
      render(ctx, result, {
        text: (r) => `${r.name}=${r.value}`,
        env: (r) => ({ SETTING_NAME: r.name, SETTING_VALUE: r.value, REGION: r.region }),
      });
    });
}
