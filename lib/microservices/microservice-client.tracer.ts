import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import {
  context as contextApi,
  propagation,
  SpanKind,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  RPC_SYSTEM_NAME_VALUE_GRPC,
} from '@opentelemetry/semantic-conventions';
import { defer, tap, type Observable } from 'rxjs';
import { getTracer, NestAttributes, recordError, runHook, runInSpan, tracingState, wrapMethod } from '../core';
import { TRACING_OPTIONS } from '../tracing.constants';
import type { ResolvedTracingOptions } from '../tracing.options';
import { PACKET_CARRIERS } from './carriers';
import { GRPC_CARRIER, GRPC_METADATA_SETTER, rpcMethodOf } from './grpc.carrier';
import type { MessageInfo, ResolvedMicroservicesTracingOptions } from './microservices-tracing.options';
import { nestMicroservices, transportPackage } from './nest-microservices';
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
  MESSAGING_SYSTEMS,
} from './semconv';
import {
  OUTGOING_HEADERS,
  patternString,
  type OutgoingPacket,
  type TraceHeaders,
  type TransportCarrier,
} from './transport-carrier';

/** What the transport calls back with for a request: a reply, its end, or an error. */
interface WritePacket {
  err?: unknown;
  response?: unknown;
  isDisposed?: boolean;
}

type Publish = (this: object, packet: OutgoingPacket, callback: (packet: WritePacket) => unknown) => unknown;
type DispatchEvent = (this: object, packet: OutgoingPacket) => unknown;
type CreateServiceMethod = (this: object, grpcClient: object, methodName: string) => (...args: unknown[]) => unknown;

/**
 * The options of the apps whose clients are traced: clients are patched once per
 * process, so the most recently started app's options apply, until it shuts down.
 */
const activeOptions: ResolvedMicroservicesTracingOptions[] = [];

function currentOptions(): ResolvedMicroservicesTracingOptions | undefined {
  return tracingState.enabled ? activeOptions[activeOptions.length - 1] : undefined;
}

/**
 * @internal Gives every message a Nest client sends a CLIENT (`send()`) or PRODUCER
 * (`emit()`) span, around the transport's own dispatch, and carries its context in
 * the message. The dispatch methods of the transport clients
 * (`ClientTCP.prototype.publish`, …) are wrapped once per process; that covers
 * `ClientsModule.register()` / `registerAsync()` and `ClientProxyFactory.create()`
 * alike. Nest 11 has no dispatch hook; Nest 12's (`ClientProxy.setOnDispatchHook`)
 * runs as the packet is made, before the transport's `publish` / `dispatchEvent`
 * and without telling `send()` from `emit()`, so before the span (and its kind) can
 * exist: the app keeps that hook for itself, and the span's context is added to the
 * `packet.metadata` it wrote (see `envelopeCarrier`).
 */
@Injectable()
export class MicroserviceClientTracer implements OnApplicationShutdown {
  private readonly options: ResolvedMicroservicesTracingOptions;

  /**
   * Wraps the clients when the module is built, before any `onModuleInit()` of the
   * app's own (where a gRPC client's `getService()` is usually called).
   */
  constructor(@Inject(TRACING_OPTIONS) options: ResolvedTracingOptions) {
    this.options = options.microservices;
    this.wrapClients();
  }

  private wrapClients(): void {
    if (!this.options.enabled) {
      return;
    }
    const microservices = nestMicroservices() as Record<string, unknown> | undefined;
    if (microservices === undefined) {
      return;
    }
    activeOptions.push(this.options);
    for (const carrier of PACKET_CARRIERS) {
      const prototype = (microservices[carrier.clientClass] as { prototype?: Record<string, unknown> } | undefined)
        ?.prototype;
      if (prototype !== undefined) {
        wrapMethod(prototype, 'publish', (original: Publish) => tracedPublish(carrier, original));
        wrapMethod(prototype, 'dispatchEvent', (original: DispatchEvent) => tracedDispatchEvent(carrier, original));
      }
    }
    const grpcPrototype = (microservices.ClientGrpcProxy as { prototype?: Record<string, unknown> } | undefined)
      ?.prototype;
    if (grpcPrototype !== undefined) {
      wrapMethod(grpcPrototype, 'createServiceMethod', tracedCreateServiceMethod);
    }
  }

  onApplicationShutdown(): void {
    const index = activeOptions.lastIndexOf(this.options);
    if (index !== -1) {
      activeOptions.splice(index, 1);
    }
  }
}

/** A started client span, the packet to dispatch and the context to dispatch it in. */
interface Outgoing {
  span: Span;
  packet: OutgoingPacket;
  context: Context;
}

function startOutgoing(
  client: object,
  carrier: TransportCarrier,
  packet: OutgoingPacket,
  kind: SpanKind,
): Outgoing | undefined {
  const options = currentOptions();
  if (options === undefined) {
    return undefined;
  }
  const pattern = normalizedPattern(client, packet.pattern);
  const message: MessageInfo = { pattern, transport: carrier.transport, context: undefined };
  const { ignore, messageHook } = options;
  if (ignore !== undefined && runHook('microservices.ignore', () => ignore(message)) === true) {
    return undefined;
  }
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEMS[carrier.transport as keyof typeof MESSAGING_SYSTEMS],
    [ATTR_MESSAGING_DESTINATION_NAME]: carrier.destination(client, pattern) || pattern,
    [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
    [ATTR_MESSAGING_OPERATION_NAME]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
    [NestAttributes.TRANSPORT]: carrier.transport,
    [NestAttributes.PATTERN]: pattern,
  };
  const active = contextApi.active();
  const span = getTracer().startSpan(`${MESSAGING_OPERATION_TYPE_VALUE_SEND} ${pattern}`, { kind, attributes }, active);
  if (messageHook !== undefined && span.isRecording()) {
    runHook('microservices.messageHook', () => messageHook(span, message));
  }
  const spanContext = trace.setSpan(active, span);
  const headers: TraceHeaders = {};
  propagation.inject(spanContext, headers);
  if (Object.keys(headers).length === 0) {
    return { span, packet, context: spanContext };
  }
  traceSerializerOf(client, carrier);
  const prepare = carrier.preparePacket;
  const prepared =
    prepare === undefined
      ? packet
      : (runHook('microservices.carrier', () => prepare(client, packet, headers)) ?? packet);
  return { span, packet: prepared, context: spanContext.setValue(OUTGOING_HEADERS, headers) };
}

const TRACED_SERIALIZER = Symbol('nestjs-tracing.traced-serializer');

type Serializer = { serialize: (...args: unknown[]) => unknown; [TRACED_SERIALIZER]?: true };

/**
 * Gives a client a serializer that writes the trace headers of the message being sent
 * (left in the context by the dispatch) into what the app's serializer made, so that
 * serializer, Nest's or a custom one, still gets the packet exactly as the app sent
 * it. It inherits from the app's serializer, which is not changed.
 */
function traceSerializerOf(client: object, carrier: TransportCarrier): void {
  const inject = carrier.injectSerialized;
  const target = client as { serializer?: Serializer };
  const serializer = target.serializer;
  if (inject === undefined || typeof serializer?.serialize !== 'function' || serializer[TRACED_SERIALIZER] === true) {
    return;
  }
  const traced = Object.create(serializer) as Serializer;
  traced[TRACED_SERIALIZER] = true;
  traced.serialize = (...args: unknown[]): unknown => {
    const serialized = serializer.serialize(...args);
    const headers = contextApi.active().getValue(OUTGOING_HEADERS) as TraceHeaders | undefined;
    if (headers === undefined) {
      return serialized;
    }
    const write = (value: unknown): unknown =>
      runHook('microservices.carrier', () => inject(value, headers, client)) ?? value;
    return serialized instanceof Promise ? serialized.then(write) : write(serialized);
  };
  target.serializer = traced;
}

/** `send()`: a CLIENT span from dispatch to the reply, an error, or unsubscription. */
function tracedPublish(carrier: TransportCarrier, original: Publish): Publish {
  return function (this: object, packet, callback) {
    const outgoing = startOutgoing(this, carrier, packet, SpanKind.CLIENT);
    if (outgoing === undefined) {
      return original.call(this, packet, callback);
    }
    const { span } = outgoing;
    // Replies arrive in the context of the connection, which the first request opened:
    // hand each one back in the context of the request that sent it.
    const callerContext = contextApi.active();
    let ended = false;
    const end = (error?: unknown, failed = false): void => {
      if (!ended) {
        ended = true;
        if (failed) {
          recordError(span, error, SpanKind.CLIENT);
        }
        span.end();
      }
    };
    const tracedCallback = (reply: WritePacket): unknown => {
      if (reply?.err !== undefined && reply.err !== null) {
        end(reply.err, true);
      } else if (reply?.isDisposed === true) {
        end();
      }
      return contextApi.with(callerContext, callback, undefined, reply);
    };
    let teardown: unknown;
    try {
      teardown = contextApi.with(outgoing.context, original, this, outgoing.packet, tracedCallback);
    } catch (error) {
      end(error, true);
      throw error;
    }
    return () => {
      end();
      return typeof teardown === 'function' ? (teardown as () => unknown)() : undefined;
    };
  };
}

/** `emit()`: a PRODUCER span around the dispatch of the event. */
function tracedDispatchEvent(carrier: TransportCarrier, original: DispatchEvent): DispatchEvent {
  return function (this: object, packet) {
    const outgoing = startOutgoing(this, carrier, packet, SpanKind.PRODUCER);
    if (outgoing === undefined) {
      return original.call(this, packet);
    }
    return runInSpanOf(outgoing.span, () => contextApi.with(outgoing.context, original, this, outgoing.packet));
  };
}

/** Ends `span` when what `fn` returns settles, recording a failure. */
function runInSpanOf(span: Span, fn: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    recordError(span, error, SpanKind.PRODUCER);
    span.end();
    throw error;
  }
  return Promise.resolve(result).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      recordError(span, error, SpanKind.PRODUCER);
      span.end();
      throw error;
    },
  );
}

/**
 * gRPC: each service method of `ClientGrpcProxy.getService()` makes a CLIENT span per
 * call, from subscription to the last reply, with the context in the call's `Metadata`.
 */
function tracedCreateServiceMethod(original: CreateServiceMethod): CreateServiceMethod {
  return function (this: object, grpcClient, methodName) {
    const method = original.call(this, grpcClient, methodName);
    const rpcMethod =
      rpcMethodOf((grpcClient as Record<string, { path?: unknown } | undefined>)[methodName]?.path) || methodName;
    return (...args: unknown[]) => {
      if (currentOptions() === undefined) {
        return method(...args);
      }
      return defer(() => tracedGrpcCall(method, rpcMethod, args));
    };
  };
}

function tracedGrpcCall(
  method: (...args: unknown[]) => unknown,
  rpcMethod: string,
  args: unknown[],
): Observable<unknown> {
  const options = currentOptions();
  const message: MessageInfo = { pattern: rpcMethod, transport: GRPC_CARRIER.transport, context: undefined };
  if (options?.ignore !== undefined && runHook('microservices.ignore', () => options.ignore!(message)) === true) {
    return method(...args) as Observable<unknown>;
  }
  const attributes: Attributes = {
    [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_NAME_VALUE_GRPC,
    [ATTR_RPC_METHOD]: rpcMethod,
    [NestAttributes.TRANSPORT]: GRPC_CARRIER.transport,
    [NestAttributes.PATTERN]: rpcMethod,
  };
  return runInSpan(rpcMethod, { kind: SpanKind.CLIENT, attributes }, (span) => {
    const messageHook = options?.messageHook;
    if (messageHook !== undefined && span.isRecording()) {
      runHook('microservices.messageHook', () => messageHook(span, message));
    }
    const grpc = transportPackage<typeof import('@grpc/grpc-js')>('@grpc/grpc-js');
    const callArgs = [...args];
    if (grpc !== undefined) {
      const given = callArgs[1];
      const metadata = given instanceof grpc.Metadata ? given.clone() : new grpc.Metadata();
      propagation.inject(contextApi.active(), metadata, GRPC_METADATA_SETTER);
      callArgs[1] = metadata;
    }
    return (method(...callArgs) as Observable<unknown>).pipe(
      tap({
        error: (error: unknown) => {
          const code = (error as { code?: unknown } | null)?.code;
          if (typeof code === 'number') {
            span.setAttribute(ATTR_RPC_STATUS_CODE, String(code));
          }
        },
        // A reply is the call's success (`firstValueFrom` unsubscribes before `complete`).
        next: () => span.setAttribute(ATTR_RPC_STATUS_CODE, '0'),
        complete: () => span.setAttribute(ATTR_RPC_STATUS_CODE, '0'),
      }),
    );
  });
}

/** The pattern as the client's transport routes it (`normalizePattern`), or as JSON. */
function normalizedPattern(client: object, pattern: unknown): string {
  const normalize = (client as { normalizePattern?: (pattern: unknown) => unknown }).normalizePattern;
  const normalized = typeof normalize === 'function' ? normalize.call(client, pattern) : pattern;
  return patternString(normalized);
}
