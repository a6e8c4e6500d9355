/**
 * Environment overrides of config options: `RTSPKIT_CONFIG_<OPTION>`, the option's name in upper
 * snake case, nested keys joined with `_` (`sessionTimeout` → RTSPKIT_CONFIG_SESSION_TIMEOUT,
 * `auth.realm` → RTSPKIT_CONFIG_AUTH_REALM, `auth.hook.timeoutMs` → RTSPKIT_CONFIG_AUTH_HOOK_TIMEOUT_MS).
 *
 * Why a prefix of its own rather than plain `RTSPKIT_<OPTION>`: the test harness and CI already use
 * RTSPKIT_REQUIRE_TOOLS, RTSPKIT_MEDIA_DIR (the test clips; `mediaDir` is also an option) and
 * RTSPKIT_TEST_LOG, and a server started by a test must not pick them up as options. With a namespace
 * of its own, a misspelt variable can be refused outright instead of ignored with a warning.
 *
 * Values are read by the option's type: numbers as numbers, booleans as true/false (also 1/0, yes/no,
 * on/off), strings verbatim, `null` for options that may be null; an object, record or list option
 * (`paths`, `auth`, `auth.users`, ...) takes YAML or JSON (`{"cam1": {"source": "/srv/a.mp4"}}`).
 * The merged result goes through the same schema as the file, so a bad value is refused naming its
 * variable. Pure: the environment comes in as an argument.
 */
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

export const CONFIG_ENV_PREFIX = 'RTSPKIT_CONFIG_';

export type EnvValueKind = 'number' | 'boolean' | 'string' | 'structured';

export interface EnvOption {
  /** RTSPKIT_CONFIG_SESSION_TIMEOUT */
  variable: string;
  /** The option's place in the config: ['auth', 'realm']. */
  path: string[];
  kind: EnvValueKind;
  /** Whether `null` is a value (else the word is taken by the type: a string "null"). */
  nullable: boolean;
}

export class ConfigEnvError extends Error {
  override readonly name = 'ConfigEnvError';
}

export type Env = Readonly<Record<string, string | undefined>>;

/** `maxConnectionsPerIp` → `MAX_CONNECTIONS_PER_IP`. */
export function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { def: SchemaDef }).def;
}

/** Every option an environment variable can set, from the schema: each key of each object, at any depth. */
export function configEnvOptions(schema: z.ZodType): EnvOption[] {
  const out: EnvOption[] = [];
  const walk = (object: z.ZodType, path: string[]): void => {
    const shape = defOf(object).shape ?? {};
    for (const [key, field] of Object.entries(shape)) {
      let inner = field;
      let nullable = false;
      for (let def = defOf(inner); def.innerType !== undefined; def = defOf(inner)) {
        if (def.type === 'nullable') nullable = true;
        inner = def.innerType;
      }
      const type = defOf(inner).type;
      const kind: EnvValueKind =
        type === 'number'
          ? 'number'
          : type === 'boolean'
            ? 'boolean'
            : type === 'string' || type === 'enum'
              ? 'string'
              : 'structured';
      const optionPath = [...path, key];
      out.push({
        variable: CONFIG_ENV_PREFIX + optionPath.map(upperSnake).join('_'),
        path: optionPath,
        kind,
        nullable,
      });
      if (type === 'object') walk(inner, optionPath);
    }
  };
  walk(schema, []);
  return out;
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function envValue(option: EnvOption, text: string): unknown {
  const trimmed = text.trim();
  if (option.nullable && trimmed === 'null') return null;
  switch (option.kind) {
    case 'number':
      if (!NUMBER.test(trimmed))
        throw new ConfigEnvError(`${option.variable}: expected a number, got "${text}"`);
      return Number(trimmed);
    case 'boolean': {
      const lower = trimmed.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      throw new ConfigEnvError(`${option.variable}: expected true or false, got "${text}"`);
    }
    case 'string':
      return text;
    case 'structured':
      try {
        return parseYaml(text) as unknown;
      } catch (err) {
        const first = (err as Error).message.split('\n')[0];
        throw new ConfigEnvError(`${option.variable}: expected YAML or JSON: ${first}`);
      }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface EnvOverrides {
  /** The raw config with the environment's values in place. */
  raw: unknown;
  /** The options the environment set, for naming the variable when the value is refused. */
  applied: EnvOption[];
}

/**
 * Puts the environment's options into a raw (not yet validated) config. Throws ConfigEnvError for a
 * `RTSPKIT_CONFIG_` variable that names no option or whose value does not read as the option's type.
 */
export function applyConfigEnv(raw: unknown, env: Env, schema: z.ZodType): EnvOverrides {
  const byVariable = new Map(configEnvOptions(schema).map((o) => [o.variable, o]));
  const found: { option: EnvOption; value: unknown }[] = [];
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(CONFIG_ENV_PREFIX) || text === undefined) continue;
    const option = byVariable.get(variable);
    if (option === undefined)
      throw new ConfigEnvError(`${variable}: no such config option (the options are in rtspkit.sample.yml)`);
    found.push({ option, value: envValue(option, text) });
  }
  if (found.length === 0 || !isPlainObject(raw)) return { raw, applied: [] };
  // Outer options first, so that RTSPKIT_CONFIG_AUTH_REALM refines a whole RTSPKIT_CONFIG_AUTH.
  found.sort((a, b) => a.option.path.length - b.option.path.length);
  const merged = structuredClone(raw);
  for (const { option, value } of found) {
    let parent = merged;
    for (const key of option.path.slice(0, -1)) {
      const child = parent[key];
      // The environment wins over the file, also over a file value of the wrong shape.
      if (!isPlainObject(child)) parent[key] = {};
      parent = parent[key] as Record<string, unknown>;
    }
    parent[option.path.at(-1)!] = value;
  }
  return { raw: merged, applied: found.map((f) => f.option) };
}
