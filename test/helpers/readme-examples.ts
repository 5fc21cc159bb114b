/**
 * Runs the README's demo examples ("Watch the demo") against a relay started from the repository's
 * own bridge.config.json, so the README cannot promise a frame the demo does not send.
 *
 * A block is a ```sh fence in that section. In it:
 *   curl -s -H 'Name: value' URL            fetched; `# → …` on the next line is what must come back
 *   npx wscat -c URL [-H 'Name: value']     a WebSocket is opened
 *   #   > FRAME                             FRAME is sent (`<token>`: the token the curl returned)
 *   #   < FRAME                             a frame like FRAME must arrive, after the previous match
 * In an expected frame `…` stands for any text: the parts between are matched in order. URLs name
 * 127.0.0.1:8080, which is replaced by the test relay's address.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { loadConfigFile } from '../../src/config/load.ts';
import type { BridgeConfig } from '../../src/config/schema.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';

const ROOT = new URL('../../', import.meta.url);
const DEMO_HOST = '127.0.0.1:8080';

export interface ReadmeBlock {
  /** The first line of the paragraph before the fence (e.g. "**CloudEvents** (the relay's own dialect): …"). */
  title: string;
  lines: string[];
}

/** The ```sh blocks of the README's "Watch the demo" section. */
export function demoBlocks(): ReadmeBlock[] {
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  const start = readme.indexOf('### Watch the demo');
  const end = readme.indexOf('\n## ', start);
  const section = readme.slice(start, end);
  const blocks: ReadmeBlock[] = [];
  const re = /\n\n((?:[^\n]+\n)+)\n```sh\n([\s\S]*?)```/g;
  for (let m = re.exec(section); m; m = re.exec(section)) blocks.push({ title: m[1]!.split('\n')[0]!, lines: m[2]!.split('\n').filter(Boolean) });
  return blocks;
}

/** The demo config on a free loopback port, quiet. */
export async function startDemoRelay(): Promise<Relay> {
  const base = loadConfigFile(new URL('bridge.config.json', ROOT).pathname, ADAPTERS);
  const config: BridgeConfig = {
    ...base,
    http: { ...base.http, host: '127.0.0.1', port: 0 },
    log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
  };
  return Relay.start({ config, defaultMetrics: false });
}

/** Whether `text` matches `pattern`, where `…` in the pattern stands for any text. */
export function matches(pattern: string, text: string): boolean {
  const parts = pattern.split('…');
  if (parts.length === 1) return text === pattern;
  if (!text.startsWith(parts[0]!) || !text.endsWith(parts.at(-1)!)) return false;
  let at = parts[0]!.length;
  for (const part of parts.slice(1, -1)) {
    const i = text.indexOf(part, at);
    if (i < 0) return false;
    at = i + part.length;
  }
  return at <= text.length - parts.at(-1)!.length;
}

function header(spec: string | undefined): Record<string, string> {
  if (!spec) return {};
  const i = spec.indexOf(':');
  return { [spec.slice(0, i).trim().toLowerCase()]: spec.slice(i + 1).trim() };
}

export interface BlockRun {
  /** Every frame the block's socket received, in order. */
  frames: string[];
  /** The index in `frames` of each `<` line's match, in README order. */
  matched: { expected: string; index: number }[];
  close(): void;
}

/** Runs one block against `relay`; rejects naming the first expectation that was not met. */
export async function runBlock(relay: Relay, block: ReadmeBlock, timeoutMs = 20_000): Promise<BlockRun> {
  const host = new URL(relay.url).host;
  const local = (s: string) => s.split(DEMO_HOST).join(host);
  let token = '';
  let ws: WebSocket | null = null;
  const frames: string[] = [];
  const matched: { expected: string; index: number }[] = [];
  let wake: (() => void) | null = null;
  let next = 0;
  const lines = block.lines.map(local);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const curl = /^curl -s -H '([^']+)' (\S+)$/.exec(line);
    const wscat = /^npx wscat -c '?([^' ]+)'?(?: -H '([^']+)')?$/.exec(line);
    const frame = /^#   ([<>]) (.+)$/.exec(line);
    if (curl) {
      const res = await fetch(curl[2]!, { headers: header(curl[1]) });
      const body = await res.text();
      assert.equal(res.status, 200, `${block.title}: ${line} → ${res.status} ${body}`);
      token = (JSON.parse(body) as { data: { token: string } }).data.token;
      const shown = /^# → (.+)$/.exec(lines[i + 1] ?? '');
      if (shown) assert.ok(matches(shown[1]!, body), `${block.title}: ${line}\n  expected ${shown[1]}\n  got      ${body}`);
    } else if (wscat) {
      const socket = new WebSocket(wscat[1]!.replace('<token>', token), { headers: header(wscat[2]) });
      socket.on('message', (data) => {
        frames.push(String(data));
        wake?.();
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
        socket.once('unexpected-response', (_req, res) => reject(new Error(`${block.title}: ${line} → HTTP ${res.statusCode}`)));
      });
      ws = socket;
    } else if (frame?.[1] === '>') {
      assert.ok(ws, `${block.title}: a frame to send before any wscat line`);
      ws.send(frame[2]!.replace('<token>', token));
    } else if (frame?.[1] === '<') {
      const expected = frame[2]!;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = frames.findIndex((f, k) => k >= next && matches(expected, f));
        if (index >= 0) {
          matched.push({ expected, index });
          next = index + 1;
          break;
        }
        const left = deadline - Date.now();
        if (left <= 0) assert.fail(`${block.title}: no frame like\n  ${expected}\nafter frame ${next}; received:\n  ${frames.slice(next, next + 20).join('\n  ')}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 1000));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }
  const socket = ws as WebSocket | null;
  return { frames, matched, close: () => socket?.terminate() };
}
