/**
 * @internal The switch `TracingModule` flips from its `enabled` option. It lives
 * outside DI because `@Traced` wraps methods when the class is declared, before any
 * module exists.
 */
export const tracingState = { enabled: true };
