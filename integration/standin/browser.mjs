#!/usr/bin/env node
// A scripted "browser" for tests, used as $BROWSER:   browser URL
//
// It walks the stand-in's oidc-provider pages with plain HTTP requests (no real browser): it keeps
// cookies in memory, follows redirects by hand, reads the real HTML forms the provider renders
// (dev login form, consent form, device-flow code/confirm forms) and submits them, until the
// provider redirects to the loopback redirect URI, which it then requests over plain http.
//
// HTTPS is verified against the CA in $STANDIN_CA (a PEM file); verification is never turned off.
//
// Environment:
//   STANDIN_CA           CA file (PEM) that signed the stand-in's certificate
//   STANDIN_BROWSER_MODE approve (default) | deny | wrong-state | favicon | never
//   STANDIN_LOGIN        login name typed in the form (default test-user@example.com)
//   STANDIN_PASSWORD     password typed in the form (default "password"; any value works)
//   STANDIN_USER_CODE    device-flow user code, when called with the plain /device page
//   STANDIN_BROWSER_LOG  append the URL this browser was called with to this file (one line)
//   STANDIN_BROWSER_TRACE append diagnostics to this file too (they always go to stderr)
//   STANDIN_BROWSER_TIMEOUT seconds before giving up (default 60)
// Exit status: 0 when the walk ended as the mode expects, 1 otherwise, 2 for usage errors.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

const MODES = new Set(['approve', 'deny', 'wrong-state', 'favicon', 'never']);
const mode = process.env.STANDIN_BROWSER_MODE || 'approve';
const login = process.env.STANDIN_LOGIN || 'test-user@example.com';
const password = process.env.STANDIN_PASSWORD || 'password';
const traceFile = process.env.STANDIN_BROWSER_TRACE;

function diag(msg) {
  const line = `browser: ${msg}\n`;
  try { process.stderr.write(line); } catch { /* stderr may be closed when run detached */ }
  if (traceFile) {
    try { fs.appendFileSync(traceFile, line); } catch { /* ignore */ }
  }
}

function fail(msg) {
  diag(`FAILED: ${msg}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Start-up
const startArg = process.argv[2];
if (!startArg || process.argv.length > 3) {
  diag('usage: browser URL');
  process.exit(2);
}
if (process.env.STANDIN_BROWSER_LOG) {
  fs.appendFileSync(process.env.STANDIN_BROWSER_LOG, `${startArg}\n`);
}
if (!MODES.has(mode)) fail(`unknown STANDIN_BROWSER_MODE=${mode}`);
if (mode === 'never') process.exit(0);

const timeoutSecs = Number.parseFloat(process.env.STANDIN_BROWSER_TIMEOUT || '60');
setTimeout(() => fail(`gave up after ${timeoutSecs}s`), timeoutSecs * 1000).unref();

let ca;
if (process.env.STANDIN_CA) {
  try {
    ca = fs.readFileSync(process.env.STANDIN_CA);
  } catch (err) {
    fail(`cannot read STANDIN_CA: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Cookie jar (in memory): name + path → value; sent when the request path is under the cookie path.
const jar = new Map();

function storeCookies(setCookie, requestUrl) {
  for (const header of setCookie || []) {
    const [pair, ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let cookiePath = requestUrl.pathname.replace(/\/[^/]*$/, '') || '/';
    let expired = false;
    for (const attr of attrs) {
      const [k, v = ''] = attr.split('=').map((s) => s.trim());
      const key = k.toLowerCase();
      if (key === 'path') cookiePath = v || '/';
      else if (key === 'max-age' && Number(v) <= 0) expired = true;
      else if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
    }
    const id = `${requestUrl.host} ${cookiePath} ${name}`;
    if (expired) jar.delete(id);
    else jar.set(id, { host: requestUrl.host, path: cookiePath, name, value });
  }
}

function cookieHeader(url) {
  const out = [];
  for (const c of jar.values()) {
    const under = url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`);
    if (c.host === url.host && under) out.push(`${c.name}=${c.value}`);
  }
  return out.join('; ');
}

// ---------------------------------------------------------------------------------------------
// One HTTP(S) request, no automatic redirects.
function request(method, url, form) {
  return new Promise((resolve, reject) => {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers = { 'User-Agent': 'standin-browser/1', Accept: 'text/html,*/*' };
    const cookies = cookieHeader(url);
    if (cookies) headers.Cookie = cookies;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const lib = url.protocol === 'https:' ? https : http;
    const options = { method, headers, timeout: 20000 };
    if (url.protocol === 'https:' && ca) options.ca = ca;
    const req = lib.request(url, options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        storeCookies(res.headers['set-cookie'], url);
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Minimal HTML reading: forms with their inputs, links, title.
const unescapeHtml = (s) => s
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)))
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number.parseInt(d, 10)))
  .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function attributes(tag) {
  const attrs = {};
  const re = /([a-zA-Z_:][-\w:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  const inner = tag.replace(/^<\s*\w+/, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) attrs[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4] ?? '');
  return attrs;
}

function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/(<form\b[^>]*>)([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]);
    const inputs = {};
    for (const i of m[2].matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(i[0]);
      if (a.name) inputs[a.name] = a.value ?? '';
    }
    forms.push({
      id: attrs.id, action: attrs.action, method: (attrs.method || 'get').toUpperCase(), inputs,
    });
  }
  return forms;
}

const titleOf = (html) => (/<title>([\s\S]*?)<\/title>/i.exec(html)?.[1] || '').trim();
const abortLink = (html) => [...html.matchAll(/<a\b[^>]*>/gi)].map((m) => attributes(m[0]).href)
  .find((href) => href && /\/abort$/.test(href));

// ---------------------------------------------------------------------------------------------
// The walk.
const start = new URL(startArg);

async function visitLoopback(url) {
  let target = new URL(url);
  if (mode === 'wrong-state') {
    target.searchParams.set('state', `wrong-${Math.random().toString(36).slice(2)}`);
  }
  diag(`loopback: GET ${target.origin}${target.pathname} (params: ${[...target.searchParams.keys()].join(',')})`);
  let res;
  try {
    res = await request('GET', target);
  } catch (err) {
    fail(`loopback request failed: ${err.message}`);
  }
  diag(`loopback answered ${res.status}`);
  if (mode === 'wrong-state') return;
  // Follow where the product sends the browser afterwards (e.g. /local-login-success), like a browser.
  for (let i = 0; i < 5 && res.status >= 300 && res.status < 400 && res.headers.location; i += 1) {
    target = new URL(res.headers.location, target);
    try {
      res = await request('GET', target);
      diag(`then GET ${target.origin}${target.pathname} -> ${res.status}`);
    } catch (err) {
      diag(`then GET ${target.origin}${target.pathname} failed: ${err.message}`);
      return;
    }
  }
}

async function main() {
  if (mode === 'favicon') {
    // Stray requests a real browser may make to the loopback server before the redirect.
    const redirect = start.searchParams.get('redirect_uri');
    if (redirect) {
      for (const p of ['/favicon.ico', '/other-path']) {
        const u = new URL(p, redirect);
        try {
          const r = await request('GET', u);
          diag(`stray GET ${u.href} -> ${r.status}`);
        } catch (err) {
          diag(`stray GET ${u.href} failed: ${err.message}`);
        }
      }
    }
  }

  const isDevice = /\/device\/?$/.test(start.pathname);
  let method = 'GET';
  let url = start;
  let form;
  if (isDevice && !start.searchParams.get('user_code') && !process.env.STANDIN_USER_CODE) {
    fail('device page without user_code and no STANDIN_USER_CODE');
  }

  for (let step = 0; step < 40; step += 1) {
    if (url.protocol === 'http:') {
      await visitLoopback(url);
      return;
    }
    diag(`${method} ${url.origin}${url.pathname}`);
    let res;
    try {
      res = await request(method, url, form);
    } catch (err) {
      fail(`${method} ${url.href}: ${err.message}${err.code ? ` (${err.code})` : ''}`);
    }
    method = 'GET';
    form = undefined;

    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      url = new URL(res.headers.location, url);
      continue;
    }
    const html = res.body;
    if (res.status >= 400) {
      fail(`${res.status} ${titleOf(html)}: ${html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 400)}`);
    }

    // Device flow end pages.
    if (html.includes('standin-device-success') || titleOf(html) === 'Sign-in Success') {
      if (mode === 'deny') fail('device sign-in succeeded in deny mode');
      diag('device flow: sign-in success page reached');
      return;
    }
    if (html.includes('standin-device-aborted')) {
      if (mode !== 'deny') fail('device flow was aborted');
      diag('device flow: aborted as asked (deny mode)');
      return;
    }

    const forms = parseForms(html);
    const byPrompt = (name) => forms.find((f) => f.inputs.prompt === name);
    const loginForm = byPrompt('login');
    const consentForm = byPrompt('consent');
    const inputForm = forms.find((f) => f.id === 'op.deviceInputForm');
    const confirmForm = forms.find((f) => f.id === 'op.deviceConfirmForm');

    if (loginForm || consentForm) {
      if (mode === 'deny') {
        // The "[ Cancel ]" link of the dev interactions: the provider answers error=access_denied.
        const href = abortLink(html);
        if (!href) fail('deny: no abort link on the interaction page');
        diag(`deny: following the abort link of the ${loginForm ? 'login' : 'consent'} page`);
        url = new URL(href, url);
        continue;
      }
      const f = loginForm || consentForm;
      method = f.method;
      url = new URL(f.action, url);
      form = loginForm ? { ...f.inputs, login, password } : { ...f.inputs };
      continue;
    }
    if (confirmForm) {
      method = confirmForm.method;
      url = new URL(confirmForm.action, url);
      form = { ...confirmForm.inputs };
      if (mode === 'deny') {
        delete form.confirm;
        form.abort = 'yes'; // the "[ Abort ]" button of the confirm page
      }
      continue;
    }
    if (inputForm) {
      const code = inputForm.inputs.user_code || start.searchParams.get('user_code') || process.env.STANDIN_USER_CODE;
      if (!code) fail('device code input page, but no user code');
      method = inputForm.method;
      url = new URL(inputForm.action, url);
      form = { ...inputForm.inputs, user_code: code };
      continue;
    }
    if (forms.length === 1 && forms[0].method === 'POST') {
      // A self-submitting form (oidc-provider's form_post pages, e.g. /device?user_code=...).
      method = 'POST';
      url = new URL(forms[0].action, url);
      form = { ...forms[0].inputs };
      continue;
    }
    fail(`unrecognised page (${res.status}, title "${titleOf(html)}")`);
  }
  fail('too many steps');
}

main().then(() => process.exit(0), (err) => fail(err.stack || String(err)));
