import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { registerContextAndPropagation } from '../sdk/register-context';
import { TracingError } from '../tracing.error';
import { TracingMessages } from '../tracing.messages';
import { renderSpanTree } from './render-span-tree';

/** Options of `setupTestTracing()`. */
export interface TestTracingOptions {
  /**
   * More span processors to register after the in-memory one, e.g. one that counts
   * started and ended spans.
   * Default: none.
   */
  spanProcessors?: SpanProcessor[];
}

/** What a span is expected to be; every field given is checked, the rest ignored. */
export interface ExpectedSpan {
  /** The span kind. */
  kind?: SpanKind;
  /** The status code (UNSET, OK or ERROR). */
  status?: SpanStatusCode;
  /** The parent: a finished span, a span name, or `null` for a span with no parent. */
  parent?: ReadableSpan | string | null;
  /** Attributes the span must have, with these values (others may be present). */
  attributes?: Attributes;
}

/** A span matcher: a name, a RegExp on the name, or a predicate. */
export type SpanMatcher = string | RegExp | ((span: ReadableSpan) => boolean);

/** The in-memory tracing of a test suite, from `setupTestTracing()`. */
export interface TestTracing {
  /** The exporter every finished span goes to. */
  readonly exporter: InMemorySpanExporter;
  /** The spans finished since setup or the last `reset()`, in the order they ended. */
  getFinishedSpans(): ReadableSpan[];
  /** The first finished span that matches, or `undefined`. */
  findSpan(matcher: SpanMatcher): ReadableSpan | undefined;
  /**
   * The one finished span that matches and meets `expected`; throws an error that
   * shows the span tree when there is no such span or more than one.
   */
  expectSpan(matcher: SpanMatcher, expected?: ExpectedSpan): ReadableSpan;
  /**
   * Waits until at least `count` spans match (for spans that end after the test's
   * request returned, like a server span ending after the response). Rejects with
   * the span tree after `timeoutMs` (default 2000).
   */
  waitForSpans(matcher: SpanMatcher, count?: number, timeoutMs?: number): Promise<ReadableSpan[]>;
  /** Forgets the finished spans. Call it in `beforeEach`. */
  reset(): void;
  /** The finished spans as an indented tree per trace: name, kind, status, duration. */
  renderTree(): string;
  /** Shuts the provider down and unregisters the globals, so another suite can set up again. */
  shutdown(): Promise<void>;
}

let active: TestTracing | undefined;

/**
 * Registers in-memory tracing globally: a tracer provider whose spans go through a
 * synchronous processor to an in-memory exporter, the AsyncLocalStorage context
 * manager, and the W3C trace-context and baggage propagators. Call it before the
 * Nest application is created and `shutdown()` after it is closed.
 *
 * @example
 * ```ts
 * const tracing = setupTestTracing();
 * afterEach(() => tracing.reset());
 * afterAll(() => tracing.shutdown());
 * ```
 */
export function setupTestTracing(options: TestTracingOptions = {}): TestTracing {
  if (active !== undefined) {
    throw TracingError.create(TracingMessages.testTracingActive());
  }
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), ...(options.spanProcessors ?? [])],
  });
  trace.disable();
  context.disable();
  propagation.disable();
  trace.setGlobalTracerProvider(provider);
  registerContextAndPropagation();

  const getFinishedSpans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const filter = (matcher: SpanMatcher): ReadableSpan[] => getFinishedSpans().filter(toPredicate(matcher));
  const renderTree = (): string => renderSpanTree(getFinishedSpans());
  const fail = (message: string): never => {
    throw new Error(`${message}\nFinished spans:\n${renderTree()}`);
  };

  const tracing: TestTracing = {
    exporter,
    getFinishedSpans,
    findSpan: (matcher) => getFinishedSpans().find(toPredicate(matcher)),
    expectSpan(matcher, expected = {}) {
      const matches = filter(matcher);
      if (matches.length !== 1) {
        fail(`Expected one span matching ${String(matcher)}, found ${matches.length}.`);
      }
      const span = matches[0];
      const problems = compare(span, expected, getFinishedSpans());
      if (problems.length > 0) {
        fail(`Span "${span.name}" does not match:\n- ${problems.join('\n- ')}`);
      }
      return span;
    },
    async waitForSpans(matcher, count = 1, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matches = filter(matcher);
        if (matches.length >= count) {
          return matches;
        }
        if (Date.now() > deadline) {
          return fail(`Timed out after ${timeoutMs}ms waiting for ${count} span(s) matching ${String(matcher)}.`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    reset: () => exporter.reset(),
    renderTree,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
      if (active === tracing) {
        active = undefined;
      }
    },
  };
  active = tracing;
  return tracing;
}

function toPredicate(matcher: SpanMatcher): (span: ReadableSpan) => boolean {
  if (typeof matcher === 'string') {
    return (span) => span.name === matcher;
  }
  if (matcher instanceof RegExp) {
    return (span) => matcher.test(span.name);
  }
  return matcher;
}

function compare(span: ReadableSpan, expected: ExpectedSpan, all: ReadableSpan[]): string[] {
  const problems: string[] = [];
  if (expected.kind !== undefined && span.kind !== expected.kind) {
    problems.push(`kind is ${SpanKind[span.kind]}, expected ${SpanKind[expected.kind]}`);
  }
  if (expected.status !== undefined && span.status.code !== expected.status) {
    problems.push(`status is ${SpanStatusCode[span.status.code]}, expected ${SpanStatusCode[expected.status]}`);
  }
  if (expected.parent !== undefined) {
    const parentId = span.parentSpanContext?.spanId;
    const parent = all.find((candidate) => candidate.spanContext().spanId === parentId);
    if (expected.parent === null) {
      if (parentId !== undefined) {
        problems.push(`has parent ${parent?.name ?? parentId}, expected none`);
      }
    } else {
      const ok =
        typeof expected.parent === 'string'
          ? parent?.name === expected.parent
          : parentId === expected.parent.spanContext().spanId;
      if (!ok) {
        const wanted = typeof expected.parent === 'string' ? expected.parent : expected.parent.name;
        problems.push(`parent is ${parent?.name ?? parentId ?? 'none'}, expected ${wanted}`);
      }
    }
  }
  for (const [key, value] of Object.entries(expected.attributes ?? {})) {
    if (!sameValue(span.attributes[key], value)) {
      problems.push(`attribute ${key} is ${JSON.stringify(span.attributes[key])}, expected ${JSON.stringify(value)}`);
    }
  }
  return problems;
}

function sameValue(actual: AttributeValue | undefined, expected: AttributeValue | undefined): boolean {
  return JSON.stringify(actual) === JSON.stringify(expected);
}
