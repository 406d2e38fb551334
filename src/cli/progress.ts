// Progress for long steps: a spinner with live text on a TTY, one plain line per step
// elsewhere (CI logs read top to bottom, and carriage returns make them unreadable).
import type { CliContext } from './context.js';

export interface Task {
  /** Replaces the live text (TTY only; ignored in plain mode). */
  update(text: string): void;
  /** Ends the task with a final line. */
  succeed(text?: string): void;
  fail(text?: string): void;
}

type Spinner = { text: string; succeed(t?: string): void; fail(t?: string): void };

/**
 * Starts a task: a spinner on a TTY (unless --quiet), else a single plain line. Returns at
 * once; the spinner library loads in the background and catches up with what was said.
 */
export function startTask(ctx: CliContext, label: string): Task {
  if (ctx.globals.quiet) return { update() {}, succeed() {}, fail() {} };
  // A terminal that reports no width (some `script` sessions, odd CI runners) makes a
  // spinner redraw endlessly: plain lines there too.
  const columns = process.stderr.columns ?? 0;
  if (!ctx.stderr.isTTY || !ctx.globals.color || columns <= 0) {
    ctx.log.info(label);
    return {
      update() {},
      succeed: (t) => {
        if (t) ctx.log.info(t);
      },
      fail: (t) => {
        if (t) ctx.log.info(t);
      },
    };
  }
  const redact = (t: string | undefined) => (t === undefined ? undefined : ctx.secrets.redact(t));
  let spinner: Spinner | undefined;
  let text = label;
  let ending: { ok: boolean; text: string | undefined } | undefined;
  const loaded = import('ora').then(({ default: ora }) => {
    spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
    if (ending) (ending.ok ? spinner.succeed : spinner.fail).call(spinner, ending.text);
  });
  loaded.catch(() => {});
  const end = (ok: boolean, t: string | undefined) => {
    if (spinner) (ok ? spinner.succeed : spinner.fail).call(spinner, redact(t));
    else ending = { ok, text: redact(t) };
  };
  return {
    update: (t) => {
      text = ctx.secrets.redact(t);
      if (spinner) spinner.text = text;
    },
    succeed: (t) => end(true, t),
    fail: (t) => end(false, t),
  };
}
