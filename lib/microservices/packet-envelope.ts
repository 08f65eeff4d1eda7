import { context as contextApi } from '@opentelemetry/api';
import { nestMicroservices } from './nest-microservices';
import {
  asRecord,
  callContext,
  ENVELOPE_METADATA,
  recordHeaders,
  type IncomingHeaders,
  type TraceHeaders,
  type TransportCarrier,
} from './transport-carrier';

let packetMetadata: boolean | undefined;

/**
 * Whether the app's Nest carries `packet.metadata` over TCP and Redis itself (12.0.4
 * on): a client sends the field of the packets it dispatches (what
 * `ClientProxy.setOnDispatchHook` is for) and the server hands it to the RPC context
 * (`TcpContext` / `RedisContext.getMetadata()`).
 */
export function packetMetadataSupported(): boolean {
  if (packetMetadata === undefined) {
    const microservices = nestMicroservices() as Record<string, { prototype?: Record<string, unknown> }> | undefined;
    packetMetadata =
      typeof microservices?.ClientProxy?.prototype?.setOnDispatchHook === 'function' &&
      typeof microservices.TcpContext?.prototype?.getMetadata === 'function' &&
      typeof microservices.RedisContext?.prototype?.getMetadata === 'function';
  }
  return packetMetadata;
}

/**
 * A carrier for a transport whose envelope has no headers (TCP, Redis): the context
 * travels in the envelope's `metadata` field. On Nest >= 12.0.4 the client writes it
 * into the packet it dispatches, next to what the app's own dispatch hook put there
 * (that hook has run: Nest calls it as it makes the packet), and the server reads it
 * from the RPC context. On older Nest the server's message handler is wrapped to read
 * it (`readEnvelope` gets `handleMessage`'s arguments). On every version the client
 * also writes it into what the serializer made, so that a custom serializer that
 * rebuilds the envelope without `metadata` does not lose it.
 */
export function envelopeCarrier(
  carrier: Omit<TransportCarrier, 'incoming' | 'injectSerialized' | 'preparePacket' | 'prepareServer'>,
  readEnvelope: (args: unknown[]) => unknown,
): TransportCarrier {
  const preparePacket: TransportCarrier['preparePacket'] = (_client, packet, headers) =>
    withEnvelopeMetadata(packet, headers);
  const prepareServer = (server: object): void => readEnvelopesOf(server, readEnvelope);
  return Object.defineProperties(
    { ...carrier, incoming: envelopeHeaders, injectSerialized: withEnvelopeMetadata },
    {
      preparePacket: { get: () => (packetMetadataSupported() ? preparePacket : undefined), enumerable: true },
      prepareServer: { get: () => (packetMetadataSupported() ? undefined : prepareServer), enumerable: true },
    },
  );
}

/**
 * The packet, or the envelope a serializer made of it, with the trace headers added to
 * its `metadata` field (a new object: the app's may be shared): the field Nest >=
 * 12.0.4 itself sends for TCP and Redis and reads back with `TcpContext` /
 * `RedisContext.getMetadata()`. A Nest 11 server ignores fields of the envelope it
 * does not know; `data` is left as it is. Anything but an envelope object (a custom
 * serializer's own format) is sent as it is. The propagator's keys (`traceparent`,
 * `tracestate`, `baggage`) are the module's: they replace any the app wrote there.
 */
export function withEnvelopeMetadata<T>(serialized: T, headers: TraceHeaders): T {
  const envelope = asRecord(serialized);
  if (envelope === undefined || !('pattern' in envelope)) {
    return serialized;
  }
  const metadata = asRecord(envelope.metadata);
  // Written already (Nest >= 12.0.4: into the packet, which Nest's serializer passes on).
  if (metadata !== undefined && Object.keys(headers).every((key) => metadata[key] === headers[key])) {
    return serialized;
  }
  return { ...envelope, metadata: { ...metadata, ...headers } } as T;
}

/**
 * The envelope `metadata` of a received message: from the RPC context on Nest >= 12.0.4
 * (`getMetadata()`), else from what the server's wrapped message handler found.
 */
export function envelopeHeaders(rpcContext: unknown): IncomingHeaders | undefined {
  const fromContext = callContext(rpcContext, 'getMetadata');
  return recordHeaders(fromContext ?? contextApi.active().getValue(ENVELOPE_METADATA));
}

/**
 * Wraps a server's `handleMessage` so that the `metadata` field of each packet
 * envelope (which Nest 11 does not pass to its RPC contexts) is in the active context
 * while Nest handles the message. `readEnvelope` gets `handleMessage`'s arguments.
 */
export function readEnvelopesOf(server: object, readEnvelope: (args: unknown[]) => unknown): void {
  const target = server as { handleMessage?: (...args: unknown[]) => unknown };
  const original = target.handleMessage;
  if (typeof original !== 'function' || (original as { [ENVELOPE_READER]?: true })[ENVELOPE_READER]) {
    return;
  }
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    let metadata: unknown;
    try {
      metadata = (readEnvelope(args) as { metadata?: unknown } | undefined)?.metadata;
    } catch {
      metadata = undefined;
    }
    return metadata === undefined
      ? original.apply(this, args)
      : contextApi.with(contextApi.active().setValue(ENVELOPE_METADATA, metadata), () => original.apply(this, args));
  };
  (wrapped as { [ENVELOPE_READER]?: true })[ENVELOPE_READER] = true;
  target.handleMessage = wrapped;
}

const ENVELOPE_READER = Symbol('nestjs-tracing.envelope-reader');

/** Parses a JSON envelope from a Buffer or string, or `undefined` when it is not JSON. */
export function parseEnvelope(raw: unknown): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
  // A sender without this module sends no `metadata`: skip parsing its message twice.
  if (typeof text !== 'string' || !text.includes('"metadata"')) {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
