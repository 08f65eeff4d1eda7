import { createContextKey, type Attributes, type TextMapGetter } from '@opentelemetry/api';

/** The trace context headers a sender writes (`traceparent`, `tracestate`, `baggage`, …). */
export type TraceHeaders = Record<string, string>;

/** A packet as `ClientProxy` hands it to its transport. */
export interface OutgoingPacket {
  pattern: unknown;
  data: unknown;
  metadata?: Record<string, string>;
  [key: string]: unknown;
}

/** Where the context a sender carried sits in a received message, and how to read it. */
export interface IncomingHeaders {
  readonly carrier: unknown;
  readonly getter: TextMapGetter;
}

/**
 * How one Nest transport carries the trace context, and what its messages are
 * called. One per transport, each in its own `*.carrier.ts`.
 */
export interface TransportCarrier {
  /** `nestjs.transport`: `tcp`, `redis`, `nats`, `mqtt`, `rmq`, `kafka`, `grpc`. */
  readonly transport: string;
  /** The name of the server class in `@nestjs/microservices` (`ServerTCP`, …). */
  readonly serverClass: string;
  /** The name of the client class in `@nestjs/microservices` (`ClientTCP`, …). */
  readonly clientClass: string;
  /** The pattern of a received message, from the transport's RPC context. */
  pattern(context: unknown): string;
  /** The context a sender carried in a received message, if any. */
  incoming(context: unknown): IncomingHeaders | undefined;
  /** Attributes of the received message's span beyond the common ones. */
  serverAttributes(context: unknown, attributes: Attributes): void;
  /**
   * Writes `headers` into what the client's serializer made of a packet: the
   * transport's own headers where it has them, the envelope's `metadata` field where
   * it has none. Returns what to send; leaves it as it is when it has no known shape
   * (a custom serializer's own format). Never touches the payload.
   */
  injectSerialized?(serialized: unknown, headers: TraceHeaders, client: object): unknown;
  /**
   * Writes `headers` into the packet before it is dispatched, for a transport whose
   * client may serialize it later, outside the sender's context (MQTT), or that sends
   * the packet's own `metadata` (TCP and Redis on Nest >= 12.0.4).
   */
  preparePacket?(client: object, packet: OutgoingPacket, headers: TraceHeaders): OutgoingPacket;
  /** `messaging.destination.name` of a sent message. */
  destination(client: object, pattern: string): string;
  /**
   * Reads what the server needs before the transport's RPC context exists (TCP and
   * Redis on Nest 11: the packet envelope), by wrapping the server's own message
   * handler. Optional.
   */
  prepareServer?(server: object): void;
}

/**
 * The context key under which a client's dispatch leaves the trace headers of the
 * message it sends, for the client's wrapped serializer to write into its output.
 */
export const OUTGOING_HEADERS = createContextKey('nestjs-tracing outgoing headers');

/**
 * The context key under which a server's wrapped message handler leaves the
 * envelope's `metadata` for the processing-start hook to read.
 */
export const ENVELOPE_METADATA = createContextKey('nestjs-tracing envelope metadata');

/** Reads a plain record of strings (or arrays of strings) as a propagation carrier. */
const RECORD_GETTER: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (typeof value === 'string' || Array.isArray(value)) {
      return value as string | string[];
    }
    return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  },
};

/** `value` as a record of strings when it is a plain object, else `undefined`. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The incoming headers of a record, or `undefined` when it is not one. */
export function recordHeaders(value: unknown): IncomingHeaders | undefined {
  const carrier = asRecord(value);
  return carrier === undefined ? undefined : { carrier, getter: RECORD_GETTER };
}

/** A pattern as Nest routes it: a string as is, anything else as JSON. */
export function patternString(pattern: unknown): string {
  if (typeof pattern === 'string') {
    return pattern;
  }
  try {
    return JSON.stringify(pattern) ?? String(pattern);
  } catch {
    return String(pattern);
  }
}

/** Calls a getter method of an RPC context (`getMessage`, `getHeaders`, …), or `undefined` when it has none. */
export function callContext(target: unknown, method: string): unknown {
  const fn = (target as Record<string, unknown> | null | undefined)?.[method];
  return typeof fn === 'function' ? (fn as () => unknown).call(target) : undefined;
}

/** Calls a `getPattern`-like method of an RPC context; `undefined` unless it answers a string. */
export function callString(target: unknown, method: string): string | undefined {
  const value = callContext(target, method);
  return typeof value === 'string' ? value : undefined;
}
