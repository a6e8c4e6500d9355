'use strict';
// Loads the add-on: the prebuilt binary for this platform and architecture (prebuilds/<platform>-<arch>/,
// committed, so no compiler is needed), else one built here (`npm run build:local`: build/), else none,
// with the reason. It never throws: the caller (rtspkit's src/transport/udp-batch.ts) falls back to one
// dgram send per datagram when `available` is false.
const path = require('node:path');
const fs = require('node:fs');

function load() {
  if (process.platform !== 'linux')
    return { available: false, reason: `sendmmsg(2) is Linux only (${process.platform})` };
  const candidates = [
    path.join(__dirname, 'prebuilds', `${process.platform}-${process.arch}`, 'udp-batch.node'),
    path.join(__dirname, 'build', 'udp-batch.node'),
  ];
  const tried = [];
  for (const file of candidates) {
    if (!fs.existsSync(file)) {
      tried.push(`${path.relative(__dirname, file)}: absent`);
      continue;
    }
    try {
      const binding = require(file);
      if (typeof binding.sendBatch !== 'function') throw new Error('no sendBatch export');
      return { available: true, binding, file };
    } catch (err) {
      tried.push(`${path.relative(__dirname, file)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { available: false, reason: tried.join('; ') };
}

module.exports = load();
