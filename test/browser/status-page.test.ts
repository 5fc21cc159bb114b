/**
 * The status page in a real browser against the demo (`npm start`'s relay and config, on a free
 * port): headless Chromium loads it with no console error, shows every demo link ready, its
 * counters move between two refreshes (the demo simulators emit periodically), and the live tail
 * shows new console lines once the demo key is typed in (a wrong key first is refused) — sent in the socket's first frame, never
 * in a URL, never stored. Chromium missing is a failure that says how to install it, not a skip.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, type Browser } from '../helpers/chromium.ts';
import { startDemoRelay, type DemoRelay } from '../helpers/demo-relay.ts';

/** Globals of the page, for the functions that run inside the browser (tsconfig has no DOM lib). */
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): Iterable<{ textContent: string | null; dataset: Record<string, string | undefined> }> };
declare const localStorage: { length: number };
declare const sessionStorage: { length: number };

const DEMO_KEY = 'ptlc_demo_dashboard_key';

let demo: DemoRelay;
let browser: Browser;
const errors: string[] = [];

before(async () => {
  // Chromium first: when it is missing, the one-line failure comes before any relay starts.
  browser = await launchChromium();
  demo = await startDemoRelay();
  browser.page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  browser.page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
});

after(async () => {
  await browser?.close();
  demo?.stop();
});

/** The links the demo config asks for: one per Wings server, panel, bot and room. */
function demoLinkCount(): number {
  let n = 0;
  for (const u of demo.config.upstreams) n += u.protocol === 'wings' ? (u.servers?.length ?? 0) : u.protocol === 'gateway' ? (u.rooms?.length ?? 0) : 1;
  return n;
}

test('the status page shows the demo live, and tails it with the demo key', { timeout: 60_000 }, async () => {
  const { page } = browser;
  assert.ok(demo.config.clients.some((c) => c.key === DEMO_KEY), 'the demo config still has the demo key');
  await page.goto(`${demo.url}/`);

  // Every demo link is up (the links connect right after the relay listens).
  const expected = demoLinkCount();
  await page.waitForFunction(
    (n) => {
      const rows = [...document.querySelectorAll('#links tr[data-state]')];
      return rows.length === n && rows.every((r) => r.dataset.state === 'ready');
    },
    expected,
    { timeout: 15_000 },
  ).catch(async (err: Error) => {
    throw new Error(`not every demo link shown ready: ${await page.locator('#links').innerText()}\n${err.message}`);
  });
  const upstreams = await page.locator('#links tr td:first-child').allInnerTexts();
  assert.deepEqual([...new Set(upstreams)].sort(), demo.config.upstreams.map((u) => u.name).sort());

  // Counters move: events in grows between refreshes, and a rate appears once two samples exist.
  const totalIn = () => page.locator('#events-in tr.total td:nth-child(2)').innerText().then((t) => Number(t.replace(/,/g, '')));
  await page.locator('#events-in tr.total').waitFor();
  const before = await totalIn();
  await page.waitForFunction((b) => Number(document.querySelector('#events-in tr.total td:nth-child(2)')?.textContent?.replace(/,/g, '')) > b, before, { timeout: 15_000 });
  await page.waitForFunction(() => /^[0-9.,]+$/.test(document.querySelector('#events-in tr.total td:nth-child(3)')?.textContent ?? ''), undefined, { timeout: 10_000 });
  assert.ok((await totalIn()) > before);

  // The live tail: key typed in, submitted, new console lines appear.
  assert.match(await page.locator('#tail-where').innerText(), /\/cloudevents/);
  await page.locator('#tail-key').fill('not-a-client-key');
  await page.locator('#tail-start').click();
  await page.waitForFunction(() => /refused that key/.test(document.querySelector('#tail-state')?.textContent ?? ''), undefined, { timeout: 10_000 });
  await page.locator('#tail-key').fill(DEMO_KEY);
  await page.locator('#tail-start').click();
  await page.waitForFunction(() => [...document.querySelectorAll('#tail li:not(.error) .type')].filter((e) => e.textContent === 'server.console').length >= 2, undefined, { timeout: 15_000 }).catch(async (err: Error) => {
    throw new Error(`no console lines in the tail: state "${await page.locator('#tail-state').innerText()}", tail:\n${await page.locator('#tail').innerText()}\n${err.message}`);
  });
  const tailErrors = await page.locator('#tail li.error').allInnerTexts();
  assert.deepEqual(tailErrors, [], 'every subscription of the demo key is granted');

  // The key went nowhere but the socket: not in the URL, the field, storage or cookies.
  assert.ok(!page.url().includes(DEMO_KEY));
  assert.equal(await page.locator('#tail-key').inputValue(), '');
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
  assert.deepEqual(await browser.context.cookies(), []);

  assert.deepEqual(errors, [], 'no console errors or page errors');
});
