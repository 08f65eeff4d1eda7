import { diag } from '@opentelemetry/api';
import { TracingMessages } from '../tracing.messages';

const reported = new Set<string>();

/**
 * Runs a user-supplied hook; a throw is reported once per kind of hook through
 * `diag.error` and the hook's result is `undefined`, so the traced call goes on.
 */
export function runHook<T>(hook: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (!reported.has(hook)) {
      reported.add(hook);
      diag.error(TracingMessages.hookFailed(hook), error);
    }
    return undefined;
  }
}
