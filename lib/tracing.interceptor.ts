import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { context as contextApi } from '@opentelemetry/api';
import { tap, type Observable } from 'rxjs';
import { ATTR_CODE_FUNCTION_NAME } from '@opentelemetry/semantic-conventions';
import { NestAttributes, runInSpan, tracingState } from './core';
import { autoInstrumentState, isTracedFunction, NOT_INSTRUMENTED } from './explorer';
import { HttpServerTracer } from './http';
import { messageTraceIn } from './microservices';

/**
 * Ties the span of an HTTP request or a microservice message to the handler Nest
 * chose. For HTTP it names the request's SERVER span from
 * the matched route (`GET /users/:id`), adds `nestjs.controller` and `nestjs.handler`,
 * runs the handler in the span's context (so `@CurrentSpan()` and
 * `TracingService.getActiveSpan()` return it) and records an exception the handler
 * throws. The span itself ends when the response closes, so a streamed answer (SSE,
 * `StreamableFile`) is covered to its last byte or to the client's disconnect. For a
 * message it adds `nestjs.controller` / `nestjs.handler` to the message's span and
 * records an exception the handler throws (an `RpcException` included).
 *
 * `TracingModule` registers it globally; it can also be applied with
 * `@UseInterceptors(TracingInterceptor)` (it never acts twice on one request).
 */
@Injectable()
export class TracingInterceptor implements NestInterceptor {
  /** The explorer leaves it alone when `autoInstrument.interceptors` is on. */
  static readonly [NOT_INSTRUMENTED] = true;

  constructor(private readonly tracer: HttpServerTracer) {}

  intercept(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!tracingState.enabled) {
      return next.handle();
    }
    switch (executionContext.getType()) {
      case 'http':
        return this.interceptRequest(executionContext, next);
      case 'rpc':
        return this.interceptMessage(executionContext, next);
      default:
        return next.handle();
    }
  }

  /** An HTTP handler: names the request's span after it, runs it in that span, records what it throws. */
  private interceptRequest(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = executionContext.switchToHttp();
    const requestTrace = this.tracer.traceOf(http.getRequest<object>(), http.getResponse<object>());
    if (requestTrace === undefined) {
      return this.handle(executionContext, next);
    }
    if (!requestTrace.enterHandler(executionContext.getClass().name, executionContext.getHandler().name)) {
      return next.handle();
    }
    // Nest binds the rest of the pipeline to the context `handle()` is called in.
    const handled = contextApi.with(requestTrace.context, () => this.handle(executionContext, next));
    return requestTrace.span.isRecording()
      ? handled.pipe(tap({ error: (error: unknown) => requestTrace.recordError(error) }))
      : handled;
  }

  /** A microservice handler: names its message's span after it and records what it throws. */
  private interceptMessage(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const messageTrace = messageTraceIn(contextApi.active());
    if (messageTrace === undefined) {
      return this.handle(executionContext, next);
    }
    if (!messageTrace.enterHandler(executionContext.getClass().name, executionContext.getHandler().name)) {
      return next.handle();
    }
    const handled = this.handle(executionContext, next);
    return messageTrace.span.isRecording()
      ? handled.pipe(tap({ error: (error: unknown) => messageTrace.recordError(error) }))
      : handled;
  }

  /**
   * The rest of the pipeline (pipes and the handler), in a child span named after the
   * handler when `autoInstrument.handlers` is on and the handler is not `@Traced()`.
   */
  private handle(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = executionContext.getHandler();
    if (!autoInstrumentState.handler || isTracedFunction(handler)) {
      return next.handle();
    }
    const className = executionContext.getClass().name;
    const name = `${className}.${handler.name}`;
    return runInSpan(
      name,
      {
        attributes: {
          [ATTR_CODE_FUNCTION_NAME]: name,
          [NestAttributes.CLASS]: className,
          [NestAttributes.TYPE]: 'handler',
        },
      },
      () => next.handle(),
    );
  }
}

/** @internal What the global interceptor is when HTTP tracing is off. */
export const PASS_THROUGH_INTERCEPTOR: NestInterceptor & { [NOT_INSTRUMENTED]: true } = {
  [NOT_INSTRUMENTED]: true,
  intercept: (_executionContext, next) => next.handle(),
};
