/**
 * `npm run screenshot`: docs/status-page.png, the status page of the demo with the live tail
 * running, as the README shows it. Starts the demo relay on a free port and the system's Chromium
 * (the browser test's helpers), types the demo key into the tail, waits for rates and a few tail
 * lines, and saves the whole page. Run it after changing the page, and look at the result.
 */
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/helpers/chromium.ts';
import { startDemoRelay } from '../test/helpers/demo-relay.ts';

/** Globals of the page, for the functions that run inside the browser (tsconfig has no DOM lib). */
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number } };

const OUT = fileURLToPath(new URL('../docs/status-page.png', import.meta.url));

const demo = await startDemoRelay();
const browser = await launchChromium({ width: 1200, height: 900 });
try {
  const { page } = browser;
  await page.goto(`${demo.url}/`);
  // Two refreshes, so the per-second column has numbers.
  await page.waitForFunction(() => /^[0-9.,]+$/.test(document.querySelector('#events-in tr.total td:nth-child(3)')?.textContent ?? ''), undefined, { timeout: 20_000 });
  await page.locator('#tail-key').fill('ptlc_demo_dashboard_key');
  await page.locator('#tail-start').click();
  await page.waitForFunction(() => document.querySelectorAll('#tail li').length >= 12, undefined, { timeout: 30_000 });
  await page.screenshot({ path: OUT, fullPage: true });
  process.stdout.write(`wrote ${OUT}\n`);
} finally {
  await browser.close();
  demo.stop();
}
