import { TracingError } from './tracing.error';
import { TracingMessages } from './tracing.messages';

/** Options of `TracingModule.forRoot()` and `TracingModule.forRootAsync()`. */
export interface TracingModuleOptions {
  /**
   * Whether the module creates spans. When `false`, `@Traced()` methods and
   * `TracingService.startActiveSpan()` run their function directly with no span;
   * everything else (`getActiveSpan()`, `inject()`, `extract()`) keeps working.
   * Useful to switch tracing off per environment without touching the code.
   * Default: `true`.
   */
  enabled?: boolean;
}

/** @internal The options with every default filled in. */
export type ResolvedTracingOptions = Required<TracingModuleOptions>;

/** The defaults, in one place, merged on both the sync and the async path. */
export const DEFAULT_TRACING_OPTIONS: Readonly<ResolvedTracingOptions> = Object.freeze({
  enabled: true,
});

type OptionKind = 'boolean';

const OPTION_KINDS: Readonly<Record<keyof TracingModuleOptions, OptionKind>> = {
  enabled: 'boolean',
};

const ALLOWED_BY_KIND: Readonly<Record<OptionKind, string>> = {
  boolean: 'true or false',
};

/**
 * @internal Validates what a user passed (to `forRoot` or from an async factory) and
 * fills in the defaults. Throws a `TracingError` naming the option, what it was
 * given and what is allowed.
 */
export function resolveTracingOptions(options: unknown): ResolvedTracingOptions {
  if (options === undefined || options === null) {
    return { ...DEFAULT_TRACING_OPTIONS };
  }
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw TracingError.create(TracingMessages.notAnObject(describeValue(options)));
  }
  const allowed = Object.keys(OPTION_KINDS) as (keyof TracingModuleOptions)[];
  for (const [key, value] of Object.entries(options)) {
    const kind = OPTION_KINDS[key as keyof TracingModuleOptions] as OptionKind | undefined;
    if (kind === undefined) {
      throw TracingError.create(TracingMessages.unknownOption(key, allowed));
    }
    if (value !== undefined && typeof value !== kind) {
      throw TracingError.create(TracingMessages.invalidOption(key, describeValue(value), ALLOWED_BY_KIND[kind]));
    }
  }
  const given = options as TracingModuleOptions;
  return {
    enabled: given.enabled ?? DEFAULT_TRACING_OPTIONS.enabled,
  };
}

function describeValue(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`;
    case 'function':
      return 'a function';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}
