// node-spdy as a CLIENT of the Rust server (plain SPDY/3.1 on 127.0.0.1).
// Prints one JSON line per response: {id, status, len, sha256}.
//
// usage: node interop_client.js PORT basic|shutdown
//   basic:    GET /hello; 300 concurrent GET /bytes/N; POST /echo (3 MB);
//             GET /bytes/20000000 (20 MB); then {"done": true}.
//   shutdown: GET /bytes/20000000, printing {"started": true} when the
//             headers arrive; the test then shuts the server down; the body
//             must still arrive whole. Then one more request, which must
//             fail: {"after_goaway": "error" | "ok"}.
'use strict';

const http = require('http');
const spdy = require('spdy');
const { pattern, sha256, deadline } = require('./interop_common');

const port = Number(process.argv[2]);
const mode = process.argv[3] || 'basic';
deadline(60000, `interop_client ${mode}`);

const agent = spdy.createAgent({
  host: '127.0.0.1',
  port,
  spdy: { plain: true, ssl: false, protocol: 'spdy/3.1' },
});

function fetch(id, method, path, body, onHeaders) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, agent, method, path, headers: { 'x-interop': 'node' } },
      (res) => {
        if (onHeaders) onHeaders(res);
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({ id, status: res.statusCode, len: all.length, sha256: sha256(all) });
        });
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function basic() {
  print(await fetch('hello', 'GET', '/hello'));
  const many = [];
  for (let i = 0; i < 300; i++) {
    const n = ((i * 7919) % 50000) + 1;
    many.push(fetch(`bytes/${n}`, 'GET', `/bytes/${n}`));
  }
  for (const result of await Promise.all(many)) print(result);
  print(await fetch('echo', 'POST', '/echo', pattern(5, 3000000)));
  print(await fetch('bytes/20000000', 'GET', '/bytes/20000000'));
  print({ done: true });
}

async function shutdown() {
  const result = await fetch('bytes/20000000', 'GET', '/bytes/20000000', undefined, () =>
    print({ started: true })
  );
  print(result);
  // node-spdy reports a request refused after GOAWAY on the agent.
  const refused = new Promise((resolve, reject) => agent.once('error', reject));
  try {
    await Promise.race([fetch('late', 'GET', '/hello'), refused]);
    print({ after_goaway: 'ok' });
  } catch (e) {
    print({ after_goaway: 'error' });
  }
}

(mode === 'shutdown' ? shutdown() : basic())
  .then(() => {
    agent.close(() => {});
    setImmediate(() => process.exit(0));
  })
  .catch((e) => {
    console.error(`interop_client: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  });
