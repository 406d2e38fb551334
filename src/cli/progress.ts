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

/** Starts a task: a spinner on a TTY (unless --quiet), else a single plain line. */
export async function startTask(ctx: CliContext, label: string): Promise<Task> {
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
  const { default: ora } = await import('ora');
  const spinner = ora({ text: label, stream: process.stderr, discardStdin: false }).start();
  return {
    update: (t) => {
      spinner.text = ctx.secrets.redact(t);
    },
    succeed: (t) => {
      spinner.succeed(t === undefined ? undefined : ctx.secrets.redact(t));
    },
    fail: (t) => {
      spinner.fail(t === undefined ? undefined : ctx.secrets.redact(t));
    },
  };
}
