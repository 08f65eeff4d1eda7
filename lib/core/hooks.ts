import { diag } from '@opentelemetry/api';
import { TracingMessages } from '../tracing.messages';

const reported = new Set<string>();

/** Reports an error through `diag.error` the first time an error of this `kind` happens. */
export function reportOnce(kind: string, message: string, error: unknown): void {
  if (!reported.has(kind)) {
    reported.add(kind);
    diag.error(message, error);
  }
}

/**
 * Runs a user-supplied hook; a throw is reported once per kind of hook through
 * `diag.error` and the hook's result is `undefined`, so the traced call goes on.
 */
export function runHook<T>(hook: string, fn: () => T): T | undefined {
  try {
    const result = fn();
    // An async hook's rejection is reported like a throw, never left unhandled.
    if (result instanceof Promise) {
      result.catch((error: unknown) => reportOnce(hook, TracingMessages.hookFailed(hook), error));
    }
    return result;
  } catch (error) {
    reportOnce(hook, TracingMessages.hookFailed(hook), error);
    return undefined;
  }
}
