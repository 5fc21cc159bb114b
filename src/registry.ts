/**
 * The explicit list of protocol adapters: the only core module that imports adapters/.
 * No registration by import side effect; an unknown protocol is an error naming the known ones.
 */
import type { ProtocolAdapter } from './contracts.ts';
import { BridgeError } from './errors.ts';
import { cloudeventsAdapter } from '../adapters/cloudevents/index.ts';
import { felixAdapter } from '../adapters/felix/index.ts';
import { gatewayAdapter } from '../adapters/gateway/index.ts';
import { panelAdapter } from '../adapters/panel/index.ts';
import { wingsAdapter } from '../adapters/wings/index.ts';

export const ADAPTERS: readonly ProtocolAdapter[] = [wingsAdapter, felixAdapter, gatewayAdapter, panelAdapter, cloudeventsAdapter];

export function adapterFor(adapters: readonly ProtocolAdapter[], protocol: string): ProtocolAdapter {
  const found = adapters.find((a) => a.protocol === protocol);
  if (!found) {
    throw new BridgeError('BRIDGE_ERR_CONFIG', `unknown protocol ${JSON.stringify(protocol)} (known: ${adapters.map((a) => a.protocol).join(', ')})`);
  }
  return found;
}
