import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownString } from './own-string.js';

test('ownString: the same text, made anew (slices and concatenations of parsed text alike)', () => {
  const request = `PLAY rtsp://h/cam RTSP/1.0\r\nUser-Agent: LibVLC/3.0.20 (LIVE555 Streaming Media v2016.11.28)\r\n`;
  const agent = request.slice(request.indexOf(': ') + 2, request.lastIndexOf('\r\n'));
  assert.equal(ownString(agent), 'LibVLC/3.0.20 (LIVE555 Streaming Media v2016.11.28)');
  assert.equal(ownString(`rtsp://h:554/${encodeURIComponent('caméra 1')}`), 'rtsp://h:554/cam%C3%A9ra%201');
  assert.equal(ownString('é✓'), 'é✓');
  assert.equal(ownString(''), '');
  assert.equal(ownString(undefined), undefined);
});
