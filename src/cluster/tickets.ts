/**
 * Which ticket service a listener gets (`ListenerContext.tickets`): on the memory bus each listener
 * keeps its tickets in this process (src/auth/tickets.ts); on NATS they live in the relay's one
 * `<PREFIX>_TICKETS` KV bucket (nats-tickets.ts), so any node redeems a ticket any node minted.
 */
import type { Bus } from '../bus/bus.ts';
import { NatsBus } from '../bus/nats.ts';
import type { Clock } from '../clock.ts';
import type { Log } from '../contracts.ts';
import type { ClientRegistry } from '../auth/clients.ts';
import { MemoryTickets, type TicketPolicy, type TicketService } from '../auth/tickets.ts';
import { NatsTickets, TicketBucket } from './nats-tickets.ts';

/** Makes the ticket service of the listener named `scope`. */
export type TicketServices = (scope: string, policy: TicketPolicy) => TicketService;

export function ticketServices(o: { bus: Bus; prefix: string; replicas: number; clock: Clock; log: Log; clients: ClientRegistry }): TicketServices {
  const { bus, clock } = o;
  if (!(bus instanceof NatsBus)) return (_scope, policy) => new MemoryTickets(clock, policy);
  const bucket = new TicketBucket({
    connection: () => bus.connection(),
    available: () => bus.state === 'connected',
    prefix: o.prefix,
    replicas: o.replicas,
    log: o.log,
  });
  bus.onStateChange((state) => state === 'connected' && bucket.warm());
  // A name no config in force has (removed by a reload) binds no grant: the session refuses it.
  const resolve = (name: string) => o.clients.current.named(name) ?? { name, grants: [] };
  return (scope, policy) => new NatsTickets({ bucket, scope, policy, clock, resolve });
}
