#!/usr/bin/env node
// Local stand-in for "Anaconda Cloud", used by anaconda-auth's integration tests.
//
//   node server.mjs --dir DIR [--port N] [--pypi-dir PDIR] [--exit-on-stdin-eof]
//
// One HTTPS server on 127.0.0.1 (throwaway CA made at start-up with the openssl CLI) that serves:
//   - a real OpenID provider (npm `oidc-provider`) under /api/auth/oauth2,
//   - the few Anaconda Cloud API routes the product uses (/api/iam/api-keys, /api/account),
//   - a conda channel (/repo/ORG/...) and a PyPI simple index (/pypi/...) that require auth,
//   - test helpers (/test/..., /api/test/...).
// When listening it writes DIR/ready.json and prints the same JSON as one line on stdout.
// Nothing else is ever written to stdout (oidc-provider's notices are sent to stderr).
// See README.md for the full contract.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

// ---------------------------------------------------------------------------------------------
// stdout is reserved for the one ready line: route console.log/info (oidc-provider prints its
// notices with console.info) to stderr, and drop the known start-up noise unless verbose.
const VERBOSE = process.env.STANDIN_VERBOSE === '1';
const NOISE = [
  /devInteractions is enabled/,
  /in-memory adapter is used/,
  /unsupported runtime/i,
  /default .* function called, you SHOULD change it/,
];
for (const level of ['log', 'info', 'warn']) {
  console[level] = (...args) => {
    const text = args.map(String).join(' ');
    if (!VERBOSE && NOISE.some((re) => re.test(text))) return;
    process.stderr.write(`${text}\n`);
  };
}
// Imported only after the console is redirected (it may print at import time).
const { default: Provider } = await import('oidc-provider');

// ---------------------------------------------------------------------------------------------
// Command line
function parseArgs(argv) {
  const opts = { dir: undefined, port: 0, pypiDir: undefined, exitOnStdinEof: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--dir') opts.dir = value();
    else if (arg === '--port') opts.port = Number.parseInt(value(), 10);
    else if (arg === '--pypi-dir') opts.pypiDir = value();
    else if (arg === '--exit-on-stdin-eof') opts.exitOnStdinEof = true;
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument: ${arg}`);
  }
  if (!opts.dir) usage('--dir is required');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
  return opts;
}

function usage(message) {
  if (message) process.stderr.write(`server.mjs: ${message}\n`);
  process.stderr.write('usage: node server.mjs --dir DIR [--port N] [--pypi-dir PDIR] [--exit-on-stdin-eof]\n');
  process.exit(message ? 2 : 0);
}

const opts = parseArgs(process.argv.slice(2));
const DIR = path.resolve(opts.dir);
const PYPI_DIR = opts.pypiDir ? path.resolve(opts.pypiDir) : undefined;
fs.mkdirSync(DIR, { recursive: true });

// ---------------------------------------------------------------------------------------------
// Throwaway CA + server certificate (ECDSA P-256), made with the openssl CLI.
// DIR/ca.pem (trust this), DIR/server.pem (leaf, SAN IP:127.0.0.1 + DNS:localhost), DIR/server-key.pem.
function makeCertificates(dir) {
  const f = (name) => path.join(dir, name);
  const run = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const days = '30';
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-days', days,
    '-subj', '/O=anaconda-auth stand-in/CN=anaconda-auth stand-in test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash']);
  run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', f('server-key.pem'), '-out', f('server.csr'),
    '-subj', '/O=anaconda-auth stand-in/CN=127.0.0.1']);
  fs.writeFileSync(f('server-ext.cnf'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    '',
  ].join('\n'));
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'),
    '-set_serial', `0x${crypto.randomBytes(16).toString('hex')}`, '-days', days,
    '-extfile', f('server-ext.cnf'), '-out', f('server.pem')]);
  fs.rmSync(f('server.csr'), { force: true });
  fs.rmSync(f('server-ext.cnf'), { force: true });
  fs.chmodSync(f('ca-key.pem'), 0o600);
  fs.chmodSync(f('server-key.pem'), 0o600);
  return {
    caPath: f('ca.pem'),
    cert: fs.readFileSync(f('server.pem')),
    key: fs.readFileSync(f('server-key.pem')),
  };
}

const tls = makeCertificates(DIR);

// ---------------------------------------------------------------------------------------------
// Constants and server-held secrets (new at every start).
const CLIENT_ID = 'b4ad7f1d-c784-46b5-a9fe-106e50441f5a';
const OIDC_PREFIX = '/api/auth/oauth2';
const KEY_SECRET = crypto.randomBytes(32); // HS256 secret for API keys
const KEY_TTL = Number.parseInt(process.env.STANDIN_KEY_TTL || `${365 * 24 * 3600}`, 10);
const DEVICE_INTERVAL = Number.parseInt(process.env.STANDIN_DEVICE_INTERVAL || '1', 10);
const DEVICE_TTL = Number.parseInt(process.env.STANDIN_DEVICE_TTL || '600', 10);
const DEVICE_SLOW_DOWN = Number.parseInt(process.env.STANDIN_DEVICE_SLOW_DOWN || '0', 10);
// Test hook: how long an idle keep-alive connection stays open (Node's default is 5 s).
const KEEPALIVE_S = Number.parseFloat(process.env.STANDIN_KEEPALIVE_S || '5');
// Test hook: the first N requests to the token endpoint get a 503 HTML page (a proxy in front of
// a provider that is down), without reaching the provider.
let tokenUnavailable = Number.parseInt(process.env.STANDIN_TOKEN_UNAVAILABLE || '0', 10);
// Registered redirect URIs. oidc-provider 9 already lets a *native* client vary the port of an
// http loopback redirect (RFC 8252 §7.3): host and path must match one of these, the port may be any.
const REDIRECT_URIS = (process.env.STANDIN_REDIRECT_URIS
  || 'http://127.0.0.1:8000/auth/oidc,http://localhost:8000/auth/oidc,http://[::1]:8000/auth/oidc')
  .split(',').map((s) => s.trim()).filter(Boolean);

// ---------------------------------------------------------------------------------------------
// Small helpers: base64url JWT (HS256) for API keys, sha256, JSON/HTML answers.
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const nowSecs = () => Math.floor(Date.now() / 1000);

function signKey(claims) {
  const enc = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  const sig = crypto.createHmac('sha256', KEY_SECRET).update(input).digest('base64url');
  return `${input}.${sig}`;
}

// Returns the claims of a valid, unexpired API key, else undefined.
function verifyKey(token) {
  if (typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const expected = crypto.createHmac('sha256', KEY_SECRET).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return undefined;
  let claims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof claims.exp !== 'number' || claims.exp <= nowSecs()) return undefined;
  return claims;
}

function emailFor(login) {
  return login.includes('@') ? login : `${login}@example.com`;
}

function mintKey({ sub, email, ttl = KEY_TTL, scopes }) {
  const iat = nowSecs();
  const claims = {
    sub, email, iat, exp: iat + ttl, jti: crypto.randomUUID(),
  };
  if (scopes) claims.scopes = scopes;
  return { key: signKey(claims), claims };
}

function send(res, status, body, headers = {}) {
  const isString = typeof body === 'string';
  const data = isString ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': isString ? 'text/html; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(data),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(data);
}

const authRequired = (res, message = 'Authentication required', headers = {}) => send(res, 401,
  { error: { code: 'auth_required', message } }, headers);

function htmlPage(title, body) {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body><h1>${title}</h1>${body}</body></html>\n`;
}

// Authorization header → { scheme: 'bearer'|'token'|'basic', value, user? } (scheme lowercased).
function parseAuthorization(req) {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^(\S+)\s+(.*)$/.exec(header.trim());
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme === 'basic') {
    const decoded = Buffer.from(m[2], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { scheme, user: decoded, value: '' };
    return { scheme, user: decoded.slice(0, colon), value: decoded.slice(colon + 1) };
  }
  return { scheme, value: m[2].trim() };
}

async function readBody(req, limit = 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text) {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Request log for /test/requests. Authorization values are replaced by their sha256 (hex).
let requestLog = [];

function recordRequest(req) {
  const headers = { ...req.headers };
  for (const name of ['authorization', 'proxy-authorization']) {
    if (headers[name] !== undefined) headers[name] = sha256(headers[name]);
  }
  const entry = {
    time: new Date().toISOString(),
    method: req.method,
    path: req.url,
    // Which connection it came on: a client that reuses one sends from the same port.
    client_port: req.socket.remotePort,
    headers,
  };
  const auth = req.headers.authorization;
  if (auth) entry.auth_scheme = auth.trim().split(/\s+/)[0];
  requestLog.push(entry);
  return entry;
}

// ---------------------------------------------------------------------------------------------
// The OpenID provider.
// Accounts: the dev login form accepts any login/password; the login typed becomes the account id.
async function findAccount(ctx, id) {
  const email = emailFor(id);
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email,
        email_verified: true,
        name: 'Test User',
        given_name: 'Test',
        family_name: 'User',
        preferred_username: id,
      };
    },
  };
}

// Plain pages (the library defaults @import web fonts from the internet; these load nothing).
const page = (title, inner) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${inner}</body></html>`;

async function userCodeInputSource(ctx, form, out, err) {
  let msg = '<p>Enter the code displayed on your device</p>';
  if (err && (err.userCode || err.name === 'NoCodeError')) msg = '<p class="red">The code you entered is incorrect. Try again</p>';
  else if (err && err.name === 'AbortedError') msg = '<p class="red" id="standin-device-aborted">The Sign-in request was interrupted</p>';
  else if (err) msg = '<p class="red">There was an error processing your request</p>';
  ctx.type = 'html';
  ctx.body = page('Sign-in', `${msg}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
}

async function userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
  ctx.type = 'html';
  ctx.body = page('Confirm Device', `<p>The following code should be displayed on your device: <code>${userCode}</code></p>
${form}
<button autofocus type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">[ Abort ]</button>`);
}

async function successSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Sign-in Success', '<p id="standin-device-success">Your sign-in was successful, you can now close this page.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  ctx.body = page('oops! something went wrong',
    Object.entries(out).map(([k, v]) => `<pre><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join(''));
}

// Generated at each start: RS256 signing key (id tokens) and cookie keys.
const signingJwk = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });
signingJwk.use = 'sig';
signingJwk.alg = 'RS256';
signingJwk.kid = crypto.randomBytes(8).toString('hex');

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_name: 'anaconda-auth (stand-in)',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: REDIRECT_URIS,
    }],
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    },
    findAccount,
    jwks: { keys: [signingJwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 accepts
    features: {
      devInteractions: { enabled: true }, // login form (any login/password) + consent form
      deviceFlow: {
        enabled: true, userCodeInputSource, userCodeConfirmSource, successSource,
      },
      revocation: { enabled: true },
    },
    renderError,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 120,
      BackchannelAuthenticationRequest: 600,
      ClientCredentials: 600,
      DeviceCode: DEVICE_TTL,
      Grant: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 3600,
      PreAuthorizedCode: 600,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
    },
  });

  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

  // Koa middleware around the provider's own routes.
  const slowDownCount = new Map();
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    // RFC 8628 `interval` (oidc-provider leaves it out; clients would then wait 5 s).
    if (route === 'device_authorization' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body = { ...ctx.body, interval: DEVICE_INTERVAL };
    }
    // Test hook: STANDIN_DEVICE_SLOW_DOWN=N turns the first N `authorization_pending` answers for
    // each device code into `slow_down`.
    if (DEVICE_SLOW_DOWN > 0 && route === 'token' && ctx.status === 400
        && ctx.body?.error === 'authorization_pending') {
      const dc = ctx.oidc.params?.device_code;
      const seen = slowDownCount.get(dc) || 0;
      if (dc && seen < DEVICE_SLOW_DOWN) {
        slowDownCount.set(dc, seen + 1);
        ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly and should back off at a reasonable rate' };
      }
    }
  });
  return provider;
}

// ---------------------------------------------------------------------------------------------
// State for conda repo tokens: token → org.
const repoTokens = new Map();

// ---------------------------------------------------------------------------------------------
// PyPI simple index (PEP 503) over the files of --pypi-dir.
const normalizeName = (name) => name.replace(/[-_.]+/g, '-').toLowerCase();

function projectOfFile(filename) {
  if (filename.endsWith('.whl')) return normalizeName(filename.split('-')[0]);
  const m = /^(.*)-[^-]+\.(tar\.gz|tar\.bz2|zip|tgz)$/.exec(filename);
  return m ? normalizeName(m[1]) : undefined;
}

function pypiFiles() {
  if (!PYPI_DIR || !fs.existsSync(PYPI_DIR)) return [];
  return fs.readdirSync(PYPI_DIR)
    .filter((f) => fs.statSync(path.join(PYPI_DIR, f)).isFile())
    .map((f) => ({ file: f, project: projectOfFile(f) }))
    .filter((x) => x.project);
}

function pypiAuthorized(req) {
  const auth = parseAuthorization(req);
  if (!auth) return false;
  if (auth.scheme === 'basic' || auth.scheme === 'bearer') return Boolean(verifyKey(auth.value));
  return false;
}

function handlePypi(req, res, url) {
  if (!PYPI_DIR) return send(res, 404, { error: { code: 'not_found', message: 'no --pypi-dir given' } });
  if (!pypiAuthorized(req)) {
    return send(res, 401, htmlPage('401 Unauthorized', '<p>Authentication required</p>'),
      { 'WWW-Authenticate': 'Basic realm="anaconda"' });
  }
  const p = url.pathname;
  if (p === '/pypi/simple' || p === '/pypi/simple/') {
    const projects = [...new Set(pypiFiles().map((x) => x.project))].sort();
    const links = projects.map((n) => `<a href="/pypi/simple/${n}/">${n}</a><br/>`).join('\n');
    return send(res, 200, `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"><title>Simple index</title></head><body>\n${links}\n</body></html>\n`);
  }
  let m = /^\/pypi\/simple\/([^/]+)\/?$/.exec(p);
  if (m) {
    const name = normalizeName(decodeURIComponent(m[1]));
    const files = pypiFiles().filter((x) => x.project === name);
    if (files.length === 0) return send(res, 404, htmlPage('404 Not Found', `<p>no project ${name}</p>`));
    const links = files.map(({ file }) => {
      const digest = crypto.createHash('sha256').update(fs.readFileSync(path.join(PYPI_DIR, file))).digest('hex');
      return `<a href="/pypi/files/${encodeURIComponent(file)}#sha256=${digest}">${file}</a><br/>`;
    }).join('\n');
    return send(res, 200, `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0"><title>Links for ${name}</title></head><body>\n<h1>Links for ${name}</h1>\n${links}\n</body></html>\n`);
  }
  m = /^\/pypi\/files\/([^/]+)$/.exec(p);
  if (m) {
    const file = decodeURIComponent(m[1]);
    const full = path.join(PYPI_DIR, file);
    if (file.includes('/') || file.startsWith('.') || !fs.existsSync(full)) {
      return send(res, 404, htmlPage('404 Not Found', ''));
    }
    const data = fs.readFileSync(full);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
    return res.end(data);
  }
  return send(res, 404, htmlPage('404 Not Found', ''));
}

// ---------------------------------------------------------------------------------------------
// Conda channel: /repo/ORG/CHANNEL/SUBDIR/repodata.json
function handleRepo(req, res, url) {
  const parts = url.pathname.split('/').filter(Boolean); // ['repo', ORG, CHANNEL, ...]
  const org = parts[1];
  const auth = parseAuthorization(req);
  const ok = auth && ((auth.scheme === 'token' && org && repoTokens.get(auth.value) === org)
    || (auth.scheme === 'bearer' && verifyKey(auth.value)));
  if (!ok) return send(res, 401, { error: { code: 'auth_required', message: 'Authentication required' } });
  const last = parts[parts.length - 1];
  if (parts.length >= 4 && (last === 'repodata.json' || last === 'current_repodata.json')) {
    const subdir = parts[parts.length - 2];
    return send(res, 200, {
      info: { subdir }, packages: {}, 'packages.conda': {}, removed: [], repodata_version: 1,
    });
  }
  return send(res, 404, { error: { code: 'not_found', message: `Not found: ${url.pathname}` } });
}

// ---------------------------------------------------------------------------------------------
// A test status: `auth_required` → the JSON auth error; `echo-auth` → a JSON error whose message
// repeats the request's Authorization header (a careless server, for redaction tests); else HTML.
function sendStatus(res, req, code, body) {
  if (!Number.isInteger(code) || code < 200 || code > 599) return send(res, 400, { error: { code: 'bad_request' } });
  if (body === 'auth_required') {
    return send(res, code, { error: { code: 'auth_required', message: 'Authentication required' } });
  }
  if (body === 'echo-auth') {
    const auth = req.headers.authorization || '(none)';
    return send(res, code, { error: { code: 'test_error', message: `rejected Authorization: ${auth}`, api_key: parseAuthorization(req)?.value ?? null } });
  }
  return send(res, code, htmlPage(`${code} Test status`, '<p>This is a test page.</p>'));
}

// ---------------------------------------------------------------------------------------------
// Anaconda Cloud API and test helpers. `provider` is used in-process to check access tokens.
async function handleApp(req, res, url, provider, entry) {
  const p = url.pathname;
  const method = req.method;

  // -- test helpers (not recorded in /test/requests) --
  if (p === '/test/requests') {
    if (method === 'GET') return send(res, 200, requestLog);
    if (method === 'DELETE') {
      requestLog = [];
      return send(res, 200, { cleared: true });
    }
    return send(res, 405, { error: { code: 'method_not_allowed' } });
  }
  if (p === '/test/mint-key' && method === 'POST') {
    const body = parseJson(await readBody(req)) || {};
    const email = body.email || 'test-user@example.com';
    const ttl = Number.isFinite(body.ttl) ? body.ttl : KEY_TTL;
    const { key, claims } = mintKey({ sub: body.sub || email, email, ttl });
    return send(res, 200, { api_key: key, claims });
  }
  if (p === '/test/mint-repo-token' && method === 'POST') {
    const body = parseJson(await readBody(req)) || {};
    if (!body.org) return send(res, 400, { error: { code: 'bad_request', message: 'org is required' } });
    const token = crypto.randomBytes(24).toString('hex');
    repoTokens.set(token, String(body.org));
    return send(res, 200, { token, org: String(body.org) });
  }

  // -- pages the product may send the browser to --
  if (p === '/local-login-success') {
    return send(res, 200, htmlPage('Login successful', '<p>You are logged in to Anaconda Cloud (stand-in). You can close this window.</p>'));
  }
  if (p === '/local-login-error') {
    return send(res, 200, htmlPage('Login failed', '<p>The login did not succeed. You can close this window and try again.</p>'));
  }

  if (p === '/repo' || p.startsWith('/repo/')) return handleRepo(req, res, url);
  if (p === '/pypi' || p.startsWith('/pypi/')) return handlePypi(req, res, url);

  // -- API --
  // Test hook: `X-Standin-Status: CODE` on any API request answers that status (the body as
  // chosen by `X-Standin-Body`), so a client's own routes can be driven into each error.
  const forced = req.headers['x-standin-status'];
  if (forced !== undefined && (p === '/api' || p.startsWith('/api/'))) {
    return sendStatus(res, req, Number.parseInt(forced, 10), req.headers['x-standin-body']);
  }
  if (p === '/api/iam/api-keys' && method === 'POST') {
    const text = await readBody(req);
    const body = parseJson(text);
    entry.body = body === undefined ? text : body;
    const auth = parseAuthorization(req);
    const at = auth?.scheme === 'bearer' ? await provider.AccessToken.find(auth.value) : undefined;
    if (!at || at.isExpired) return authRequired(res, 'A valid access token is required');
    if (body === undefined) return send(res, 400, { error: { code: 'bad_request', message: 'body must be JSON' } });
    const scopes = Array.isArray(body.scopes) ? body.scopes : [];
    const { key, claims } = mintKey({ sub: at.accountId, email: emailFor(at.accountId), scopes });
    return send(res, 201, {
      id: claims.jti,
      api_key: key,
      scopes,
      tags: Array.isArray(body.tags) ? body.tags : [],
      expires_at: new Date(claims.exp * 1000).toISOString(),
    });
  }
  if (p === '/api/account' && method === 'GET') {
    const auth = parseAuthorization(req);
    const claims = auth?.scheme === 'bearer' ? verifyKey(auth.value) : undefined;
    if (!claims) return authRequired(res);
    const id = crypto.createHash('sha256').update(String(claims.sub)).digest('hex');
    const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`;
    return send(res, 200, {
      user: {
        id: uuid,
        email: claims.email,
        first_name: 'Test',
        last_name: 'User',
        username: String(claims.email).split('@')[0],
        created_at: '2024-01-02T03:04:05Z',
      },
      profile: {
        user_id: uuid,
        is_confirmed: true,
        is_disabled: false,
        job_title: 'Tester',
        company: 'Stand-in Inc.',
        subscriptions: [],
      },
    });
  }
  if (p.startsWith('/api/test/status/')) {
    const code = Number.parseInt(p.slice('/api/test/status/'.length), 10);
    return sendStatus(res, req, code, url.searchParams.get('body'));
  }
  if (p === '/api/test/redirect') {
    const to = url.searchParams.get('to');
    if (!to) return send(res, 400, { error: { code: 'bad_request', message: 'to is required' } });
    return send(res, 302, { redirect: to }, { Location: to });
  }
  if (p.startsWith('/api/test/slow/')) {
    const seconds = Number.parseFloat(p.slice('/api/test/slow/'.length));
    if (!(seconds >= 0 && seconds <= 60)) return send(res, 400, { error: { code: 'bad_request' } });
    await new Promise((resolve) => { setTimeout(resolve, seconds * 1000); });
    if (res.destroyed) return undefined;
    return send(res, 200, {});
  }
  if (p === '/api/test/echo') {
    return send(res, 200, { method, path: req.url, headers: entry.headers });
  }
  if (p === '/api/test/min-version') {
    return send(res, 200, {}, { 'Min-Api-Version': '2099.01.10' });
  }
  if (p === '/api' || p.startsWith('/api/')) {
    return send(res, 404, { error: { code: 'not_found', message: `Not found: ${method} ${p}` } });
  }
  if (p === '/') return send(res, 200, htmlPage('Anaconda Cloud stand-in', '<p>Local test server.</p>'));
  return send(res, 404, htmlPage('404 Not Found', ''));
}

// oidc-provider drops `offline_access` unless the authorization request says prompt=consent.
// Anaconda Cloud issues refresh tokens for offline_access, so add prompt=consent when no prompt is
// given (the consent page is shown anyway to a fresh browser session). Done on the raw URL, before
// the provider computes its mount path from req.originalUrl.
function addConsentPrompt(req, url) {
  if (req.method !== 'GET' || url.pathname !== `${OIDC_PREFIX}/auth`) return;
  const scope = url.searchParams.get('scope');
  if (url.searchParams.has('prompt') || !scope || !scope.split(' ').includes('offline_access')) return;
  url.searchParams.set('prompt', 'consent');
  req.url = `${url.pathname}${url.search}`;
}

// ---------------------------------------------------------------------------------------------
// The HTTPS server. The provider is created once the port (hence the issuer URL) is known.
let provider;
let providerCallback;

const server = https.createServer({ key: tls.key, cert: tls.cert }, async (req, res) => {
  const url = new URL(req.url, 'https://127.0.0.1');
  const entry = url.pathname.startsWith('/test/') ? { headers: {} } : recordRequest(req);
  if (VERBOSE) {
    res.on('finish', () => process.stderr.write(`standin: ${req.method} ${url.pathname} -> ${res.statusCode}\n`));
  }
  try {
    if (url.pathname === OIDC_PREFIX || url.pathname.startsWith(`${OIDC_PREFIX}/`)) {
      if (tokenUnavailable > 0 && url.pathname === `${OIDC_PREFIX}/token`) {
        tokenUnavailable -= 1;
        res.writeHead(503, { 'Content-Type': 'text/html' });
        return res.end('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
      }
      // Mount the provider: it sees the path without the prefix and finds the prefix again
      // from req.originalUrl, so every URL it builds stays under /api/auth/oauth2.
      addConsentPrompt(req, url);
      req.originalUrl = req.url;
      req.url = req.url.slice(OIDC_PREFIX.length) || '/';
      if (!req.url.startsWith('/')) req.url = `/${req.url}`;
      return providerCallback(req, res);
    }
    return await handleApp(req, res, url, provider, entry);
  } catch (err) {
    console.error('standin: error:', err);
    if (!res.headersSent) send(res, 500, { error: { code: 'server_error', message: String(err.message || err) } });
    else res.destroy();
  }
});

function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

server.keepAliveTimeout = KEEPALIVE_S * 1000;
server.listen(opts.port, '127.0.0.1', () => {
  const { port } = server.address();
  provider = makeProvider(`https://127.0.0.1:${port}${OIDC_PREFIX}`);
  providerCallback = provider.callback();
  const ready = {
    port, domain: `127.0.0.1:${port}`, ca: tls.caPath, pid: process.pid,
  };
  const line = JSON.stringify(ready);
  writeAtomically(path.join(DIR, 'ready.json'), `${line}\n`);
  process.stdout.write(`${line}\n`);
});

server.on('error', (err) => {
  process.stderr.write(`standin: cannot listen: ${err.message}\n`);
  process.exit(1);
});

// ---------------------------------------------------------------------------------------------
// Shutdown: SIGTERM/SIGINT, or stdin EOF with --exit-on-stdin-eof.
let stopping = false;
function shutdown(why) {
  if (stopping) return;
  stopping = true;
  if (VERBOSE) process.stderr.write(`standin: stopping (${why})\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (opts.exitOnStdinEof) {
  process.stdin.on('end', () => shutdown('stdin EOF'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}
