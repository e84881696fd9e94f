#!/usr/bin/env node
// A tiny HTTP proxy for proxy tests:   node proxy.mjs --dir DIR [--exit-on-stdin-eof]
//
// Listens on a free port of 127.0.0.1, writes DIR/proxy.json = {"port": P} (atomically) and prints
// the same JSON as one line on stdout. Supports CONNECT tunnels (what HTTPS_PROXY clients use) and
// plain absolute-URI HTTP forwarding. Appends every target as one "host:port" line to DIR/proxy.log.
// Only loopback targets (127.0.0.0/8, localhost, ::1) are forwarded; others are refused with 403
// (and still logged), so a test can never send traffic off this machine through it.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

let dir;
let exitOnStdinEof = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  if (argv[i] === '--dir') { dir = argv[i + 1]; i += 1; }
  else if (argv[i] === '--exit-on-stdin-eof') exitOnStdinEof = true;
  else {
    process.stderr.write(`proxy.mjs: unknown argument ${argv[i]}\nusage: node proxy.mjs --dir DIR [--exit-on-stdin-eof]\n`);
    process.exit(2);
  }
}
if (!dir) {
  process.stderr.write('usage: node proxy.mjs --dir DIR [--exit-on-stdin-eof]\n');
  process.exit(2);
}
dir = path.resolve(dir);
fs.mkdirSync(dir, { recursive: true });
const logFile = path.join(dir, 'proxy.log');
const verbose = process.env.STANDIN_VERBOSE === '1';

function isLoopback(host) {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (net.isIPv4(h) && h.startsWith('127.'));
}

function logTarget(host, port) {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  fs.appendFileSync(logFile, `${h}:${port}\n`);
  if (verbose) process.stderr.write(`proxy: ${h}:${port}\n`);
}

// Split "host:port" / "[v6]:port" of a CONNECT request.
function splitAuthority(authority) {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(authority) || /^([^:]+):(\d+)$/.exec(authority);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

const server = http.createServer((req, res) => {
  // Plain HTTP through a proxy: the request line carries an absolute URI.
  let target;
  try {
    target = new URL(req.url);
  } catch {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end('proxy: absolute URI required\n');
    return;
  }
  if (target.protocol !== 'http:') {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end('proxy: only http:// URIs are forwarded (use CONNECT for https)\n');
    return;
  }
  const port = Number(target.port || 80);
  logTarget(target.hostname, port);
  if (!isLoopback(target.hostname)) {
    res.writeHead(403, { 'Content-Type': 'text/plain' });
    res.end('proxy: only loopback targets are allowed\n');
    return;
  }
  const headers = { ...req.headers };
  delete headers['proxy-connection'];
  delete headers['proxy-authorization'];
  const upstream = http.request({
    host: target.hostname.replace(/^\[|\]$/g, ''),
    port,
    method: req.method,
    path: `${target.pathname}${target.search}`,
    headers,
  }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end(`proxy: upstream error: ${err.message}\n`);
  });
  req.pipe(upstream);
});

// CONNECT host:port → a raw TCP tunnel.
server.on('connect', (req, clientSocket, head) => {
  const t = splitAuthority(req.url);
  if (!t) {
    clientSocket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return;
  }
  logTarget(t.host, t.port);
  if (!isLoopback(t.host)) {
    clientSocket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return;
  }
  const upstream = net.connect(t.port, t.host, () => {
    clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head && head.length) upstream.write(head);
    upstream.pipe(clientSocket);
    clientSocket.pipe(upstream);
  });
  const close = () => { upstream.destroy(); clientSocket.destroy(); };
  upstream.on('error', () => {
    if (clientSocket.writable) clientSocket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    close();
  });
  clientSocket.on('error', close);
});

server.listen(0, '127.0.0.1', () => {
  const line = JSON.stringify({ port: server.address().port });
  const file = path.join(dir, 'proxy.json');
  fs.writeFileSync(`${file}.${process.pid}.tmp`, `${line}\n`);
  fs.renameSync(`${file}.${process.pid}.tmp`, file);
  process.stdout.write(`${line}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (exitOnStdinEof) {
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
