import { context as contextApi } from '@opentelemetry/api';
import { reportOnce, requireOptional, tracingState, wrapMethod } from '../core';
import { TracingMessages } from '../tracing.messages';
import { rawRequest, requestTraceOf, type RequestTrace } from './request-trace';

/** The function Nest makes for one route: guards, interceptors, pipes, the handler and the answer. */
type Route = (this: unknown, request: object, response: object, next: unknown) => Promise<unknown>;

type CreateRoute = (
  this: { applicationRef?: object },
  instance: object,
  callback: (...args: unknown[]) => unknown,
  methodName: string,
  ...rest: unknown[]
) => Route;

/** What an exception handler is given: Nest's `ArgumentsHost`, `[request, response, next]` for HTTP. */
type ExceptionsHandlerNext = (
  this: unknown,
  exception: unknown,
  host: { getArgByIndex?(index: number): unknown },
) => void;

/** Finds or starts the trace of a request of one HTTP adapter. */
export type RequestTraceFinder = (adapterRequest: object, adapterResponse: object) => RequestTrace | undefined;

/** The HTTP adapters whose requests are traced, each with the tracer of its app. */
const finders = new WeakMap<object, RequestTraceFinder>();

/**
 * @internal Traces the routes of an app's HTTP adapter: each request reaching a
 * route is tied to its handler (the span is named after the route, `nestjs.controller`
 * and `nestjs.handler` are set), runs the route (guards, interceptors, pipes, the
 * handler) in the request's context, and any exception Nest's exception handler gets
 * for it is recorded. Done by wrapping Nest's `RouterExecutionContext.prototype.create`
 * and `ExceptionsHandler.prototype.next` once per process, which costs a request
 * nothing more than a function call: a global interceptor would make Nest build an
 * rxjs pipeline for every request.
 */
export function traceRoutes(adapter: object, findTrace: RequestTraceFinder): void {
  finders.set(adapter, findTrace);
}

/** Wraps Nest's route factory and exception handler; once per process, before routes are made. */
export function instrumentRouter(): void {
  const router = requireOptional<{ RouterExecutionContext?: { prototype: object } }>(
    '@nestjs/core/router/router-execution-context',
  );
  const exceptions = requireOptional<{ ExceptionsHandler?: { prototype: object } }>(
    '@nestjs/core/exceptions/exceptions-handler',
  );
  if (router?.RouterExecutionContext === undefined || exceptions?.ExceptionsHandler === undefined) {
    reportOnce('http.router', TracingMessages.routerNotFound(), undefined);
    return;
  }
  wrapMethod(router.RouterExecutionContext.prototype, 'create', tracedCreateRoute);
  wrapMethod(exceptions.ExceptionsHandler.prototype, 'next', tracedExceptionsHandlerNext);
}

function tracedCreateRoute(create: CreateRoute): CreateRoute {
  return function (this: { applicationRef?: object }, instance, callback, methodName, ...rest) {
    const route = create.call(this, instance, callback, methodName, ...rest);
    const adapter = this.applicationRef;
    // Named once per route (a request-scoped controller's route is made per request).
    const controller = (instance as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
    const handler = typeof methodName === 'string' ? methodName : callback.name;
    return function tracedRoute(this: unknown, request: object, response: object, next: unknown): Promise<unknown> {
      const requestTrace = enteredTrace(adapter, request, response, controller, handler);
      if (requestTrace === undefined) {
        return route.call(this, request, response, next);
      }
      // A body parser's callbacks run outside the request's context: bring the rest back into it.
      return contextApi.active() === requestTrace.context
        ? route.call(this, request, response, next)
        : contextApi.with(requestTrace.context, route, this, request, response, next);
    };
  };
}

/**
 * The trace of a request reaching the route `controller.handler`, once it is tied to
 * it; `undefined` when the request is untraced (or its tracing failed: the request
 * goes on untraced).
 */
function enteredTrace(
  adapter: object | undefined,
  request: object,
  response: object,
  controller: string,
  handler: string,
): RequestTrace | undefined {
  const findTrace = tracingState.enabled && adapter !== undefined ? finders.get(adapter) : undefined;
  if (findTrace === undefined) {
    return undefined;
  }
  try {
    const requestTrace = findTrace(request, response);
    return requestTrace?.enterHandler(controller, handler) === true ? requestTrace : undefined;
  } catch (error) {
    reportOnce('http.route', TracingMessages.tracingStepFailed('tie an HTTP request to its route'), error);
    return undefined;
  }
}

function tracedExceptionsHandlerNext(next: ExceptionsHandlerNext): ExceptionsHandlerNext {
  return function (this: unknown, exception, host) {
    const request = typeof host?.getArgByIndex === 'function' ? host.getArgByIndex(0) : undefined;
    const raw = typeof request === 'object' && request !== null ? rawRequest(request) : undefined;
    if (raw !== undefined) {
      try {
        requestTraceOf(request as object, raw)?.recordError(exception);
      } catch (error) {
        reportOnce('http.recordError', TracingMessages.tracingStepFailed("record an HTTP request's exception"), error);
      }
    }
    return next.call(this, exception, host);
  };
}
