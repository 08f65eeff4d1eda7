import type { Attributes, TextMapGetter } from '@opentelemetry/api';
import type { MsgHdrs } from 'nats';
import { natsPackage } from './nest-microservices';
import { asRecord, callContext, callString, type TransportCarrier } from './transport-carrier';

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
    const headers = callContext(context, 'getHeaders');
    return isMsgHdrs(headers) ? { carrier: headers, getter: NATS_HEADERS_GETTER } : undefined;
  },
  serverAttributes(_context: unknown, _attributes: Attributes): void {},
  // What `NatsRecordSerializer` (or a custom one) made: `{ data, headers? }`.
  injectSerialized(serialized, traceHeaders) {
    const message = asRecord(serialized);
    const nats = natsPackage<NatsPackage>();
    if (message === undefined || !('data' in message) || nats === undefined) {
      return serialized;
    }
    // A copy, so the headers of a record the app sends again keep none of this message's context.
    const headers = nats.headers();
    if (isMsgHdrs(message.headers)) {
      for (const key of message.headers.keys()) {
        for (const value of message.headers.values(key)) {
          headers.append(key, value);
        }
      }
    }
    for (const [key, value] of Object.entries(traceHeaders)) {
      headers.set(key, value);
    }
    return { ...message, headers };
  },
  destination: (_client, pattern) => pattern,
};

function isMsgHdrs(value: unknown): value is MsgHdrs {
  return (
    typeof (value as Partial<MsgHdrs> | undefined)?.get === 'function' && typeof (value as MsgHdrs).keys === 'function'
  );
}
