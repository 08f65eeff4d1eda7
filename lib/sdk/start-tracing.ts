import { context, diag, propagation, trace, type Attributes, type TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { TracingError } from '../tracing.error';
import { TracingMessages } from '../tracing.messages';
import { loadOptional } from './load-optional';
import { registerContext } from './register-context';
import { WaterfallSpanExporter } from './waterfall.exporter';

/** The exporters `startTracing()` knows by name, as `OTEL_TRACES_EXPORTER` names them (plus `waterfall`). */
export type ExporterName = 'otlp' | 'zipkin' | 'console' | 'waterfall' | 'none';

/** The propagators `startTracing()` knows by name, as `OTEL_PROPAGATORS` names them. */
export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi' | 'jaeger' | 'none';

const EXPORTER_NAMES: readonly ExporterName[] = ['otlp', 'zipkin', 'console', 'waterfall', 'none'];
const PROPAGATOR_NAMES: readonly PropagatorName[] = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none'];

/** Options of `startTracing()`. Each one given wins over its environment variable. */
export interface StartTracingOptions {
  /**
   * The `service.name` resource attribute.
   * Default: `OTEL_SERVICE_NAME`, else `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
   * else the SDK's `unknown_service:<process>`.
   */
  serviceName?: string;
  /**
   * More resource attributes, e.g. `{ 'deployment.environment.name': 'staging' }`.
   * Default: those of `OTEL_RESOURCE_ATTRIBUTES` (these are merged over them).
   */
  resourceAttributes?: Attributes;
  /**
   * Where finished spans go: `'otlp'` (HTTP/protobuf to a collector, Jaeger or Tempo;
   * needs `@opentelemetry/exporter-trace-otlp-proto`), `'zipkin'` (needs
   * `@opentelemetry/exporter-zipkin`), `'console'` (each span as an object),
   * `'waterfall'` (each trace as a tree with time bars), `'none'`, any `SpanExporter`,
   * or several of these.
   * Default: `OTEL_TRACES_EXPORTER` (a comma-separated list), else `'otlp'`.
   */
  exporter?: ExporterName | SpanExporter | (ExporterName | SpanExporter)[];
  /**
   * The OTLP endpoint's base URL; spans go to `<url>/v1/traces`.
   * Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, else
   * `http://localhost:4318`.
   */
  otlpEndpoint?: string;
  /**
   * The Zipkin endpoint's URL.
   * Default: `OTEL_EXPORTER_ZIPKIN_ENDPOINT`, else `http://localhost:9411/api/v2/spans`.
   */
  zipkinEndpoint?: string;
  /**
   * Which traces to record: a ratio (0 to 1) of new traces, parent-based (a request
   * follows its caller's decision), or any `Sampler`.
   * Default: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, else parent-based 1.0.
   */
  sampler?: number | Sampler;
  /**
   * How trace context is read from and written to requests and messages.
   * `b3` / `b3multi` need `@opentelemetry/propagator-b3`, `jaeger`
   * `@opentelemetry/propagator-jaeger`.
   * Default: `OTEL_PROPAGATORS`, else `['tracecontext', 'baggage']`.
   */
  propagators?: PropagatorName[];
  /**
   * Whether SIGTERM and SIGINT flush the queued spans before the process exits.
   * Default: `true`.
   */
  flushOnSignals?: boolean;
}

/** What `startTracing()` returns. */
export interface TracingHandle {
  /** Exports the spans still queued, and keeps tracing. */
  forceFlush(): Promise<void>;
  /**
   * Exports the spans still queued, waiting at most 3 s (a backend that is down does
   * not hold the process), then stops tracing. Never rejects: a failed export is
   * reported through OpenTelemetry's `diag`.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts an OpenTelemetry tracer provider for the whole process: AsyncLocalStorage
 * context, the propagators and exporters chosen (by option, else by the standard
 * `OTEL_*` environment variables), a batch span processor per exporter. Call it first
 * thing in `main.ts`, before the application module is imported.
 *
 * @example
 * ```ts
 * // tracing.ts, imported first by main.ts
 * export const tracing = startTracing({ serviceName: 'orders', exporter: 'otlp' });
 * ```
 */
export function startTracing(options: StartTracingOptions = {}): TracingHandle {
  const sampler = samplerOf(options.sampler);
  const provider = new BasicTracerProvider({
    resource: resourceOf(options),
    // Left out when not given: the SDK then reads OTEL_TRACES_SAMPLER / _ARG itself.
    ...(sampler === undefined ? {} : { sampler }),
    spanProcessors: exportersOf(options).map((exporter) =>
      exporter instanceof WaterfallSpanExporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    ),
  });
  registerContext();
  const propagator = propagatorOf(options.propagators);
  if (propagator !== undefined) {
    propagation.setGlobalPropagator(propagator);
  }
  trace.setGlobalTracerProvider(provider);
  let stopped: Promise<void> | undefined;
  let stopListening = (): void => undefined;
  const handle: TracingHandle = {
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      stopListening();
      stopped ??= Promise.race([provider.shutdown(), delay(SHUTDOWN_TIMEOUT_MS)])
        .catch((error: unknown) => diag.warn(TracingMessages.shutdownExportFailed(), error))
        .finally(() => {
          trace.disable();
          propagation.disable();
          context.disable();
        });
      return stopped;
    },
  };
  if (options.flushOnSignals ?? true) {
    stopListening = flushOnSignals(handle);
  }
  return handle;
}

function resourceOf(options: StartTracingOptions) {
  const explicit: Attributes = { ...options.resourceAttributes };
  if (options.serviceName !== undefined) {
    explicit[ATTR_SERVICE_NAME] = options.serviceName;
  }
  return defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes(explicit));
}

function samplerOf(sampler: StartTracingOptions['sampler']): Sampler | undefined {
  if (typeof sampler !== 'number') {
    return sampler;
  }
  if (!(sampler >= 0 && sampler <= 1)) {
    throw TracingError.create(TracingMessages.invalidOption('sampler', `the number ${sampler}`, 'a ratio from 0 to 1'));
  }
  return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampler) });
}

function exportersOf(options: StartTracingOptions): SpanExporter[] {
  const given = options.exporter;
  const fromEnvironment = given === undefined;
  const chosen = fromEnvironment
    ? listFromEnvironment('OTEL_TRACES_EXPORTER', ['otlp'])
    : Array.isArray(given)
      ? given
      : [given];
  const exporters: SpanExporter[] = [];
  for (const choice of chosen) {
    if (typeof choice !== 'string') {
      exporters.push(choice);
      continue;
    }
    if (!EXPORTER_NAMES.includes(choice as ExporterName)) {
      const message = TracingMessages.unknownSdkValue('the exporter', choice, EXPORTER_NAMES);
      if (!fromEnvironment) {
        throw TracingError.create(message);
      }
      diag.warn(message);
      continue;
    }
    const exporter = namedExporter(choice as ExporterName, options);
    if (exporter !== undefined) {
      exporters.push(exporter);
    }
  }
  return exporters;
}

function namedExporter(name: ExporterName, options: StartTracingOptions): SpanExporter | undefined {
  switch (name) {
    case 'otlp': {
      const protocol = process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
      if (protocol !== undefined && protocol !== 'http/protobuf') {
        diag.warn(TracingMessages.otlpProtocol(protocol));
      }
      const { OTLPTraceExporter } = loadOptional<typeof import('@opentelemetry/exporter-trace-otlp-proto')>(
        '@opentelemetry/exporter-trace-otlp-proto',
        'export spans over OTLP',
      );
      const url =
        options.otlpEndpoint === undefined ? undefined : `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
      return new OTLPTraceExporter(url === undefined ? {} : { url });
    }
    case 'zipkin': {
      const { ZipkinExporter } = loadOptional<typeof import('@opentelemetry/exporter-zipkin')>(
        '@opentelemetry/exporter-zipkin',
        'export spans to Zipkin',
      );
      return new ZipkinExporter(options.zipkinEndpoint === undefined ? {} : { url: options.zipkinEndpoint });
    }
    case 'console':
      return new ConsoleSpanExporter();
    case 'waterfall':
      return new WaterfallSpanExporter();
    case 'none':
      return undefined;
  }
}

function propagatorOf(given: PropagatorName[] | undefined): TextMapPropagator | undefined {
  const fromEnvironment = given === undefined;
  const names = fromEnvironment ? listFromEnvironment('OTEL_PROPAGATORS', ['tracecontext', 'baggage']) : given;
  const propagators: TextMapPropagator[] = [];
  for (const name of names) {
    if (!PROPAGATOR_NAMES.includes(name as PropagatorName)) {
      const message = TracingMessages.unknownSdkValue('the propagator', name, PROPAGATOR_NAMES);
      if (!fromEnvironment) {
        throw TracingError.create(message);
      }
      diag.warn(message);
      continue;
    }
    const propagator = namedPropagator(name as PropagatorName);
    if (propagator !== undefined) {
      propagators.push(propagator);
    }
  }
  return propagators.length === 0 ? undefined : new CompositePropagator({ propagators });
}

function namedPropagator(name: PropagatorName): TextMapPropagator | undefined {
  switch (name) {
    case 'tracecontext':
      return new W3CTraceContextPropagator();
    case 'baggage':
      return new W3CBaggagePropagator();
    case 'b3':
    case 'b3multi': {
      const { B3Propagator, B3InjectEncoding } = loadOptional<typeof import('@opentelemetry/propagator-b3')>(
        '@opentelemetry/propagator-b3',
        `use the ${name} propagator`,
      );
      return new B3Propagator({
        injectEncoding: name === 'b3' ? B3InjectEncoding.SINGLE_HEADER : B3InjectEncoding.MULTI_HEADER,
      });
    }
    case 'jaeger': {
      const { JaegerPropagator } = loadOptional<typeof import('@opentelemetry/propagator-jaeger')>(
        '@opentelemetry/propagator-jaeger',
        'use the jaeger propagator',
      );
      return new JaegerPropagator();
    }
    case 'none':
      return undefined;
  }
}

/** A comma-separated environment variable as a list of lower-cased names, or `fallback` when unset or empty. */
function listFromEnvironment(variable: string, fallback: string[]): string[] {
  const names = (process.env[variable] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  return names.length === 0 ? fallback : names;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** How long shutting down waits for the queued spans to be exported. */
const SHUTDOWN_TIMEOUT_MS = 3000;

/** A promise that resolves after `ms`, without keeping the process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Flushes on SIGTERM / SIGINT once nothing else handles the signal: while another
 * listener is there (Nest's `enableShutdownHooks()` closing the app, whose last spans
 * still count), it waits; Nest raises the signal again once closed, and then the spans
 * are flushed (for at most 3 s) and the signal raised once more, which ends the process
 * as it would have ended without tracing. Returns what removes the listeners.
 */
function flushOnSignals(handle: TracingHandle): () => void {
  const listeners = SIGNALS.map((signal) => {
    const listener = (): void => {
      if (process.listenerCount(signal) > 1) {
        return;
      }
      process.removeListener(signal, listener);
      void handle.shutdown().finally(() => {
        if (process.listenerCount(signal) === 0) {
          process.kill(process.pid, signal);
        }
      });
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) {
      process.removeListener(signal, listener);
    }
  };
}
