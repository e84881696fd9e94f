#!/usr/bin/env bash
# Self-test of the stand-in: starts server.mjs and proxy.mjs in a temp dir and drives them with curl
# and a tiny PKCE client (python3 stdlib) plus ./browser. Prints one line per check and ends with
# "N passed, N failed"; exits non-zero if anything failed.
#   STANDIN_SELFTEST_CHROMIUM=1|0  run ./chromium-browser checks or not (default: when /usr/bin/chromium exists)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"

# This machine presets CA bundle variables; every client below gets explicit options instead.
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS \
  HTTPS_PROXY https_proxy HTTP_PROXY http_proxy ALL_PROXY all_proxy NO_PROXY no_proxy
unset STANDIN_BROWSER_MODE STANDIN_LOGIN STANDIN_USER_CODE STANDIN_BROWSER_LOG STANDIN_KEY_TTL

[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund >&2 || exit 1

WORK=$(mktemp -d)
PASS=0
FAIL=0
PIDS=()
cleanup() {
  exec 3>&- 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && echo "       $2" | head -c 2000 && echo; }
check() { # check NAME COMMAND...   (passes when the command succeeds)
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}
# jget JSON EXPR: evaluate a python expression on the parsed JSON `j`
jget() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
jtrue() { [ "$(jget "$1" "$2")" = True ]; }

alive() { # alive PID: running and not a zombie
  [ -r "/proc/$1/stat" ] || return 1
  case "$(cut -d' ' -f3 "/proc/$1/stat")" in Z | X) return 1 ;; esac
}
wait_for() { # wait_for FILE
  for _ in $(seq 1 150); do [ -s "$1" ] && return 0; sleep 0.1; done
  return 1
}

# --- a few package files for the PyPI index ---
mkdir -p "$WORK/pypi"
echo 'not really a wheel' > "$WORK/pypi/Demo_Pkg-1.0-py3-none-any.whl"
echo 'not really an sdist' > "$WORK/pypi/demo.pkg-1.1.tar.gz"
echo 'other' > "$WORK/pypi/other-2.0.tar.gz"

# --- start the server; fd 3 is its stdin, closing it stops the server (--exit-on-stdin-eof).
# Background children started later must not inherit fd 3 (or fd 4, the proxy's), hence `3>&-`.
mkfifo "$WORK/server.in"
node server.mjs --dir "$WORK/srv" --pypi-dir "$WORK/pypi" --exit-on-stdin-eof \
  <"$WORK/server.in" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
exec 3>"$WORK/server.in"
if ! wait_for "$WORK/srv/ready.json"; then
  echo "server did not start:"; cat "$WORK/server.err"; exit 1
fi
READY=$(cat "$WORK/srv/ready.json")
PORT=$(jget "$READY" 'j["port"]')
CA=$(jget "$READY" 'j["ca"]')
BASE="https://127.0.0.1:$PORT"
C=(curl -sS --max-time 20 --cacert "$CA")

check "ready.json has port, domain, ca, pid" jtrue "$READY" \
  "j['domain']=='127.0.0.1:%d'%j['port'] and j['ca'].startswith('/') and j['pid']==$SERVER_PID and set(j)=={'port','domain','ca','pid'}"
check "stdout line equals ready.json" test "$(head -n1 "$WORK/server.out")" = "$(head -n1 "$WORK/srv/ready.json")"
check "server.pem signed by ca.pem" openssl verify -CAfile "$CA" "$WORK/srv/server.pem"
check "TLS fails without the CA" sh -c "! curl -sS --max-time 10 --cacert /etc/ssl/certs/ca-certificates.crt $BASE/ >/dev/null 2>&1"

DISC=$("${C[@]}" "$BASE/api/auth/oauth2/.well-known/openid-configuration")
check "discovery: issuer and all endpoints under it" jtrue "$DISC" \
  "j['issuer']=='$BASE/api/auth/oauth2' and all(v.startswith(j['issuer']+'/') for k,v in j.items() if k.endswith('_endpoint') or k=='jwks_uri')"
check "discovery: device flow, S256, offline_access" jtrue "$DISC" \
  "'device_authorization_endpoint' in j and j['code_challenge_methods_supported']==['S256'] and 'offline_access' in j['scopes_supported']"

# --- the PKCE client (python3 stdlib): authorization code flow and device flow ---
cat >"$WORK/flow.py" <<'EOF'
import base64, hashlib, http.server, json, os, secrets, ssl, subprocess, sys, threading, time
import urllib.error, urllib.parse, urllib.request

ready = json.load(open(os.environ['SRV'] + '/ready.json'))
ctx = ssl.create_default_context(cafile=ready['ca'])
BASE = 'https://' + ready['domain']
CLIENT_ID = 'b4ad7f1d-c784-46b5-a9fe-106e50441f5a'
disc = json.load(urllib.request.urlopen(BASE + '/api/auth/oauth2/.well-known/openid-configuration', context=ctx))

def call(url, form=None, headers=None, data=None):
    body = urllib.parse.urlencode(form).encode() if form is not None else data
    req = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        r = urllib.request.urlopen(req, context=ctx)
        return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

def browser(url, mode, extra_env=None):
    env = {**os.environ, 'STANDIN_CA': ready['ca'], 'STANDIN_BROWSER_MODE': mode, **(extra_env or {})}
    r = subprocess.run([os.environ.get('BROWSER_CMD', './browser'), url], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    return r.returncode, r.stderr

def auth_flow(mode, host='127.0.0.1', path='/auth/oidc', extra_env=None):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()
    state = secrets.token_urlsafe(16)
    hits = []
    class Loopback(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            hits.append({'path': u.path, 'query': dict(urllib.parse.parse_qsl(u.query))})
            self.send_response(200); self.send_header('Content-Type', 'text/plain'); self.end_headers()
            self.wfile.write(b'done')
        def log_message(self, *a): pass
    srv = http.server.HTTPServer(('127.0.0.1', 0), Loopback)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    redirect = f'http://{host}:{srv.server_address[1]}{path}'
    url = disc['authorization_endpoint'] + '?' + urllib.parse.urlencode({
        'response_type': 'code', 'client_id': CLIENT_ID, 'redirect_uri': redirect,
        'scope': 'openid email profile offline_access', 'state': state,
        'code_challenge': challenge, 'code_challenge_method': 'S256'})
    rc, log = browser(url, mode, extra_env)
    srv.shutdown()
    out = {'browser_rc': rc, 'browser_log': log[-1500:], 'state': state, 'hits': hits, 'url': url}
    cb = [h for h in hits if h['path'] == path]
    if cb and 'code' in cb[-1]['query']:
        q = cb[-1]['query']
        st, tok = call(disc['token_endpoint'], {'grant_type': 'authorization_code', 'code': q['code'],
                       'redirect_uri': redirect, 'client_id': CLIENT_ID, 'code_verifier': verifier})
        out['token_status'] = st
        out['token_keys'] = sorted(tok)
        if st == 200:
            out['access_token'] = tok['access_token']
            st, key = call(BASE + '/api/iam/api-keys', headers={'Authorization': 'Bearer ' + tok['access_token'],
                           'Content-Type': 'application/json'},
                           data=json.dumps({'scopes': ['cloud:read', 'cloud:write'], 'tags': ['anaconda-auth/v0.0.0']}).encode())
            out['key_status'] = st
            out['key_response'] = key
    return out

def device_flow(mode, plain=False):
    st, da = call(disc['device_authorization_endpoint'], {'client_id': CLIENT_ID, 'scope': 'openid email profile offline_access'})
    poll = lambda: call(disc['token_endpoint'], {'grant_type': 'urn:ietf:params:oauth:grant-type:device_code',
                                                  'device_code': da['device_code'], 'client_id': CLIENT_ID})
    first = poll()
    if plain:
        rc, log = browser(da['verification_uri'], mode, {'STANDIN_USER_CODE': da['user_code']})
    else:
        rc, log = browser(da['verification_uri_complete'], mode)
    time.sleep(da.get('interval', 5))
    st2, tok = poll()
    return {'auth_status': st, 'device_auth': {k: v for k, v in da.items() if k != 'device_code'},
            'first_poll': first[1].get('error'), 'browser_rc': rc, 'browser_log': log[-1500:],
            'final_status': st2, 'final': sorted(tok), 'final_error': tok.get('error')}

kind = sys.argv[1]
if kind == 'auth':
    print(json.dumps(auth_flow(sys.argv[2], *(sys.argv[3:5]), extra_env=json.loads(os.environ.get('EXTRA_ENV', '{}')))))
else:
    print(json.dumps(device_flow(sys.argv[2], plain=len(sys.argv) > 3)))
EOF
FLOW() { SRV="$WORK/srv" python3 "$WORK/flow.py" "$@"; }

# --- authorization code + PKCE, approve ---
R=$(FLOW auth approve)
check "auth code flow: browser exits 0" jtrue "$R" "j['browser_rc']==0"
check "auth code flow: loopback got code + same state + iss" jtrue "$R" \
  "len(j['hits'])==1 and j['hits'][0]['query']['state']==j['state'] and 'code' in j['hits'][0]['query'] and j['hits'][0]['query']['iss']=='$BASE/api/auth/oauth2'"
check "token exchange with code_verifier gives access + refresh + id token" jtrue "$R" \
  "j['token_status']==200 and {'access_token','refresh_token','id_token'}<=set(j['token_keys'])"
check "POST /api/iam/api-keys -> 201 with api_key" jtrue "$R" "j['key_status']==201 and j['key_response']['api_key'].count('.')==2"
KEY=$(jget "$R" "j['key_response']['api_key']")
AT=$(jget "$R" "j['access_token']")
check "api key claims: sub, email, exp ~ now+365d, iat, jti" jtrue "$(jget "$R" "j['key_response']['api_key'].split('.')[1]" | python3 -c 'import base64,sys; s=sys.stdin.read().strip(); print(base64.urlsafe_b64decode(s+"="*(-len(s)%4)).decode())')" \
  "j['sub']=='test-user@example.com' and j['email']=='test-user@example.com' and abs(j['exp']-j['iat']-365*86400)<5 and 'jti' in j and abs(j['iat']-__import__('time').time())<60"
ACC=$("${C[@]}" -H "Authorization: Bearer $KEY" "$BASE/api/account")
check "GET /api/account with the key" jtrue "$ACC" \
  "j['user']['email']=='test-user@example.com' and j['user']['first_name']=='Test' and j['user']['last_name']=='User' and 'id' in j['user'] and isinstance(j['profile'], dict)"

# request log: the api-keys body and a hashed Authorization
REQS=$("${C[@]}" "$BASE/test/requests")
HASH=$(printf 'Bearer %s' "$AT" | sha256sum | cut -d' ' -f1)
check "/test/requests: api-keys body and sha256 of Authorization" jtrue "$REQS" \
  "[r for r in j if r['path']=='/api/iam/api-keys' and r['body']=={'scopes':['cloud:read','cloud:write'],'tags':['anaconda-auth/v0.0.0']} and r['headers']['authorization']=='$HASH' and r['auth_scheme']=='Bearer']!=[]"
check "/test/requests: no secret in the log" sh -c "! printf '%s' '$REQS' | grep -qF '$AT'"
"${C[@]}" -X DELETE "$BASE/test/requests" >/dev/null
check "DELETE /test/requests clears it" test "$("${C[@]}" "$BASE/test/requests")" = "[]"

# --- other logins and redirect URIs ---
R=$(EXTRA_ENV='{"STANDIN_LOGIN":"alice"}' FLOW auth approve)
check "STANDIN_LOGIN=alice -> email alice@example.com" jtrue "$("${C[@]}" -H "Authorization: Bearer $(jget "$R" "j['key_response']['api_key']")" "$BASE/api/account")" \
  "j['user']['email']=='alice@example.com'"
R=$(FLOW auth approve localhost)
check "loopback redirect http://localhost:ANYPORT/auth/oidc accepted" jtrue "$R" "j['browser_rc']==0 and j.get('key_status')==201"
R=$(FLOW auth approve 127.0.0.1 /not-registered)
check "unregistered redirect path refused (browser fails, no loopback hit)" jtrue "$R" "j['browser_rc']!=0 and j['hits']==[] and 'redirect_uri' in j['browser_log']"

# --- browser modes ---
R=$(FLOW auth deny)
check "deny: loopback gets error=access_denied with the state" jtrue "$R" \
  "j['browser_rc']==0 and j['hits'][-1]['query'].get('error')=='access_denied' and j['hits'][-1]['query']['state']==j['state'] and 'code' not in j['hits'][-1]['query']"
R=$(FLOW auth wrong-state)
check "wrong-state: loopback gets a code with another state" jtrue "$R" \
  "j['browser_rc']==0 and len(j['hits'])==1 and 'code' in j['hits'][0]['query'] and j['hits'][0]['query']['state']!=j['state']"
R=$(FLOW auth favicon)
check "favicon: /favicon.ico and /other-path first, then the callback" jtrue "$R" \
  "[h['path'] for h in j['hits']]==['/favicon.ico','/other-path','/auth/oidc'] and j.get('key_status')==201"
"${C[@]}" -X DELETE "$BASE/test/requests" >/dev/null
R=$(EXTRA_ENV="{\"STANDIN_BROWSER_LOG\":\"$WORK/browser.log\"}" FLOW auth never)
check "never: exits 0, no request, URL logged" jtrue "$R" "j['browser_rc']==0 and j['hits']==[] and open('$WORK/browser.log').read()==j['url']+'\n'"
check "never: the server saw no request (but the client's discovery)" jtrue "$("${C[@]}" "$BASE/test/requests")" \
  "[r['path'] for r in j]==['/api/auth/oauth2/.well-known/openid-configuration']"

# --- device flow ---
R=$(FLOW device approve)
check "device flow: interval, pending, then tokens after the browser" jtrue "$R" \
  "j['device_auth']['interval']==1 and j['first_poll']=='authorization_pending' and j['browser_rc']==0 and j['final_status']==200 and 'refresh_token' in j['final']"
R=$(FLOW device approve plain)
check "device flow via plain /device + STANDIN_USER_CODE" jtrue "$R" "j['browser_rc']==0 and j['final_status']==200"
R=$(FLOW device deny)
check "device flow deny: access_denied" jtrue "$R" "j['browser_rc']==0 and j['final_error']=='access_denied'"

# --- 401 paths ---
code() { "${C[@]}" -o "$WORK/body" -w '%{http_code}' "$@"; }
is_auth_required() { jtrue "$(cat "$WORK/body")" "j['error']['code']=='auth_required'"; }
check "/api/account without auth -> 401 auth_required" sh -c "[ $(code "$BASE/api/account") = 401 ]" && check "  body auth_required" is_auth_required
check "/api/account with a bad key -> 401" test "$(code -H 'Authorization: Bearer abc.def.ghi' "$BASE/api/account")" = 401
EXPIRED=$(jget "$("${C[@]}" -d '{"ttl": -60, "email": "old@example.com"}' "$BASE/test/mint-key")" "j['api_key']")
check "/api/account with an expired minted key -> 401" test "$(code -H "Authorization: Bearer $EXPIRED" "$BASE/api/account")" = 401
MINTED=$(jget "$("${C[@]}" -d '{"ttl": 3600, "email": "minted@example.com"}' "$BASE/test/mint-key")" "j['api_key']")
check "/api/account with a minted key -> 200" jtrue "$("${C[@]}" -H "Authorization: Bearer $MINTED" "$BASE/api/account")" "j['user']['email']=='minted@example.com'"
check "api-keys without a token -> 401" test "$(code -X POST -d '{}' "$BASE/api/iam/api-keys")" = 401
check "api-keys with an API key instead of an access token -> 401" test "$(code -X POST -d '{}' -H "Authorization: Bearer $MINTED" "$BASE/api/iam/api-keys")" = 401 && check "  body auth_required" is_auth_required

# --- API test helpers ---
check "/api/test/status/403?body=auth_required" sh -c "[ $(code "$BASE/api/test/status/403?body=auth_required") = 403 ]" && check "  body auth_required" is_auth_required
check "/api/test/status/502 -> 502 html" test "$("${C[@]}" -o /dev/null -w '%{http_code} %{content_type}' "$BASE/api/test/status/502")" = "502 text/html; charset=utf-8"
ECHO=$("${C[@]}" -H "Authorization: Bearer $MINTED" -H 'X-Extra: 1' "$BASE/api/test/echo")
check "/api/test/echo: headers, Authorization hashed" jtrue "$ECHO" \
  "j['headers']['x-extra']=='1' and j['headers']['authorization']=='$(printf 'Bearer %s' "$MINTED" | sha256sum | cut -d' ' -f1)'"
check "/api/test/min-version header" sh -c "${C[*]} -D - -o /dev/null $BASE/api/test/min-version | grep -qi '^min-api-version: 2099.01.10'"
check "unknown /api route -> 404 JSON" test "$(code "$BASE/api/nope")" = 404
check "X-Standin-Status on /api/account -> 500 html" test "$(code -H 'X-Standin-Status: 500' -H "Authorization: Bearer $MINTED" "$BASE/api/account")" = 500
check "X-Standin-Status 401 + X-Standin-Body auth_required" sh -c "[ $(code -H 'X-Standin-Status: 401' -H 'X-Standin-Body: auth_required' "$BASE/api/account") = 401 ]" && check "  body auth_required" is_auth_required
check "status ?body=echo-auth repeats the Authorization header" jtrue "$("${C[@]}" -H 'Authorization: Bearer ECHOED' "$BASE/api/test/status/422?body=echo-auth")" \
  "j['error']['message']=='rejected Authorization: Bearer ECHOED' and j['error']['api_key']=='ECHOED'"
check "/api/test/redirect?to=URL -> 302 Location URL" sh -c "${C[*]} -D - -o /dev/null '$BASE/api/test/redirect?to=https://elsewhere.example/x' | tr -d '\r' | grep -qi '^location: https://elsewhere.example/x\$'"
check "/api/test/slow/1 answers after a second" sh -c "t=\$(date +%s%N); [ \$(${C[*]} -o /dev/null -w '%{http_code}' $BASE/api/test/slow/1) = 200 ] && [ \$(( (\$(date +%s%N) - t) / 1000000 )) -ge 900 ]"
check "/local-login-success -> 200" test "$(code "$BASE/local-login-success")" = 200

# --- conda channel ---
RT=$(jget "$("${C[@]}" -d '{"org": "acme"}' "$BASE/test/mint-repo-token")" "j['token']")
RD="$BASE/repo/acme/main/noarch/repodata.json"
check "repo: token for the org -> repodata" jtrue "$("${C[@]}" -H "Authorization: token $RT" "$RD")" "j['info']['subdir']=='noarch' and j['packages']=={} and j['packages.conda']=={}"
check "repo: Bearer API key -> 200" test "$(code -H "Authorization: Bearer $MINTED" "$RD")" = 200
check "repo: no auth -> 401 auth_required" sh -c "[ $(code "$RD") = 401 ]" && check "  body auth_required" is_auth_required
check "repo: token of another org -> 401" test "$(code -H "Authorization: token $RT" "$BASE/repo/other/main/noarch/repodata.json")" = 401

# --- PyPI index ---
check "pypi: no auth -> 401 + WWW-Authenticate Basic" sh -c "${C[*]} -D - -o /dev/null $BASE/pypi/simple/ | tr -d '\r' | grep -q '^[Ww][Ww][Ww]-[Aa]uthenticate: Basic realm=\"anaconda\"'"
check "pypi: bad password -> 401" test "$(code -u "__token__:nope" "$BASE/pypi/simple/")" = 401
check "pypi: Basic __token__:KEY lists projects" sh -c "${C[*]} -u __token__:$MINTED $BASE/pypi/simple/ | grep -q 'href=\"/pypi/simple/demo-pkg/\"'"
PAGE=$("${C[@]}" -H "Authorization: Bearer $MINTED" "$BASE/pypi/simple/demo-pkg/")
check "pypi: project page has both files with sha256" sh -c "printf '%s' '$PAGE' | grep -q 'Demo_Pkg-1.0-py3-none-any.whl#sha256=' && printf '%s' '$PAGE' | grep -q 'demo.pkg-1.1.tar.gz#sha256=' && ! printf '%s' '$PAGE' | grep -q other-2.0"
check "pypi: file download" test "$("${C[@]}" -u "x:$MINTED" "$BASE/pypi/files/other-2.0.tar.gz")" = other

# --- proxy ---
mkfifo "$WORK/proxy.in"
node proxy.mjs --dir "$WORK/proxy" --exit-on-stdin-eof <"$WORK/proxy.in" >"$WORK/proxy.out" 2>&1 3>&- &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
exec 4>"$WORK/proxy.in"
if wait_for "$WORK/proxy/proxy.json"; then
  PP=$(jget "$(cat "$WORK/proxy/proxy.json")" "j['port']")
  check "proxy: CONNECT tunnel to the server" jtrue "$("${C[@]}" -x "http://127.0.0.1:$PP" -H "Authorization: Bearer $MINTED" "$BASE/api/account")" "j['user']['email']=='minted@example.com'"
  check "proxy: proxy.log has the target" grep -qx "127.0.0.1:$PORT" "$WORK/proxy/proxy.log"
  HP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/www" && echo hello >"$WORK/www/index.txt"
  python3 -m http.server "$HP" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 3>&- 4>&- &
  PIDS+=("$!")
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$HP/" && break; sleep 0.1; done
  check "proxy: plain absolute-URI forwarding" test "$(curl -sS --max-time 10 -x "http://127.0.0.1:$PP" "http://127.0.0.1:$HP/index.txt")" = hello
  check "proxy: refuses non-loopback targets" test "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$PP" "http://example.invalid/")" = 403
  exec 4>&-
  for _ in $(seq 1 30); do alive "$PROXY_PID" || break; sleep 0.1; done
  check "proxy: exits on stdin EOF" sh -c "! [ -d /proc/$PROXY_PID ] || grep -q ') [ZX] ' /proc/$PROXY_PID/stat"
else
  bad "proxy did not start" "$(cat "$WORK/proxy.out")"
fi

# --- optional: the Chromium browser ---
CHROMIUM_TEST=${STANDIN_SELFTEST_CHROMIUM:-auto}
if [ "$CHROMIUM_TEST" = auto ]; then
  if [ -x "${STANDIN_CHROMIUM:-/usr/bin/chromium}" ]; then CHROMIUM_TEST=1; else echo "skip - chromium-browser (no chromium installed)"; fi
fi
if [ "$CHROMIUM_TEST" = 1 ]; then
  R=$(BROWSER_CMD=./chromium-browser FLOW auth approve)
  check "chromium-browser: auth code flow with the real pages" jtrue "$R" "j['browser_rc']==0 and j.get('key_status')==201" || echo "$R"
  R=$(BROWSER_CMD=./chromium-browser FLOW auth deny)
  check "chromium-browser: deny -> error=access_denied" jtrue "$R" "j['browser_rc']==0 and j['hits'][-1]['query'].get('error')=='access_denied'" || echo "$R"
  R=$(BROWSER_CMD=./chromium-browser FLOW device approve)
  check "chromium-browser: device flow" jtrue "$R" "j['browser_rc']==0 and j['final_status']==200" || echo "$R"
fi

# --- a second server: --port, STANDIN_KEY_TTL, STANDIN_DEVICE_SLOW_DOWN, SIGTERM ---
FP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
STANDIN_KEY_TTL=60 STANDIN_DEVICE_SLOW_DOWN=1 node server.mjs --dir "$WORK/srv2" --port "$FP" \
  </dev/null >"$WORK/server2.out" 2>"$WORK/server2.err" 3>&- 4>&- &
S2=$!
PIDS+=("$S2")
if wait_for "$WORK/srv2/ready.json"; then
  check "--port N is used" test "$(jget "$(cat "$WORK/srv2/ready.json")" "j['port']")" = "$FP"
  B2="https://127.0.0.1:$FP"
  C2=(curl -sS --max-time 20 --cacert "$WORK/srv2/ca.pem")
  check "STANDIN_KEY_TTL=60 sets the key lifetime" jtrue "$("${C2[@]}" -d '{}' "$B2/test/mint-key")" "j['claims']['exp']-j['claims']['iat']==60"
  DA=$("${C2[@]}" -d client_id=b4ad7f1d-c784-46b5-a9fe-106e50441f5a -d 'scope=openid offline_access' "$B2/api/auth/oauth2/device/auth")
  DC=$(jget "$DA" "j['device_code']")
  poll() { "${C2[@]}" -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d "device_code=$DC" -d client_id=b4ad7f1d-c784-46b5-a9fe-106e50441f5a "$B2/api/auth/oauth2/token"; }
  check "STANDIN_DEVICE_SLOW_DOWN=1: slow_down, then authorization_pending" test "$(jget "$(poll)" "j['error']") $(jget "$(poll)" "j['error']")" = "slow_down authorization_pending"
  kill -TERM "$S2"
  for _ in $(seq 1 30); do alive "$S2" || break; sleep 0.1; done
  check "server: exits on SIGTERM" sh -c "! [ -d /proc/$S2 ] || grep -q ') [ZX] ' /proc/$S2/stat"
else
  bad "second server did not start" "$(cat "$WORK/server2.err")"
fi

# --- server exits on stdin EOF ---
exec 3>&-
for _ in $(seq 1 30); do alive "$SERVER_PID" || break; sleep 0.1; done
check "server: exits on stdin EOF" sh -c "! [ -d /proc/$SERVER_PID ] || grep -q ') [ZX] ' /proc/$SERVER_PID/stat"
if grep -v '^oidc-provider WARNING' "$WORK/server.err" | grep -q .; then
  echo "server stderr:"; sed 's/^/  /' "$WORK/server.err" | head -40
fi

echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
