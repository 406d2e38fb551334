// Renders a session's events on the terminal: log lines on stderr (as --quiet / --verbose
// allow), a spinner or plain lines for long steps, live progress for transfers, and a
// GitHub Actions log group around each transfer. Ops only emit; this is where it shows.
import { startGroup } from '../ci/github.js';
import type { LogLevel, SessionEvent } from '../session.js';
import type { CliContext } from './context.js';
import { startTask, type Task } from './progress.js';
import { transferProgress } from './transfer-report.js';

/**
 * Returns the event handler for a command run. printLog prints one log line (the CLI's
 * quiet / verbose rules); context is read when the first display is made, because the
 * context is built after the handler.
 */
export function eventRenderer(
  context: () => CliContext,
  printLog: (level: LogLevel, message: string) => void,
): (event: SessionEvent) => void {
  const transfers = new Map<number, { display: ReturnType<typeof transferProgress>; endGroup: () => void }>();
  const steps = new Map<number, Task>();
  return (event) => {
    switch (event.type) {
      case 'log':
        printLog(event.level, event.message);
        return;
      case 'transfer-start': {
        const ctx = context();
        const endGroup = startGroup(
          ctx.env,
          (l) => ctx.stderr.write(l),
          `ecrctl: ${event.label} to ${event.destination}`,
        );
        transfers.set(event.id, { display: transferProgress(ctx, event.label), endGroup });
        return;
      }
      case 'transfer':
        transfers.get(event.id)?.display.onEvent(event.event);
        return;
      case 'transfer-end': {
        const t = transfers.get(event.id);
        transfers.delete(event.id);
        t?.display.done(event.ok);
        t?.endGroup();
        return;
      }
      case 'step': {
        if (event.phase === 'start') {
          steps.set(event.id, startTask(context(), event.text));
          return;
        }
        const task = steps.get(event.id);
        if (event.phase === 'update') task?.update(event.text);
        else {
          steps.delete(event.id);
          if (event.ok === false) task?.fail(event.text);
          else task?.succeed(event.text);
        }
        return;
      }
    }
  };
}
