import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandArgv, CommandLineError, expandVariables, splitCommandLine } from './command-line.js';

test('words are split as sh does, without expanding anything', () => {
  assert.deepEqual(splitCommandLine(`ffmpeg -i 'a b.mp4'  -metadata "title=\\"x\\"" c\\ d ''`), [
    'ffmpeg',
    '-i',
    'a b.mp4',
    '-metadata',
    'title="x"',
    'c d',
    '',
  ]);
  assert.deepEqual(splitCommandLine('echo $(reboot); rm -rf /'), ['echo', '$(reboot);', 'rm', '-rf', '/']);
  assert.throws(() => splitCommandLine(`echo 'open`), CommandLineError);
  assert.throws(() => splitCommandLine('echo \\'), CommandLineError);
});

test("the hook's variables are replaced inside a word, and a value never splits it", () => {
  const vars = { RTSP_PORT: '8554', RTSPKIT_PATH: 'cam 1; rm', G1: '7' };
  assert.equal(expandVariables('rtsp://h:$RTSP_PORT/${RTSPKIT_PATH}', vars), 'rtsp://h:8554/cam 1; rm');
  assert.equal(expandVariables('$HOME/$G1', vars), '$HOME/7', 'not ours: left as it is');
  assert.deepEqual(commandArgv('touch /tmp/$RTSPKIT_PATH', vars, false), ['touch', '/tmp/cam 1; rm']);
  assert.deepEqual(commandArgv('a | b', vars, true), ['/bin/sh', '-c', 'a | b']);
  assert.throws(() => commandArgv('  ', vars, false), CommandLineError);
});
