import { BOOLEAN_CHECK, type OptionCheck } from '../core';

/** Decides whether a provider's methods get spans: its class and the class's name. */
export type ProviderFilter = (providerClass: Function, className: string) => boolean;

/** Options of automatic spans for the parts of Nest, under `autoInstrument` in `TracingModule.forRoot()`. */
export interface AutoInstrumentOptions {
  /**
   * A span per guard call (`canActivate`), `nestjs.type` `guard`.
   * Default: `false`.
   */
  guards?: boolean;
  /**
   * A span per pipe call (`transform`), `nestjs.type` `pipe`.
   * Default: `false`.
   */
  pipes?: boolean;
  /**
   * A span per interceptor (`intercept`), ending with the Observable it returns,
   * `nestjs.type` `interceptor`.
   * Default: `false`.
   */
  interceptors?: boolean;
  /**
   * A span per exception filter call (`catch`), `nestjs.type` `filter`. Needs
   * `tracingInstrument()` in `NestFactory.create()`: Nest binds filters before any
   * module initialises.
   * Default: `false`.
   */
  filters?: boolean;
  /**
   * A span per class middleware call (`use`), `nestjs.type` `middleware`. Needs
   * `tracingInstrument()` in `NestFactory.create()`, for the same reason.
   * Default: `false`.
   */
  middleware?: boolean;
  /**
   * A child INTERNAL span for each controller handler (HTTP and microservice),
   * around the pipes and the handler, `nestjs.type` `handler`; skipped for a
   * handler that is `@Traced()` already.
   * Default: `false`.
   */
  handlers?: boolean;
  /**
   * Spans for the methods of providers: `true` for every provider of the app, a list
   * of classes (or class names), or a predicate. Methods already `@Traced()` are left
   * as they are. `nestjs.type` `provider`.
   * Default: `false`.
   */
  providers?: boolean | (Function | string)[] | ProviderFilter;
  /**
   * A span per run of each `@Cron`, `@Interval` and `@Timeout` job of
   * `@nestjs/schedule` (a new trace: there is no request around it), `nestjs.type`
   * `cron`. Import `TracingModule` before `ScheduleModule`, or use
   * `tracingInstrument()`, so the jobs are wrapped before they are scheduled.
   * Default: `true`.
   */
  schedule?: boolean;
  /**
   * A span per call of each `@OnEvent` listener of `@nestjs/event-emitter`: a child of
   * the span that emitted the event, or a new trace when none did. `nestjs.type`
   * `event`.
   * Default: `true`.
   */
  events?: boolean;
}

/** @internal The automatic-span switches with every default filled in. */
export interface ResolvedAutoInstrumentOptions {
  readonly guards: boolean;
  readonly pipes: boolean;
  readonly interceptors: boolean;
  readonly filters: boolean;
  readonly middleware: boolean;
  readonly handlers: boolean;
  readonly providers: ProviderFilter | undefined;
  readonly schedule: boolean;
  readonly events: boolean;
}

/** The checks `resolveTracingOptions` runs on each `autoInstrument` option. */
export const AUTO_INSTRUMENT_OPTION_CHECKS: Readonly<Record<keyof AutoInstrumentOptions, OptionCheck>> = {
  guards: BOOLEAN_CHECK,
  pipes: BOOLEAN_CHECK,
  interceptors: BOOLEAN_CHECK,
  filters: BOOLEAN_CHECK,
  middleware: BOOLEAN_CHECK,
  handlers: BOOLEAN_CHECK,
  providers: [
    'true, false, an array of classes or class names, or a function',
    (value) =>
      typeof value === 'boolean' ||
      typeof value === 'function' ||
      (Array.isArray(value) && value.every((entry) => typeof entry === 'string' || typeof entry === 'function')),
  ],
  schedule: BOOLEAN_CHECK,
  events: BOOLEAN_CHECK,
};

/** @internal Fills in the defaults of options that `AUTO_INSTRUMENT_OPTION_CHECKS` passed. */
export function resolveAutoInstrumentOptions(given: AutoInstrumentOptions = {}): ResolvedAutoInstrumentOptions {
  return {
    guards: given.guards ?? false,
    pipes: given.pipes ?? false,
    interceptors: given.interceptors ?? false,
    filters: given.filters ?? false,
    middleware: given.middleware ?? false,
    handlers: given.handlers ?? false,
    providers: providerFilter(given.providers),
    schedule: given.schedule ?? true,
    events: given.events ?? true,
  };
}

function providerFilter(providers: AutoInstrumentOptions['providers']): ProviderFilter | undefined {
  if (providers === undefined || providers === false) {
    return undefined;
  }
  if (providers === true) {
    return () => true;
  }
  if (typeof providers === 'function') {
    return providers;
  }
  const classes = new Set(providers.filter((entry): entry is Function => typeof entry === 'function'));
  const names = new Set(providers.filter((entry): entry is string => typeof entry === 'string'));
  return (providerClass, className) => classes.has(providerClass) || names.has(className);
}
