import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { spanTree, toMs } from './span-tree';

/** How `renderWaterfall()` draws. */
export interface WaterfallStyle {
  /** ANSI colours (errors red, bars cyan, services dim). */
  readonly colors: boolean;
  /** The width of the time bar, in characters. */
  readonly barWidth: number;
}

const ANSI = { red: '\u001b[31m', cyan: '\u001b[36m', dim: '\u001b[2m', bold: '\u001b[1m', reset: '\u001b[0m' };
const MAX_NAME_WIDTH = 60;

/**
 * One trace as a tree with a time bar per span:
 *
 * ```
 * trace 4bf92f3577b34da6a3ce929d0e0e4736  42.1 ms
 * GET /orders/:id          gateway  ██████████████████████████████  42.1 ms
 *   send orders.get        gateway    ████████████████████████      30.2 ms
 *     process orders.get   orders      ██████████████████████       28.0 ms  ERROR no stock
 * ```
 *
 * Spans whose parent is not among `spans` (a remote caller's, or one not ended yet)
 * are drawn as roots.
 */
export function renderWaterfall(spans: readonly ReadableSpan[], style: WaterfallStyle): string {
  if (spans.length === 0) {
    return '';
  }
  const { roots, childrenOf } = spanTree(spans);
  const rows: { span: ReadableSpan; depth: number }[] = [];
  const visit = (span: ReadableSpan, depth: number): void => {
    rows.push({ span, depth });
    for (const child of childrenOf(span)) {
      visit(child, depth + 1);
    }
  };
  roots.forEach((root) => visit(root, 0));

  let start = Infinity;
  let end = -Infinity;
  for (const span of spans) {
    start = Math.min(start, toMs(span.startTime));
    end = Math.max(end, toMs(span.endTime));
  }
  const total = Math.max(end - start, 1e-3);
  const nameWidth = Math.min(
    MAX_NAME_WIDTH,
    rows.reduce((widest, { span, depth }) => Math.max(widest, depth * 2 + span.name.length), 0),
  );
  const services = rows.map(({ span }) => String(span.resource.attributes[ATTR_SERVICE_NAME] ?? ''));
  const serviceWidth = services.reduce((widest, service) => Math.max(widest, service.length), 0);
  const paint = (code: string, text: string) => (style.colors ? `${code}${text}${ANSI.reset}` : text);

  const lines = [paint(ANSI.bold, `trace ${spans[0].spanContext().traceId}  ${formatMs(end - start)}`)];
  rows.forEach(({ span, depth }, index) => {
    const label = `${'  '.repeat(depth)}${span.name}`;
    const name = label.length > nameWidth ? `${label.slice(0, nameWidth - 1)}…` : label.padEnd(nameWidth);
    const offset = Math.min(style.barWidth - 1, Math.floor(((toMs(span.startTime) - start) / total) * style.barWidth));
    const length = Math.max(
      1,
      Math.min(style.barWidth - offset, Math.round((toMs(span.duration) / total) * style.barWidth)),
    );
    const failed = span.status.code === SpanStatusCode.ERROR;
    const bar = `${' '.repeat(offset)}${paint(failed ? ANSI.red : ANSI.cyan, '█'.repeat(length))}${' '.repeat(style.barWidth - offset - length)}`;
    const status = failed ? `  ${paint(ANSI.red, `ERROR ${span.status.message ?? ''}`.trimEnd())}` : '';
    lines.push(
      `${name}  ${paint(ANSI.dim, services[index].padEnd(serviceWidth))}  ${bar}  ${formatMs(toMs(span.duration)).padStart(9)}${status}`,
    );
  });
  return `${lines.join('\n')}\n`;
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}
