import type { Attributes } from '@opentelemetry/api';
import { envelopeHeaders, parseEnvelope, readEnvelopesOf, withEnvelopeMetadata } from './packet-envelope';
import { callString, type TransportCarrier } from './transport-carrier';

/**
 * Nest's Redis transport publishes JSON envelopes with no headers: the context travels
 * in the envelope's `metadata` field, as Nest >= 12.0.4 sends it.
 */
export const REDIS_CARRIER: TransportCarrier = {
  transport: 'redis',
  serverClass: 'ServerRedis',
  clientClass: 'ClientRedis',
  pattern: (context) => callString(context, 'getChannel') ?? '',
  incoming: envelopeHeaders,
  serverAttributes(_context: unknown, _attributes: Attributes): void {},
  injectSerialized: (serialized, headers) => withEnvelopeMetadata(serialized, headers),
  destination: (_client, pattern) => pattern,
  // `handleMessage(channel, buffer, pub, pattern)`: the envelope is still the published JSON.
  prepareServer: (server) => readEnvelopesOf(server, (args) => parseEnvelope(args[1])),
};
