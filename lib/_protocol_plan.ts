/**
 * The size of a protocol before it runs (pure): fine-tunes and optimizer steps per
 * training-set size. Re-exported by protocol.ts, whose `protocolPlan` counts a task's data.
 * @module
 */

/** The size of a protocol before it runs: fine-tunes and optimizer steps. */
export interface ProtocolPlan {
  /** Task. */
  task: string;
  /** Training examples available after the validation hold-out. */
  available: number;
  /** Per training-set size: examples used, optimizer steps of one run, runs (all arms). */
  sizes: { labels: number | null; nTrain: number; stepsPerRun: number; runs: number }[];
  /** Fine-tuning runs in all. */
  runs: number;
  /** Optimizer steps in all. */
  steps: number;
}

/**
 * The plan of a protocol (pure): for `available` training examples (after the validation
 * hold-out), per size the examples used (`min(size, maxTrain, available)`; a size at or above
 * that is the full set, counted once), the steps of one
 * run (`floor(n / B) · epochs`, full batches as finetune does) and the runs (per arm: the grid
 * plus the seeds beyond the base one).
 */
export function planProtocol(o: {
  task: string;
  available: number;
  arms: number;
  lrs: number;
  seeds: number;
  epochs: number;
  batchSize: number;
  sizes: readonly (number | null)[];
  maxTrain?: number;
}): ProtocolPlan {
  const full = Math.min(o.available, o.maxTrain ?? Infinity);
  // a size at or above the full set is the full set (runProtocol runs it once, as "all")
  const asked = [...new Set(o.sizes.map((s) => (s !== null && s >= full ? null : s)))];
  const sizes = asked.map((labels) => {
    const nTrain = Math.min(labels ?? Infinity, o.maxTrain ?? Infinity, o.available);
    const B = Math.min(o.batchSize, nTrain);
    return {
      labels,
      nTrain,
      stepsPerRun: Math.floor(nTrain / B) * o.epochs,
      runs: o.arms * (o.lrs + o.seeds - 1),
    };
  });
  return {
    task: o.task,
    available: o.available,
    sizes,
    runs: sizes.reduce((s, x) => s + x.runs, 0),
    steps: sizes.reduce((s, x) => s + x.runs * x.stepsPerRun, 0),
  };
}
