// The tracing of load-server.ts, imported first by it so that the SDK starts before
// Nest loads: `startTracing()` with the OTLP exporter when LOAD_OTLP_ENDPOINT names a
// backend, else with an exporter that counts the spans and discards them (the
// baseline). The discarding exporter also keeps a WeakRef to a sample of the spans it
// was handed, so that the tests can check that none outlives its export.
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { startTracing } from '../../lib/sdk';

/** One in this many exported spans is watched with a WeakRef. */
const SAMPLE_EVERY = Number(process.env.LOAD_SAMPLE_EVERY ?? 1000);

/** Counts the spans it is handed, by name, and drops them. */
class DiscardingExporter implements SpanExporter {
  exported = 0;
  readonly byName: Record<string, number> = {};
  readonly sampled: WeakRef<ReadableSpan>[] = [];

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      this.exported++;
      this.byName[span.name] = (this.byName[span.name] ?? 0) + 1;
      if (this.exported % SAMPLE_EVERY === 0) {
        this.sampled.push(new WeakRef(span));
      }
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}
}

export const discarding = new DiscardingExporter();

const backend = process.env.LOAD_OTLP_ENDPOINT;

// LOAD_DIAG=1: the SDK's own diagnostics (export failures, dropped spans) on stderr.
if (process.env.LOAD_DIAG === '1') {
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.INFO);
}

export const tracing = startTracing({
  serviceName: 'load',
  exporter: backend === undefined ? discarding : 'otlp',
  otlpEndpoint: backend,
  sampler: 1,
  propagators: ['tracecontext'],
});
