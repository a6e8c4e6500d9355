// The package's public API: `import { RtspClient } from 'rtspkit'` (package.json "exports" → dist/src/index.js)
// gives the client, the publisher, their errors, the server and startApp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../src/index.js';
import { repoRoot } from './support/tools.js';

const EXPECTED = ['RtspClient', 'Publisher', 'RtspClientError', 'RtspServer', 'startApp', 'TsMuxer'];

test('src/index.ts exports the client, publisher, errors, server and startApp', () => {
  for (const name of EXPECTED) assert.equal(typeof (api as Record<string, unknown>)[name], 'function', name);
  const err = new api.RtspClientError('RTSP_404', 'x');
  assert.ok(err instanceof Error);
});

const built = join(repoRoot(), 'dist', 'src', 'index.js');
test(
  "import from 'rtspkit' resolves through package.json exports",
  { skip: existsSync(built) ? false : 'needs a build (npx tsc -p .)' },
  async () => {
    const specifier = 'rtspkit'; // a variable: type-checking must not need the build
    const mod = (await import(specifier)) as Record<string, unknown>;
    for (const name of EXPECTED) assert.equal(typeof mod[name], 'function', name);
    assert.ok(existsSync(join(repoRoot(), 'dist', 'src', 'index.d.ts')), 'types are built');
  },
);
