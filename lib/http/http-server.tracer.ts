import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  context as contextApi,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { IncomingMessage } from 'node:http';
import { extractRemote, getTracer, reportOnce, runHook, suppressTracing, tracingState } from '../core';
import { TRACING_OPTIONS } from '../tracing.constants';
import { TracingMessages } from '../tracing.messages';
import type { ResolvedTracingOptions } from '../tracing.options';
import type { HttpRequest, ResolvedHttpTracingOptions } from './http-tracing.options';
import { requestAttributes, requestTarget } from './request-attributes';
import {
  rawRequest,
  rawResponse,
  RequestTrace,
  requestTraceOf,
  setRequestTrace,
  type RawResponse,
} from './request-trace';
import { instrumentRouter, traceRoutes } from './route-tracing';

/** Marks this package's request hook, so that it is chained once. */
const TRACING_HOOK = Symbol('nestjs-tracing.request-hook');

/** Nest's request hook: `(req, res, done)`, called before any middleware. */
type RequestHook = ((request: object, response: object, done: () => void) => unknown) & {
  [TRACING_HOOK]?: true;
};

/** The hook slot of Nest's Express and Fastify adapters (Nest >= 11.1.4). */
interface HookableAdapter {
  setOnRequestHook?: (hook: RequestHook) => void;
  onRequestHook?: RequestHook;
}

/**
 * @internal Starts the SERVER span of every HTTP request from Nest's adapter request
 * hook, before middleware, guards, interceptors, pipes and filters, and ends it when
 * the response closes.
 */
@Injectable()
export class HttpServerTracer implements OnModuleInit {
  private readonly logger = new Logger('TracingModule');
  private readonly options: ResolvedHttpTracingOptions;
  /** Whether the options that cannot apply to an adopted span were reported. */
  private adoptionReported = false;

  constructor(
    @Inject(TRACING_OPTIONS) options: ResolvedTracingOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.options = options.http;
    if (this.options.enabled) {
      instrumentRouter();
    }
  }

  /**
   * Chains to Nest's request hook. Done here rather than in the constructor because
   * an app built with `Test.createTestingModule()` gets its adapter only after its
   * providers are built; the hook is read per request, so it is in time.
   */
  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter as HookableAdapter | undefined;
    if (!this.options.enabled || adapter === undefined || adapter === null) {
      return;
    }
    traceRoutes(adapter, (request, response) => this.traceOf(request, response));
    if (typeof adapter.setOnRequestHook !== 'function') {
      this.logger.warn(TracingMessages.noRequestHook());
      return;
    }
    const previous = adapter.onRequestHook;
    if (previous?.[TRACING_HOOK] === true) {
      return;
    }
    const hook: RequestHook = (request, response, done) => {
      const next = previous === undefined ? done : () => previous.call(adapter, request, response, done);
      const requestContext = tracingState.enabled ? this.start(request, response) : undefined;
      return requestContext === undefined ? next() : contextApi.with(requestContext, next);
    };
    hook[TRACING_HOOK] = true;
    adapter.setOnRequestHook(hook);
  }

  /**
   * The trace of a request, or, when Nest's request hook did not run for it (an
   * adapter without one), a trace started now. `undefined` when it is left untraced.
   */
  traceOf(adapterRequest: object, adapterResponse: object): RequestTrace | undefined {
    const request = rawRequest(adapterRequest);
    if (request === undefined || !this.options.enabled) {
      return undefined;
    }
    const found = requestTraceOf(adapterRequest, request);
    if (found !== undefined) {
      return found ?? undefined;
    }
    this.start(adapterRequest, adapterResponse);
    return requestTraceOf(adapterRequest, request) ?? undefined;
  }

  /**
   * Starts the trace of a request; returns the context to run it in, or `undefined`
   * to run it as is. Never throws: a request is never failed by its tracing.
   */
  private start(adapterRequest: object, adapterResponse: object): Context | undefined {
    const request = rawRequest(adapterRequest);
    const response = rawResponse(adapterResponse);
    if (request === undefined || response === undefined) {
      return undefined;
    }
    try {
      return this.startTrace(adapterRequest, adapterResponse, request, response);
    } catch (error) {
      reportOnce('http.start', TracingMessages.requestTracingFailed(), error);
      setRequestTrace(adapterRequest, request, null);
      return undefined;
    }
  }

  private startTrace(
    adapterRequest: object,
    adapterResponse: object,
    request: HttpRequest,
    response: RawResponse,
  ): Context {
    const options = this.options;
    const target = requestTarget(request);
    const ignore = options.ignore;
    if (ignore !== undefined && runHook('http.ignore', () => ignore(target.path, request)) === true) {
      setRequestTrace(adapterRequest, request, null);
      return suppressTracing(contextApi.active());
    }
    const active = contextApi.active();
    const activeSpan = trace.getSpan(active);
    let span: Span;
    let requestContext: Context;
    const owned = activeSpan === undefined || !isServerSpan(activeSpan);
    if (owned) {
      const trusted = this.trusts(request);
      const parent = trusted ? extractRemote(active, request.headers) : active;
      const link = trusted ? undefined : callerLink(request);
      span = getTracer().startSpan(
        target.spanNamePrefix,
        {
          kind: SpanKind.SERVER,
          attributes: requestAttributes(request, target, options),
          root: !trusted,
          links: link === undefined ? undefined : [link],
        },
        parent,
      );
      requestContext = trace.setSpan(parent, span);
    } else {
      // `instrumentation-http` already made this request's SERVER span: adopt it.
      this.reportAdoption();
      span = activeSpan;
      requestContext = active;
    }
    const requestTrace = new RequestTrace(
      span,
      requestContext,
      owned,
      target.spanNamePrefix,
      adapterRequest,
      adapterResponse,
      request,
      response,
      options,
    );
    setRequestTrace(adapterRequest, request, requestTrace);
    // First in line, so an adopted span gets its name and attributes before
    // `instrumentation-http`'s own `close` listener ends it.
    response.prependListener('close', requestTrace.onResponseClose);
    if (request instanceof IncomingMessage) {
      requestTrace.watchConnection(request.socket);
    }
    if (owned && span.isRecording() && options.requestHook !== undefined) {
      const requestHook = options.requestHook;
      runHook('http.requestHook', () => requestHook(span, request));
    }
    if (options.responseHeader !== undefined && !response.headersSent) {
      const spanContext = span.spanContext();
      if (trace.isSpanContextValid(spanContext)) {
        setResponseHeader(
          adapterResponse,
          response,
          options.responseHeader,
          traceResponse(spanContext.traceId, spanContext.spanId, spanContext.traceFlags),
        );
      }
    }
    return requestContext;
  }

  /** Says once that the options which shape a span this module starts do not reach an adopted one. */
  private reportAdoption(): void {
    if (this.adoptionReported) {
      return;
    }
    this.adoptionReported = true;
    const options = this.options;
    const inert = [
      options.ignore === undefined ? undefined : 'ignore',
      options.trustIncomingContext === true ? undefined : 'trustIncomingContext',
      options.requestHook === undefined ? undefined : 'requestHook',
      options.requestHeaders.length === 0 ? undefined : 'requestHeaders',
    ].filter((option) => option !== undefined);
    if (inert.length > 0) {
      this.logger.warn(TracingMessages.adoptedSpanOptions(inert));
    }
  }

  private trusts(request: HttpRequest): boolean {
    const trust = this.options.trustIncomingContext;
    return typeof trust === 'boolean' ? trust : runHook('http.trustIncomingContext', () => trust(request)) === true;
  }
}

/** A link to the context the caller sent, for a request that does not join it. */
function callerLink(request: HttpRequest): Link | undefined {
  const callerContext = trace.getSpanContext(extractRemote(ROOT_CONTEXT, request.headers));
  return callerContext !== undefined && trace.isSpanContextValid(callerContext)
    ? { context: callerContext }
    : undefined;
}

/** Whether a span is a SERVER span: the SDK's spans expose their kind. */
function isServerSpan(span: Span): boolean {
  return span.isRecording() && (span as Partial<{ kind: SpanKind }>).kind === SpanKind.SERVER;
}

/**
 * Sets a response header through Fastify's reply when there is one: Fastify writes
 * its reply's headers in one `writeHead()`, and a header already set on Node's
 * response would send it down Node's slower merging path.
 */
function setResponseHeader(adapterResponse: object, response: RawResponse, name: string, value: string): void {
  const header = (adapterResponse as { header?: unknown }).header;
  if (adapterResponse !== response && typeof header === 'function') {
    header.call(adapterResponse, name, value);
  } else {
    response.setHeader(name, value);
  }
}

/** The W3C Trace Context Level 2 `traceresponse` value. */
function traceResponse(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
