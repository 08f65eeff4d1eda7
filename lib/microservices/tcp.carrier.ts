import type { Attributes } from '@opentelemetry/api';
import { envelopeCarrier } from './packet-envelope';
import { callString } from './transport-carrier';

/**
 * Nest's TCP transport has no headers: the context travels in the packet envelope's
 * `metadata` field (`{ pattern, data, id, metadata }`), which Nest >= 12.0.4 sends and
 * reads itself.
 */
export const TCP_CARRIER = envelopeCarrier(
  {
    transport: 'tcp',
    serverClass: 'ServerTCP',
    clientClass: 'ClientTCP',
    pattern: (context) => callString(context, 'getPattern') ?? '',
    serverAttributes(_context: unknown, _attributes: Attributes): void {},
    destination: (_client, pattern) => pattern,
  },
  // `handleMessage(socket, message)`: the JSON socket has parsed the envelope already.
  (args) => args[1],
);
