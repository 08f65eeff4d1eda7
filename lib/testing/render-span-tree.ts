import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { spanTree } from '../sdk/span-tree';

/**
 * Renders finished spans as indented trees, one per trace, children under their
 * parent in start order:
 *
 * ```
 * trace 4bf92f3577b34da6a3ce929d0e0e4736
 *   GET /users/:id [SERVER] UNSET 3.1ms
 *     UsersService.findOne [INTERNAL] ERROR: not found 0.4ms
 * ```
 * A span whose parent was not exported (a remote parent) is shown as a root.
 */
export function renderSpanTree(spans: readonly ReadableSpan[]): string {
  if (spans.length === 0) {
    return '(no finished spans)';
  }
  const { roots, childrenOf } = spanTree(spans);
  const lines: string[] = [];
  const write = (span: ReadableSpan, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${describeSpan(span)}`);
    for (const child of childrenOf(span)) {
      write(child, depth + 1);
    }
  };
  const traces = new Map<string, ReadableSpan[]>();
  for (const root of roots) {
    const traceId = root.spanContext().traceId;
    traces.set(traceId, [...(traces.get(traceId) ?? []), root]);
  }
  for (const [traceId, traceRoots] of traces) {
    lines.push(`trace ${traceId}`);
    for (const root of traceRoots) {
      write(root, 1);
    }
  }
  return lines.join('\n');
}

function describeSpan(span: ReadableSpan): string {
  const status =
    span.status.code === SpanStatusCode.ERROR
      ? `ERROR${span.status.message ? `: ${span.status.message}` : ''}`
      : SpanStatusCode[span.status.code];
  const milliseconds = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(1);
  return `${span.name} [${SpanKind[span.kind]}] ${status} ${milliseconds}ms`;
}
