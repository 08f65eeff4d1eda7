import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { reportOnce } from '../core';
import { TracingMessages } from '../tracing.messages';
import { renderWaterfall } from './render-waterfall';

/** Options of the waterfall exporter. */
export interface WaterfallExporterOptions {
  /**
   * Where each rendered trace goes.
   * Default: standard output.
   */
  write?: (text: string) => void;
  /**
   * ANSI colours.
   * Default: on when standard output is a TTY, unless `NO_COLOR` is set; `FORCE_COLOR` turns them on.
   */
  colors?: boolean;
  /**
   * The width of the time bar, in characters.
   * Default: `30`.
   */
  barWidth?: number;
  /**
   * How long to wait, after a trace's root span ended, for its late spans (an event
   * consumer, another service in the process) before printing it; a trace whose root
   * is elsewhere is printed this long after its last span, times five.
   * Default: `200` ms.
   */
  gracePeriodMs?: number;
}

interface PendingTrace {
  readonly spans: ReadableSpan[];
  timer?: NodeJS.Timeout;
}

/**
 * A span exporter for local development: prints each finished trace once it is
 * complete, as a tree with a time bar per span, its service, duration and status.
 * `startTracing({ exporter: 'waterfall' })` uses it.
 */
export class WaterfallSpanExporter implements SpanExporter {
  private readonly pending = new Map<string, PendingTrace>();
  private readonly write: (text: string) => void;
  private readonly colors: boolean;
  private readonly barWidth: number;
  private readonly gracePeriodMs: number;

  /** Prints what is pending when the process is about to end on its own (the timers do not keep it alive). */
  private readonly printPending = (): void => void this.forceFlush();

  constructor(options: WaterfallExporterOptions = {}) {
    this.write = options.write ?? ((text) => void process.stdout.write(text));
    this.colors = options.colors ?? defaultColors();
    this.barWidth = options.barWidth ?? 30;
    this.gracePeriodMs = options.gracePeriodMs ?? 200;
    process.on('beforeExit', this.printPending);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const touched = new Set<string>();
    for (const span of spans) {
      const traceId = span.spanContext().traceId;
      let pending = this.pending.get(traceId);
      if (pending === undefined) {
        pending = { spans: [] };
        this.pending.set(traceId, pending);
      }
      pending.spans.push(span);
      touched.add(traceId);
    }
    for (const traceId of touched) {
      this.schedule(traceId);
    }
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {
    for (const traceId of [...this.pending.keys()]) {
      this.print(traceId);
    }
  }

  shutdown(): Promise<void> {
    process.removeListener('beforeExit', this.printPending);
    return this.forceFlush();
  }

  private schedule(traceId: string): void {
    const pending = this.pending.get(traceId);
    if (pending === undefined) {
      return;
    }
    clearTimeout(pending.timer);
    const rootEnded = pending.spans.some((span) => span.parentSpanContext === undefined);
    pending.timer = setTimeout(() => this.print(traceId), this.gracePeriodMs * (rootEnded ? 1 : 5));
    // Pending traces never keep the process alive; shutdown() prints them.
    pending.timer.unref();
  }

  private print(traceId: string): void {
    const pending = this.pending.get(traceId);
    if (pending === undefined) {
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(traceId);
    try {
      this.write(renderWaterfall(pending.spans, { colors: this.colors, barWidth: this.barWidth }));
    } catch (error) {
      reportOnce('waterfall', TracingMessages.waterfallFailed(), error);
    }
  }
}

function defaultColors(): boolean {
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') {
    return true;
  }
  return process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
}
