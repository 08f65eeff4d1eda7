import type { Attributes } from '@opentelemetry/api';
import { envelopeHeaders, readEnvelopesOf, withEnvelopeMetadata } from './packet-envelope';
import { callString, type TransportCarrier } from './transport-carrier';

/**
 * Nest's TCP transport has no headers: the context travels in the packet envelope's
 * `metadata` field (`{ pattern, data, id, metadata }`), as Nest >= 12.0.4 sends it.
 */
export const TCP_CARRIER: TransportCarrier = {
  transport: 'tcp',
  serverClass: 'ServerTCP',
  clientClass: 'ClientTCP',
  pattern: (context) => callString(context, 'getPattern') ?? '',
  incoming: envelopeHeaders,
  serverAttributes(_context: unknown, _attributes: Attributes): void {},
  injectSerialized: (serialized, headers) => withEnvelopeMetadata(serialized, headers),
  destination: (_client, pattern) => pattern,
  // `handleMessage(socket, message)`: the JSON socket has parsed the envelope already.
  prepareServer: (server) => readEnvelopesOf(server, (args) => args[1]),
};
