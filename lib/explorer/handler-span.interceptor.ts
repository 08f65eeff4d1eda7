import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { ATTR_CODE_FUNCTION_NAME } from '@opentelemetry/semantic-conventions';
import type { Observable } from 'rxjs';
import { NestAttributes, runInSpan, tracingState } from '../core';
import { autoInstrumentState, isTracedFunction } from './instrument-method';
import { NOT_INSTRUMENTED } from './tracing.explorer';

/**
 * @internal The span of a handler (`UsersController.find`), a child of its request's
 * or message's span, for `autoInstrument.handlers`. A global interceptor, so the
 * span also covers the route's own interceptors and its pipes. Registered only when
 * that option is on: any interceptor makes Nest build an rxjs pipeline per request.
 */
@Injectable()
export class HandlerSpanInterceptor implements NestInterceptor {
  /** The explorer leaves it alone when `autoInstrument.interceptors` is on. */
  static readonly [NOT_INSTRUMENTED] = true;

  intercept(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = executionContext.getHandler();
    if (!tracingState.enabled || !autoInstrumentState.handler || isTracedFunction(handler)) {
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
