import { ConsoleLogger, type ConsoleLoggerOptions, type LogLevel } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { format } from 'node:util';
import { traceLogFields } from './trace-log-fields';

/** Options of `TracingLogger`: Nest's `ConsoleLogger` options, and one of its own. */
export interface TracingLoggerOptions extends ConsoleLoggerOptions {
  /**
   * Also record each line logged inside a traced request as a `log` event on the
   * active span (attributes `log.level`, `log.message`, `log.context`), so the trace
   * carries the request's log.
   * Default: `false`.
   */
  spanEvents?: boolean;
}

/**
 * Nest's `ConsoleLogger` with the trace: each line logged while a span is active
 * carries `trace_id` and `span_id` (after the context in text mode, as fields with
 * `trace_flags` in JSON mode), so a log line leads to its trace and back.
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule, { logger: new TracingLogger({ json: true }) });
 * // {"level":"log","pid":1,"timestamp":…,"message":"order placed","context":"OrdersService",
 * //  "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","trace_flags":"01"}
 * ```
 */
export class TracingLogger extends ConsoleLogger {
  private readonly spanEvents: boolean;

  constructor(context?: string, options?: TracingLoggerOptions);
  constructor(options?: TracingLoggerOptions);
  constructor(contextOrOptions?: string | TracingLoggerOptions, maybeOptions?: TracingLoggerOptions) {
    // As ConsoleLogger reads them: `(context, options)`, `(options)` or `(undefined, options)`.
    const options = typeof contextOrOptions === 'string' ? maybeOptions : (maybeOptions ?? contextOrOptions);
    const { spanEvents = false, ...consoleOptions } = options ?? {};
    if (typeof contextOrOptions === 'string') {
      super(contextOrOptions, consoleOptions);
    } else {
      super(consoleOptions);
    }
    this.spanEvents = spanEvents;
  }

  protected override printMessages(
    messages: unknown[],
    context = '',
    logLevel: LogLevel = 'log',
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    if (this.spanEvents) {
      const span = trace.getActiveSpan();
      if (span?.isRecording() === true) {
        for (const message of messages) {
          span.addEvent('log', {
            'log.level': logLevel,
            'log.message': typeof message === 'string' ? message : format('%o', message),
            ...(context === '' ? {} : { 'log.context': context }),
          });
        }
      }
    }
    super.printMessages(messages, context, logLevel, writeStreamType, errorStack);
  }

  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
    timestampDiff: string,
  ): string {
    const fields = traceLogFields();
    const traceMessage = 'trace_id' in fields ? `trace_id=${fields.trace_id} span_id=${fields.span_id} ` : '';
    return super.formatMessage(
      logLevel,
      message,
      pidMessage,
      formattedLogLevel,
      contextMessage + traceMessage,
      timestampDiff,
    );
  }

  protected override getJsonLogObject(
    message: unknown,
    options: { context: string; logLevel: LogLevel; writeStreamType?: 'stdout' | 'stderr'; errorStack?: unknown },
  ): ReturnType<ConsoleLogger['getJsonLogObject']> {
    return { ...super.getJsonLogObject(message, options), ...traceLogFields() };
  }
}
