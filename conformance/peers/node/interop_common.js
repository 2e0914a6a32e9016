// Shared by the interop peers: the deterministic body pattern both sides
// compute, and SHA-256 in hex.
'use strict';

const crypto = require('crypto');

// Byte i of body `seed` is (i * 7 + seed) mod 256: cheap on both sides.
function pattern(seed, len) {
  const buf = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) buf[i] = (i * 7 + seed) & 0xff;
  return buf;
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

// Ends the process if it runs longer than `ms`: a peer never hangs a test.
function deadline(ms, what) {
  const timer = setTimeout(() => {
    console.error(`${what} did not finish within ${ms} ms`);
    process.exit(2);
  }, ms);
  timer.unref();
}

module.exports = { pattern, sha256, deadline };
