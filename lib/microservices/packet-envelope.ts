import { context as contextApi } from '@opentelemetry/api';
import {
  asRecord,
  callContext,
  ENVELOPE_METADATA,
  recordHeaders,
  type IncomingHeaders,
  type TraceHeaders,
} from './transport-carrier';

/**
 * The serialized envelope with the trace headers in its `metadata` field: the field
 * Nest >= 12.0.4 itself sends for TCP and Redis (`ClientProxy.setOnDispatchHook`) and
 * reads back with `TcpContext` / `RedisContext.getMetadata()`. A Nest 11 server
 * ignores fields of the envelope it does not know; `data` is left as it is. Anything
 * but an envelope object (a custom serializer's own format) is sent as it is.
 */
export function withEnvelopeMetadata<T>(serialized: T, headers: TraceHeaders): T {
  const envelope = asRecord(serialized);
  if (envelope === undefined || !('pattern' in envelope)) {
    return serialized;
  }
  return { ...envelope, metadata: { ...asRecord(envelope.metadata), ...headers } } as T;
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
