import type { Attributes } from '@opentelemetry/api';
import { nestMicroservices } from './nest-microservices';
import { envelopeHeaders, parseEnvelope, withEnvelopeMetadata } from './packet-envelope';
import { asRecord, callContext, callString, recordHeaders, type TransportCarrier } from './transport-carrier';

interface MqttPacket {
  payload?: unknown;
  properties?: { userProperties?: unknown };
}

/**
 * MQTT 5 carries the context in the PUBLISH packet's user properties
 * (`MqttRecordBuilder.setProperties({ userProperties })`). MQTT 3.1.1 has no
 * properties: there it travels in the JSON envelope's `metadata` field, as for TCP.
 */
export const MQTT_CARRIER: TransportCarrier = {
  transport: 'mqtt',
  serverClass: 'ServerMqtt',
  clientClass: 'ClientMqtt',
  pattern: (context) => callString(context, 'getTopic') ?? '',
  incoming(context) {
    const packet = callContext(context, 'getPacket') as MqttPacket | undefined;
    const userProperties = asRecord(packet?.properties?.userProperties);
    if (userProperties !== undefined) {
      return recordHeaders(userProperties);
    }
    const envelope = parseEnvelope(packet?.payload) as { metadata?: unknown } | undefined;
    return envelope?.metadata === undefined ? envelopeHeaders(context) : recordHeaders(envelope.metadata);
  },
  serverAttributes(_context: unknown, _attributes: Attributes): void {},
  // `ClientMqtt` may serialize once its reply subscription is acknowledged, outside
  // the sender's context: the headers go into the packet before dispatch.
  preparePacket(client, packet, headers) {
    const microservices = nestMicroservices();
    const protocolVersion = (client as { options?: { protocolVersion?: unknown } }).options?.protocolVersion;
    if (microservices === undefined || protocolVersion !== 5) {
      return withEnvelopeMetadata(packet, headers);
    }
    // Only Nest's own serializer unwraps an `MqttRecord`; a custom one gets the data as sent.
    if ((client as { serializer?: object }).serializer?.constructor.name !== 'MqttRecordSerializer') {
      return packet;
    }
    const { MqttRecord } = microservices;
    const record = packet.data instanceof MqttRecord ? packet.data : undefined;
    const options = record?.options ?? {};
    const properties = options.properties ?? {};
    return {
      ...packet,
      data: new MqttRecord(record === undefined ? packet.data : record.data, {
        ...options,
        properties: { ...properties, userProperties: { ...properties.userProperties, ...headers } },
      }),
    };
  },
  destination: (_client, pattern) => pattern,
};
