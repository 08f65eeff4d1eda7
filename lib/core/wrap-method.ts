const WRAPPED = Symbol('nestjs-tracing.wrapped');

/**
 * Replaces `prototype[name]` with `wrap(original)`, once per process: a method that
 * is missing or already wrapped is left as it is. For the Nest classes traced by
 * patching their prototype (clients, the router, the exception handlers).
 */
export function wrapMethod<T extends (...args: never[]) => unknown>(
  prototype: object,
  name: string,
  wrap: (original: T) => T,
): void {
  const original = (prototype as Record<string, unknown>)[name] as (T & { [WRAPPED]?: true }) | undefined;
  if (typeof original !== 'function' || original[WRAPPED] === true) {
    return;
  }
  const wrapped = wrap(original) as T & { [WRAPPED]?: true };
  wrapped[WRAPPED] = true;
  Object.defineProperty(prototype, name, { value: wrapped, writable: true, configurable: true });
}
