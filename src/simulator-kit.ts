/**
 * The only core module simulators (`adapters/<p>/simulator*.ts`) import: everything the adapter
 * kit offers, plus the I/O a simulator needs and sans-I/O adapter files must not load: the
 * {@link WebHost} it serves on, the connection its sockets get, and the shared simulator parts
 * (src/simulator-base.ts). No other adapter file imports this kit.
 */
export * from './adapter-kit.ts';
export type { SimulatorFactory } from './protocol-parts.ts';
export { WebHost, type HostConnection, type ConnectionHooks, type SocketEndpoint } from './downstream/web-host.ts';
export { HostedSimulator, ServerTimers, SimulatorSocket, listenSimulator, logStamp, type SimulatorStart } from './simulator-base.ts';
