import { BOOLEAN_CHECK, type OptionCheck } from './core';
import {
  AUTO_INSTRUMENT_OPTION_CHECKS,
  resolveAutoInstrumentOptions,
  type AutoInstrumentOptions,
  type ResolvedAutoInstrumentOptions,
} from './explorer/auto-instrument.options';
import {
  HTTP_OPTION_CHECKS,
  resolveHttpOptions,
  type HttpTracingOptions,
  type ResolvedHttpTracingOptions,
} from './http';
import {
  MICROSERVICES_OPTION_CHECKS,
  resolveMicroservicesOptions,
  type MicroservicesTracingOptions,
  type ResolvedMicroservicesTracingOptions,
} from './microservices';
import { TracingError } from './tracing.error';
import { TracingMessages } from './tracing.messages';

/** Options of `TracingModule.forRoot()` and `TracingModule.forRootAsync()`. */
export interface TracingModuleOptions {
  /**
   * Whether the module creates spans. When `false`, `@Traced()` methods and
   * `TracingService.startActiveSpan()` run their function directly with no span and
   * HTTP requests get none; everything else (`getActiveSpan()`, `inject()`,
   * `extract()`) keeps working. Useful to switch tracing off per environment without
   * touching the code.
   * Default: `true`.
   */
  enabled?: boolean;
  /**
   * HTTP server tracing: a SERVER span for every request, on Express and Fastify.
   * Default: on, with the defaults of each `HttpTracingOptions` field.
   */
  http?: HttpTracingOptions;
  /**
   * Microservice tracing: spans for messages sent and received over every Nest
   * transport, with the trace context carried in the messages.
   * Default: on, with the defaults of each `MicroservicesTracingOptions` field.
   */
  microservices?: MicroservicesTracingOptions;
  /**
   * Automatic spans for the parts of Nest: guards, pipes, interceptors, filters,
   * middleware, handlers, providers, schedule jobs and event listeners, each switched
   * on or off.
   * Default: schedule jobs and event listeners on, the rest off.
   */
  autoInstrument?: AutoInstrumentOptions;
}

/** @internal The options with every default filled in. */
export interface ResolvedTracingOptions {
  readonly enabled: boolean;
  readonly http: ResolvedHttpTracingOptions;
  readonly microservices: ResolvedMicroservicesTracingOptions;
  readonly autoInstrument: ResolvedAutoInstrumentOptions;
}

/** The defaults, in one place, merged on both the sync and the async path. */
export const DEFAULT_TRACING_OPTIONS: Readonly<Required<Pick<TracingModuleOptions, 'enabled'>>> = Object.freeze({
  enabled: true,
});

type OptionChecks = Readonly<Record<string, OptionCheck>>;

const ROOT_OPTION_CHECKS: OptionChecks = {
  enabled: BOOLEAN_CHECK,
  http: ['an object', isPlainObject],
  microservices: ['an object', isPlainObject],
  autoInstrument: ['an object', isPlainObject],
};

/**
 * @internal Validates what a user passed (to `forRoot` or from an async factory) and
 * fills in the defaults. Throws a `TracingError` naming the option, what it was
 * given and what is allowed.
 */
export function resolveTracingOptions(options: unknown): ResolvedTracingOptions {
  if (options === undefined || options === null) {
    options = {};
  }
  if (!isPlainObject(options)) {
    throw TracingError.create(TracingMessages.notAnObject(describeValue(options)));
  }
  checkOptions(options, ROOT_OPTION_CHECKS, '');
  const given = options as TracingModuleOptions;
  if (given.http !== undefined) {
    checkOptions(given.http, HTTP_OPTION_CHECKS, 'http.');
  }
  if (given.microservices !== undefined) {
    checkOptions(given.microservices, MICROSERVICES_OPTION_CHECKS, 'microservices.');
  }
  if (given.autoInstrument !== undefined) {
    checkOptions(given.autoInstrument, AUTO_INSTRUMENT_OPTION_CHECKS, 'autoInstrument.');
  }
  return {
    enabled: given.enabled ?? DEFAULT_TRACING_OPTIONS.enabled,
    http: resolveHttpOptions(given.http),
    microservices: resolveMicroservicesOptions(given.microservices),
    autoInstrument: resolveAutoInstrumentOptions(given.autoInstrument),
  };
}

function checkOptions(options: object, checks: OptionChecks, prefix: string): void {
  for (const [key, value] of Object.entries(options)) {
    const rule = Object.hasOwn(checks, key) ? checks[key] : undefined;
    if (rule === undefined) {
      throw TracingError.create(
        TracingMessages.unknownOption(
          prefix + key,
          Object.keys(checks).map((allowed) => prefix + allowed),
        ),
      );
    }
    const [allowed, check] = rule;
    if (value !== undefined && !check(value)) {
      throw TracingError.create(TracingMessages.invalidOption(prefix + key, describeValue(value), allowed));
    }
  }
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
