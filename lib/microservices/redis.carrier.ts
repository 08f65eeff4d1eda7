import type { Attributes } from '@opentelemetry/api';
import { envelopeCarrier, parseEnvelope } from './packet-envelope';
import { callString } from './transport-carrier';

/**
 * Nest's Redis transport publishes JSON envelopes with no headers: the context travels
 * in the envelope's `metadata` field, which Nest >= 12.0.4 sends and reads itself.
 */
export const REDIS_CARRIER = envelopeCarrier(
  {
    transport: 'redis',
    serverClass: 'ServerRedis',
    clientClass: 'ClientRedis',
    pattern: (context) => callString(context, 'getChannel') ?? '',
    serverAttributes(_context: unknown, _attributes: Attributes): void {},
    destination: (_client, pattern) => pattern,
  },
  // `handleMessage(channel, buffer, pub, pattern)`: the envelope is still the published JSON.
  (args) => parseEnvelope(args[1]),
);
