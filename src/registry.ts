/**
 * The explicit list of protocol adapters: the only core module that imports adapters/. Each
 * adapter is its roles (`adapters/<p>/index.ts`, sans I/O) joined with its simulator
 * (`adapters/<p>/simulator.ts`), so the roles never load a server (src/protocol-parts.ts).
 * No registration by import side effect; an unknown protocol is an error naming the known ones.
 */
import type { ProtocolAdapter } from './contracts.ts';
import { BridgeError } from './errors.ts';
import { withSimulator } from './protocol-parts.ts';
import { cloudeventsAdapter } from '../adapters/cloudevents/index.ts';
import { felixAdapter } from '../adapters/felix/index.ts';
import { gatewayAdapter } from '../adapters/gateway/index.ts';
import { panelAdapter } from '../adapters/panel/index.ts';
import { wingsAdapter } from '../adapters/wings/index.ts';
import { cloudeventsSimulator } from '../adapters/cloudevents/simulator.ts';
import { felixSimulator } from '../adapters/felix/simulator.ts';
import { gatewaySimulator } from '../adapters/gateway/simulator.ts';
import { panelSimulator } from '../adapters/panel/simulator.ts';
import { wingsSimulator } from '../adapters/wings/simulator.ts';

export const ADAPTERS: readonly ProtocolAdapter[] = [
  withSimulator(wingsAdapter, wingsSimulator),
  withSimulator(felixAdapter, felixSimulator),
  withSimulator(gatewayAdapter, gatewaySimulator),
  withSimulator(panelAdapter, panelSimulator),
  withSimulator(cloudeventsAdapter, cloudeventsSimulator),
];

export function adapterFor(adapters: readonly ProtocolAdapter[], protocol: string): ProtocolAdapter {
  const found = adapters.find((a) => a.protocol === protocol);
  if (!found) {
    throw new BridgeError('BRIDGE_ERR_CONFIG', `unknown protocol ${JSON.stringify(protocol)} (known: ${adapters.map((a) => a.protocol).join(', ')})`);
  }
  return found;
}
