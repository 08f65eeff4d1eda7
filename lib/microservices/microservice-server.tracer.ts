import {
  Inject,
  Injectable,
  Optional,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import {
  context as contextApi,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Attributes,
  type Context,
  type Link,
} from '@opentelemetry/api';
import { ATTR_RPC_METHOD, ATTR_RPC_SYSTEM_NAME, RPC_SYSTEM_NAME_VALUE_GRPC } from '@opentelemetry/semantic-conventions';
import { finalize, isObservable, tap, type Subscription } from 'rxjs';
import { extractRemote, getTracer, NestAttributes, reportOnce, runHook, suppressTracing, tracingState } from '../core';
import { TRACING_OPTIONS } from '../tracing.constants';
import { TracingMessages } from '../tracing.messages';
import type { ResolvedTracingOptions } from '../tracing.options';
import { carrierOfServer } from './carriers';
import { GRPC_CARRIER } from './grpc.carrier';
import { instrumentRpcHandlers } from './handler-tracing';
import { KAFKA_CARRIER } from './kafka.carrier';
import { MESSAGE_TRACE, MessageTrace, messageTraceIn } from './message-trace';
import type { MessageInfo, ResolvedMicroservicesTracingOptions } from './microservices-tracing.options';
import { nestMicroservices } from './nest-microservices';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_SYSTEMS,
} from './semconv';
import type { TransportCarrier } from './transport-carrier';

type StartHook = (transportId: unknown, context: unknown, done: () => unknown) => unknown;
type EndHook = (transportId: unknown, context: unknown) => unknown;

/** The hook slots of a Nest microservice `Server` (Nest >= 11.1.4). */
interface HookableServer {
  transportId?: unknown;
  onProcessingStartHook?: StartHook;
  onProcessingEndHook?: EndHook;
  setOnProcessingStartHook?: (hook: StartHook) => void;
  setOnProcessingEndHook?: (hook: EndHook) => void;
  getHandlerByPattern?: (pattern: string) => { isEventHandler?: boolean } | null;
  [INSTRUMENTED]?: true;
  [EVENT_PATTERNS]?: Map<string, boolean>;
}

const INSTRUMENTED = Symbol('nestjs-tracing.instrumented');
const EVENT_PATTERNS = Symbol('nestjs-tracing.event-patterns');

type Send = (this: unknown, stream: unknown, respond: unknown) => unknown;

/**
 * Wraps a server's `send(replies$, respond)`, through which every transport but gRPC
 * answers a request, so that a message's span covers all of its replies (a handler
 * may stream several) and records an error the replies end with.
 */
function followRepliesOf(server: HookableServer): void {
  const original = (server as { send?: Send }).send;
  if (typeof original !== 'function') {
    return;
  }
  (server as { send: Send }).send = function (this: unknown, stream: unknown, respond: unknown): unknown {
    const messageTrace = messageTraceIn(contextApi.active());
    if (messageTrace === undefined || !isObservable(stream)) {
      return original.call(this, stream, respond);
    }
    messageTrace.followReplies();
    const followed = stream.pipe(
      tap({ error: (error: unknown) => messageTrace.recordError(error) }),
      finalize(() => messageTrace.end()),
    );
    return original.call(this, followed, respond);
  };
}

/** How many patterns a server remembers the kind of: incoming patterns are the sender's to choose. */
const MAX_KNOWN_PATTERNS = 1000;

/**
 * Whether a pattern is an `@EventPattern`'s. Remembered per server once its handler
 * is known: Nest's lookup parses the pattern as JSON (and catches the throw) on
 * every call.
 */
function isEventPattern(server: HookableServer, pattern: string): boolean {
  const known = (server[EVENT_PATTERNS] ??= new Map());
  const isEvent = known.get(pattern);
  if (isEvent !== undefined) {
    return isEvent;
  }
  const handler = server.getHandlerByPattern?.(pattern);
  // A pattern with no handler (yet) is not remembered.
  if (handler === undefined || handler === null) {
    return false;
  }
  if (known.size < MAX_KNOWN_PATTERNS) {
    known.set(pattern, handler.isEventHandler === true);
  }
  return handler.isEventHandler === true;
}

/**
 * @internal Gives every message a microservice server receives a SERVER
 * (`@MessagePattern`) or CONSUMER (`@EventPattern`) span, from Nest's processing
 * hooks, which run before guards, interceptors, pipes and the handler. Every server
 * of the app is found through the RPC target registry: `createMicroservice()` and
 * hybrid apps (`connectMicroservice()`) alike.
 */
@Injectable()
export class MicroserviceServerTracer implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly options: ResolvedMicroservicesTracingOptions;
  private readonly traces = new WeakMap<object, MessageTrace>();
  /** The traces of messages still being handled, ended at shutdown if their handler never answers. */
  private readonly inFlight = new Set<MessageTrace>();
  private subscription: Subscription | undefined;

  constructor(
    @Inject(TRACING_OPTIONS) options: ResolvedTracingOptions,
    @Optional() private readonly modules?: ModulesContainer,
  ) {
    this.options = options.microservices;
    if (this.options.enabled && nestMicroservices() !== undefined) {
      instrumentRpcHandlers();
    }
  }

  onModuleInit(): void {
    const registry = this.modules?.getRpcTargetRegistry?.();
    if (this.options.enabled && registry !== undefined) {
      this.subscription = registry.subscribe((server) => this.instrument(server as HookableServer));
    }
  }

  /**
   * Ends the spans of the messages whose handler never answered (Nest does not tell a
   * handler its caller gave up): they are exported, marked `error.type: shutdown`,
   * instead of being lost with the process.
   */
  onApplicationShutdown(): void {
    for (const messageTrace of [...this.inFlight]) {
      messageTrace.abandon();
    }
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  private instrument(server: HookableServer): void {
    if (
      server[INSTRUMENTED] === true ||
      typeof server.setOnProcessingStartHook !== 'function' ||
      typeof server.setOnProcessingEndHook !== 'function'
    ) {
      return;
    }
    server[INSTRUMENTED] = true;
    const carrier = carrierOfServer(server.transportId);
    carrier.prepareServer?.(server);
    followRepliesOf(server);
    const previousStart = server.onProcessingStartHook;
    const previousEnd = server.onProcessingEndHook;
    server.setOnProcessingStartHook((transportId, rpcContext, done) => {
      const next = previousStart === undefined ? done : () => previousStart.call(server, transportId, rpcContext, done);
      return this.process(server, carrier, rpcContext, next);
    });
    server.setOnProcessingEndHook((transportId, rpcContext) => {
      const key = rpcContext as object;
      const messageTrace = typeof rpcContext === 'object' && rpcContext !== null ? this.traces.get(key) : undefined;
      if (messageTrace !== undefined) {
        this.traces.delete(key);
        messageTrace.endAtReply();
      }
      return previousEnd?.call(server, transportId, rpcContext);
    });
  }

  /** Runs `next` (the rest of Nest's handling of a message) inside the message's span. */
  private process(
    server: HookableServer,
    carrier: TransportCarrier,
    rpcContext: unknown,
    next: () => unknown,
  ): unknown {
    if (!tracingState.enabled) {
      return next();
    }
    let started: [MessageTrace | undefined, Context] | undefined;
    try {
      started = this.start(server, carrier, rpcContext);
    } catch (error) {
      reportOnce('microservices.start', TracingMessages.messageTracingFailed(), error);
    }
    if (started === undefined) {
      return next();
    }
    const [messageTrace, messageContext] = started;
    if (messageTrace === undefined) {
      return contextApi.with(messageContext, next);
    }
    let result: unknown;
    try {
      result = contextApi.with(messageContext, next);
    } catch (error) {
      messageTrace.recordError(error);
      messageTrace.end();
      throw error;
    }
    // Kafka waits on this promise: hand back what `done()` settles with. The span
    // ends at the end hook (the reply, or the end of an event's handling); a call
    // with nothing to end it by (a gRPC request stream) ends when `done()` settles.
    return Promise.resolve(result).then(
      (value) => {
        if (!messageTrace.endsAtHook) {
          messageTrace.end();
        }
        return value;
      },
      (error: unknown) => {
        messageTrace.recordError(error);
        messageTrace.end();
        throw error;
      },
    );
  }

  private start(
    server: HookableServer,
    carrier: TransportCarrier,
    rpcContext: unknown,
  ): [MessageTrace | undefined, Context] {
    const pattern = carrier.pattern(rpcContext);
    const message: MessageInfo = { pattern, transport: carrier.transport, context: rpcContext };
    const { ignore, messageHook } = this.options;
    if (ignore !== undefined && runHook('microservices.ignore', () => ignore(message)) === true) {
      return [undefined, suppressTracing(contextApi.active())];
    }
    const rpc = carrier === GRPC_CARRIER;
    const isEvent = !rpc && isEventPattern(server, pattern);
    const kind = isEvent ? SpanKind.CONSUMER : SpanKind.SERVER;
    const incoming = carrier.incoming(rpcContext);
    const remote =
      incoming === undefined ? ROOT_CONTEXT : extractRemote(ROOT_CONTEXT, incoming.carrier, incoming.getter);
    const trusted = this.trusts(message);
    const parent = trusted ? remote : ROOT_CONTEXT;
    const link = trusted ? undefined : linkTo(remote);
    const attributes: Attributes = {
      [NestAttributes.TRANSPORT]: carrier.transport,
      [NestAttributes.PATTERN]: pattern,
    };
    if (rpc) {
      attributes[ATTR_RPC_SYSTEM_NAME] = RPC_SYSTEM_NAME_VALUE_GRPC;
      attributes[ATTR_RPC_METHOD] = pattern;
    } else {
      attributes[ATTR_MESSAGING_SYSTEM] =
        MESSAGING_SYSTEMS[carrier.transport as keyof typeof MESSAGING_SYSTEMS] ?? carrier.transport;
      attributes[ATTR_MESSAGING_DESTINATION_NAME] = pattern;
      attributes[ATTR_MESSAGING_OPERATION_TYPE] = MESSAGING_OPERATION_TYPE_VALUE_PROCESS;
      attributes[ATTR_MESSAGING_OPERATION_NAME] = MESSAGING_OPERATION_TYPE_VALUE_PROCESS;
      carrier.serverAttributes(rpcContext, attributes);
    }
    const span = getTracer().startSpan(
      rpc ? pattern : `${MESSAGING_OPERATION_TYPE_VALUE_PROCESS} ${pattern}`,
      { kind, attributes, root: !trusted, links: link === undefined ? undefined : [link] },
      parent,
    );
    // gRPC ends with the call's request object, not the context it started with.
    const key = rpc ? (rpcContext as { request?: unknown }).request : rpcContext;
    // Nest 11's Kafka server calls the end hook of an event only when its handler
    // returns an Observable; its `done()` settles once the event is handled.
    const endsAtHook = typeof key === 'object' && key !== null && !(isEvent && carrier === KAFKA_CARRIER);
    const messageTrace = new MessageTrace(span, kind, endsAtHook, rpc, this.inFlight);
    if (messageHook !== undefined && span.isRecording()) {
      runHook('microservices.messageHook', () => messageHook(span, message));
    }
    if (endsAtHook) {
      this.traces.set(key, messageTrace);
    }
    return [messageTrace, trace.setSpan(parent, span).setValue(MESSAGE_TRACE, messageTrace)];
  }

  private trusts(message: MessageInfo): boolean {
    const trust = this.options.trustIncomingContext;
    return typeof trust === 'boolean'
      ? trust
      : runHook('microservices.trustIncomingContext', () => trust(message)) === true;
  }
}

/** A link to the sender's context, for a message that does not join it. */
function linkTo(remote: Context): Link | undefined {
  const spanContext = trace.getSpanContext(remote);
  return spanContext !== undefined && trace.isSpanContextValid(spanContext) ? { context: spanContext } : undefined;
}
