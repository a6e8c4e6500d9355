/**
 * A hook's command line as words, without a shell (mediamtx splits its commands the same way): spaces
 * separate words, single quotes keep everything, double quotes keep all but `\"` and `\\`, a backslash
 * outside quotes keeps the next character. Nothing is expanded but the hook's own variables
 * (`$RTSPKIT_PATH`, `${RTSP_PORT}`, `$G1`), replaced inside each word after the split, so a value never
 * becomes two words nor a shell construct. `hooksUseShell` hands the line to `/bin/sh -c` instead.
 */

export class CommandLineError extends Error {
  override readonly name = 'CommandLineError';
}

/** The words of `line`; CommandLineError for an unterminated quote or a trailing backslash. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i]!;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new CommandLineError('the command line ends with a backslash');
      word += line[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new CommandLineError(`the command line has an unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** `$NAME` and `${NAME}` of `vars` replaced in `word`; other `$` text is left as it is. */
export function expandVariables(word: string, vars: Readonly<Record<string, string>>): string {
  return word.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (m, a?: string, b?: string) => {
      const value = vars[a ?? b!];
      return value ?? m;
    },
  );
}

/** The program and its arguments for `line` with `vars`: split then expanded, or through `/bin/sh -c`. */
export function commandArgv(
  line: string,
  vars: Readonly<Record<string, string>>,
  useShell: boolean,
): [string, ...string[]] {
  // The shell expands the variables itself, from the environment the command is given.
  if (useShell) return ['/bin/sh', '-c', line];
  const words = splitCommandLine(line).map((w) => expandVariables(w, vars));
  if (words.length === 0 || words[0] === '') throw new CommandLineError('the command line is empty');
  return words as [string, ...string[]];
}
