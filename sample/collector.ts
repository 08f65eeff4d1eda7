import { SpanStatusCode, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { renderWaterfall } from 'nestjs-tracing/sdk';
import { createServer } from 'node:http';

/** A span as the Zipkin v2 JSON API carries it. */
interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  timestamp: number;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

/**
 * The sample's collector: a Zipkin v2 receiver on loopback that keeps the spans the
 * services send, to draw each trace as one waterfall across services.
 */
export class Collector {
  private readonly spans: ZipkinSpan[] = [];
  private readonly server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.spans.push(...(JSON.parse(Buffer.concat(chunks).toString()) as ZipkinSpan[]));
      response.writeHead(202).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/v2/spans`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Each trace received, as a waterfall, in the order the traces started. */
  waterfalls(colors: boolean): string[] {
    const traces = new Map<string, ZipkinSpan[]>();
    for (const span of [...this.spans].sort((a, b) => a.timestamp - b.timestamp)) {
      traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
    }
    return [...traces.values()].map((spans) => renderWaterfall(spans.map(toReadableSpan), { colors, barWidth: 32 }));
  }
}

const hrTime = (microseconds: number): HrTime => [Math.floor(microseconds / 1e6), (microseconds % 1e6) * 1e3];

/** What `renderWaterfall` reads of a span, from a Zipkin span. */
function toReadableSpan(span: ZipkinSpan): ReadableSpan {
  const context = (spanId: string): SpanContext => ({ traceId: span.traceId, spanId, traceFlags: 1 });
  const duration = span.duration ?? 0;
  const failed = span.tags?.['otel.status_code'] === 'ERROR';
  return {
    name: span.name,
    spanContext: () => context(span.id),
    parentSpanContext: span.parentId === undefined ? undefined : context(span.parentId),
    startTime: hrTime(span.timestamp),
    endTime: hrTime(span.timestamp + duration),
    duration: hrTime(duration),
    status: failed ? { code: SpanStatusCode.ERROR, message: span.tags?.error } : { code: SpanStatusCode.UNSET },
    resource: { attributes: { 'service.name': span.localEndpoint?.serviceName } },
  } as unknown as ReadableSpan;
}
