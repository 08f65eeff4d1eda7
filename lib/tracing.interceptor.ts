import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { context as contextApi } from '@opentelemetry/api';
import { tap, type Observable } from 'rxjs';
import { tracingState } from './core';
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
  constructor(private readonly tracer: HttpServerTracer) {}

  intercept(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!tracingState.enabled) {
      return next.handle();
    }
    const type = executionContext.getType();
    if (type === 'rpc') {
      return this.interceptMessage(executionContext, next);
    }
    if (type !== 'http') {
      return next.handle();
    }
    const http = executionContext.switchToHttp();
    const requestTrace = this.tracer.traceOf(http.getRequest<object>(), http.getResponse<object>());
    if (
      requestTrace === undefined ||
      !requestTrace.enterHandler(executionContext.getClass().name, executionContext.getHandler().name)
    ) {
      return next.handle();
    }
    // Nest binds the rest of the pipeline to the context `handle()` is called in.
    const handled = contextApi.with(requestTrace.context, next.handle, next);
    return requestTrace.span.isRecording()
      ? handled.pipe(tap({ error: (error: unknown) => requestTrace.recordError(error) }))
      : handled;
  }

  /** A microservice handler: names its message's span after it and records what it throws. */
  private interceptMessage(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const messageTrace = messageTraceIn(contextApi.active());
    if (
      messageTrace === undefined ||
      !messageTrace.enterHandler(executionContext.getClass().name, executionContext.getHandler().name)
    ) {
      return next.handle();
    }
    return messageTrace.span.isRecording()
      ? next.handle().pipe(tap({ error: (error: unknown) => messageTrace.recordError(error) }))
      : next.handle();
  }
}

/** @internal What the global interceptor is when HTTP tracing is off. */
export const PASS_THROUGH_INTERCEPTOR: NestInterceptor = {
  intercept: (_executionContext, next) => next.handle(),
};
