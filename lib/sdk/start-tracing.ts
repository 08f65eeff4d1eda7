import { context, propagation, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { registerContextAndPropagation } from './register-context';

/** Options of `startTracing()`. */
export interface StartTracingOptions {
  /**
   * The `service.name` resource attribute.
   * Default: `OTEL_SERVICE_NAME`, else the SDK's `unknown_service:<process>`.
   */
  serviceName?: string;
  /**
   * Where finished spans go: `'console'` prints each one, `'none'` drops them, or any
   * OpenTelemetry `SpanExporter`.
   * Default: `'console'`.
   */
  exporter?: 'console' | 'none' | SpanExporter;
}

/** What `startTracing()` returns. */
export interface TracingHandle {
  /** Exports the spans still queued, then stops tracing. */
  shutdown(): Promise<void>;
}

/**
 * Starts an OpenTelemetry tracer provider for the whole process: AsyncLocalStorage
 * context, W3C trace-context and baggage propagation, a batch span processor. Call
 * it first thing in `main.ts`, before the application module is imported.
 */
export function startTracing(options: StartTracingOptions = {}): TracingHandle {
  const serviceName = options.serviceName ?? process.env.OTEL_SERVICE_NAME;
  const exporter = options.exporter ?? 'console';
  const provider = new BasicTracerProvider({
    resource: serviceName ? resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }) : undefined,
    spanProcessors:
      exporter === 'none'
        ? []
        : [new BatchSpanProcessor(exporter === 'console' ? new ConsoleSpanExporter() : exporter)],
  });
  registerContextAndPropagation();
  trace.setGlobalTracerProvider(provider);
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
