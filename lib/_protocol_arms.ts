/**
 * The arms of the protocol (internal; re-exported by protocol.ts): the Table 5 rows
 * ({@link PROTOCOL_ARMS}), the `layers<k>` arms of the layers-transferred ablation, and the
 * blocks each arm transfers. Pure.
 * @module
 */
import { FINETUNE_DEFAULTS as FT } from "./config.ts";

/** The arms of the protocol (Table 5's rows). */
export const PROTOCOL_ARMS = [
  { key: "full", label: "Transformer w/ aux LM (full)", pretrained: true, auxLm: FT.auxLm },
  { key: "no-pretrain", label: "Transformer w/o pre-training", pretrained: false, auxLm: FT.auxLm },
  { key: "no-aux", label: "Transformer w/o aux LM", pretrained: true, auxLm: 0 },
  { key: "lstm", label: "LSTM w/ aux LM", pretrained: true, auxLm: FT.auxLm },
] as const;

/** An arm's key. */
export type ArmKey = typeof PROTOCOL_ARMS[number]["key"];

/** An arm as a run sees it: pre-trained or not, its aux-LM weight, the blocks it transfers. */
export interface ProtocolArm {
  readonly key: string;
  readonly label: string;
  readonly pretrained: boolean;
  readonly auxLm: number;
  /** Blocks transferred after the embeddings (undefined: all of them; the `layers<k>` arms). */
  readonly transferLayers?: number;
}

/**
 * The arm of a key: one of {@link PROTOCOL_ARMS}, or `layers<k>` — the layers-transferred
 * ablation (Figure 2 left) as protocol arms: the pre-trained Transformer with its embeddings
 * and first k blocks transferred, the rest freshly initialised, λ = 0.5. `no-pretrain` is the
 * sweep's "nothing transferred" end and `full` its "every block" end; each `layers<k>` arm
 * chooses its learning rate the same way as the others. Undefined for an unknown key.
 *
 * @example
 * ```ts
 * import { protocolArm } from "./protocol.ts";
 * protocolArm("layers2")?.transferLayers; // 2
 * ```
 */
export function protocolArm(key: string): ProtocolArm | undefined {
  const a = PROTOCOL_ARMS.find((a) => a.key === key);
  if (a) return a;
  const m = /^layers(\d+)$/.exec(key);
  if (!m) return undefined;
  const k = Number(m[1]);
  return {
    key,
    label: `Transformer, embeddings + ${k} block${k === 1 ? "" : "s"} transferred`,
    pretrained: true,
    auxLm: FT.auxLm,
    transferLayers: k,
  };
}

/** True for a `layers<k>` arm (one point of the layers ablation, not a Table 5 row). */
export function isLayersArm(key: string): boolean {
  return protocolArm(key)?.transferLayers !== undefined;
}

/**
 * Blocks transferred by an arm of an `L`-layer model (pure): -1 nothing (`no-pretrain`),
 * 0 embeddings only, k blocks (`layers<k>`), L (`full`, `no-aux`); undefined for the LSTM or
 * an unknown key. The x axis of the layers chart and of its Spearman ρ.
 */
export function armTransfer(key: string, L: number): number | undefined {
  if (key === "no-pretrain") return -1;
  if (key === "full" || key === "no-aux") return L;
  return protocolArm(key)?.transferLayers;
}
