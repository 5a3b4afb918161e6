/**
 * Internal: the checks and the builder that GPT-1's config (`config.ts`) and the LSTM's
 * (`lstm.ts`) share: unknown keys, finite numbers, integer counts, probabilities in [0, 1), and
 * "preset name or partial config, plus overrides" → a validated, frozen config.
 *
 * @example
 * ```ts
 * import { checkKeys } from "./_config_check.ts";
 * checkKeys({ nLayer: 2 }, ["nLayer", "nEmbd"], "config"); // passes
 * ```
 * @module
 */
import { ConfigError } from "./errors.ts";

/** Throws ConfigError naming the first key of `obj` that is not in `keys`. */
export function checkKeys(obj: object, keys: readonly string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) {
      throw new ConfigError(`unknown key "${k}" in ${what}`, {
        fix: `use only ${keys.join(", ")}`,
      });
    }
  }
}

/**
 * Throws ConfigError unless every `numeric` key of `c` is a finite number, every `ints` key an
 * integer (>= 0 for `nSpecial`, >= 1 else) and every `probs` key in [0, 1).
 */
export function checkNumbers<C extends object>(
  c: C,
  numeric: readonly (keyof C & string)[],
  ints: readonly (keyof C & string)[],
  probs: readonly (keyof C & string)[],
): void {
  const v = c as Record<string, unknown>;
  for (const k of numeric) {
    if (typeof v[k] !== "number" || !Number.isFinite(v[k])) {
      throw new ConfigError(`${k} must be a finite number, got ${JSON.stringify(v[k])}`);
    }
  }
  for (const k of ints) {
    const min = k === "nSpecial" ? 0 : 1;
    const x = v[k] as number;
    if (!Number.isInteger(x) || x < min) {
      throw new ConfigError(`${k} must be an integer >= ${min}, got ${x}`);
    }
  }
  for (const k of probs) {
    const x = v[k] as number;
    if (x < 0 || x >= 1) throw new ConfigError(`${k} must be in [0, 1), got ${x}`);
  }
}

/** What {@link buildConfig} needs to know about one kind of config. */
export interface ConfigKind<C> {
  /** Prefix of the messages' nouns: `""` (GPT-1: "preset", "config") or `"LSTM "`. */
  label: string;
  /** The presets by name. */
  presets: Readonly<Record<string, C>>;
  /** The config a partial one is laid over. */
  base: C;
  /** Every key of a config. */
  keys: readonly string[];
  /** Throws ConfigError unless the config is complete and consistent. */
  validate: (c: C) => void;
}

/**
 * A validated, frozen config from a preset name (or a partial config over `kind.base`) plus
 * overrides; ConfigError for an unknown preset or key and for bad values.
 */
export function buildConfig<C extends object>(
  kind: ConfigKind<C>,
  presetOrPartial: string | Partial<C>,
  overrides: Partial<C>,
): C {
  let base: C;
  if (typeof presetOrPartial === "string") {
    if (!Object.hasOwn(kind.presets, presetOrPartial)) {
      throw new ConfigError(`unknown ${kind.label}preset "${presetOrPartial}"`, {
        fix: `use one of ${Object.keys(kind.presets).join(", ")}`,
      });
    }
    base = kind.presets[presetOrPartial];
  } else if (presetOrPartial && typeof presetOrPartial === "object") {
    checkKeys(presetOrPartial, kind.keys, `${kind.label}config`);
    base = { ...kind.base, ...presetOrPartial };
  } else {
    throw new ConfigError(`expected a preset name or a config object, got ${presetOrPartial}`);
  }
  if (!overrides || typeof overrides !== "object") {
    throw new ConfigError(`overrides must be an object, got ${overrides}`);
  }
  checkKeys(overrides, kind.keys, "overrides");
  const c = { ...base, ...overrides };
  kind.validate(c);
  return Object.freeze(c);
}
