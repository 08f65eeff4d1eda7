/** The instrumentation scope of every span this package creates. */
export const TRACER_NAME = 'nestjs-tracing';

/** The package version, reported as the instrumentation scope version. */
export const TRACER_VERSION = '0.1.0';

/** @internal Injection token of the validated options, defaults merged. */
export const TRACING_OPTIONS = Symbol('TRACING_OPTIONS');

/** @internal Marks a function that `@Traced` produced, so nothing wraps it twice. */
export const TRACED_WRAPPER = Symbol.for('nestjs-tracing:traced-wrapper');

/** @internal Metadata key set by `@Untraced()` on a method. */
export const UNTRACED_METADATA = 'nestjs-tracing:untraced';

/** @internal Metadata key listing the parameter indexes marked with `@CurrentSpan()`. */
export const CURRENT_SPAN_PARAMS_METADATA = 'nestjs-tracing:current-span-params';
