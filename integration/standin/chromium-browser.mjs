#!/usr/bin/env node
// A real headless Chromium as $BROWSER:   chromium-browser URL
//
// Drives /usr/bin/chromium (Debian package `chromium`) through playwright-core: opens the URL,
// fills the provider's real login form in the page, submits, clicks the consent button (or, for a
// device-flow verification URL, confirms the code first), and waits until the browser lands on
// the loopback redirect URL (its response received), then closes. Exit 0 on success.
//
// TLS: Chromium cannot be pointed at a PEM file, so it is started with
// --ignore-certificate-errors-spki-list=<sha256 of the SPKI of the stand-in's server.pem (and ca.pem)>,
// both read from the folder of $STANDIN_CA. Only certificates with those keys are let through;
// certificate verification stays on for everything else (ignoreHTTPSErrors is not used).
// Requests to hosts other than loopback (e.g. the web fonts the provider's pages @import) are
// aborted in the page, so nothing leaves the machine.
//
// Environment: STANDIN_CA (required for https), STANDIN_BROWSER_MODE approve (default) | deny | never,
// STANDIN_LOGIN, STANDIN_PASSWORD, STANDIN_USER_CODE, STANDIN_BROWSER_LOG, STANDIN_BROWSER_TRACE,
// STANDIN_BROWSER_TIMEOUT (seconds, default 60), STANDIN_CHROMIUM (default /usr/bin/chromium).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

const mode = process.env.STANDIN_BROWSER_MODE || 'approve';
const login = process.env.STANDIN_LOGIN || 'test-user@example.com';
const password = process.env.STANDIN_PASSWORD || 'password';
const traceFile = process.env.STANDIN_BROWSER_TRACE;
const executablePath = process.env.STANDIN_CHROMIUM || '/usr/bin/chromium';

function diag(msg) {
  const line = `chromium-browser: ${msg}\n`;
  try { process.stderr.write(line); } catch { /* stderr may be closed when run detached */ }
  if (traceFile) {
    try { fs.appendFileSync(traceFile, line); } catch { /* ignore */ }
  }
}

const startArg = process.argv[2];
if (!startArg || process.argv.length > 3) {
  diag('usage: chromium-browser URL');
  process.exit(2);
}
if (process.env.STANDIN_BROWSER_LOG) fs.appendFileSync(process.env.STANDIN_BROWSER_LOG, `${startArg}\n`);
if (!['approve', 'deny', 'never'].includes(mode)) {
  diag(`STANDIN_BROWSER_MODE=${mode} is not supported here (approve, deny, never)`);
  process.exit(2);
}
if (mode === 'never') process.exit(0);

// base64(sha256(SubjectPublicKeyInfo DER)) of the PEM certificates next to $STANDIN_CA.
function spkiHashes() {
  if (!process.env.STANDIN_CA) return [];
  const dir = path.dirname(process.env.STANDIN_CA);
  const hashes = [];
  for (const file of [path.join(dir, 'server.pem'), process.env.STANDIN_CA]) {
    if (!fs.existsSync(file)) continue;
    const der = new crypto.X509Certificate(fs.readFileSync(file)).publicKey.export({ type: 'spki', format: 'der' });
    hashes.push(crypto.createHash('sha256').update(der).digest('base64'));
  }
  return hashes;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const isLoopback = (u) => LOOPBACK_HOSTS.has(u.hostname);
const start = new URL(startArg);
const isDevice = /\/device\/?$/.test(start.pathname);
// Where the provider will send the browser at the end (authorization-code flow).
const redirect = start.searchParams.get('redirect_uri');
const isRedirectTarget = (href) => {
  if (!redirect) return false;
  const u = new URL(href);
  const r = new URL(redirect);
  return u.protocol === 'http:' && isLoopback(u) && u.pathname === r.pathname;
};

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-chromium-'));
  const hashes = spkiHashes();
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (hashes.length) args.push(`--ignore-certificate-errors-spki-list=${hashes.join(',')}`);
  const timeoutMs = Number.parseFloat(process.env.STANDIN_BROWSER_TIMEOUT || '60') * 1000;

  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true, args, timeout: timeoutMs,
  });
  try {
    // Keep all traffic on this machine.
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (['http:', 'https:'].includes(u.protocol) && !isLoopback(u)) return route.abort();
      return route.continue();
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(timeoutMs);

    // Resolves with the response of the main-frame navigation to the loopback redirect URI.
    let landed;
    const landing = new Promise((resolve) => {
      page.on('response', (r) => {
        if (r.frame() === page.mainFrame() && r.request().isNavigationRequest() && isRedirectTarget(r.url())) {
          landed = r;
          resolve(r);
        }
      });
    });

    // Run an action that makes the page navigate, and wait for the new page.
    const act = async (what, fn) => {
      diag(what);
      const nav = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() });
      await fn();
      await Promise.race([nav, landing]);
      await page.waitForLoadState('domcontentloaded').catch(() => {});
    };

    diag(`open ${start.origin}${start.pathname}`);
    await page.goto(start.href, { waitUntil: 'domcontentloaded' }).catch((err) => {
      if (!landed) throw err;
    });

    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (landed) break;
      const has = async (sel) => (await page.locator(sel).count()) > 0;
      if (isDevice && await has('#standin-device-success')) {
        if (mode === 'deny') throw new Error('device sign-in succeeded in deny mode');
        diag('device flow: sign-in success page reached');
        return;
      }
      if (isDevice && await has('#standin-device-aborted')) {
        if (mode !== 'deny') throw new Error('device flow was aborted');
        diag('device flow: aborted as asked (deny mode)');
        return;
      }
      if (await has('input[name="prompt"][value="login"]')) {
        if (mode === 'deny') {
          await act('deny: click [ Cancel ] on the login page', () => page.click('a[href$="/abort"]'));
          continue;
        }
        await page.fill('input[name="login"]', login);
        await page.fill('input[name="password"]', password);
        await act('submit the login form', () => page.click('form button[type="submit"]'));
        continue;
      }
      if (await has('input[name="prompt"][value="consent"]')) {
        if (mode === 'deny') {
          await act('deny: click [ Cancel ] on the consent page', () => page.click('a[href$="/abort"]'));
          continue;
        }
        await act('click Continue on the consent page', () => page.click('form button[type="submit"]'));
        continue;
      }
      if (await has('form[id="op.deviceConfirmForm"]')) {
        if (mode === 'deny') {
          await act('deny: click [ Abort ] on the device confirm page', () => page.click('button[name="abort"]'));
        } else {
          await act('confirm the device code', () => page.click('button[form="op.deviceConfirmForm"]:not([name="abort"])'));
        }
        continue;
      }
      if (await has('form[id="op.deviceInputForm"]')) {
        const input = page.locator('input[name="user_code"]');
        if (!(await input.inputValue())) {
          const code = start.searchParams.get('user_code') || process.env.STANDIN_USER_CODE;
          if (!code) throw new Error('device code input page, but no user code');
          await input.fill(code);
        }
        await act('submit the user code', () => page.click('button[form="op.deviceInputForm"]'));
        continue;
      }
      // Self-submitting pages (form_post) and redirects in flight: give them a moment.
      await page.waitForTimeout(200);
    }
    if (!landed) throw new Error(`did not reach the loopback redirect (last page: ${page.url()})`);
    const u = new URL(landed.url());
    diag(`landed on ${u.origin}${u.pathname} (params: ${[...u.searchParams.keys()].join(',')}) -> ${landed.status()}`);
    if (mode === 'deny' && u.searchParams.get('error') !== 'access_denied') throw new Error('deny: no error=access_denied');
  } finally {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  diag(`FAILED: ${err.message || err}`);
  process.exit(1);
});
