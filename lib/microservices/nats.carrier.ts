import type { Attributes, TextMapGetter } from '@opentelemetry/api';
import type { MsgHdrs } from 'nats';
import { nestMicroservices, transportPackage } from './nest-microservices';
import { callString, type TransportCarrier } from './transport-carrier';

type NatsPackage = { headers: () => MsgHdrs };

const NATS_HEADERS_GETTER: TextMapGetter<MsgHdrs> = {
  keys: (headers) => [...headers.keys()],
  // `get` answers '' for a header that is not there.
  get: (headers, key) => headers.get(key) || undefined,
};

/** NATS carries the context in message headers (`NatsRecordBuilder.setHeaders()` / `NatsContext.getHeaders()`). */
export const NATS_CARRIER: TransportCarrier = {
  transport: 'nats',
  serverClass: 'ServerNats',
  clientClass: 'ClientNats',
  pattern: (context) => callString(context, 'getSubject') ?? '',
  incoming(context) {
    const headers = (context as { getHeaders?: () => unknown }).getHeaders?.();
    return isMsgHdrs(headers) ? { carrier: headers, getter: NATS_HEADERS_GETTER } : undefined;
  },
  serverAttributes(_context: unknown, _attributes: Attributes): void {},
  outgoing(_client, packet, traceHeaders) {
    const microservices = nestMicroservices();
    const nats = transportPackage<NatsPackage>('nats');
    if (microservices === undefined || nats === undefined) {
      return packet;
    }
    const { NatsRecord } = microservices;
    const record = packet.data instanceof NatsRecord ? packet.data : undefined;
    // A copy, so a record the app sends again does not keep this message's context.
    const headers = nats.headers();
    if (isMsgHdrs(record?.headers)) {
      for (const key of record.headers.keys()) {
        for (const value of record.headers.values(key)) {
          headers.append(key, value);
        }
      }
    }
    for (const [key, value] of Object.entries(traceHeaders)) {
      headers.set(key, value);
    }
    return { ...packet, data: new NatsRecord(record === undefined ? packet.data : record.data, headers) };
  },
  destination: (_client, pattern) => pattern,
};

function isMsgHdrs(value: unknown): value is MsgHdrs {
  return (
    typeof (value as Partial<MsgHdrs> | undefined)?.get === 'function' && typeof (value as MsgHdrs).keys === 'function'
  );
}
