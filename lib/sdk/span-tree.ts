import type { HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** Finished spans arranged by parent, each level in start order. */
export interface SpanTree {
  /** Spans whose parent is not among them (a remote caller's, or one not ended yet). */
  readonly roots: readonly ReadableSpan[];
  /** The children of a span, in start order. */
  childrenOf(span: ReadableSpan): readonly ReadableSpan[];
}

/** @internal Arranges finished spans by parent: shared by the waterfall and the testing kit's tree. */
export function spanTree(spans: readonly ReadableSpan[]): SpanTree {
  const byStart = [...spans].sort((a, b) => toMs(a.startTime) - toMs(b.startTime));
  const ids = new Set(byStart.map((span) => span.spanContext().spanId));
  const children = new Map<string, ReadableSpan[]>();
  const roots: ReadableSpan[] = [];
  for (const span of byStart) {
    const parentId = span.parentSpanContext?.spanId;
    if (parentId !== undefined && ids.has(parentId)) {
      const siblings = children.get(parentId);
      if (siblings === undefined) {
        children.set(parentId, [span]);
      } else {
        siblings.push(span);
      }
    } else {
      roots.push(span);
    }
  }
  return { roots, childrenOf: (span) => children.get(span.spanContext().spanId) ?? [] };
}

/** An `HrTime` in milliseconds. */
export function toMs([seconds, nanos]: HrTime): number {
  return seconds * 1e3 + nanos / 1e6;
}
