/**
 * Commands on the NATS bus: the request a node sends on a link's command subject, and the answer
 * the node serving it sends back, both JSON. A request or reply that cannot be read becomes a
 * `BRIDGE_ERR_*` reply, never a rejection.
 * One of the src/bus/nats*.ts files: the only files that import the `nats` package.
 */
import { ErrorCode } from 'nats';
import type { Msg, NatsConnection } from 'nats';
import { noResponder, type CommandHandler } from './bus.ts';
import type { BridgeCommand, CommandReply } from '../events.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The wire form of events, commands and replies. */
export const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

export const fail = (code: string, message: string): CommandReply => ({ ok: false, code, message });
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function decodeReply(data: Uint8Array): CommandReply {
  try {
    const value = JSON.parse(decoder.decode(data)) as CommandReply | null;
    if (value?.ok === true || (value?.ok === false && typeof value.code === 'string')) return value;
  } catch {
    // fall through: a reply we cannot read is the responder's bug, reported as INTERNAL
  }
  return fail('BRIDGE_ERR_INTERNAL', 'unreadable command reply');
}

/** Never rejects: no responder → UPSTREAM_UNAVAILABLE, timeout → COMMAND_TIMEOUT. */
export async function requestCommand(nc: NatsConnection, subject: string, command: BridgeCommand, timeoutMs: number): Promise<CommandReply> {
  try {
    const msg = await nc.request(subject, encode(command), { timeout: timeoutMs });
    return decodeReply(msg.data);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === ErrorCode.Timeout) return fail('BRIDGE_ERR_COMMAND_TIMEOUT', `no reply within ${timeoutMs} ms`);
    if (code === ErrorCode.NoResponders) return noResponder(subject);
    return fail('BRIDGE_ERR_UPSTREAM_UNAVAILABLE', messageOf(err));
  }
}

/**
 * Answers one served command with `handler`'s reply; a request that is not a JSON object is
 * answered `BRIDGE_ERR_BAD_FRAME`, a handler that throws `BRIDGE_ERR_INTERNAL`. `onError` hears
 * an unreadable request, and a reply that could not be sent unless the bus is `closed()`.
 */
export async function answerCommand(msg: Msg, handler: CommandHandler, onError: (err: unknown) => void, closed: () => boolean): Promise<void> {
  let reply: CommandReply;
  let command: BridgeCommand | null = null;
  try {
    command = JSON.parse(decoder.decode(msg.data)) as BridgeCommand | null;
  } catch (err) {
    onError(err);
  }
  if (typeof command !== 'object' || command === null) reply = fail('BRIDGE_ERR_BAD_FRAME', 'command is not a JSON object');
  else {
    try {
      reply = await handler(command, msg.subject);
    } catch (err) {
      reply = fail('BRIDGE_ERR_INTERNAL', messageOf(err));
    }
  }
  if (!msg.reply) return;
  try {
    msg.respond(encode(reply));
  } catch (err) {
    if (!closed()) onError(err);
  }
}
