import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RtspHeaders } from './headers.js';

test('case-insensitive lookups, original casing and order kept', () => {
  const h = new RtspHeaders([
    ['CSeq', '1'],
    ['WWW-Authenticate', 'Digest realm="a"'],
    ['www-authenticate', 'Basic realm="a"'],
  ]);
  assert.equal(h.get('cseq'), '1');
  assert.equal(h.get('Www-Authenticate'), 'Digest realm="a"');
  assert.deepEqual(h.getAll('WWW-AUTHENTICATE'), ['Digest realm="a"', 'Basic realm="a"']);
  assert.deepEqual(h.getAll('missing'), []);
  assert.equal(h.get('missing'), undefined);
  assert.ok(h.has('CSEQ'));
  assert.equal(h.size, 3);
  assert.deepEqual(
    [...h.entries()].map(([n]) => n),
    ['CSeq', 'WWW-Authenticate', 'www-authenticate'],
  );
});

test('set replaces every value in place of the first; append adds; delete removes all', () => {
  const h = new RtspHeaders({ A: '1', B: '2' }).append('a', '3').append('C', '4');
  h.set('a', 'x');
  assert.deepEqual(
    [...h],
    [
      ['a', 'x'],
      ['B', '2'],
      ['C', '4'],
    ],
  );
  h.set('D', '5');
  assert.equal(h.get('d'), '5');
  h.delete('b');
  assert.deepEqual(
    [...h.entries()].map(([n]) => n),
    ['a', 'C', 'D'],
  );
  h.delete('nothing');
  assert.equal(h.size, 3);
});

test('names must be tokens and values free of line breaks (no header injection)', () => {
  const h = new RtspHeaders();
  assert.throws(() => h.set('Bad Name', 'x'), TypeError);
  assert.throws(() => h.append('', 'x'), TypeError);
  assert.throws(() => h.set('Location', 'rtsp://h/\r\nX-Injected: 1'), TypeError);
  assert.throws(() => h.append('X', 'a\nb'), TypeError);
  assert.throws(() => new RtspHeaders({ 'a:b': 'c' }), TypeError);
});

test('toJSON joins repeated fields and handles a __proto__ name as an ordinary key', () => {
  const h = new RtspHeaders([
    ['A', '1'],
    ['A', '2'],
    ['__proto__', 'x'],
  ]);
  const json = h.toJSON();
  assert.equal(json.A, '1, 2');
  assert.equal(Object.getOwnPropertyDescriptor(json, '__proto__')?.value, 'x');
  assert.equal(Object.getPrototypeOf(json), Object.prototype);
});

test('property: behaves like a reference list model', () => {
  const name = fc.constantFrom('A', 'a', 'B', 'CSeq', 'cseq');
  const op = fc.oneof(
    fc.tuple(fc.constant('set' as const), name, fc.string({ maxLength: 3, unit: 'grapheme-ascii' })),
    fc.tuple(fc.constant('append' as const), name, fc.string({ maxLength: 3, unit: 'grapheme-ascii' })),
    fc.tuple(fc.constant('delete' as const), name, fc.constant('')),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 20 }), (ops) => {
      const h = new RtspHeaders();
      let model: Array<[string, string]> = [];
      for (const [kind, n, v] of ops) {
        const lower = n.toLowerCase();
        if (kind === 'append') {
          h.append(n, v);
          model.push([n, v]);
        } else if (kind === 'delete') {
          h.delete(n);
          model = model.filter(([m]) => m.toLowerCase() !== lower);
        } else {
          h.set(n, v);
          const i = model.findIndex(([m]) => m.toLowerCase() === lower);
          if (i < 0) model.push([n, v]);
          else
            model = model.flatMap<[string, string]>((e, j) =>
              j === i ? [[n, v]] : e[0].toLowerCase() === lower ? [] : [e],
            );
        }
        assert.deepEqual([...h.entries()], model);
        assert.equal(h.size, model.length);
        assert.equal(h.get(n), model.find(([m]) => m.toLowerCase() === lower)?.[1]);
      }
    }),
  );
});
